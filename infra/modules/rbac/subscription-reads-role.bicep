targetScope = 'subscription'

metadata name = 'Remediator subscription reads role'
metadata description = 'Reads the remediator makes at subscription level, on each subscription it works in: the status URLs of its long-running writes (/subscriptions/{id}/providers/{namespace}/locations/{region}/..., outside any resource group), and the list of private DNS zones and their links it checks for a same-name zone already linked to the endpoint VNet. Reads only.'

@description('Required. Principal ID of the remediator identity.')
param principalId string

@description('Required. Name of the azd environment, which keeps role names unique.')
param environmentName string

var actions = loadJsonContent('../../remediator-role-scopes.json').subscriptionReads

var roleGuid = guid(subscription().id, 'paas-network-hardener-subscription-reads', environmentName, principalId)

resource role 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: roleGuid
  properties: {
    roleName: 'PaaS network hardener subscription reads (${environmentName}, ${uniqueString(subscription().id, principalId)})'
    description: 'Reads the status of the remediator\'s own long-running operations and lists private DNS zones and their links. Generated from remediators/registry.py.'
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
    description: 'Remediator: poll its own long-running operations; find same-name private DNS zones.'
  }
}
