"""Seed Service Bus / Event Hubs namespaces (one shape, two providers).

Bodies follow Microsoft's examples in azure-rest-api-specs: SBNameSpaceGet.json
(servicebus 2026-01-01) and EHNameSpaceGet.json (eventhub 2024-05-01-preview) for
the namespace: no ``publicNetworkAccess`` in the body, a foreign, approved
private endpoint connection where the tier has private endpoints; and
SBNetworkRuleSetList.json for ``networkRuleSets/default`` (``ipRules[].ipMask``,
``virtualNetworkRules[].subnet.id``).
"""
from __future__ import annotations

from typing import Any, Mapping

from ..landing_zone import LOCATION, LandingZone


def foreign_connection(lz: LandingZone, provider: str, name: str) -> dict[str, Any]:
    """An approved connection from someone else's endpoint, as the example GETs show one."""
    return {
        "name": "privateEndpointConnectionName",
        "type": f"{provider}/Namespaces/PrivateEndpointConnections",
        "properties": {
            "privateEndpoint": {"id": f"{lz.rg_id('rg-other-team')}/providers/Microsoft.Network/privateEndpoints/"
                                      f"pe-{name}-theirs"},
            "privateLinkServiceConnectionState": {"description": "Auto-Approved", "status": "Approved"},
            "provisioningState": "Succeeded",
        },
    }


def seed_namespace(emu: Any, lz: LandingZone, provider: str, name: str, *, tier: str,
                   tags: Mapping[str, str] | None, extra: Mapping[str, Any],
                   private_link: bool, rule_set: Mapping[str, Any] | None = None) -> str:
    """A public namespace of ``provider`` (``Microsoft.ServiceBus`` or ``Microsoft.EventHub``).

    ``rule_set``: properties for ``networkRuleSets/default`` (absent: the service's implicit default).
    """
    rid = lz.resource_id(f"{provider}/namespaces/{name}")
    props: dict[str, Any] = {
        "createdAt": "2025-05-25T22:26:36.76Z",
        "disableLocalAuth": False,
        "metricId": f"{lz.subscription_id}:{name.lower()}",
        "minimumTlsVersion": "1.2",
        "provisioningState": "Succeeded",
        "serviceBusEndpoint": f"https://{name}.servicebus.windows.net:443/",
        "updatedAt": "2025-05-25T22:26:59.35Z",
        **extra,
    }
    if private_link:
        props["privateEndpointConnections"] = [foreign_connection(lz, provider, name)]
    emu.seed(rid, {"location": LOCATION, "tags": dict(tags or {}),
                   "sku": {"name": tier, "tier": tier, "capacity": 1}, "properties": props})
    if rule_set is not None:
        emu.seed(f"{rid}/networkRuleSets/default", {"properties": dict(rule_set)})
    return rid
