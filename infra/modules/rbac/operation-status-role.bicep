targetScope = 'subscription'

metadata name = 'Remediator operation-status role'
metadata description = 'Long-running writes are polled at subscription-level status URLs (/subscriptions/{id}/providers/{namespace}/locations/{region}/...), outside any resource group: this grants only those status reads, on each subscription the remediator writes in.'

@description('Required. Principal ID of the remediator identity.')
param principalId string

@description('Required. Name of the azd environment, which keeps role names unique.')
param environmentName string

var actions = loadJsonContent('../../remediator-role-scopes.json').operationStatus

var roleGuid = guid(subscription().id, 'paas-network-hardener-operation-status', environmentName, principalId)

resource role 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: roleGuid
  properties: {
    roleName: 'PaaS network hardener operation status (${environmentName}, ${uniqueString(subscription().id, principalId)})'
    description: 'Reads the status of the remediator\'s own long-running operations. Generated from remediators/registry.py.'
    type: 'CustomRole'
    permissions: [
      {
        actions: actions
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
    assignableScopes: [
      subscription().id
    ]
  }
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, role.id)
  properties: {
    roleDefinitionId: role.id
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'Remediator: poll its own long-running operations.'
  }
}
