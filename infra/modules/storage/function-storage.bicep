metadata name = 'Function storage'
metadata description = 'The function app storage account (identity-based access only, no public network access by default), its deployment and dead-letter containers, the event, work, poison and notification queues, and the data-plane role assignments scoped as narrowly as each principal needs.'

@description('Required. Name of the storage account.')
@minLength(3)
@maxLength(24)
param name string

@description('Required. Name of the blob container Flex Consumption deploys the app package from.')
param deploymentContainerName string

@description('Required. Name of the blob container Event Grid dead-letters undeliverable events into.')
param deadLetterContainerName string

@description('Required. Names of the queues to create (event queue, work queue, poison queue, notification queue).')
param queueNames array

@description('Optional. Resource IDs of the subnets admitted through the storage firewall when publicNetworkAccess is Enabled (the function app subnet, with the Microsoft.Storage service endpoint).')
param allowedSubnetResourceIds array = []

@description('Optional. Disabled (default): reachable only through private endpoints (the function app) and by trusted Azure services that authenticate with their system-assigned identity (Event Grid delivery and dead-lettering). Enabled: also from allowedSubnetResourceIds over service endpoints, for networks without private endpoints; ALZ Deny-PublicPaaSEndpoints refuses it without an exemption.')
@allowed([
  'Disabled'
  'Enabled'
])
param publicNetworkAccess string = 'Disabled'

// The three role-assignment lists are arrays of roleAssignmentType / scopedRoleAssignmentType (declared below). They
// are typed `array` because checkov's Bicep parser (pycep 0.5) cannot read `type[]`; the tests check every element.
@description('Optional. Role assignments on the storage account (elements: roleAssignmentType).')
param accountRoleAssignments array = []

@description('Optional. Role assignments on a single blob container of the account (elements: scopedRoleAssignmentType).')
param containerRoleAssignments array = []

@description('Optional. Role assignments on a single queue of the account (elements: scopedRoleAssignmentType).')
param queueRoleAssignments array = []

@description('Optional. Storage SKU. Zone-redundant by default; choose Standard_LRS where the region has no zones.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param skuName string = 'Standard_ZRS'

@description('Optional. Location for the storage account.')
param location string = resourceGroup().location

@description('Optional. Tags of the storage account.')
param tags object = {}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_206: Holds only host state, the work queues and the deployment package, all recreated by a redeployment; zone-redundant by default (skuName).
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    dnsEndpointType: 'Standard'
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    // Private endpoints for the function app; the trusted-service exception (bypass AzureServices) for Event Grid,
    // which delivers and dead-letters with the system topic's system-assigned identity
    // (learn.microsoft.com/azure/event-grid/handler-storage-queues: a user-assigned identity is not accepted).
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      defaultAction: 'Deny'
      bypass: 'AzureServices'
      ipRules: []
      virtualNetworkRules: [for subnetId in (publicNetworkAccess == 'Enabled' ? allowedSubnetResourceIds : []): {
        id: subnetId
        action: 'Allow'
      }]
    }
  }
}

// Child resources are declared at top level with `parent`: pycep keeps only one nested child per resource.
resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deadLetterContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [for queueName in queueNames: {
  parent: queueService
  name: queueName
}]

resource accountAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for assignment in accountRoleAssignments: {
  name: guid(storage.id, assignment.principalId, assignment.roleDefinitionId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', assignment.roleDefinitionId)
    principalId: assignment.principalId
    principalType: 'ServicePrincipal'
    description: assignment.description
  }
}]

resource assignedContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = [for assignment in containerRoleAssignments: {
  parent: blobService
  name: assignment.scopeName
}]

resource containerAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (assignment, i) in containerRoleAssignments: {
  name: guid(storage.id, assignment.scopeName, assignment.principalId, assignment.roleDefinitionId)
  scope: assignedContainers[i]
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', assignment.roleDefinitionId)
    principalId: assignment.principalId
    principalType: 'ServicePrincipal'
    description: assignment.description
  }
  dependsOn: [
    deploymentContainer
    deadLetterContainer
  ]
}]

resource assignedQueues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' existing = [for assignment in queueRoleAssignments: {
  parent: queueService
  name: assignment.scopeName
}]

resource queueAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (assignment, i) in queueRoleAssignments: {
  name: guid(storage.id, assignment.scopeName, assignment.principalId, assignment.roleDefinitionId)
  scope: assignedQueues[i]
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', assignment.roleDefinitionId)
    principalId: assignment.principalId
    principalType: 'ServicePrincipal'
    description: assignment.description
  }
  dependsOn: [
    queues
  ]
}]

@description('A role granted to a service principal on the storage account.')
type roleAssignmentType = {
  principalId: string
  roleDefinitionId: string
  description: string
}

@description('A role granted to a service principal on one container or one queue, named by scopeName.')
type scopedRoleAssignmentType = {
  scopeName: string
  principalId: string
  roleDefinitionId: string
  description: string
}

@description('The resource ID of the storage account.')
output resourceId string = storage.id

@description('The name of the storage account.')
output name string = storage.name

@description('The blob endpoint of the storage account.')
output primaryBlobEndpoint string = storage.properties.primaryEndpoints.blob

@description('The queue endpoint of the storage account.')
output primaryQueueEndpoint string = storage.properties.primaryEndpoints.queue

@description('The table endpoint of the storage account.')
output primaryTableEndpoint string = storage.properties.primaryEndpoints.table

@description('The name of the deployment container.')
output deploymentContainerName string = deploymentContainer.name

@description('The name of the dead-letter container.')
output deadLetterContainerName string = deadLetterContainer.name
