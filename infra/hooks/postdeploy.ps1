# azd postdeploy hook (Windows). Queue delivery (the default) needs nothing here: main.bicep declares the event
# subscription. Push delivery (HARDEN_EVENT_DELIVERY=AzureFunction) can only be subscribed once the deployed
# function is indexed, because Event Grid validates it: wait for it, subscribe once, and let every later
# azd provision declare it. azd exports the environment's values (main.bicep outputs included) to hooks.
$ErrorActionPreference = 'Stop'

if ($env:REMEDIATOR_EVENT_DELIVERY -ne 'AzureFunction') {
    Write-Host 'Resource events are delivered to the Storage queue declared by main.bicep; nothing to do.'
    exit 0
}
if ($env:HARDEN_SUBSCRIBE_TO_EVENTS -eq 'true') {
    Write-Host 'Resource events subscription is managed by main.bicep (HARDEN_SUBSCRIBE_TO_EVENTS=true); nothing to do.'
    exit 0
}

# az and azd keep separate default subscriptions (Azure/azure-dev#2975): name it on every az call.
$sub = $env:AZURE_SUBSCRIPTION_ID
if (-not $sub) { Write-Error 'AZURE_SUBSCRIPTION_ID is not set: run azd provision first'; exit 1 }
$attempts = if ($env:HARDEN_HOOK_ATTEMPTS) { [int]$env:HARDEN_HOOK_ATTEMPTS } else { 30 }

# Event Grid refuses the subscription until the host has indexed on_resource_event after the deployment.
Write-Host "Waiting for $($env:AZURE_FUNCTION_APP_NAME) to index on_resource_event..."
for ($i = 1; ; $i++) {
    az functionapp function show --subscription $sub --resource-group $env:AZURE_RESOURCE_GROUP `
        --name $env:AZURE_FUNCTION_APP_NAME --function-name on_resource_event --output none 2>$null
    if ($LASTEXITCODE -eq 0) { break }
    if ($i -ge $attempts) {
        Write-Error ("on_resource_event is not indexed in $($env:AZURE_FUNCTION_APP_NAME) after $attempts attempts. " +
            'Check the deployment (azd deploy) and the app''s logs, then run this hook again: azd hooks run postdeploy.')
        exit 1
    }
    Start-Sleep -Seconds 10
}

Write-Host "Subscribing $($env:AZURE_FUNCTION_APP_NAME) to the resource events of the subscription..."
az deployment group create `
    --subscription $sub `
    --name 'remediator-resource-events' `
    --resource-group $env:REMEDIATOR_SYSTEM_TOPIC_RESOURCE_GROUP `
    --template-file './infra/modules/events/resource-events-subscription.bicep' `
    --parameters `
        "name=$($env:REMEDIATOR_RESOURCE_EVENTS_SUBSCRIPTION_NAME)" `
        "systemTopicName=$($env:REMEDIATOR_SYSTEM_TOPIC_NAME)" `
        "storageAccountResourceId=$($env:REMEDIATOR_STORAGE_ACCOUNT_RESOURCE_ID)" `
        "deadLetterContainerName=$($env:REMEDIATOR_DEAD_LETTER_CONTAINER)" `
        "deliveryMode=AzureFunction" `
        "functionAppResourceId=$($env:REMEDIATOR_FUNCTION_APP_RESOURCE_ID)" `
    --output none
if ($LASTEXITCODE -ne 0) {
    Write-Error "Creating the event subscription $($env:REMEDIATOR_RESOURCE_EVENTS_SUBSCRIPTION_NAME) failed (see az's message above)."
    exit 1
}

# From now on main.bicep declares the subscription itself, with the same module and parameters.
azd env set HARDEN_SUBSCRIBE_TO_EVENTS true
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
$dryRun = if ($env:HARDEN_DRY_RUN) { $env:HARDEN_DRY_RUN } else { 'true' }
Write-Host "Subscribed. HARDEN_DRY_RUN is $($dryRun): see README.md, section Deploy, before turning it off."
