targetScope = 'subscription'

metadata name = 'Add a subscription'
metadata description = 'Deploy into one more subscription of an existing deployment: its Event Grid system topic and an event subscription delivering the handled resource writes to the existing function app, dead-lettering to the existing storage account, and the remediator custom role assigned to the existing identity there. Add the subscription id to HARDEN_SUBSCRIPTION_IDS as well (the trigger drops other subscriptions).'

@description('Required. Name of the azd environment of the existing deployment (keeps names and the role unique).')
param environmentName string

@description('Required. Region of the resource group that holds the system topic.')
param location string

@description('Required. Principal ID of the remediator identity (REMEDIATOR_IDENTITY_PRINCIPAL_ID of the main deployment).')
param remediatorPrincipalId string

@description('Required. Resource ID of the function app (REMEDIATOR_FUNCTION_APP_RESOURCE_ID of the main deployment).')
param functionAppResourceId string

@description('Required. Resource ID of the storage account receiving dead-lettered events (REMEDIATOR_STORAGE_ACCOUNT_RESOURCE_ID).')
param deadLetterStorageAccountResourceId string

@description('Required. Blob container receiving dead-lettered events (REMEDIATOR_DEAD_LETTER_CONTAINER).')
param deadLetterContainerName string

@description('Optional. Resource group (created here) for the system topic.')
param topicResourceGroupName string = 'rg-${environmentName}-events'

@description('Optional. Name of an existing Microsoft.Resources.Subscriptions system topic in that resource group to reuse (Azure allows one per subscription); empty creates one.')
param existingSystemTopicName string = ''

@description('Optional. Tags of the created resources.')
param tags object = {}

var systemTopicName = empty(existingSystemTopicName) ? 'egst-resources-${uniqueString(subscription().id, environmentName)}' : existingSystemTopicName
var deadLetterParts = split(deadLetterStorageAccountResourceId, '/')

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

// The topic's identity dead-letters into the main deployment's container, in that subscription.
module deadLetterWriter 'dead-letter-writer.bicep' = {
  name: 'harden-add-subscription-dead-letter-${uniqueString(subscription().id)}'
  scope: resourceGroup(deadLetterParts[2], deadLetterParts[4])
  params: {
    storageAccountName: last(deadLetterParts)
    containerName: deadLetterContainerName
    principalId: systemTopic.outputs.principalId
  }
}

module resourceEvents '../events/resource-events-subscription.bicep' = {
  name: 'harden-add-subscription-events'
  scope: rg
  params: {
    name: 'evgs-harden-resources'
    systemTopicName: systemTopic.outputs.name
    functionAppResourceId: functionAppResourceId
    deadLetterStorageAccountResourceId: deadLetterStorageAccountResourceId
    deadLetterContainerName: deadLetterContainerName
  }
  dependsOn: [
    deadLetterWriter
  ]
}

// The same custom role (the registry's actions), defined and assigned in this subscription.
module remediatorRole '../rbac/remediator-role.bicep' = {
  name: 'harden-add-subscription-role'
  params: {
    principalId: remediatorPrincipalId
    environmentName: environmentName
  }
}

@description('The name of the system topic in the added subscription.')
output systemTopicName string = systemTopic.outputs.name

@description('The resource ID of the event subscription in the added subscription.')
output eventSubscriptionResourceId string = resourceEvents.outputs.resourceId
