# azd postdeploy hook: subscribe the deployed function to the subscription's resource events (once).
# azd exports the environment's values (main.bicep outputs included) to hooks.
$ErrorActionPreference = 'Stop'

if ($env:HARDEN_SUBSCRIBE_TO_EVENTS -eq 'true') {
    Write-Host 'Resource events subscription is managed by main.bicep (HARDEN_SUBSCRIBE_TO_EVENTS=true); nothing to do.'
    exit 0
}

Write-Host "Subscribing $($env:AZURE_FUNCTION_APP_NAME) to the resource events of the subscription..."
az deployment group create `
    --name 'remediator-resource-events' `
    --resource-group $env:REMEDIATOR_SYSTEM_TOPIC_RESOURCE_GROUP `
    --template-file './infra/modules/events/resource-events-subscription.bicep' `
    --parameters `
        "name=$($env:REMEDIATOR_RESOURCE_EVENTS_SUBSCRIPTION_NAME)" `
        "systemTopicName=$($env:REMEDIATOR_SYSTEM_TOPIC_NAME)" `
        "functionAppResourceId=$($env:REMEDIATOR_FUNCTION_APP_RESOURCE_ID)" `
        "deadLetterStorageAccountResourceId=$($env:REMEDIATOR_STORAGE_ACCOUNT_RESOURCE_ID)" `
        "deadLetterContainerName=$($env:REMEDIATOR_DEAD_LETTER_CONTAINER)" `
    --output none
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }

# From now on main.bicep declares the subscription itself, with the same module and parameters.
azd env set HARDEN_SUBSCRIBE_TO_EVENTS true
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
$dryRun = if ($env:HARDEN_DRY_RUN) { $env:HARDEN_DRY_RUN } else { 'true' }
Write-Host "Subscribed. HARDEN_DRY_RUN is $($dryRun): see docs/deploy.md before turning it off."
