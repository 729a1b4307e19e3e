metadata name = 'Dead-letter writer'
metadata description = 'Lets one more system topic identity write dead-lettered events into the existing dead-letter container (Storage Blob Data Contributor on that container only).'

@description('Required. Name of the storage account holding the dead-letter container.')
param storageAccountName string

@description('Required. Name of the dead-letter container.')
param containerName string

@description('Required. Principal ID of the system topic identity.')
param principalId string

var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource container 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: blobService
  name: containerName
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, containerName, principalId, storageBlobDataContributor)
  scope: container
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'Event Grid system topic of an added subscription: dead-letter undeliverable resource events.'
  }
}
