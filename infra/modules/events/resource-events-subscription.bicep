metadata name = 'Resource events subscription'
metadata description = 'Delivers the subscription\'s successful resource writes that a remediator handles to the Event Grid trigger of the function app, with retries and dead-lettering to a blob container.'

@description('Required. Name of the event subscription.')
param name string

@description('Required. Name of the system topic (in this resource group) to subscribe to.')
param systemTopicName string

@description('Required. Resource ID of the function app hosting the Event Grid trigger.')
param functionAppResourceId string

@description('Required. Resource ID of the storage account receiving dead-lettered events.')
param deadLetterStorageAccountResourceId string

@description('Required. Name of the blob container receiving dead-lettered events.')
param deadLetterContainerName string


@description('Optional. Name of the Event Grid triggered function.')
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

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: systemTopicName
}

resource eventSubscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = {
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
    filter: {
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
    retryPolicy: {
      maxDeliveryAttempts: maxDeliveryAttempts
      eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
    }
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: deadLetterStorageAccountResourceId
          blobContainerName: deadLetterContainerName
        }
      }
    }
  }
}

@description('The resource ID of the event subscription.')
output resourceId string = eventSubscription.id

@description('The name of the event subscription.')
output name string = eventSubscription.name
