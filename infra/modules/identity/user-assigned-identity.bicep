metadata name = 'Remediator identity'
metadata description = 'The user-assigned managed identity the function app runs as. Every role the remediator holds is granted to this identity.'

@description('Required. Name of the user-assigned managed identity.')
param name string

@description('Optional. Location for the identity.')
param location string = resourceGroup().location

@description('Optional. Tags of the identity.')
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

@description('The resource ID of the identity.')
output resourceId string = identity.id

@description('The name of the identity.')
output name string = identity.name

@description('The client (application) ID of the identity, used as AZURE_CLIENT_ID.')
output clientId string = identity.properties.clientId

@description('The principal (object) ID of the identity, used in role assignments.')
output principalId string = identity.properties.principalId
