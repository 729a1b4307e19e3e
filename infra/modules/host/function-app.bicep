metadata name = 'Remediator function app'
metadata description = 'A Python function app on the Flex Consumption plan, running as a user-assigned identity, integrated into a delegated subnet, with no inbound access by default (events arrive through a Storage queue), identity-based storage and Application Insights connections.'

@description('Required. Name of the function app.')
param name string

@description('Required. Name of the Flex Consumption plan.')
param planName string

@description('Required. Resource ID of the user-assigned identity the app runs as.')
param identityResourceId string

@description('Required. Client ID of the user-assigned identity the app runs as.')
param identityClientId string

@description('Required. Name of the storage account used as AzureWebJobsStorage and for deployments.')
param storageAccountName string

@description('Required. Name of the blob container holding the deployment package.')
param deploymentContainerName string

@description('Required. Name of the Application Insights component.')
param applicationInsightsName string

@description('Required. Resource ID of the subnet (delegated to Microsoft.App/environments) the app integrates with.')
param virtualNetworkSubnetResourceId string

@description('Optional. Disabled (default): no inbound access over the internet; deploy code from inside the network through a private endpoint. Enabled: needed for Event Grid push delivery (allowEventGridPush) or for deployerIpAddress; ALZ Deny-PublicPaaSEndpoints refuses it without an exemption.')
@allowed([
  'Disabled'
  'Enabled'
])
param publicNetworkAccess string = 'Disabled'

@description('Optional. Admit Event Grid (service tag AzureEventGrid) to the main site, for push delivery to the on_resource_event function. Needs publicNetworkAccess Enabled.')
param allowEventGridPush bool = false

@description('Optional. One public IP address (a.b.c.d) admitted to the SCM (deployment) site only, for a first deployment from a laptop. Needs publicNetworkAccess Enabled. Empty: none.')
param deployerIpAddress string = ''

@description('Optional. App settings of the remediator itself, added to the host settings this module sets.')
param appSettings object = {}

@description('Optional. The azd service name, written to the azd-service-name tag.')
param serviceName string = 'remediator'

@description('Optional. Python version.')
@allowed([
  '3.10'
  '3.11'
  '3.12'
])
param runtimeVersion string = '3.11'

@description('Optional. Maximum number of instances the app scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Optional. Memory of each instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Optional. Location for the plan and the app.')
param location string = resourceGroup().location

@description('Optional. Tags of the plan and the app.')
param tags object = {}

// The remediator's own settings, as name/value pairs. Loops may only read values known when the deployment
// starts (BCP178), so this one reads the parameter alone; the host settings below are listed one by one.
var remediatorSettings = [for setting in items(appSettings): {
  name: setting.key
  value: setting.value
}]

// No keys or connection strings: storage and Application Insights are reached with the user-assigned identity.
var hostSettings = [
  {
    name: 'AzureWebJobsStorage__accountName'
    value: hostStorage.name
  }
  {
    name: 'AzureWebJobsStorage__credential'
    value: 'managedidentity'
  }
  {
    name: 'AzureWebJobsStorage__clientId'
    value: identityClientId
  }
  {
    name: 'AzureWebJobsStorage__blobServiceUri'
    value: hostStorage.properties.primaryEndpoints.blob
  }
  {
    name: 'AzureWebJobsStorage__queueServiceUri'
    value: hostStorage.properties.primaryEndpoints.queue
  }
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
    value: applicationInsights.properties.ConnectionString
  }
  {
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
    value: 'ClientId=${identityClientId};Authorization=AAD'
  }
  {
    name: 'AZURE_CLIENT_ID'
    value: identityClientId
  }
]

resource hostStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  // checkov:skip=CKV_AZURE_43: A reference to the account modules/storage/function-storage.bicep creates; checkov reads the parameter name as the account name.
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: Flex Consumption zone redundancy is not offered in every region; Event Grid retries delivery for 24 hours across an outage.
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

// Main site: nobody, or Event Grid's service tag for push delivery. SCM site: nobody, or the one deployer address.
var mainSiteRules = allowEventGridPush ? [
  {
    name: 'AllowEventGrid'
    description: 'Event Grid delivers subscription events to the on_resource_event function (push delivery).'
    action: 'Allow'
    priority: 100
    tag: 'ServiceTag'
    ipAddress: 'AzureEventGrid'
  }
] : []
var scmSiteRules = empty(deployerIpAddress) ? [] : [
  {
    name: 'AllowDeployer'
    description: 'The one address a first deployment publishes code from (parameter deployerIpAddress).'
    action: 'Allow'
    priority: 100
    ipAddress: '${deployerIpAddress}/32'
  }
]

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_222: publicNetworkAccess is Disabled unless a parameter enables it (push delivery or a deployer address); checkov cannot evaluate the parameter.
  // checkov:skip=CKV_AZURE_78: Flex Consumption does not support siteConfig.ftpsState (learn.microsoft.com/azure/azure-functions/flex-consumption-plan, deprecated properties); FTP is off through basicPublishingCredentialsPolicies/ftp below (tested).
  // checkov:skip=CKV_AZURE_17: Event Grid's AzureFunction delivery presents no client certificate; access is limited by service tag and the function's system key.
  // checkov:skip=CKV_AZURE_212: Flex Consumption scales per event and has no instance minimum to set (numberOfWorkers does not apply).
  // checkov:skip=CKV_AZURE_213: The app serves no HTTP route to probe: it has an Event Grid trigger and a queue trigger only.
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': serviceName
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityResourceId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    publicNetworkAccess: publicNetworkAccess
    virtualNetworkSubnetId: virtualNetworkSubnetResourceId
    // No ftpsState and no cors: Flex Consumption does not support them (learn.microsoft.com/azure/azure-functions/
    // flex-consumption-plan, deprecated properties); FTP is off through the publishing credentials policy below.
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      http20Enabled: true
      // Deployments use the SCM site with Entra ID (basic auth is off below).
      ipSecurityRestrictionsDefaultAction: 'Deny'
      ipSecurityRestrictions: mainSiteRules
      scmIpSecurityRestrictionsDefaultAction: 'Deny'
      scmIpSecurityRestrictions: scmSiteRules
      scmIpSecurityRestrictionsUseMain: false
      appSettings: concat(remediatorSettings, hostSettings)
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${hostStorage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityResourceId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: runtimeVersion
      }
    }
  }
}

// Child resources are declared at top level with `parent`: pycep keeps only one nested child per resource.
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

@description('The resource ID of the function app.')
output resourceId string = functionApp.id

@description('The name of the function app.')
output name string = functionApp.name

@description('The default host name of the function app.')
output defaultHostName string = functionApp.properties.defaultHostName
