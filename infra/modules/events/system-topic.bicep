metadata name = 'Subscription system topic'
metadata description = 'The Event Grid system topic that publishes the Azure Resource Manager events of the subscription. Azure allows one system topic per source, so an existing topic can be reused instead of created.'

@description('Required. Name of the system topic.')
param name string

@description('Optional. Create the system topic (true) or reuse an existing one of that name in this resource group (false). A reused topic must have a system-assigned identity for dead-lettering.')
param create bool = true

@description('Optional. Tags of the system topic (ignored when reusing a topic).')
param tags object = {}

resource createdTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = if (create) {
  name: name
  location: 'global'
  tags: tags
  identity: {
    // Dead-lettering authenticates to storage with this identity (deadLetterWithResourceIdentity).
    type: 'SystemAssigned'
  }
  properties: {
    source: subscription().id
    topicType: 'Microsoft.Resources.Subscriptions'
  }
}

resource existingTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = if (!create) {
  name: name
}

@description('The name of the system topic.')
output name string = name

@description('The name of the resource group holding the system topic.')
output resourceGroupName string = resourceGroup().name

@description('The principal ID of the system topic identity.')
output principalId string = create ? createdTopic.identity.principalId : existingTopic.identity.principalId
