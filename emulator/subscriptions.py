"""ARM's Subscriptions – Get: ``GET /subscriptions/{subscriptionId}``.

Shape: azure-rest-api-specs ``specification/resources/resource-manager/Microsoft.Resources/stable/2022-12-01/
subscriptions.json`` operation ``Subscriptions_Get`` (``Subscription {id, subscriptionId, displayName, tenantId,
state, subscriptionPolicies, authorizationSource}``). The RBAC action is ``Microsoft.Resources/subscriptions/read``
(the emulator's authorizer derives it from the path, emulator/authz.py).

A subscription exists here when a resource lives in it or a test registered it
(``Emulator.subscriptions``). An unknown one answers 404 ``SubscriptionNotFound`` "The subscription '…' could
not be found." (the code ARM uses, e.g. Azure/azure-cli#9906; the exact wording is a guess, README).
"""
from __future__ import annotations

import re
from typing import Any, Iterable

from .errors import ArmError

PATH_RE = re.compile(r"^/subscriptions/(?P<sub>[0-9a-fA-F-]{36})$")


def get(subscription_id: str, *, known: Iterable[str], tenant_id: str) -> dict[str, Any]:
    sub = subscription_id.lower()
    if sub not in {k.lower() for k in known}:
        raise ArmError(404, "SubscriptionNotFound", f"The subscription '{subscription_id}' could not be found.")
    return {"id": f"/subscriptions/{sub}", "subscriptionId": sub, "displayName": f"subscription {sub[:8]}",
            "tenantId": tenant_id, "state": "Enabled", "authorizationSource": "RoleBased",
            "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01",
                                     "spendingLimit": "Off"}}
