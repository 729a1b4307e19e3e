metadata name = 'Remediator network role on one resource group'
metadata description = 'The network actions the remediator needs where a network piece lives (the endpoint subnet\'s VNet, a service-endpoint subnet\'s VNet, the private DNS zones), as a custom role assignable and assigned on that resource group only. The hub or connectivity subscription may hold it.'

@description('Required. Principal ID of the remediator identity.')
param principalId string

@description('Required. Name of the azd environment, which keeps role names unique when several environments share the resource group.')
param environmentName string

@description('Optional. privateDnsZones only: whether the remediator may create missing privatelink.* zones (privateDnsZones/write). False where the platform team owns the zones: the role then links and joins existing zones only.')
param createPrivateDnsZones bool = true

@description('Required. Which list of remediator-role-scopes.json this resource group needs.')
@allowed([
  'privateEndpointSubnet'
  'serviceEndpointSubnets'
  'privateDnsZones'
])
param roleKind string

// The lists are generated from remediators/registry.py (tests/infra/sync_infra_json.py), never repeated here.
// (Conditionals rather than lists[roleKind]: checkov's Bicep parser does not read an index by a parameter.)
var lists = loadJsonContent('../../remediator-role-scopes.json')
var zoneActions = createPrivateDnsZones ? lists.privateDnsZones : lists.privateDnsZonesLinkOnly
var actions = roleKind == 'privateEndpointSubnet' ? lists.privateEndpointSubnet : (roleKind == 'serviceEndpointSubnets' ? lists.serviceEndpointSubnets : zoneActions)
var purpose = roleKind == 'privateEndpointSubnet' ? 'Creates private endpoints and their DNS zone groups in the endpoint subnet, and links private DNS zones to its VNet.' : (roleKind == 'serviceEndpointSubnets' ? 'Adds service endpoints to subnets (a subnet write re-checks its NSG, route table, NAT gateway and service endpoint policies) and joins the subnets to VNet rules.' : 'Creates and links privatelink.* zones and joins private endpoints to them; polls their operations.')

// One role per remediator identity, kind and resource group: several landing zones may share a hub or the central
// zones, and custom role names are unique per tenant.
var roleGuid = guid(resourceGroup().id, 'paas-network-hardener', roleKind, principalId)
var roleName = 'PaaS network hardener ${roleKind} (${environmentName}, ${uniqueString(resourceGroup().id, principalId)})'
// Role definitions are subscription-level objects even when deployed at resource-group scope.
var roleDefinitionId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleGuid)

resource role 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: roleGuid
  properties: {
    roleName: roleName
    description: '${purpose} Generated from remediators/registry.py.'
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
    description: 'Remediator: ${purpose}'
  }
  dependsOn: [
    role
  ]
}

@description('The resource ID of the custom role.')
output roleDefinitionResourceId string = roleDefinitionId
