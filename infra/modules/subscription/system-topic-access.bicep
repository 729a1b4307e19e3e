metadata name = 'System topic access'
metadata description = 'Lets one more system topic identity deliver resource events to the existing event queue (Storage Queue Data Message Sender on that queue only) and dead-letter into the existing container (Storage Blob Data Contributor on that container only).'

@description('Required. Name of the app\'s storage account (holds the event queue and the dead-letter container).')
param storageAccountName string

@description('Required. Name of the blob container receiving dead-lettered events.')
param deadLetterContainerName string

@description('Optional. Name of the Storage queue events are delivered to (function_app.py EVENTS_QUEUE_NAME).')
param eventQueueName string = 'resource-events'

@description('Required. Principal ID of the system topic identity.')
param principalId string

var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
var storageQueueDataMessageSender = 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource container 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: blobService
  name: deadLetterContainerName
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource queue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' existing = {
  parent: queueService
  name: eventQueueName
}

resource deadLetterWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, deadLetterContainerName, principalId, storageBlobDataContributor)
  scope: container
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'Event Grid system topic of an added subscription: dead-letter undeliverable resource events.'
  }
}

resource queueSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, eventQueueName, principalId, storageQueueDataMessageSender)
  scope: queue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataMessageSender)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'Event Grid system topic of an added subscription: deliver resource events to the event queue.'
  }
}
