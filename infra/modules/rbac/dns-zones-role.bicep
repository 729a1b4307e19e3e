metadata name = 'Private DNS zones role'
metadata description = 'When the private DNS zones live in another subscription, the subscription-scope role does not reach them: this grants the DNS subset of the remediator actions on the zones resource group only.'

@description('Required. Principal ID of the remediator identity.')
param principalId string

@description('Required. Name of the azd environment, which keeps role names unique when several environments share the zones.')
param environmentName string

// The DNS actions are taken from the one list of remediator actions, not repeated.
var actions = filter(loadJsonContent('../../remediator-role-actions.json'), action => startsWith(toLower(action), 'microsoft.network/privatednszones/'))

// One role per remediator identity: several landing zones may share one central zones resource group, and custom
// role names are unique per tenant.
var roleName = 'PaaS network hardener DNS (${environmentName}, ${principalId})'
var roleGuid = guid(resourceGroup().id, 'paas-network-hardener-dns', principalId)
// Role definitions are subscription-level objects even when deployed at resource-group scope.
var roleDefinitionId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleGuid)

resource role 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: roleGuid
  properties: {
    roleName: roleName
    description: 'Creates and links private DNS zones and joins private endpoints to them. Generated from remediators/registry.py.'
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
      resourceGroup().id
    ]
  }
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, principalId, roleDefinitionId)
  properties: {
    roleDefinitionId: roleDefinitionId
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'Remediator: manage private DNS zones for private endpoints.'
  }
  dependsOn: [
    role
  ]
}

@description('The resource ID of the custom role.')
output roleDefinitionResourceId string = roleDefinitionId
