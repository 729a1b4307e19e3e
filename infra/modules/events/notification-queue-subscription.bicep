metadata name = 'Notification queue subscription (example)'
metadata description = 'An example subscriber: delivers every notification to a Storage queue with the topic identity. Copy it to route notifications elsewhere (webhook, Service Bus, Event Hubs, Logic Apps).'

@description('Required. Name of the event subscription.')
param name string

@description('Required. Name of the custom topic (in this resource group).')
param topicName string

@description('Required. Resource ID of the storage account holding the queue.')
param storageAccountResourceId string

@description('Required. Name of the queue.')
param queueName string


@description('Optional. Seconds a notification stays in the queue; -1 keeps it until read.')
param queueMessageTimeToLiveInSeconds int = 604800

resource notificationTopic 'Microsoft.EventGrid/topics@2025-02-15' existing = {
  name: topicName
}

resource queueSubscription 'Microsoft.EventGrid/topics/eventSubscriptions@2025-02-15' = {
  parent: notificationTopic
  name: name
  properties: {
    eventDeliverySchema: 'CloudEventSchemaV1_0'
    deliveryWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      destination: {
        endpointType: 'StorageQueue'
        properties: {
          resourceId: storageAccountResourceId
          queueName: queueName
          queueMessageTimeToLiveInSeconds: queueMessageTimeToLiveInSeconds
        }
      }
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
  }
}

@description('The resource ID of the event subscription.')
output resourceId string = queueSubscription.id
