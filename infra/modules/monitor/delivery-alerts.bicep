metadata name = 'Delivery health alerts'
metadata description = 'Alert rules that tell someone when resource events or notifications are lost: Event Grid delivery failures, dropped and dead-lettered events on the system topic and the notification topic, and work messages moved to the poison queue; all to one action group (email).'

@description('Required. Name prefix of the alert rules and the action group.')
param namePrefix string

@description('Required. Resource ID of the subscription system topic.')
param systemTopicResourceId string

@description('Required. Resource ID of the notification topic.')
param notificationTopicResourceId string

@description('Required. Resource ID of the Log Analytics workspace holding the app\'s Application Insights traces.')
param workspaceResourceId string

@description('Required. Names of the poison queues (function_app.py: each triggered queue\'s name + -poison).')
param poisonQueueNames array

@description('Optional. Email address the action group notifies. Empty: the alert rules fire in the portal only.')
param alertEmailAddress string = ''

@description('Optional. Location of the log alert rule (a regional resource).')
param location string = resourceGroup().location

@description('Optional. Tags of the alert rules and the action group.')
param tags object = {}

// Event Grid push-delivery metrics (learn.microsoft.com/azure/event-grid/monitor-push-reference): totals per event
// subscription. Dropped and dead-lettered events are lost to the remediator; failed attempts are retried (a burst
// of them means the queue or the function is unreachable).
var eventGridAlerts = [
  {
    key: 'dropped'
    metricName: 'DroppedEventCount'
    severity: 1
    threshold: 0
    description: 'Event Grid dropped events (retries or time to live exhausted, no dead-letter destination reachable): they are lost.'
  }
  {
    key: 'deadlettered'
    metricName: 'DeadLetteredCount'
    severity: 2
    threshold: 0
    description: 'Event Grid dead-lettered events (to the eventgrid-deadletter container): run paas-hardener doctor, then sweep.'
  }
  {
    key: 'deliveryfailed'
    metricName: 'DeliveryAttemptFailCount'
    severity: 3
    threshold: 10
    description: 'Event Grid failed more than 10 delivery attempts in 15 minutes (it retries): the destination may be unreachable.'
  }
]
var topics = [
  {
    key: 'system'
    resourceId: systemTopicResourceId
    namespace: 'Microsoft.EventGrid/systemTopics'
  }
  {
    key: 'notifications'
    resourceId: notificationTopicResourceId
    namespace: 'Microsoft.EventGrid/topics'
  }
]
var metricAlertRules = [for i in range(0, length(topics) * length(eventGridAlerts)): {
  topic: topics[i / length(eventGridAlerts)]
  alert: eventGridAlerts[i % length(eventGridAlerts)]
}]
var actionGroupIds = empty(alertEmailAddress) ? [] : [
  actionGroup.id
]
// (A variable rather than a for-expression inside the rule loop: one loop per resource keeps both parsers reading.)
var metricAlertActions = empty(alertEmailAddress) ? [] : [
  {
    actionGroupId: actionGroup.id
  }
]

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmailAddress)) {
  name: '${namePrefix}-delivery'
  location: 'Global'
  tags: tags
  properties: {
    groupShortName: 'hardener'
    enabled: true
    emailReceivers: [
      {
        name: 'operator'
        emailAddress: alertEmailAddress
        useCommonAlertSchema: true
      }
    ]
  }
}

resource metricAlerts 'Microsoft.Insights/metricAlerts@2018-03-01' = [for rule in metricAlertRules: {
  name: '${namePrefix}-${rule.topic.key}-${rule.alert.key}'
  location: 'global'
  tags: tags
  properties: {
    description: rule.alert.description
    severity: rule.alert.severity
    enabled: true
    scopes: [
      rule.topic.resourceId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: rule.alert.metricName
          metricNamespace: rule.topic.namespace
          metricName: rule.alert.metricName
          operator: 'GreaterThan'
          threshold: rule.alert.threshold
          timeAggregation: 'Total'
        }
      ]
    }
    actions: metricAlertActions
  }
}]

// The poison queue: Storage queue metrics are per account, not per queue (QueueMessageCount has no dimension and
// an hourly grain: learn.microsoft.com/azure/azure-monitor/reference/supported-metrics/microsoft-storage-storageaccounts-queueservices-metrics),
// so a metric alert cannot watch one queue. The Functions host logs a warning each time it moves a message
// ("Message has reached MaxDequeueCount of {0}. Moving message to queue '{1}'.", Azure/azure-webjobs-sdk
// QueueProcessor), which reaches the workspace as an AppTraces row: this log alert fires on the first one.
resource poisonAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${namePrefix}-poison-queue'
  location: location
  tags: tags
  properties: {
    displayName: '${namePrefix}-poison-queue'
    description: 'A hardening request failed five times and was moved to a poison queue (${join(poisonQueueNames, ', ')}): read its outcome, fix the cause, then move it back.'
    severity: 2
    enabled: true
    scopes: [
      workspaceResourceId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    criteria: {
      allOf: [
        {
          query: 'AppTraces | where Message has "Moving message to queue" and Message has_any (dynamic(${string(poisonQueueNames)}))'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: actionGroupIds
    }
  }
}

@description('The name of the poison-queue log alert rule.')
output poisonAlertName string = poisonAlert.name
