targetScope = 'subscription'

metadata name = 'Remediator role'
metadata description = 'A custom role holding the actions the remediators need on the PaaS resources they harden (remediator-role-scopes.json "resources", generated from remediators/registry.py), assigned to the remediator identity on the whole subscription or on listed resource groups only.'

@description('Required. Principal ID of the remediator identity.')
param principalId string

@description('Required. Name of the azd environment, which keeps role names unique when several environments share a subscription.')
param environmentName string

@description('Optional. Names of the resource groups (in this subscription) the remediator may change resources in. Empty: the whole subscription.')
param resourceGroupNames array = []

// The actions needed on the hardened resources; the network, DNS and subscription-level read actions are granted at their
// own scopes (scoped-role.bicep, subscription-reads-role.bicep). remediators/registry.py must equal the union (tested).
var actions = loadJsonContent('../../remediator-role-scopes.json').resources

// Custom role names are unique per tenant: the subscription keeps landing zones with the same environment name apart.
var roleName = 'PaaS network hardener (${environmentName}, ${subscription().subscriptionId})'

resource role 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, 'paas-network-hardener', environmentName)
  properties: {
    roleName: roleName
    description: 'Reads handled PaaS resources and closes their network access: private endpoint approval, firewall and VNet rules, public network access. Generated from remediators/registry.py.'
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

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (empty(resourceGroupNames)) {
  name: guid(subscription().id, principalId, role.id)
  properties: {
    roleDefinitionId: role.id
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'Remediator: harden handled PaaS resources in this subscription.'
  }
}

module groupAssignments 'role-assignment.bicep' = [for groupName in resourceGroupNames: {
  name: 'remediator-role-${uniqueString(groupName, principalId)}'
  scope: resourceGroup(groupName)
  params: {
    principalId: principalId
    roleDefinitionResourceId: role.id
    assignmentDescription: 'Remediator: harden handled PaaS resources in this resource group.'
  }
}]

@description('The resource ID of the custom role.')
output roleDefinitionResourceId string = role.id

@description('The name of the custom role.')
output roleName string = roleName
