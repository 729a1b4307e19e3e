"""Small readers shared by the service modules (ARM JSON in, normalised values out)."""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from ..model import ALLOW, DENY, DISABLED, ENABLED, SECURED_BY_PERIMETER


def props(resource: Mapping[str, Any]) -> Mapping[str, Any]:
    return resource.get("properties") or {}


def public_access(value: Any) -> str:
    """``Disabled``, ``SecuredByPerimeter`` (a network security perimeter governs access), else ``Enabled``.

    ARM treats an absent ``publicNetworkAccess`` as enabled.
    """
    if isinstance(value, str):
        for known in (DISABLED, SECURED_BY_PERIMETER):
            if value.lower() == known.lower():
                return known
    return ENABLED


def default_action(value: Any) -> str:
    """An absent firewall, or an absent default action, allows everything."""
    return DENY if isinstance(value, str) and value.lower() == DENY.lower() else ALLOW


def lower_ids(values: Iterable[Any]) -> frozenset[str]:
    return frozenset(v.lower() for v in values if isinstance(v, str))


_DONE = frozenset({"succeeded", "ready"})


def approved_private_endpoints(connections: Iterable[Mapping[str, Any]] | None) -> frozenset[str]:
    """Ids of private endpoints whose connection is approved (foreign ones included).

    A connection whose own ``provisioningState`` is given and is not done does not count: it may carry
    no traffic. Done is ``Succeeded`` (``PrivateEndpointConnectionProvisioningState``: Succeeded, Creating,
    Deleting, Failed; azure-rest-api-specs ``specification/common-types/resource-management/v5/privatelinks.json``)
    or SQL's ``Ready`` (its own enum Approving, Ready, Dropping, Failed, Rejecting; the ``Servers_Get``
    example shows ``Ready``). An absent one counts (not every service reports it).
    """
    ids = []
    for connection in connections or ():
        p = props(connection)
        state = (p.get("privateLinkServiceConnectionState") or {}).get("status", "")
        endpoint = (p.get("privateEndpoint") or {}).get("id")
        provisioning = p.get("provisioningState")
        if provisioning is not None and str(provisioning).lower() not in _DONE:
            continue
        if endpoint and str(state).lower() == "approved":
            ids.append(endpoint)
    return lower_ids(ids)


def missing_subnets(subnet_ids: Iterable[str], present: frozenset[str]) -> list[str]:
    """Configured subnets that have no rule yet, in configuration order."""
    return [s for s in subnet_ids if s.lower() not in present]


def tags_of(resource: Mapping[str, Any]) -> dict[str, str]:
    tags = resource.get("tags") or {}
    return {str(k): str(v) for k, v in tags.items()} if isinstance(tags, Mapping) else {}
