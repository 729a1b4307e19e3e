#!/bin/sh
# azd postdeploy hook: subscribe the deployed function to the subscription's resource events (once).
# azd exports the environment's values (main.bicep outputs included) to hooks.
set -eu

if [ "${HARDEN_SUBSCRIBE_TO_EVENTS:-false}" = "true" ]; then
  echo "Resource events subscription is managed by main.bicep (HARDEN_SUBSCRIBE_TO_EVENTS=true); nothing to do."
  exit 0
fi

echo "Subscribing ${AZURE_FUNCTION_APP_NAME} to the resource events of the subscription..."
az deployment group create \
  --name "remediator-resource-events" \
  --resource-group "${REMEDIATOR_SYSTEM_TOPIC_RESOURCE_GROUP}" \
  --template-file "./infra/modules/events/resource-events-subscription.bicep" \
  --parameters \
    name="${REMEDIATOR_RESOURCE_EVENTS_SUBSCRIPTION_NAME}" \
    systemTopicName="${REMEDIATOR_SYSTEM_TOPIC_NAME}" \
    functionAppResourceId="${REMEDIATOR_FUNCTION_APP_RESOURCE_ID}" \
    deadLetterStorageAccountResourceId="${REMEDIATOR_STORAGE_ACCOUNT_RESOURCE_ID}" \
    deadLetterContainerName="${REMEDIATOR_DEAD_LETTER_CONTAINER}" \
  --output none

# From now on main.bicep declares the subscription itself, with the same module and parameters.
azd env set HARDEN_SUBSCRIBE_TO_EVENTS true
echo "Subscribed. HARDEN_DRY_RUN is ${HARDEN_DRY_RUN:-true}: see docs/deploy.md before turning it off."
