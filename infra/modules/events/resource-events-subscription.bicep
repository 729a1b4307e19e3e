metadata name = 'Resource events subscription'
metadata description = 'Delivers the subscription\'s successful resource writes that a remediator handles to a Storage queue of the app\'s own storage account with the system topic\'s identity (default: the app needs no inbound access), or pushes them to the Event Grid trigger of the function app; retries, then dead-letters to a blob container with the same identity.'

@description('Required. Name of the event subscription.')
param name string

@description('Required. Name of the system topic (in this resource group) to subscribe to.')
param systemTopicName string

@description('Required. Resource ID of the app\'s storage account: the event queue and the dead-letter container live there.')
param storageAccountResourceId string

@description('Required. Name of the blob container receiving dead-lettered events.')
param deadLetterContainerName string

@description('Optional. StorageQueue (default): Event Grid writes each event to eventQueueName with the system topic\'s identity, and the queue-triggered function reads it; nothing reaches the app from outside. AzureFunction: Event Grid pushes to the functionName function over the app\'s public endpoint (needs the function to exist when the subscription is created).')
@allowed([
  'StorageQueue'
  'AzureFunction'
])
param deliveryMode string = 'StorageQueue'

@description('Optional. Name of the Storage queue events are delivered to (function_app.py EVENTS_QUEUE_NAME).')
param eventQueueName string = 'resource-events'

@description('Optional. Resource ID of the function app hosting the Event Grid trigger (deliveryMode AzureFunction).')
param functionAppResourceId string = ''

@description('Optional. Name of the Event Grid triggered function (deliveryMode AzureFunction).')
param functionName string = 'on_resource_event'

@description('Optional. Delivery attempts before an event is dead-lettered.')
@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int = 30

@description('Optional. Minutes an event is retried before it is dead-lettered.')
@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int = 1440

// The single list of operation names: remediators/registry.py's event_filter_operations() must equal it (tested).
var handledOperations = loadJsonContent('../../handled-operations.json')

// Shared by both delivery modes.
var eventFilter = {
  includedEventTypes: [
    'Microsoft.Resources.ResourceWriteSuccess'
  ]
  enableAdvancedFilteringOnArrays: false
  advancedFilters: [
    {
      operatorType: 'StringIn'
      key: 'data.operationName'
      values: handledOperations
    }
  ]
}
var retryPolicy = {
  maxDeliveryAttempts: maxDeliveryAttempts
  eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
}
// The storage account admits Event Grid as a trusted service only with the topic's system-assigned identity
// (learn.microsoft.com/azure/event-grid/handler-storage-queues).
var deadLetterWithResourceIdentity = {
  identity: {
    type: 'SystemAssigned'
  }
  deadLetterDestination: {
    endpointType: 'StorageBlob'
    properties: {
      resourceId: storageAccountResourceId
      blobContainerName: deadLetterContainerName
    }
  }
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: systemTopicName
}

// Event Grid writes each event (Event Grid schema) to the queue as one base64-encoded message
// (MicrosoftDocs/azure-docs#102923), which the Functions Queues extension decodes by default.
resource queueSubscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = if (deliveryMode == 'StorageQueue') {
  parent: systemTopic
  name: name
  properties: {
    deliveryWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      destination: {
        endpointType: 'StorageQueue'
        properties: {
          resourceId: storageAccountResourceId
          queueName: eventQueueName
          // -1: kept until read; the remediator is idempotent, so a late event is still right.
          queueMessageTimeToLiveInSeconds: -1
        }
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: eventFilter
    retryPolicy: retryPolicy
    deadLetterWithResourceIdentity: deadLetterWithResourceIdentity
  }
}

resource functionSubscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = if (deliveryMode == 'AzureFunction') {
  parent: systemTopic
  name: name
  properties: {
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: '${functionAppResourceId}/functions/${functionName}'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: eventFilter
    retryPolicy: retryPolicy
    deadLetterWithResourceIdentity: deadLetterWithResourceIdentity
  }
}

@description('The resource ID of the event subscription.')
output resourceId string = deliveryMode == 'StorageQueue' ? queueSubscription.id : functionSubscription.id

@description('The name of the event subscription.')
output name string = name
