targetScope = 'subscription'

metadata name = 'Add a subscription'
metadata description = 'Deploy into one more subscription of an existing deployment: its Event Grid system topic and an event subscription delivering the handled resource writes to the existing event queue (or pushing them to the function), dead-lettering to the existing storage account, and the remediator custom role assigned to the existing identity there. Then record the subscription in the azd environment of the main deployment (azd env set HARDEN_ADDITIONAL_SUBSCRIPTION_IDS, and HARDEN_SPOKE_PRIVATE_ENDPOINT_SUBNET_IDS / HARDEN_SPOKE_SERVICE_ENDPOINT_SUBNET_IDS for its spoke) and run azd provision: the trigger drops other subscriptions, and an app setting edited by hand is lost at the next provision.'

@description('Required. Name of the azd environment of the existing deployment (keeps names and the role unique).')
param environmentName string

@description('Required. Region of the resource group that holds the system topic.')
param location string

@description('Required. Principal ID of the remediator identity (REMEDIATOR_IDENTITY_PRINCIPAL_ID of the main deployment).')
param remediatorPrincipalId string

@description('Required. Resource ID of the app\'s storage account: the event queue and the dead-letter container live there (REMEDIATOR_STORAGE_ACCOUNT_RESOURCE_ID).')
param storageAccountResourceId string

@description('Optional. StorageQueue (default, as the main deployment): events go to the event queue with the new system topic\'s identity. AzureFunction: pushed to the function (then give functionAppResourceId).')
@allowed([
  'StorageQueue'
  'AzureFunction'
])
param deliveryMode string = 'StorageQueue'

@description('Optional. Name of the Storage queue events are delivered to (function_app.py EVENTS_QUEUE_NAME).')
param eventQueueName string = 'resource-events'

@description('Optional. Resource ID of the function app (REMEDIATOR_FUNCTION_APP_RESOURCE_ID; deliveryMode AzureFunction).')
param functionAppResourceId string = ''

@description('Required. Blob container receiving dead-lettered events (REMEDIATOR_DEAD_LETTER_CONTAINER).')
param deadLetterContainerName string

@description('Optional. Resource group (created here) for the system topic.')
param topicResourceGroupName string = 'rg-${environmentName}-events'

@description('Optional. Name of an existing Microsoft.Resources.Subscriptions system topic in that resource group to reuse (Azure allows one per subscription); empty creates one.')
param existingSystemTopicName string = ''

@description('Optional. Resource ID of this subscription\'s spoke endpoint subnet (record it in HARDEN_SPOKE_PRIVATE_ENDPOINT_SUBNET_IDS): the remediator gets the private endpoint role on its resource group. Empty: none.')
param privateEndpointSubnetResourceId string = ''

@description('Optional. Comma-separated resource IDs of this subscription\'s service-endpoint subnets (record them in HARDEN_SPOKE_SERVICE_ENDPOINT_SUBNET_IDS): the remediator gets the service-endpoint role on their resource groups. Empty: none.')
param serviceEndpointSubnetResourceIds string = ''

@description('Optional. Tags of the created resources.')
param tags object = {}

var systemTopicName = empty(existingSystemTopicName) ? 'egst-resources-${uniqueString(subscription().id, environmentName)}' : existingSystemTopicName
var storageParts = split(storageAccountResourceId, '/')

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: topicResourceGroupName
  location: location
  tags: tags
}

module systemTopic '../events/system-topic.bicep' = {
  name: 'harden-add-subscription-topic'
  scope: rg
  params: {
    name: systemTopicName
    create: empty(existingSystemTopicName)
    tags: tags
  }
}

// The topic's identity writes to the main deployment's event queue and dead-letter container, in that subscription.
module topicAccess 'system-topic-access.bicep' = {
  name: 'harden-add-subscription-access-${uniqueString(subscription().id)}'
  scope: resourceGroup(storageParts[2], storageParts[4])
  params: {
    storageAccountName: last(storageParts)
    deadLetterContainerName: deadLetterContainerName
    eventQueueName: eventQueueName
    principalId: systemTopic.outputs.principalId
  }
}

module resourceEvents '../events/resource-events-subscription.bicep' = {
  name: 'harden-add-subscription-events'
  scope: rg
  params: {
    name: 'evgs-harden-resources'
    systemTopicName: systemTopic.outputs.name
    storageAccountResourceId: storageAccountResourceId
    deadLetterContainerName: deadLetterContainerName
    deliveryMode: deliveryMode
    eventQueueName: eventQueueName
    functionAppResourceId: functionAppResourceId
  }
  dependsOn: [
    topicAccess
  ]
}

// The same roles as the main deployment's, at the same kinds of scope, in this subscription.
module remediatorRole '../rbac/remediator-role.bicep' = {
  name: 'harden-add-subscription-role'
  params: {
    principalId: remediatorPrincipalId
    environmentName: environmentName
  }
}

module subscriptionReadsRole '../rbac/subscription-reads-role.bicep' = {
  name: 'harden-add-subscription-reads-role'
  params: {
    principalId: remediatorPrincipalId
    environmentName: environmentName
  }
}

var endpointSubnetParts = split(privateEndpointSubnetResourceId, '/')

module endpointSubnetRole '../rbac/scoped-role.bicep' = if (!empty(privateEndpointSubnetResourceId)) {
  name: 'harden-add-subscription-endpoint-subnet-role'
  scope: resourceGroup(endpointSubnetParts[2], endpointSubnetParts[4])
  params: {
    principalId: remediatorPrincipalId
    environmentName: environmentName
    roleKind: 'privateEndpointSubnet'
  }
}

// 'subscription/resourceGroup' of each service-endpoint subnet, once each (union removes duplicates).
// (A loop rather than map(), and a variable as filter()'s input: checkov's Bicep parser reads no more.)
var serviceEndpointSubnetIdParts = split(serviceEndpointSubnetResourceIds, ',')
var serviceEndpointSubnetIdList = filter(serviceEndpointSubnetIdParts, id => length(trim(id)) > 0)
var serviceEndpointGroupList = [for id in serviceEndpointSubnetIdList: '${split(trim(id), '/')[2]}/${split(trim(id), '/')[4]}']
var serviceEndpointGroups = union(serviceEndpointGroupList, [])

module serviceEndpointSubnetRoles '../rbac/scoped-role.bicep' = [for group in serviceEndpointGroups: {
  name: 'harden-add-subscription-se-role-${uniqueString(group)}'
  scope: resourceGroup(split(group, '/')[0], split(group, '/')[1])
  params: {
    principalId: remediatorPrincipalId
    environmentName: environmentName
    roleKind: 'serviceEndpointSubnets'
  }
}]

@description('The name of the system topic in the added subscription.')
output systemTopicName string = systemTopic.outputs.name

@description('The resource ID of the event subscription in the added subscription.')
output eventSubscriptionResourceId string = resourceEvents.outputs.resourceId
