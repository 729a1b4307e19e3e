metadata name = 'Event delivery diagnostics'
metadata description = 'Sends an Event Grid topic\'s delivery failure logs and all its metrics (delivery failures, dropped and dead-lettered events) to the Log Analytics workspace. Deployed in the topic\'s resource group (a diagnostic setting is an extension of the topic).'

@description('Required. Name of the Event Grid topic in this resource group.')
param topicName string

@description('Required. system: a Microsoft.EventGrid/systemTopics topic (log category DeliveryFailures). custom: a Microsoft.EventGrid/topics topic (DeliveryFailures and PublishFailures).')
@allowed([
  'system'
  'custom'
])
param topicKind string

@description('Required. Resource ID of the Log Analytics workspace.')
param workspaceResourceId string

// Log categories: learn.microsoft.com/azure/azure-monitor/reference/supported-logs/microsoft-eventgrid-systemtopics-logs
// and .../microsoft-eventgrid-topics-logs (table AegDeliveryFailureLogs, AegPublishFailureLogs).
var systemTopicLogs = [
  {
    category: 'DeliveryFailures'
    enabled: true
  }
]
var customTopicLogs = [
  {
    category: 'DeliveryFailures'
    enabled: true
  }
  {
    category: 'PublishFailures'
    enabled: true
  }
]
// Metrics (DeliveryAttemptFailCount, DroppedEventCount, DeadLetteredCount, ...):
// learn.microsoft.com/azure/event-grid/monitor-push-reference.
var allMetrics = [
  {
    category: 'AllMetrics'
    enabled: true
  }
]

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = if (topicKind == 'system') {
  name: topicName
}

resource customTopic 'Microsoft.EventGrid/topics@2025-02-15' existing = if (topicKind == 'custom') {
  name: topicName
}

resource systemTopicDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (topicKind == 'system') {
  name: 'harden-delivery-health'
  scope: systemTopic
  properties: {
    workspaceId: workspaceResourceId
    logs: systemTopicLogs
    metrics: allMetrics
  }
}

resource customTopicDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (topicKind == 'custom') {
  name: 'harden-delivery-health'
  scope: customTopic
  properties: {
    workspaceId: workspaceResourceId
    logs: customTopicLogs
    metrics: allMetrics
  }
}
