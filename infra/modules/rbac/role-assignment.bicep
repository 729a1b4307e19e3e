metadata name = 'Role assignment on a resource group'
metadata description = 'Assigns an existing role definition to the remediator identity on this resource group.'

@description('Required. Principal ID of the remediator identity.')
param principalId string

@description('Required. Resource ID of the role definition to assign.')
param roleDefinitionResourceId string

@description('Required. Why the remediator holds this role here.')
param assignmentDescription string

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, principalId, roleDefinitionResourceId)
  properties: {
    roleDefinitionId: roleDefinitionResourceId
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: assignmentDescription
  }
}
