metadata name = 'Notification topic'
metadata description = 'The Event Grid custom topic the remediator publishes its findings and changes to (CloudEvents 1.0, Entra ID only), and the EventGrid Data Sender role for the remediator identity.'

@description('Required. Name of the custom topic.')
param name string

@description('Required. Principal ID of the identity that publishes notifications.')
param senderPrincipalId string

@description('Optional. Disabled (default): publishers reach the topic only through a private endpoint (main.bicep creates one, group topic). Enabled: over its public endpoint, with an Entra ID token only (disableLocalAuth).')
@allowed([
  'Enabled'
  'Disabled'
])
param topicPublicNetworkAccess string = 'Disabled'

@description('Optional. Location for the topic.')
param location string = resourceGroup().location

@description('Optional. Tags of the topic.')
param tags object = {}

// EventGrid Data Sender (built-in role).
var eventGridDataSenderRoleId = 'd5a91429-5739-47e2-a06b-3470a27159e7'

resource topic 'Microsoft.EventGrid/topics@2025-02-15' = {
  name: name
  location: location
  tags: tags
  identity: {
    // Delivers to Storage queue subscribers with this identity (deliveryWithResourceIdentity).
    type: 'SystemAssigned'
  }
  properties: {
    inputSchema: 'CloudEventSchemaV1_0'
    disableLocalAuth: true
    publicNetworkAccess: topicPublicNetworkAccess
    minimumTlsVersionAllowed: '1.2'
    dataResidencyBoundary: 'WithinGeopair'
  }
}

resource dataSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(topic.id, senderPrincipalId, eventGridDataSenderRoleId)
  scope: topic
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', eventGridDataSenderRoleId)
    principalId: senderPrincipalId
    principalType: 'ServicePrincipal'
    description: 'Remediator: publish notifications to its topic.'
  }
}

@description('The resource ID of the topic.')
output resourceId string = topic.id

@description('The name of the topic.')
output name string = topic.name

@description('The endpoint the remediator publishes to (HARDEN_NOTIFY_TOPIC_ENDPOINT).')
output endpoint string = topic.properties.endpoint

@description('The principal ID of the topic identity.')
output principalId string = topic.identity.principalId
