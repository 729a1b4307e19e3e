"""Azure RBAC as ARM enforces it on a request: the request's own action, then its linked access checks.

A caller with no role assignment in the emulator is unrestricted (so tests that do not care about
RBAC, and the "user" writes tests make as other identities, keep working). A caller with one or more
assignments (:meth:`Authorizer.assign`) may do exactly what those assignments grant at or above the
addressed scope, as Azure RBAC does:

- **Own action.** ``{provider}/{type}/{verb}`` for the request: ``read`` (GET, HEAD), ``write`` (PUT,
  PATCH), ``delete``, ``{action}/action`` (POST). Checked on every request, reads and long-running
  operation polls included (polling ``.../locations/{region}/operations/{id}`` needs
  ``Microsoft.Network/locations/operations/read``: Azure/azure-xplat-cli#2051). Refused with 403
  ``AuthorizationFailed``.
  Source: learn.microsoft.com/azure/role-based-access-control/role-definitions#actions-format.
- **Linked access checks.** A write that refers to another resource needs an action on *that*
  resource too, checked on every write that names it, also when the reference is written back
  unchanged (Azure/azure-functions-ux#6107). Refused with 403 ``LinkedAuthorizationFailed``.
  See ``LINKED_ACTIONS`` for each reference and its source.

Message shapes are ARM's, as quoted in public reports:
- ``AuthorizationFailed``: "The client '…' with object id '…' does not have authorization to perform
  action '…' over scope '…' or the scope is invalid. If access was recently granted, please refresh
  your credentials." (Azure/Azure-Landing-Zones#3668)
- ``LinkedAuthorizationFailed``: "The client '…' with object id '…' has permission to perform action '…'
  on scope '…'; however, it does not have permission to perform action '…' on the linked scope(s) '…'
  or the linked scope(s) are invalid." (Azure/aad-pod-identity#613, #339 for several scopes joined by
  ',', kubernetes-sigs/cloud-provider-azure#1999)

A private endpoint's automatic connection needs ``{target type}/privateEndpointConnectionsApproval/action``
on its target: without it ARM answers 403 ``LinkedAuthorizationFailed`` naming
'PrivateEndpointConnectionsApproval/action' on the target and creates nothing (MicrosoftDocs/azure-docs#96892,
Azure/azure-sdk-for-go#14306; learn.microsoft.com/azure/private-link/rbac-permissions#approval-rbac-for-private-endpoint).
A *manual* connection needs no such right: that is how a ``Pending`` connection comes about (with another
party's endpoints and targets whose owner approves by hand: emulator/privatelink.py).

Guesses (emulator/README.md): the order of the linked checks within one request (ARM reports one
failing action; here the first in ``LINKED_ACTIONS`` order).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Iterable, Iterator
from urllib.parse import urlsplit

from .errors import ArmError

_VERBS = {"GET": "read", "HEAD": "read", "PUT": "write", "PATCH": "write", "DELETE": "delete"}

# Types whose RBAC action names a longer type than a short-hand spelling of the path:
# GET /subscriptions/{id}/resourceGroups/{rg} is Microsoft.Resources/subscriptions/resourceGroups/read.
_ALIASES = {
    "microsoft.resources/resourcegroups": "Microsoft.Resources/subscriptions/resourceGroups",
}

_JOIN_VIA_SERVICE_ENDPOINT = "Microsoft.Network/virtualNetworks/subnets/joinViaServiceEndpoint/action"
_APPROVAL = "{type}/privateEndpointConnectionsApproval/action"

# For each written type: (JSON path of a reference in the request body, action needed on the referenced
# resource). "*" walks every element of a list. Keys match case-insensitively.
LINKED_ACTIONS: dict[str, tuple[tuple[tuple[str, ...], str], ...]] = {
    # A subnet PUT re-checks what the subnet is associated with, whether or not it changes:
    # learn.microsoft.com/azure/virtual-network/virtual-network-manage-subnet#permissions.
    "microsoft.network/virtualnetworks/subnets": (
        (("properties", "networkSecurityGroup", "id"), "Microsoft.Network/networkSecurityGroups/join/action"),
        (("properties", "routeTable", "id"), "Microsoft.Network/routeTables/join/action"),
        (("properties", "natGateway", "id"), "Microsoft.Network/natGateways/join/action"),
        (("properties", "serviceEndpointPolicies", "*", "id"), "Microsoft.Network/serviceEndpointPolicies/join/action"),
    ),
    # learn.microsoft.com/azure/private-link/rbac-permissions (private endpoint: subnets/join/action;
    # DNS zone group: privateDnsZones/join/action).
    "microsoft.network/privateendpoints": (
        (("properties", "subnet", "id"), "Microsoft.Network/virtualNetworks/subnets/join/action"),
        # Automatic connections only ({type}: the target's type); see the module docstring for sources.
        (("properties", "privateLinkServiceConnections", "*", "properties", "privateLinkServiceId"),
         _APPROVAL),
    ),
    "microsoft.network/privateendpoints/privatednszonegroups": (
        (("properties", "privateDnsZoneConfigs", "*", "properties", "privateDnsZoneId"),
         "Microsoft.Network/privateDnsZones/join/action"),
    ),
    # Linking a zone to a VNet joins the VNet. A guess (emulator/README.md): it follows the join/action
    # pattern of the other references, and the operation list has virtualNetworks/join/action ("Joins a
    # virtual network"); no Microsoft page found that names it for virtualNetworkLinks.
    "microsoft.network/privatednszones/virtualnetworklinks": (
        (("properties", "virtualNetwork", "id"), "Microsoft.Network/virtualNetworks/join/action"),
    ),
    # A firewall rule that admits a subnet joins it via its service endpoint
    # (learn.microsoft.com/azure/virtual-network/virtual-network-service-endpoints-overview#provisioning),
    # also when an existing rule is only written back (Azure/azure-functions-ux#6107).
    "microsoft.storage/storageaccounts": (
        (("properties", "networkAcls", "virtualNetworkRules", "*", "id"), _JOIN_VIA_SERVICE_ENDPOINT),
    ),
    "microsoft.keyvault/vaults": (
        (("properties", "networkAcls", "virtualNetworkRules", "*", "id"), _JOIN_VIA_SERVICE_ENDPOINT),
    ),
    "microsoft.documentdb/databaseaccounts": (
        (("properties", "virtualNetworkRules", "*", "id"), _JOIN_VIA_SERVICE_ENDPOINT),
    ),
    "microsoft.sql/servers/virtualnetworkrules": (
        (("properties", "virtualNetworkSubnetId"), _JOIN_VIA_SERVICE_ENDPOINT),
    ),
    "microsoft.servicebus/namespaces/networkrulesets": (
        (("properties", "virtualNetworkRules", "*", "subnet", "id"), _JOIN_VIA_SERVICE_ENDPOINT),
    ),
    "microsoft.eventhub/namespaces/networkrulesets": (
        (("properties", "virtualNetworkRules", "*", "subnet", "id"), _JOIN_VIA_SERVICE_ENDPOINT),
    ),
    "microsoft.web/sites/config": (
        (("properties", "ipSecurityRestrictions", "*", "vnetSubnetResourceId"), _JOIN_VIA_SERVICE_ENDPOINT),
        (("properties", "scmIpSecurityRestrictions", "*", "vnetSubnetResourceId"), _JOIN_VIA_SERVICE_ENDPOINT),
    ),
}


def _check_type(resource_type: str) -> str:
    parts = resource_type.strip().strip("/").split("/")
    if len(parts) < 2 or "." not in parts[0] or not all(parts):
        raise ValueError(f"not a resource type (expected 'Namespace.Provider/type[/child...]'): {resource_type!r}")
    for short, full in _ALIASES.items():
        depth = short.count("/") + 1
        if "/".join(parts[:depth]).lower() == short:
            parts = full.split("/") + parts[depth:]
            break
    return "/".join(parts)


def rbac_action_for(method: str, resource_type: str) -> str:
    """The RBAC action an ARM request needs.

    :param method: the HTTP method (any case).
    :param resource_type: the request's resource type, e.g. ``Microsoft.Network/virtualNetworks/subnets``;
        for a POST, the type followed by the action name, e.g. ``Microsoft.Storage/storageAccounts/listKeys``.
    """
    verb = method.strip().upper()
    resource_type = _check_type(resource_type)
    if verb == "POST":
        if resource_type.count("/") < 2:
            raise ValueError(f"a POST names an action after the resource type: {resource_type!r}")
        return f"{resource_type}/action"
    if verb not in _VERBS:
        raise ValueError(f"no RBAC verb for HTTP method {method!r}")
    return f"{resource_type}/{_VERBS[verb]}"


def resource_type_from_path(path: str) -> str:
    """The resource type of an ARM request path (a URL or its path; the query is ignored).

    The last ``/providers/{namespace}`` segment wins, so extension resources map to their own type
    (``.../vaults/kv/providers/Microsoft.Resources/tags/default`` -> ``Microsoft.Resources/tags``).
    Type and name segments alternate after the namespace; a trailing odd segment is a collection
    (GET) or an action (POST) and is kept. Paths without a provider are Microsoft.Resources
    (``/subscriptions/{id}/resourceGroups/{rg}`` -> ``Microsoft.Resources/subscriptions/resourceGroups``).
    """
    segments = [s for s in urlsplit(path).path.split("/") if s]
    lowered = [s.lower() for s in segments]
    if "providers" in lowered:
        at = len(lowered) - 1 - lowered[::-1].index("providers")
        if at + 1 >= len(segments):
            raise ValueError(f"no namespace after /providers in {path!r}")
        namespace, rest = segments[at + 1], segments[at + 2:]
    else:
        namespace, rest = "Microsoft.Resources", segments
    types = rest[0::2]
    if not types:
        raise ValueError(f"no resource type in {path!r}")
    return "/".join([namespace, *types])


def _matches(pattern: str, action: str) -> bool:
    """RBAC action matching: case-insensitive, ``*`` matches any run of characters."""
    pattern, action = pattern.lower(), action.lower()
    pieces = pattern.split("*")
    if len(pieces) == 1:
        return pattern == action
    if not (action.startswith(pieces[0]) and action.endswith(pieces[-1])):
        return False
    position = len(pieces[0])
    for piece in pieces[1:-1]:
        found = action.find(piece, position)
        if found < 0:
            return False
        position = found + len(piece)
    return position <= len(action) - len(pieces[-1])


def covered(action: str, granted: Iterable[str], denied: Iterable[str] = ()) -> bool:
    """Whether a role with ``granted`` actions and ``denied`` notActions allows ``action``."""
    return any(_matches(g, action) for g in granted) and not any(_matches(d, action) for d in denied)


def _within(resource_id: str, scope: str) -> bool:
    """An assignment at ``scope`` applies to ``resource_id`` at or below it (whole segments)."""
    rid, scope = resource_id.rstrip("/").lower(), scope.rstrip("/").lower()
    return scope == "" or rid == scope or rid.startswith(scope + "/")


def linked_references(resource_type: str, body: Any) -> Iterator[tuple[str, str]]:
    """``(action, linked resource id)`` for every reference a write body makes, in check order."""
    for path, action in LINKED_ACTIONS.get(resource_type.lower(), ()):
        for value in _walk(body, path):
            if isinstance(value, str) and value.startswith("/"):
                yield (action.format(type=resource_type_from_path(value)) if "{type}" in action else action), value


def _walk(node: Any, path: tuple[str, ...]) -> Iterator[Any]:
    if not path:
        yield node
        return
    head, rest = path[0], path[1:]
    if head == "*":
        for item in node if isinstance(node, list) else ():
            yield from _walk(item, rest)
        return
    if isinstance(node, dict):
        for key, value in node.items():
            if key.lower() == head.lower():
                yield from _walk(value, rest)


@dataclass(frozen=True)
class Assignment:
    scope: str  # "" = everywhere (tenant root), else a subscription, resource group or resource id
    actions: tuple[str, ...]
    not_actions: tuple[str, ...] = ()


class Authorizer:
    """Role assignments per client id, and the checks ARM makes with them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._assignments: dict[str, list[Assignment]] = {}

    def assign(self, client_id: str, actions: Iterable[str], *, scope: str = "",
               not_actions: Iterable[str] = ()) -> None:
        """Give ``client_id`` a role holding ``actions`` at ``scope`` (default: every scope)."""
        with self._lock:
            self._assignments.setdefault(client_id.lower(), []).append(
                Assignment(scope, tuple(actions), tuple(not_actions)))

    def unassign(self, client_id: str) -> None:
        """Forget every assignment of ``client_id``: it is unrestricted again."""
        with self._lock:
            self._assignments.pop(client_id.lower(), None)

    def assignments(self, client_id: str) -> list[Assignment]:
        with self._lock:
            return list(self._assignments.get(client_id.lower(), ()))

    def all_assignments(self) -> dict[str, list[Assignment]]:
        """Every client's assignments (emulator/rbac_reads.py lists them as ARM does)."""
        with self._lock:
            return {client: list(items) for client, items in self._assignments.items()}

    def allows(self, client_id: str, action: str, resource_id: str) -> bool:
        """Whether the caller may perform ``action`` on ``resource_id`` (unassigned callers may do anything)."""
        assignments = self.assignments(client_id)
        if not assignments:
            return True
        return any(_within(resource_id, a.scope) and covered(action, a.actions, a.not_actions) for a in assignments)

    def check(self, *, client_id: str, principal_id: str, method: str, path: str, body: Any) -> ArmError | None:
        """The 403 ARM would answer this request with, or ``None`` when it is authorized."""
        if not self.assignments(client_id):
            return None
        try:
            resource_type = resource_type_from_path(path)
            action = rbac_action_for(method, resource_type)
        except ValueError:
            return None  # not a resource request: the engine answers it (404/400), as ARM would
        scope = path.rstrip("/")
        if not self.allows(client_id, action, scope):
            return ArmError(403, "AuthorizationFailed",
                            f"The client '{client_id}' with object id '{principal_id}' does not have authorization "
                            f"to perform action '{action}' over scope '{scope}' or the scope is invalid. If access "
                            "was recently granted, please refresh your credentials.")
        if method.upper() not in ("PUT", "PATCH"):
            return None
        refused: dict[str, list[str]] = {}
        for linked_action, linked_id in linked_references(resource_type, body):
            if not self.allows(client_id, linked_action, linked_id):
                refused.setdefault(linked_action, []).append(linked_id)
        if not refused:
            return None
        linked_action, linked_ids = next(iter(refused.items()))
        if linked_action.lower().endswith("/privateendpointconnectionsapproval/action"):
            linked_action = "PrivateEndpointConnectionsApproval/action"  # as ARM names it (azure-docs#96892)
        return ArmError(403, "LinkedAuthorizationFailed",
                        f"The client '{client_id}' with object id '{principal_id}' has permission to perform action "
                        f"'{action}' on scope '{scope}'; however, it does not have permission to perform action "
                        f"'{linked_action}' on the linked scope(s) '{','.join(linked_ids)}' or the linked scope(s) "
                        "are invalid.")
