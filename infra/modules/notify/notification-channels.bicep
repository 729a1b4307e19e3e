metadata name = 'Notification channels'
metadata description = 'What the remediator needs to tell people (remediators/channels.py): an Email Communication Service with an Azure-managed domain, linked to a Communication Service the identity sends through; and a Key Vault (no public access, RBAC only) that holds the Teams and Slack webhook URLs, readable by the identity.'

@description('Required. Name of the Communication Service.')
param communicationServiceName string

@description('Required. Name of the Email Communication Service.')
param emailServiceName string

@description('Required. Name of the Key Vault for the webhook secrets (3-24 characters).')
param keyVaultName string

@description('Required. Principal ID of the identity that sends email and reads the webhook secrets.')
param senderPrincipalId string

@description('Optional. Where the Communication and Email services keep their data at rest (learn.microsoft.com/azure/communication-services/concepts/privacy#data-residency).')
@allowed([
  'United States'
  'Europe'
  'United Kingdom'
  'Australia'
  'Asia Pacific'
  'Japan'
  'Canada'
  'France'
  'Germany'
  'Switzerland'
  'Norway'
  'UAE'
  'India'
  'Korea'
  'Africa'
  'Brazil'
])
param dataLocation string = 'United States'

@description('Optional. Disabled (default): the vault is reached only through a private endpoint (main.bicep creates one, group vault). Enabled: over its public endpoint, with an Entra ID token only.')
@allowed([
  'Enabled'
  'Disabled'
])
param vaultPublicNetworkAccess string = 'Disabled'

@description('Optional. Location of the Key Vault (the Communication and Email services are global).')
param location string = resourceGroup().location

@description('Optional. Tags of every resource.')
param tags object = {}

// Built-in roles (learn.microsoft.com/azure/role-based-access-control/built-in-roles):
// - Communication and Email Service Owner: no narrower built-in role lets an Entra identity send with ACS Email
//   (learn.microsoft.com/azure/communication-services/quickstarts/email/send-email-smtp/smtp-authentication names it,
//   or a custom role with Microsoft.Communication/CommunicationServices/Read); assigned on the one Communication Service.
// - Key Vault Secrets User: read secret contents (Microsoft.KeyVault/vaults/secrets/getSecret/action), on the one vault.
var roles = {
  communicationAndEmailServiceOwner: '09976791-48a7-449e-bb21-39d1a415f350'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
}

resource emailService 'Microsoft.Communication/emailServices@2023-04-01' = {
  name: emailServiceName
  location: 'global'
  tags: tags
  properties: {
    dataLocation: dataLocation
  }
}

// An Azure-managed domain (<guid>.azurecomm.net): no DNS records to verify, ready to send
// (learn.microsoft.com/azure/communication-services/quickstarts/email/add-azure-managed-domains).
resource managedDomain 'Microsoft.Communication/emailServices/domains@2023-04-01' = {
  parent: emailService
  name: 'AzureManagedDomain'
  location: 'global'
  tags: tags
  properties: {
    domainManagement: 'AzureManaged'
    // A notification about a network change carries no open/click tracking.
    userEngagementTracking: 'Disabled'
  }
}

resource communicationService 'Microsoft.Communication/communicationServices@2023-04-01' = {
  name: communicationServiceName
  location: 'global'
  tags: tags
  properties: {
    dataLocation: dataLocation
    linkedDomains: [
      managedDomain.id
    ]
  }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: keyVaultName
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: vaultPublicNetworkAccess
    networkAcls: {
      defaultAction: 'Deny'
      bypass: 'None'
      ipRules: []
      virtualNetworkRules: []
    }
  }
}

resource emailSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(communicationService.id, senderPrincipalId, roles.communicationAndEmailServiceOwner)
  scope: communicationService
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.communicationAndEmailServiceOwner)
    principalId: senderPrincipalId
    principalType: 'ServicePrincipal'
    description: 'Remediator: send notification email with its managed identity.'
  }
}

resource secretsReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, senderPrincipalId, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: senderPrincipalId
    principalType: 'ServicePrincipal'
    description: 'Remediator: read the Teams/Slack webhook URLs.'
  }
}

@description('The Communication Service endpoint the remediator sends email through (HARDEN_NOTIFY_EMAIL_ENDPOINT).')
output emailEndpoint string = 'https://${communicationService.properties.hostName}'

@description('The sender address on the Azure-managed domain (HARDEN_NOTIFY_EMAIL_SENDER).')
output senderAddress string = 'DoNotReply@${managedDomain.properties.mailFromSenderDomain}'

@description('The resource ID of the Key Vault holding the webhook secrets.')
output vaultResourceId string = vault.id

@description('The vault URI; a secret URI is <vaultUri>secrets/<name>.')
output vaultUri string = vault.properties.vaultUri
