"""Event Grid events for the subscription system topic (``Microsoft.Resources.Subscriptions``).

Shape: Event Grid schema, as in learn.microsoft.com/azure/event-grid/event-schema-subscriptions
(sample copied to /work/shared/fixtures/eventgrid/eventgrid-schema.ResourceWriteSuccess.json).
Events carry no resource body; ``subject`` and ``data.resourceUri`` are the ARM id as the caller
wrote it (casing not normalised), ``data.operationName`` is the RBAC action.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any

from . import ids

# Fixed, obviously fake identities so tests can tell "the product's own writes" from a user's.
DEFAULT_TENANT_ID = "72f988bf-0000-4000-8000-00000000feed"
USER_PRINCIPAL_ID = "0b1e3a55-0000-4000-8000-000000000001"  # a human/other-tool principal (write_event default)
USER_APP_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"  # the Azure CLI's public client id
CONTRIBUTOR_ROLE_ID = "b24988ac-6180-42a0-ab88-20f7382dd24c"  # built-in Contributor

WRITE_SUCCESS = "Microsoft.Resources.ResourceWriteSuccess"
DELETE_SUCCESS = "Microsoft.Resources.ResourceDeleteSuccess"
ACTION_SUCCESS = "Microsoft.Resources.ResourceActionSuccess"


def event_type_for(operation_name: str) -> str:
    op = operation_name.lower()
    if op.endswith("/delete"):
        return DELETE_SUCCESS
    if op.endswith("/action"):
        return ACTION_SUCCESS
    return WRITE_SUCCESS


def _event_time() -> str:
    # Seven fractional digits, like the published samples ("2018-07-19T18:38:04.6117357Z").
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def write_event(
    resource_id: str,
    operation_name: str,
    *,
    subscription_id: str | None = None,
    principal_id: str = USER_PRINCIPAL_ID,
    app_id: str = USER_APP_ID,
    tenant_id: str = DEFAULT_TENANT_ID,
    event_type: str | None = None,
    status: str = "Succeeded",
) -> dict[str, Any]:
    """One Event Grid-schema subscription event, as ARM publishes it after an operation.

    ``event_type`` defaults from the operation: ``.../delete`` -> ResourceDeleteSuccess,
    ``.../action`` -> ResourceActionSuccess, anything else -> ResourceWriteSuccess.
    """
    if subscription_id is None:
        parsed = ids.parse(resource_id)
        subscription_id = parsed.subscription if parsed and parsed.subscription else ""
    now = int(time.time())
    provider = operation_name.split("/", 1)[0]
    return {
        "subject": resource_id,
        "eventType": event_type or event_type_for(operation_name),
        "eventTime": _event_time(),
        "id": str(uuid.uuid4()),
        "data": {
            "authorization": {
                "scope": resource_id,
                "action": operation_name,
                "evidence": {
                    "role": "Contributor",
                    "roleAssignmentScope": f"/subscriptions/{subscription_id}",
                    "roleAssignmentId": uuid.uuid5(uuid.NAMESPACE_URL, f"{subscription_id}/{principal_id}").hex,
                    "roleDefinitionId": CONTRIBUTOR_ROLE_ID.replace("-", ""),
                    "principalId": principal_id.replace("-", ""),
                    "principalType": "ServicePrincipal",
                },
            },
            "claims": {
                "aud": "https://management.azure.com/",
                "iss": f"https://sts.windows.net/{tenant_id}/",
                "iat": str(now - 60),
                "nbf": str(now - 60),
                "exp": str(now + 3600),
                "aio": "E2ZgYFhP9y/1",
                "appid": app_id,
                "appidacr": "2",
                "idp": f"https://sts.windows.net/{tenant_id}/",
                "idtyp": "app",
                "http://schemas.microsoft.com/identity/claims/objectidentifier": principal_id,
                "http://schemas.microsoft.com/identity/claims/tenantid": tenant_id,
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier": principal_id,
                "uti": uuid.uuid4().hex[:22],
                "ver": "1.0",
            },
            "correlationId": str(uuid.uuid4()),
            "resourceProvider": provider,
            "resourceUri": resource_id,
            "operationName": operation_name,
            "status": status,
            "subscriptionId": subscription_id,
            "tenantId": tenant_id,
        },
        "dataVersion": "2",
        "metadataVersion": "1",
        "topic": f"/subscriptions/{subscription_id}",
    }
