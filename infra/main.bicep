targetScope = 'subscription'

metadata name = 'PaaS network hardener'
metadata description = 'Deploys the remediator into a landing-zone subscription: a Flex Consumption function app with its identity, storage and monitoring, the subscription event feed, the notification topic, the optional landing-zone network, and a custom role holding exactly the actions the remediators need. Composition only: every resource lives in a module.'

// ------------------------------------------------------------------------------------------------------------------
// Parameters
// ------------------------------------------------------------------------------------------------------------------

@description('Required. Name of the azd environment. Seeds the resource names and the azd-env-name tag.')
@minLength(1)
@maxLength(64)
param environmentName string

@description('Required. Region of the resource group and of every regional resource. Flex Consumption must be offered there.')
@minLength(1)
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Optional. Tags added to every resource, next to azd-env-name.')
param tags object = {}

@description('Optional. Name of the resource group to create. Defaults to rg-<environmentName>.')
param resourceGroupName string = ''

@description('Optional. Create the landing-zone network (true) or bring existing subnets and a private DNS zones resource group (false).')
param createNetwork bool = true

@description('Optional. Address space and subnet prefixes of the created network (createNetwork true).')
param virtualNetworkAddressing addressingType = {
  addressPrefix: '10.90.0.0/22'
  privateEndpointSubnetPrefix: '10.90.0.0/24'
  functionSubnetPrefix: '10.90.1.0/24'
  workloadSubnetPrefix: '10.90.2.0/24'
}

@description('Optional. Bring your own network: resource ID of the subnet the remediator creates private endpoints in. Required when createNetwork is false.')
param privateEndpointSubnetResourceId string = ''

@description('Optional. Bring your own network: resource ID of the subnet the function app integrates with. It must be delegated to Microsoft.App/environments and have the Microsoft.Storage service endpoint. Required when createNetwork is false.')
param functionSubnetResourceId string = ''

@description('Optional. Bring your own network: comma-separated resource IDs of the subnets that service-endpoint VNet rules admit. Required when createNetwork is false.')
param serviceEndpointSubnetResourceIds string = ''

@description('Optional. Bring your own network: resource ID of the resource group holding the privatelink.* private DNS zones. Required when createNetwork is false.')
param privateDnsZonesResourceGroupResourceId string = ''

@description('Optional. What the remediator does with handled resources that carry no harden tag (HARDEN_UNTAGGED).')
@allowed([
  'report'
  'ignore'
])
param untaggedMode string = 'report'

@description('Optional. Report what would change without changing anything (HARDEN_DRY_RUN). Keep true for a first deployment.')
param dryRun bool = true

@description('Optional. Subscribe the function to the subscription resource events. Event Grid checks that the function exists, so turn this on only once the code is deployed; the azd postdeploy hook does it.')
param subscribeToEvents bool = false

@description('Optional. Name of an existing Microsoft.Resources.Subscriptions system topic of this subscription to reuse (Azure allows one per subscription). A new topic is created when empty.')
param existingSystemTopicName string = ''

@description('Optional. Resource group of the existing system topic. Required with existingSystemTopicName.')
param existingSystemTopicResourceGroupName string = ''

@description('Optional. Create the example subscription that copies every notification to the harden-notifications queue.')
param notificationQueueEnabled bool = true

@description('Optional. Python version of the function app.')
@allowed([
  '3.10'
  '3.11'
  '3.12'
])
param functionAppRuntimeVersion string = '3.11'

@description('Optional. Maximum number of instances the function app scales out to.')
@minValue(1)
@maxValue(1000)
param functionAppMaximumInstanceCount int = 40

@description('Optional. SKU of the function app storage account.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param storageSkuName string = 'Standard_ZRS'

// ------------------------------------------------------------------------------------------------------------------
// Names and settings
// ------------------------------------------------------------------------------------------------------------------

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var allTags = union(tags, {
  'azd-env-name': environmentName
})

var rgName = !empty(resourceGroupName) ? resourceGroupName : '${abbrs.resourcesResourceGroups}${environmentName}'
var names = {
  identity: '${abbrs.managedIdentityUserAssignedIdentities}remediator-${resourceToken}'
  plan: '${abbrs.webServerFarms}remediator-${resourceToken}'
  functionApp: '${abbrs.webSitesFunctions}remediator-${resourceToken}'
  storage: '${abbrs.storageStorageAccounts}${resourceToken}'
  logAnalytics: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
  applicationInsights: '${abbrs.insightsComponents}${resourceToken}'
  virtualNetwork: '${abbrs.networkVirtualNetworks}${resourceToken}'
  networkSecurityGroup: '${abbrs.networkNetworkSecurityGroups}${resourceToken}'
  systemTopic: !empty(existingSystemTopicName) ? existingSystemTopicName : '${abbrs.eventGridSystemTopics}resources-${resourceToken}'
  notificationTopic: '${abbrs.eventGridDomainsTopics}notifications-${resourceToken}'
  resourceEventsSubscription: '${abbrs.eventGridEventSubscriptions}harden-resources'
  notificationQueueSubscription: '${abbrs.eventGridEventSubscriptions}notifications-queue'
}
var systemTopicResourceGroupName = !empty(existingSystemTopicName) ? existingSystemTopicResourceGroupName : rgName

// Names the function code relies on (function_app.py).
var queueNames = {
  work: 'harden-requests'
  poison: 'harden-requests-poison'
  notifications: 'harden-notifications'
}
var deploymentContainerName = 'app-package-${take(names.functionApp, 32)}-${take(resourceToken, 7)}'
var deadLetterContainerName = 'eventgrid-deadletter'

// Built-in roles (learn.microsoft.com/azure/role-based-access-control/built-in-roles).
var builtInRoles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageQueueDataMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
}

// The remediator must never harden itself.
var functionAppResourceId = resourceId(subscription().subscriptionId, rgName, 'Microsoft.Web/sites', names.functionApp)
var storageAccountResourceId = resourceId(subscription().subscriptionId, rgName, 'Microsoft.Storage/storageAccounts', names.storage)

// The network the remediator works with: created here, or brought.
var effectiveFunctionSubnetResourceId = createNetwork ? network.outputs.functionSubnetResourceId : functionSubnetResourceId
var effectivePrivateEndpointSubnetResourceId = createNetwork ? network.outputs.privateEndpointSubnetResourceId : privateEndpointSubnetResourceId
var effectiveServiceEndpointSubnetResourceIds = createNetwork ? network.outputs.workloadSubnetResourceId : serviceEndpointSubnetResourceIds
var effectiveDnsZonesResourceGroupResourceId = createNetwork ? network.outputs.privateDnsZonesResourceGroupResourceId : privateDnsZonesResourceGroupResourceId

// Zones brought from another subscription are outside the subscription-scope role: see rbac/dns-zones-role.bicep.
var broughtDnsZonesResourceGroupResourceId = !empty(privateDnsZonesResourceGroupResourceId) ? privateDnsZonesResourceGroupResourceId : '${subscription().id}/resourceGroups/${rgName}'
var dnsZonesSubscriptionId = split(broughtDnsZonesResourceGroupResourceId, '/')[2]
var dnsZonesResourceGroupName = split(broughtDnsZonesResourceGroupResourceId, '/')[4]
var dnsZonesInOtherSubscription = !createNetwork && toLower(dnsZonesSubscriptionId) != toLower(subscription().subscriptionId)

var remediatorSettings = {
  HARDEN_SUBSCRIPTION_IDS: subscription().subscriptionId
  HARDEN_PRIVATE_ENDPOINT_SUBNET_ID: effectivePrivateEndpointSubnetResourceId
  HARDEN_SERVICE_ENDPOINT_SUBNET_IDS: effectiveServiceEndpointSubnetResourceIds
  HARDEN_DNS_ZONES_RESOURCE_GROUP_ID: effectiveDnsZonesResourceGroupResourceId
  HARDEN_UNTAGGED: untaggedMode
  HARDEN_DRY_RUN: dryRun ? 'true' : 'false'
  HARDEN_NOTIFY_TOPIC_ENDPOINT: notificationTopic.outputs.endpoint
  HARDEN_EXCLUDE_RESOURCE_IDS: '${functionAppResourceId},${storageAccountResourceId}'
}

// ------------------------------------------------------------------------------------------------------------------
// Composition
// ------------------------------------------------------------------------------------------------------------------

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: rgName
  location: location
  tags: allTags
}

module identity 'modules/identity/user-assigned-identity.bicep' = {
  name: 'remediator-identity'
  scope: rg
  params: {
    name: names.identity
    location: location
    tags: allTags
  }
}

module monitoring 'modules/monitor/monitoring.bicep' = {
  name: 'remediator-monitoring'
  scope: rg
  params: {
    logAnalyticsName: names.logAnalytics
    applicationInsightsName: names.applicationInsights
    publisherPrincipalId: identity.outputs.principalId
    location: location
    tags: allTags
  }
}

module network 'modules/network/landing-zone.bicep' = if (createNetwork) {
  name: 'remediator-network'
  scope: rg
  params: {
    name: names.virtualNetwork
    networkSecurityGroupName: names.networkSecurityGroup
    addressing: virtualNetworkAddressing
    location: location
    tags: allTags
  }
}

module systemTopic 'modules/events/system-topic.bicep' = {
  name: 'remediator-system-topic-${resourceToken}'
  scope: resourceGroup(systemTopicResourceGroupName)
  params: {
    name: names.systemTopic
    create: empty(existingSystemTopicName)
    tags: allTags
  }
  dependsOn: [
    rg
  ]
}

module notificationTopic 'modules/events/notification-topic.bicep' = {
  name: 'remediator-notification-topic'
  scope: rg
  params: {
    name: names.notificationTopic
    senderPrincipalId: identity.outputs.principalId
    location: location
    tags: allTags
  }
}

module storage 'modules/storage/function-storage.bicep' = {
  name: 'remediator-storage'
  scope: rg
  params: {
    name: names.storage
    deploymentContainerName: deploymentContainerName
    deadLetterContainerName: deadLetterContainerName
    queueNames: [
      queueNames.work
      queueNames.poison
      queueNames.notifications
    ]
    allowedSubnetResourceIds: [
      effectiveFunctionSubnetResourceId
    ]
    accountRoleAssignments: [
      {
        principalId: identity.outputs.principalId
        roleDefinitionId: builtInRoles.storageBlobDataOwner
        description: 'Remediator: host storage (AzureWebJobsStorage) and the Flex Consumption deployment package.'
      }
      {
        principalId: identity.outputs.principalId
        roleDefinitionId: builtInRoles.storageQueueDataContributor
        description: 'Remediator: the work queue trigger and output binding, and the poison queue.'
      }
    ]
    containerRoleAssignments: [
      {
        scopeName: deadLetterContainerName
        principalId: systemTopic.outputs.principalId
        roleDefinitionId: builtInRoles.storageBlobDataContributor
        description: 'Event Grid system topic: dead-letter undeliverable resource events.'
      }
    ]
    queueRoleAssignments: notificationQueueEnabled ? [
      {
        scopeName: queueNames.notifications
        principalId: notificationTopic.outputs.principalId
        roleDefinitionId: builtInRoles.storageQueueDataMessageSender
        description: 'Notification topic: deliver notifications to the example queue.'
      }
    ] : []
    skuName: storageSkuName
    location: location
    tags: allTags
  }
}

module functionApp 'modules/host/function-app.bicep' = {
  name: 'remediator-function-app'
  scope: rg
  params: {
    name: names.functionApp
    planName: names.plan
    identityResourceId: identity.outputs.resourceId
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: storage.outputs.deploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    virtualNetworkSubnetResourceId: effectiveFunctionSubnetResourceId
    appSettings: remediatorSettings
    serviceName: 'remediator'
    runtimeVersion: functionAppRuntimeVersion
    maximumInstanceCount: functionAppMaximumInstanceCount
    location: location
    tags: allTags
  }
}

module remediatorRole 'modules/rbac/remediator-role.bicep' = {
  name: 'remediator-role-${resourceToken}'
  params: {
    principalId: identity.outputs.principalId
    environmentName: environmentName
  }
}

module dnsZonesRole 'modules/rbac/dns-zones-role.bicep' = if (dnsZonesInOtherSubscription) {
  name: 'remediator-dns-zones-role-${resourceToken}'
  scope: resourceGroup(dnsZonesSubscriptionId, dnsZonesResourceGroupName)
  params: {
    principalId: identity.outputs.principalId
    environmentName: environmentName
  }
}

module resourceEvents 'modules/events/resource-events-subscription.bicep' = if (subscribeToEvents) {
  name: 'remediator-resource-events-${resourceToken}'
  scope: resourceGroup(systemTopicResourceGroupName)
  params: {
    name: names.resourceEventsSubscription
    systemTopicName: systemTopic.outputs.name
    functionAppResourceId: functionApp.outputs.resourceId
    deadLetterStorageAccountResourceId: storage.outputs.resourceId
    deadLetterContainerName: storage.outputs.deadLetterContainerName
  }
  dependsOn: [
    remediatorRole
  ]
}

module notificationQueue 'modules/events/notification-queue-subscription.bicep' = if (notificationQueueEnabled) {
  name: 'remediator-notification-queue'
  scope: rg
  params: {
    name: names.notificationQueueSubscription
    topicName: notificationTopic.outputs.name
    storageAccountResourceId: storage.outputs.resourceId
    queueName: queueNames.notifications
  }
}

// ------------------------------------------------------------------------------------------------------------------
// Types
// ------------------------------------------------------------------------------------------------------------------

@description('Address space and subnet prefixes of the created network (same shape as in modules/network/landing-zone.bicep).')
type addressingType = {
  addressPrefix: string
  privateEndpointSubnetPrefix: string
  functionSubnetPrefix: string
  workloadSubnetPrefix: string
}

// ------------------------------------------------------------------------------------------------------------------
// Outputs (azd stores them in the environment; the postdeploy hook reads them)
// ------------------------------------------------------------------------------------------------------------------

@description('The region of the deployment.')
output AZURE_LOCATION string = location

@description('The tenant of the deployment.')
output AZURE_TENANT_ID string = tenant().tenantId

@description('The resource group holding the remediator.')
output AZURE_RESOURCE_GROUP string = rg.name

@description('The name of the function app.')
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name

@description('The resource ID of the function app.')
output REMEDIATOR_FUNCTION_APP_RESOURCE_ID string = functionApp.outputs.resourceId

@description('The client ID of the remediator identity.')
output REMEDIATOR_IDENTITY_CLIENT_ID string = identity.outputs.clientId

@description('The resource ID of the custom role held by the remediator identity.')
output REMEDIATOR_ROLE_DEFINITION_ID string = remediatorRole.outputs.roleDefinitionResourceId

@description('The name of the custom role held by the remediator identity.')
output REMEDIATOR_ROLE_NAME string = remediatorRole.outputs.roleName

@description('The principal ID of the remediator identity.')
output REMEDIATOR_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId

@description('The name of the subscription system topic.')
output REMEDIATOR_SYSTEM_TOPIC_NAME string = systemTopic.outputs.name

@description('The name of the event subscription that delivers resource events to the function.')
output REMEDIATOR_RESOURCE_EVENTS_SUBSCRIPTION_NAME string = names.resourceEventsSubscription

@description('The resource group of the subscription system topic.')
output REMEDIATOR_SYSTEM_TOPIC_RESOURCE_GROUP string = systemTopic.outputs.resourceGroupName

@description('The resource ID of the storage account receiving dead-lettered events.')
output REMEDIATOR_STORAGE_ACCOUNT_RESOURCE_ID string = storage.outputs.resourceId

@description('The container receiving dead-lettered events.')
output REMEDIATOR_DEAD_LETTER_CONTAINER string = storage.outputs.deadLetterContainerName

@description('The endpoint of the notification topic.')
output REMEDIATOR_NOTIFICATION_TOPIC_ENDPOINT string = notificationTopic.outputs.endpoint

@description('The resource ID of the notification topic.')
output REMEDIATOR_NOTIFICATION_TOPIC_RESOURCE_ID string = notificationTopic.outputs.resourceId

@description('The subnet private endpoints are created in.')
output REMEDIATOR_PRIVATE_ENDPOINT_SUBNET_ID string = effectivePrivateEndpointSubnetResourceId

@description('The subnets service-endpoint VNet rules admit (comma-separated).')
output REMEDIATOR_SERVICE_ENDPOINT_SUBNET_IDS string = effectiveServiceEndpointSubnetResourceIds

@description('The resource group holding the private DNS zones.')
output REMEDIATOR_DNS_ZONES_RESOURCE_GROUP_ID string = effectiveDnsZonesResourceGroupResourceId
