#!/bin/sh
# azd postdeploy hook. Queue delivery (the default) needs nothing here: main.bicep declares the event
# subscription. Push delivery (HARDEN_EVENT_DELIVERY=AzureFunction) can only be subscribed once the deployed
# function is indexed, because Event Grid validates it: wait for it, subscribe once, and let every later
# azd provision declare it. azd exports the environment's values (main.bicep outputs included) to hooks.
set -eu

if [ "${REMEDIATOR_EVENT_DELIVERY:-StorageQueue}" != "AzureFunction" ]; then
  echo "Resource events are delivered to the Storage queue declared by main.bicep; nothing to do."
  exit 0
fi
if [ "${HARDEN_SUBSCRIBE_TO_EVENTS:-false}" = "true" ]; then
  echo "Resource events subscription is managed by main.bicep (HARDEN_SUBSCRIBE_TO_EVENTS=true); nothing to do."
  exit 0
fi

# az and azd keep separate default subscriptions (Azure/azure-dev#2975): name it on every az call.
sub="${AZURE_SUBSCRIPTION_ID:?AZURE_SUBSCRIPTION_ID is not set: run azd provision first}"
attempts="${HARDEN_HOOK_ATTEMPTS:-30}"

# Event Grid refuses the subscription until the host has indexed on_resource_event after the deployment.
echo "Waiting for ${AZURE_FUNCTION_APP_NAME} to index on_resource_event..."
i=1
until az functionapp function show --subscription "$sub" --resource-group "${AZURE_RESOURCE_GROUP}" \
    --name "${AZURE_FUNCTION_APP_NAME}" --function-name on_resource_event --output none 2>/dev/null; do
  if [ "$i" -ge "$attempts" ]; then
    echo "ERROR: on_resource_event is not indexed in ${AZURE_FUNCTION_APP_NAME} after ${attempts} attempts." >&2
    echo "Check the deployment (azd deploy) and the app's logs, then run this hook again: azd hooks run postdeploy." >&2
    exit 1
  fi
  i=$((i + 1))
  sleep 10
done

echo "Subscribing ${AZURE_FUNCTION_APP_NAME} to the resource events of the subscription..."
if ! az deployment group create \
  --subscription "$sub" \
  --name "remediator-resource-events" \
  --resource-group "${REMEDIATOR_SYSTEM_TOPIC_RESOURCE_GROUP}" \
  --template-file "./infra/modules/events/resource-events-subscription.bicep" \
  --parameters \
    name="${REMEDIATOR_RESOURCE_EVENTS_SUBSCRIPTION_NAME}" \
    systemTopicName="${REMEDIATOR_SYSTEM_TOPIC_NAME}" \
    storageAccountResourceId="${REMEDIATOR_STORAGE_ACCOUNT_RESOURCE_ID}" \
    deadLetterContainerName="${REMEDIATOR_DEAD_LETTER_CONTAINER}" \
    deliveryMode=AzureFunction \
    functionAppResourceId="${REMEDIATOR_FUNCTION_APP_RESOURCE_ID}" \
  --output none; then
  echo "ERROR: creating the event subscription ${REMEDIATOR_RESOURCE_EVENTS_SUBSCRIPTION_NAME} failed (see az's message above)." >&2
  exit 1
fi

# From now on main.bicep declares the subscription itself, with the same module and parameters.
azd env set HARDEN_SUBSCRIBE_TO_EVENTS true
echo "Subscribed. HARDEN_DRY_RUN is ${HARDEN_DRY_RUN:-true}: see README.md, section Deploy, before turning it off."
