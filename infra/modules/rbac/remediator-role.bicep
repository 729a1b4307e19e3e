targetScope = 'subscription'

metadata name = 'Remediator role'
metadata description = 'A custom role holding exactly the actions the remediators need (remediator-role-actions.json, checked against remediators/registry.py), assigned to the remediator identity at subscription scope.'

@description('Required. Principal ID of the remediator identity.')
param principalId string

@description('Required. Name of the azd environment, which keeps role names unique when several environments share a subscription.')
param environmentName string

// The single list of actions: remediators/registry.py's rbac_actions() must equal it, both ways (tested).
var actions = loadJsonContent('../../remediator-role-actions.json')

// Custom role names are unique per tenant: the subscription keeps landing zones with the same environment name apart.
var roleName = 'PaaS network hardener (${environmentName}, ${subscription().subscriptionId})'

resource role 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, 'paas-network-hardener', environmentName)
  properties: {
    roleName: roleName
    description: 'Reads handled PaaS resources and closes their network access: private endpoints with private DNS, or service endpoints with VNet rules. Generated from remediators/registry.py.'
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
    description: 'Remediator: harden handled PaaS resources in this subscription.'
  }
}

@description('The resource ID of the custom role.')
output roleDefinitionResourceId string = role.id

@description('The name of the custom role.')
output roleName string = roleName
