metadata name = 'Landing-zone network'
metadata description = 'A virtual network with subnets for private endpoints, the function app (delegated) and workloads (service endpoints pre-enabled), one network security group, and a private DNS zone per private-link zone of the handled services, each linked to the virtual network.'

@description('Required. Name of the virtual network.')
param name string

@description('Required. Name of the network security group attached to the subnets.')
param networkSecurityGroupName string

@description('Required. Address space and subnet prefixes.')
param addressing addressingType

@description('Optional. Location for the virtual network and the network security group.')
param location string = resourceGroup().location

@description('Optional. Tags of the resources.')
param tags object = {}

// The single list of zones and of service endpoints: the tests compare both with remediators/registry.py.
var servicePrivateDnsZoneNames = loadJsonContent('../../private-dns-zones.json')
// The remediator's own notification topic (private endpoint, group topic) needs one zone no handled service uses.
var ownPrivateDnsZoneNames = [
  'privatelink.eventgrid.azure.net'
]
var privateDnsZoneNames = concat(servicePrivateDnsZoneNames, ownPrivateDnsZoneNames)
var serviceEndpointNames = loadJsonContent('../../service-endpoints.json')

var subnetNames = {
  privateEndpoints: 'snet-private-endpoints'
  function: 'snet-function'
  workloads: 'snet-workloads'
}

resource nsg 'Microsoft.Network/networkSecurityGroups@2024-05-01' = {
  name: networkSecurityGroupName
  location: location
  tags: tags
  properties: {
    // The default rules only: nothing is reachable from the internet.
    securityRules: []
  }
}

// Subnets are declared inline so that a second deployment is a no-op. The workload subnet already carries every
// service endpoint the remediator may enable, so the remediator never has to change it and a redeployment never
// removes an endpoint the remediator relies on.
resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressing.addressPrefix
      ]
    }
    subnets: [
      {
        name: subnetNames.privateEndpoints
        properties: {
          addressPrefix: addressing.privateEndpointSubnetPrefix
          networkSecurityGroup: {
            id: nsg.id
          }
          privateEndpointNetworkPolicies: 'Enabled'
          privateLinkServiceNetworkPolicies: 'Enabled'
        }
      }
      {
        name: subnetNames.function
        properties: {
          addressPrefix: addressing.functionSubnetPrefix
          networkSecurityGroup: {
            id: nsg.id
          }
          // Used only when the app's storage has public network access Enabled (storagePublicNetworkAccess): then it
          // admits this subnet through a service endpoint. By default the app reaches its storage through private endpoints.
          serviceEndpoints: [
            {
              service: 'Microsoft.Storage'
            }
          ]
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                // Flex Consumption VNet integration uses the Microsoft.App/environments delegation.
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
          // The function calls Azure Resource Manager and Entra ID. Set explicitly: new subnets are heading for
          // private-by-default; attach a NAT gateway instead if your policy forbids default outbound access.
          defaultOutboundAccess: true
        }
      }
      {
        name: subnetNames.workloads
        properties: {
          addressPrefix: addressing.workloadSubnetPrefix
          networkSecurityGroup: {
            id: nsg.id
          }
          serviceEndpoints: [for service in serviceEndpointNames: {
            service: service
          }]
        }
      }
    ]
  }
}

resource zones 'Microsoft.Network/privateDnsZones@2020-06-01' = [for zone in privateDnsZoneNames: {
  name: zone
  location: 'global'
  tags: tags
}]

resource zoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2020-06-01' = [for (zone, i) in privateDnsZoneNames: {
  parent: zones[i]
  name: 'link-${name}'
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: {
      id: vnet.id
    }
  }
}]

@description('Address space of the virtual network and the prefixes of its three subnets.')
type addressingType = {
  addressPrefix: string
  privateEndpointSubnetPrefix: string
  functionSubnetPrefix: string
  workloadSubnetPrefix: string
}

@description('The resource ID of the virtual network.')
output virtualNetworkResourceId string = vnet.id

@description('The resource ID of the subnet private endpoints are placed in.')
output privateEndpointSubnetResourceId string = '${vnet.id}/subnets/${subnetNames.privateEndpoints}'

@description('The resource ID of the subnet delegated to the function app.')
output functionSubnetResourceId string = '${vnet.id}/subnets/${subnetNames.function}'

@description('The resource ID of the workload subnet that VNet rules admit.')
output workloadSubnetResourceId string = '${vnet.id}/subnets/${subnetNames.workloads}'

@description('The resource ID of the resource group holding the private DNS zones.')
output privateDnsZonesResourceGroupResourceId string = resourceGroup().id

@description('The names of the private DNS zones created.')
output privateDnsZoneNames array = privateDnsZoneNames
