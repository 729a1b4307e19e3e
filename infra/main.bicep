targetScope = 'subscription'

metadata name = 'PaaS network hardener'
metadata description = 'Deploys the remediator into a landing-zone subscription with no public endpoint of its own: a Flex Consumption function app (VNet-integrated, inbound closed) with its identity, storage (private endpoints) and monitoring, the subscription event feed delivered to a Storage queue, the notification topic, the optional landing-zone network, and custom roles holding exactly the actions the remediators need, at the scope each is needed. Composition only: every resource lives in a module.'

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

@description('Optional. Bring your own network: resource ID of the subnet the function app integrates with. It must be delegated to Microsoft.App/environments and reach Azure Resource Manager, Entra ID and the private endpoint subnet. Required when createNetwork is false.')
param functionSubnetResourceId string = ''

@description('Optional. Bring your own network: comma-separated resource IDs of the subnets that service-endpoint VNet rules admit. Required when createNetwork is false.')
param serviceEndpointSubnetResourceIds string = ''

@description('Optional. Bring your own network: resource ID of the resource group holding the privatelink.* private DNS zones (in an Azure Landing Zone: the central zones in the connectivity subscription). Required when createNetwork is false.')
param privateDnsZonesResourceGroupResourceId string = ''

// Estate: what add-subscription adds lives in the azd environment (main.parameters.json), never only in the app
// settings, because a template deployment replaces all app settings (Azure/bicep-registry-modules#949): a value set
// by hand on the app is gone after the next `azd provision`.

@description('Optional. Comma-separated ids of the other subscriptions the remediator acts on (each added with modules/subscription/add-subscription.bicep). HARDEN_SUBSCRIPTION_IDS is this subscription plus these. Empty: this subscription only.')
param additionalSubscriptionIds string = ''

@description('Optional. Comma-separated resource IDs of the spoke endpoint subnets of those subscriptions (HARDEN_PRIVATE_ENDPOINT_SUBNET_IDS; the main endpoint subnet stays HARDEN_PRIVATE_ENDPOINT_SUBNET_ID). Empty: none.')
param spokePrivateEndpointSubnetResourceIds string = ''

@description('Optional. Comma-separated resource IDs of the spoke service-endpoint subnets of those subscriptions, appended to HARDEN_SERVICE_ENDPOINT_SUBNET_IDS. Empty: none.')
param spokeServiceEndpointSubnetResourceIds string = ''

@description('Optional. Public IPv4 addresses and CIDR ranges (comma- or space-separated) that harden=service-endpoint allows in on every service (HARDEN_ALLOWED_IP_RANGES; validated at start-up, see README "Allowed IP ranges"). Empty: none.')
param allowedIpRanges string = ''

@description('Optional. Which Storage accounts in harden=private get a web (static website) private endpoint, about $7.30/month each (HARDEN_STORAGE_WEB_ENDPOINT): auto, only accounts that serve a static website (read from the blob data plane; see README "Storage web endpoint"); always; never.')
@allowed([
  'auto'
  'always'
  'never'
])
param storageWebEndpoint string = 'auto'

@description('Optional. Whether the remediator may create a missing privatelink.* zone in the private DNS zones resource group (privateDnsZones/write; HARDEN_CREATE_PRIVATE_DNS_ZONES). false where the platform team owns the zones: a missing zone is reported (reason zone-missing) and nothing is created.')
param createPrivateDnsZones bool = true

@description('Optional. Comma-separated names of the resource groups (in this subscription) whose resources the remediator may change. Empty: the whole subscription. See README "Blast radius".')
param remediatorScopeResourceGroupNames string = ''

@description('Optional. How resource events reach the app. StorageQueue (default): Event Grid writes them to a queue of the app\'s storage account with the system topic\'s identity; the app needs no inbound access and the event subscription is declared here. AzureFunction: Event Grid pushes to the on_resource_event function; the app needs public network access (restricted to the AzureEventGrid service tag), and the subscription can only be created once the code is deployed (postdeploy hook).')
@allowed([
  'StorageQueue'
  'AzureFunction'
])
param eventDelivery string = 'StorageQueue'

@description('Optional. A public IP address (a.b.c.d) admitted to the function app\'s SCM (deployment) site only, so that azd deploy works from outside the network for a first trial. Turns the app\'s public network access on (main site still closed). Empty (default): deploy from inside the network (functionAppPrivateEndpoint).')
param deployerIpAddress string = ''

@description('Optional. Create a private endpoint for the function app (sites) in the private endpoint subnet, for deployments from a runner inside the network.')
param functionAppPrivateEndpoint bool = false

@description('Optional. Public network access of the app\'s storage account. Disabled (default): the app uses private endpoints and Event Grid comes in as a trusted service. Enabled: selected networks only (the function subnet over a service endpoint), for networks that cannot resolve private endpoints; needs an ALZ policy exemption.')
@allowed([
  'Disabled'
  'Enabled'
])
param storagePublicNetworkAccess string = 'Disabled'

@description('Optional. Public network access of the notification topic. Disabled (default; ALZ Deny-PublicPaaSEndpoints denies anything else with Deny-EventGrid-Topic-Public-Network-Access): the app publishes through a private endpoint (group topic) in the private endpoint subnet, registered in privatelink.eventgrid.azure.net of the private DNS zones resource group; subscribers are unaffected (Event Grid delivers outbound). Enabled: publishers reach the public endpoint with an Entra ID token only; needs a policy exemption in an ALZ Corp landing zone.')
@allowed([
  'Enabled'
  'Disabled'
])
param notificationTopicPublicNetworkAccess string = 'Disabled'

@description('Optional. Email address told when events or notifications are lost (Event Grid dropped, dead-lettered or failed deliveries) or a request reaches the poison queue. Empty: the alert rules fire in the portal only.')
param alertEmailAddress string = ''

@description('Optional. What the remediator does with handled resources that carry no harden tag (HARDEN_UNTAGGED).')
@allowed([
  'report'
  'ignore'
])
param untaggedMode string = 'report'

@description('Optional. Report what would change without changing anything (HARDEN_DRY_RUN). Keep true for a first deployment.')
param dryRun bool = true

@description('Optional. eventDelivery AzureFunction only: subscribe the function to the subscription resource events. Event Grid checks that the function exists, so turn this on only once the code is deployed; the azd postdeploy hook does it. Queue delivery is always declared.')
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

@description('Optional. Tell people about outcomes (remediators/channels.py): an ACS Email service with an Azure-managed domain, and a private Key Vault for the Teams/Slack webhook URLs, with the roles the identity needs.')
param notificationChannels bool = true

@description('Optional. Where the Communication and Email services keep their data at rest.')
param notificationDataLocation string = 'United States'

@description('Optional. Email domains notifications may go to (HARDEN_NOTIFY_ALLOWED_DOMAINS, comma-separated). Empty: no email is sent, whatever a tag says.')
param notificationAllowedDomains string = ''

@description('Optional. Default recipient per subscription (HARDEN_NOTIFY_DEFAULTS: <subscription id>=<address>, comma-separated), for resources whose tags name nobody.')
param notificationDefaultRecipients string = ''

@description('Optional. The tag naming who hears about a resource (HARDEN_NOTIFY_TAG); empty: harden-notify. The owner and OwnerContact tags follow it.')
param notifyTag string = ''

@description('Optional. Outcome reason codes nobody is told about (HARDEN_NOTIFY_SKIP, comma-separated, e.g. add dry-run for a quiet first deployment); empty: the settle events, untagged reports and opt-outs; none: every outcome.')
param notifySkip string = ''

@description('Optional. Name of the Key Vault secret holding the Teams incoming webhook (or Workflows) URL; put the secret in the vault yourself. Empty: no Teams.')
param notificationTeamsWebhookSecretName string = ''

@description('Optional. Name of the Key Vault secret holding the Slack incoming webhook URL; put the secret in the vault yourself. Empty: no Slack.')
param notificationSlackWebhookSecretName string = ''

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
  communicationService: '${abbrs.communicationCommunicationServices}remediator-${resourceToken}'
  emailService: '${abbrs.communicationEmailServices}remediator-${resourceToken}'
  keyVault: '${abbrs.keyVaultVaults}${resourceToken}'
}
var systemTopicResourceGroupName = !empty(existingSystemTopicName) ? existingSystemTopicResourceGroupName : rgName
var systemTopicResourceId = resourceId(subscription().subscriptionId, systemTopicResourceGroupName, 'Microsoft.EventGrid/systemTopics', names.systemTopic)

// Names the function code relies on (function_app.py).
var queueNames = {
  events: 'resource-events'
  work: 'harden-requests'
  poison: 'harden-requests-poison'
  // Queue delivery does the work in the event function (one hop), so a request that keeps failing lands here.
  eventsPoison: 'resource-events-poison'
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
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
}

// The remediator must never harden itself.
var functionAppResourceId = resourceId(subscription().subscriptionId, rgName, 'Microsoft.Web/sites', names.functionApp)
var storageAccountResourceId = resourceId(subscription().subscriptionId, rgName, 'Microsoft.Storage/storageAccounts', names.storage)

// The network the remediator works with: created here, or brought.
var effectiveFunctionSubnetResourceId = createNetwork ? network.outputs.functionSubnetResourceId : functionSubnetResourceId
var effectivePrivateEndpointSubnetResourceId = createNetwork ? network.outputs.privateEndpointSubnetResourceId : privateEndpointSubnetResourceId
var effectiveServiceEndpointSubnetResourceIds = createNetwork ? network.outputs.workloadSubnetResourceId : serviceEndpointSubnetResourceIds
var effectiveDnsZonesResourceGroupResourceId = createNetwork ? network.outputs.privateDnsZonesResourceGroupResourceId : privateDnsZonesResourceGroupResourceId

// Where each network piece lives, from parameters only (role assignments are looped over them, and loops may only
// read values known when the deployment starts). The created network lives in the remediator's resource group.
var ownResourceGroup = {
  subscriptionId: subscription().subscriptionId
  resourceGroupName: rgName
}
var endpointSubnetGroup = createNetwork ? ownResourceGroup : {
  subscriptionId: split(privateEndpointSubnetResourceId, '/')[2]
  resourceGroupName: split(privateEndpointSubnetResourceId, '/')[4]
}
// (Loops rather than map(), and a variable as each filter()'s input: checkov's Bicep parser reads no more.)
var serviceEndpointSubnetIdParts = split(serviceEndpointSubnetResourceIds, ',')
var serviceEndpointSubnetIdList = filter(serviceEndpointSubnetIdParts, id => length(trim(id)) > 0)
var broughtServiceEndpointSubnetGroups = [for id in serviceEndpointSubnetIdList: {
  subscriptionId: split(trim(id), '/')[2]
  resourceGroupName: split(trim(id), '/')[4]
}]
// union() with an empty array removes duplicates: one role per resource group, however many subnets it holds.
var serviceEndpointSubnetGroups = createNetwork ? [ownResourceGroup] : union(broughtServiceEndpointSubnetGroups, [])
var dnsZonesGroup = createNetwork ? ownResourceGroup : {
  subscriptionId: split(privateDnsZonesResourceGroupResourceId, '/')[2]
  resourceGroupName: split(privateDnsZonesResourceGroupResourceId, '/')[4]
}
// Every subscription the remediator writes in: long-running operations are polled at subscription-level URLs there.
var serviceEndpointSubscriptionIds = [for group in serviceEndpointSubnetGroups: group.subscriptionId]
var networkSubscriptionIds = union([endpointSubnetGroup.subscriptionId, dnsZonesGroup.subscriptionId], serviceEndpointSubscriptionIds)
var otherSubscriptionIds = filter(networkSubscriptionIds, id => toLower(id) != toLower(subscription().subscriptionId))
var remediatorScopeGroupList = split(remediatorScopeResourceGroupNames, ',')
var remediatorScopeGroupNames = [for name in remediatorScopeGroupList: trim(name)]
var remediatorScopeGroups = filter(remediatorScopeGroupNames, name => length(name) > 0)

// The app's own private endpoints register in the privatelink zones of the zones resource group.
var dnsZonesResourceGroupId = '/subscriptions/${dnsZonesGroup.subscriptionId}/resourceGroups/${dnsZonesGroup.resourceGroupName}'
var storageEndpointGroups = [
  'blob'
  'queue'
  'table' // the change history (remediators/history.py)
]
var appPublicNetworkAccess = (eventDelivery == 'AzureFunction' || !empty(deployerIpAddress)) ? 'Enabled' : 'Disabled'

var remediatorSettings = {
  HARDEN_SUBSCRIPTION_IDS: empty(additionalSubscriptionIds) ? subscription().subscriptionId : '${subscription().subscriptionId},${additionalSubscriptionIds}'
  HARDEN_PRIVATE_ENDPOINT_SUBNET_ID: effectivePrivateEndpointSubnetResourceId
  HARDEN_PRIVATE_ENDPOINT_SUBNET_IDS: spokePrivateEndpointSubnetResourceIds
  HARDEN_SERVICE_ENDPOINT_SUBNET_IDS: empty(spokeServiceEndpointSubnetResourceIds) ? effectiveServiceEndpointSubnetResourceIds : '${effectiveServiceEndpointSubnetResourceIds},${spokeServiceEndpointSubnetResourceIds}'
  HARDEN_DNS_ZONES_RESOURCE_GROUP_ID: effectiveDnsZonesResourceGroupResourceId
  HARDEN_UNTAGGED: untaggedMode
  HARDEN_DRY_RUN: dryRun ? 'true' : 'false'
  HARDEN_NOTIFY_TOPIC_ENDPOINT: notificationTopic.outputs.endpoint
  HARDEN_EXCLUDE_RESOURCE_IDS: '${functionAppResourceId},${storageAccountResourceId}'
  HARDEN_CREATE_PRIVATE_DNS_ZONES: createPrivateDnsZones ? 'true' : 'false'
  HARDEN_ALLOWED_IP_RANGES: allowedIpRanges
  // Notification channels (remediators/channels.py, remediators/dispatch.py); empty = that channel is off.
  HARDEN_NOTIFY_EMAIL_ENDPOINT: notificationChannels ? channels.outputs.emailEndpoint : ''
  HARDEN_NOTIFY_EMAIL_SENDER: notificationChannels ? channels.outputs.senderAddress : ''
  HARDEN_NOTIFY_ALLOWED_DOMAINS: notificationAllowedDomains
  HARDEN_NOTIFY_DEFAULTS: notificationDefaultRecipients
  HARDEN_NOTIFY_TAG: notifyTag
  HARDEN_NOTIFY_SKIP: notifySkip
  HARDEN_NOTIFY_TEAMS_WEBHOOK_SECRET_URI: notificationChannels && !empty(notificationTeamsWebhookSecretName) ? '${channels.outputs.vaultUri}secrets/${notificationTeamsWebhookSecretName}' : ''
  HARDEN_NOTIFY_SLACK_WEBHOOK_SECRET_URI: notificationChannels && !empty(notificationSlackWebhookSecretName) ? '${channels.outputs.vaultUri}secrets/${notificationSlackWebhookSecretName}' : ''
  HARDEN_STORAGE_WEB_ENDPOINT: storageWebEndpoint
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
    topicPublicNetworkAccess: notificationTopicPublicNetworkAccess
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
      queueNames.events
      queueNames.work
      queueNames.poison
      queueNames.eventsPoison
      queueNames.notifications
    ]
    publicNetworkAccess: storagePublicNetworkAccess
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
      {
        principalId: identity.outputs.principalId
        roleDefinitionId: builtInRoles.storageTableDataContributor
        description: 'Remediator: the change history table (hardenhistory), written per outcome, pruned by retention.'
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
    queueRoleAssignments: concat([
      {
        scopeName: queueNames.events
        principalId: systemTopic.outputs.principalId
        roleDefinitionId: builtInRoles.storageQueueDataMessageSender
        description: 'Event Grid system topic: deliver resource events to the event queue.'
      }
    ], notificationQueueEnabled ? [
      {
        scopeName: queueNames.notifications
        principalId: notificationTopic.outputs.principalId
        roleDefinitionId: builtInRoles.storageQueueDataMessageSender
        description: 'Notification topic: deliver notifications to the example queue.'
      }
    ] : [])
    skuName: storageSkuName
    location: location
    tags: allTags
  }
}

// The app reaches its storage through private endpoints in the endpoint subnet (no public network access).
module storageEndpoints 'modules/network/private-endpoint.bicep' = [for group in storageEndpointGroups: {
  name: 'remediator-storage-pe-${group}'
  scope: rg
  params: {
    name: '${abbrs.networkPrivateEndpoints}${names.storage}-${group}'
    subnetResourceId: effectivePrivateEndpointSubnetResourceId
    targetResourceId: storage.outputs.resourceId
    groupId: group
    privateDnsZoneResourceIds: [
      '${dnsZonesResourceGroupId}/providers/Microsoft.Network/privateDnsZones/privatelink.${group}.${environment().suffixes.storage}'
    ]
    location: location
    tags: allTags
  }
  dependsOn: [
    network
  ]
}]

module functionApp 'modules/host/function-app.bicep' = {
  name: 'remediator-function-app'
  scope: rg
  params: {
    publicNetworkAccess: appPublicNetworkAccess
    allowEventGridPush: eventDelivery == 'AzureFunction'
    deployerIpAddress: deployerIpAddress
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
  dependsOn: [
    storageEndpoints
  ]
}

// The app publishes notifications through the topic's private endpoint (Event Grid custom topics: group 'topic',
// zone privatelink.eventgrid.azure.net; learn.microsoft.com/azure/private-link/private-endpoint-dns#integration).
module notificationTopicEndpoint 'modules/network/private-endpoint.bicep' = if (notificationTopicPublicNetworkAccess == 'Disabled') {
  name: 'remediator-notification-topic-pe'
  scope: rg
  params: {
    name: '${abbrs.networkPrivateEndpoints}${names.notificationTopic}'
    subnetResourceId: effectivePrivateEndpointSubnetResourceId
    targetResourceId: notificationTopic.outputs.resourceId
    groupId: 'topic'
    privateDnsZoneResourceIds: [
      '${dnsZonesResourceGroupId}/providers/Microsoft.Network/privateDnsZones/privatelink.eventgrid.azure.net'
    ]
    location: location
    tags: allTags
  }
  dependsOn: [
    network
  ]
}

// Email through ACS and the webhook URLs in a vault without public access (modules/notify/notification-channels.bicep).
module channels 'modules/notify/notification-channels.bicep' = if (notificationChannels) {
  name: 'remediator-notification-channels'
  scope: rg
  params: {
    communicationServiceName: names.communicationService
    emailServiceName: names.emailService
    keyVaultName: names.keyVault
    senderPrincipalId: identity.outputs.principalId
    dataLocation: notificationDataLocation
    location: location
    tags: allTags
  }
}

// The app reads the webhook secrets through the vault's private endpoint (Key Vault: group 'vault', zone
// privatelink.vaultcore.azure.net; learn.microsoft.com/azure/private-link/private-endpoint-dns#security).
module channelsVaultEndpoint 'modules/network/private-endpoint.bicep' = if (notificationChannels) {
  name: 'remediator-notification-vault-pe'
  scope: rg
  params: {
    name: '${abbrs.networkPrivateEndpoints}${names.keyVault}'
    subnetResourceId: effectivePrivateEndpointSubnetResourceId
    targetResourceId: notificationChannels ? channels.outputs.vaultResourceId : ''
    groupId: 'vault'
    privateDnsZoneResourceIds: [
      '${dnsZonesResourceGroupId}/providers/Microsoft.Network/privateDnsZones/privatelink.vaultcore.azure.net'
    ]
    location: location
    tags: allTags
  }
  dependsOn: [
    network
  ]
}

// Deployment from a runner inside the network: azd deploy publishes through the SCM site's private endpoint.
module functionAppEndpoint 'modules/network/private-endpoint.bicep' = if (functionAppPrivateEndpoint) {
  name: 'remediator-function-app-pe'
  scope: rg
  params: {
    name: '${abbrs.networkPrivateEndpoints}${names.functionApp}'
    subnetResourceId: effectivePrivateEndpointSubnetResourceId
    targetResourceId: functionApp.outputs.resourceId
    groupId: 'sites'
    privateDnsZoneResourceIds: [
      '${dnsZonesResourceGroupId}/providers/Microsoft.Network/privateDnsZones/privatelink.azurewebsites.net'
    ]
    location: location
    tags: allTags
  }
}

// Each role holds only the actions needed at its scope (infra/remediator-role-scopes.json).
module remediatorRole 'modules/rbac/remediator-role.bicep' = {
  name: 'remediator-role-${resourceToken}'
  params: {
    principalId: identity.outputs.principalId
    environmentName: environmentName
    resourceGroupNames: remediatorScopeGroups
  }
  dependsOn: [
    rg
  ]
}

module subscriptionReadsRole 'modules/rbac/subscription-reads-role.bicep' = {
  name: 'remediator-subscription-reads-role-${resourceToken}'
  params: {
    principalId: identity.outputs.principalId
    environmentName: environmentName
  }
}

module otherSubscriptionReadsRoles 'modules/rbac/subscription-reads-role.bicep' = [for subscriptionId in otherSubscriptionIds: {
  name: 'remediator-subscription-reads-role-${uniqueString(subscriptionId, resourceToken)}'
  scope: subscription(subscriptionId)
  params: {
    principalId: identity.outputs.principalId
    environmentName: environmentName
  }
}]

module endpointSubnetRole 'modules/rbac/scoped-role.bicep' = {
  name: 'remediator-endpoint-subnet-role-${resourceToken}'
  scope: resourceGroup(endpointSubnetGroup.subscriptionId, endpointSubnetGroup.resourceGroupName)
  params: {
    principalId: identity.outputs.principalId
    environmentName: environmentName
    roleKind: 'privateEndpointSubnet'
  }
  dependsOn: [
    rg
  ]
}

module serviceEndpointSubnetRoles 'modules/rbac/scoped-role.bicep' = [for group in serviceEndpointSubnetGroups: {
  name: 'remediator-service-endpoint-role-${uniqueString(group.subscriptionId, group.resourceGroupName, resourceToken)}'
  scope: resourceGroup(group.subscriptionId, group.resourceGroupName)
  params: {
    principalId: identity.outputs.principalId
    environmentName: environmentName
    roleKind: 'serviceEndpointSubnets'
  }
  dependsOn: [
    rg
  ]
}]

module dnsZonesRole 'modules/rbac/scoped-role.bicep' = {
  name: 'remediator-dns-zones-role-${resourceToken}'
  scope: resourceGroup(dnsZonesGroup.subscriptionId, dnsZonesGroup.resourceGroupName)
  params: {
    principalId: identity.outputs.principalId
    environmentName: environmentName
    roleKind: 'privateDnsZones'
    createPrivateDnsZones: createPrivateDnsZones
  }
  dependsOn: [
    rg
  ]
}

// Queue delivery is declared here (no post-deploy step); push delivery only once the function exists (postdeploy hook).
module resourceEvents 'modules/events/resource-events-subscription.bicep' = if (eventDelivery == 'StorageQueue' || subscribeToEvents) {
  name: 'remediator-resource-events-${resourceToken}'
  scope: resourceGroup(systemTopicResourceGroupName)
  params: {
    name: names.resourceEventsSubscription
    systemTopicName: systemTopic.outputs.name
    storageAccountResourceId: storage.outputs.resourceId
    deadLetterContainerName: storage.outputs.deadLetterContainerName
    deliveryMode: eventDelivery
    eventQueueName: queueNames.events
    functionAppResourceId: functionApp.outputs.resourceId
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

// Delivery health: a lost event or notification, or a request in the poison queue, tells someone
// (modules/monitor/; `paas-hardener doctor` checks the same path on demand).
module systemTopicDiagnostics 'modules/monitor/event-delivery-diagnostics.bicep' = {
  name: 'remediator-system-topic-diagnostics-${resourceToken}'
  scope: resourceGroup(systemTopicResourceGroupName)
  params: {
    topicName: systemTopic.outputs.name
    topicKind: 'system'
    workspaceResourceId: monitoring.outputs.logAnalyticsResourceId
  }
}

module notificationTopicDiagnostics 'modules/monitor/event-delivery-diagnostics.bicep' = {
  name: 'remediator-notification-topic-diagnostics'
  scope: rg
  params: {
    topicName: notificationTopic.outputs.name
    topicKind: 'custom'
    workspaceResourceId: monitoring.outputs.logAnalyticsResourceId
  }
}

module deliveryAlerts 'modules/monitor/delivery-alerts.bicep' = {
  name: 'remediator-delivery-alerts'
  scope: rg
  params: {
    namePrefix: 'alert-remediator-${resourceToken}'
    systemTopicResourceId: systemTopicResourceId
    notificationTopicResourceId: notificationTopic.outputs.resourceId
    workspaceResourceId: monitoring.outputs.logAnalyticsResourceId
    poisonQueueNames: [
      queueNames.eventsPoison
      queueNames.poison
    ]
    alertEmailAddress: alertEmailAddress
    location: location
    tags: allTags
  }
  dependsOn: [
    systemTopic
  ]
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

@description('The subscription of the deployment (the postdeploy hook passes it to az: az and azd keep separate defaults).')
output AZURE_SUBSCRIPTION_ID string = subscription().subscriptionId

@description('How resource events reach the app (StorageQueue or AzureFunction).')
output REMEDIATOR_EVENT_DELIVERY string = eventDelivery

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
