metadata name = 'Private endpoint'
metadata description = 'A private endpoint for one sub-resource of one of the remediator\'s own resources (its storage account, its function app), with a DNS zone group on the matching privatelink zones (created network, or the central zones of an Azure Landing Zone).'

@description('Required. Name of the private endpoint.')
param name string

@description('Required. Resource ID of the subnet the endpoint is placed in.')
param subnetResourceId string

@description('Required. Resource ID of the resource the endpoint connects to.')
param targetResourceId string

@description('Required. The sub-resource (group ID) of the target, e.g. blob, queue or sites.')
param groupId string

@description('Optional. Resource IDs of the privatelink.* private DNS zones the endpoint registers in. Leave empty where Azure Policy (ALZ Deploy-Private-DNS-Zones) adds the zone group.')
param privateDnsZoneResourceIds array = []

@description('Optional. Location of the private endpoint (the subnet\'s region).')
param location string = resourceGroup().location

@description('Optional. Tags of the private endpoint.')
param tags object = {}

resource endpoint 'Microsoft.Network/privateEndpoints@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    subnet: {
      id: subnetResourceId
    }
    privateLinkServiceConnections: [
      {
        name: name
        properties: {
          privateLinkServiceId: targetResourceId
          groupIds: [
            groupId
          ]
        }
      }
    ]
  }
}

// One zone group per endpoint, named 'default' (learn.microsoft.com/azure/private-link/private-endpoint-dns).
resource zoneGroup 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = if (!empty(privateDnsZoneResourceIds)) {
  parent: endpoint
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [for zoneId in privateDnsZoneResourceIds: {
      name: replace(last(split(zoneId, '/')), '.', '-')
      properties: {
        privateDnsZoneId: zoneId
      }
    }]
  }
}

@description('The resource ID of the private endpoint.')
output resourceId string = endpoint.id
