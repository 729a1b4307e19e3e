"""Cosmos DB accounts (``Microsoft.DocumentDB/databaseAccounts``).

Where the settings live: all in the account's ``properties``:
``publicNetworkAccess``, ``isVirtualNetworkFilterEnabled``,
``virtualNetworkRules[]`` {id, ignoreMissingVNetServiceEndpoint} (note the
capital ``VN``, unlike SQL and Key Vault) and ``ipRules[]`` {ipAddressOrRange}.
The IP rule ``0.0.0.0`` is the portal's "Accept connections from within public
Azure datacenters": it admits every Azure customer's traffic. The Azure portal's
own addresses are ordinary IP rules, someone's choice, and stay.

Writes: DatabaseAccounts_Update is a long-running PATCH (``begin_update``).
A PUT would replace the whole account (locations, consistency policy...), so we
never PUT; the PATCH carries only the properties we change, but an array in a
PATCH replaces the array, so ``virtualNetworkRules`` and ``ipRules`` are always
sent whole: every rule read just before the write (one GET), plus ours, minus
the 0.0.0.0 rule.

Effective default (``ResourceState.default_action``):

- public network access Disabled: ``Deny`` (nothing public gets in; the filter
  only applies to public traffic);
- a 0.0.0.0 IP rule: ``Allow`` (all of Azure);
- the VNet filter on, or any IP rule: ``Deny``;
- no rules and the filter off: ``Allow`` (open to the internet).

VNet rules count as allowing a subnet only while ``isVirtualNetworkFilterEnabled``
is true; with the filter off they do nothing.

The private endpoint group and zone follow the account's API: kind ``MongoDB``
→ ``MongoDB``; capability ``EnableCassandra``/``EnableGremlin``/``EnableTable``
→ ``Cassandra``/``Gremlin``/``Table``; otherwise (``GlobalDocumentDB``) ``Sql``.
Gremlin and Table accounts are also reachable through the NoSQL (``Sql``)
endpoint, so they get two endpoints, their own group and ``Sql``
(``privatelink.documents.azure.com``): with only their own, clients that use
the NoSQL endpoint would lose access once public access goes
(learn.microsoft.com/azure/cosmos-db/how-to-configure-private-endpoints, the
sub-resource table: "You can also access the Gremlin and Table API accounts
through the SQL API, so there are two entries for these APIs").
harden=private's lockdown removes the 0.0.0.0 rule in the same PATCH that turns
public access off (no extra write), so re-enabling public access later does not
silently re-admit all of Azure; this matches the SQL remediator.

IP rules (HARDEN_ALLOWED_IP_RANGES): ``service-endpoint`` adds an ``ipRules[]``
``{ipAddressOrRange}`` for each configured range no rule covers yet, in the same PATCH as the
VNet rules. The spec's ``IpAddressOrRange``: "A single IPv4 address or a single IPv4 address range
in CIDR format ... cannot be contained in one of the following ranges: 10.0.0.0/8, 100.64.0.0/10,
172.16.0.0/12, 192.168.0.0/16"; settings refuse those at start-up (remediators/ip_ranges.py). The IP
filter applies whenever an IP rule exists, whether or not the VNet filter is on.

GETs for a compliance check: 1 (the account), in both modes.

Sources: azure-rest-api-specs cosmos-db/resource-manager/Microsoft.DocumentDB
(DatabaseAccounts_Get, DatabaseAccounts_Update; ``VirtualNetworkRule.ignoreMissingVNetServiceEndpoint``,
``IpAddressOrRange.ipAddressOrRange``, ``Capability.name``);
learn.microsoft.com/azure/cosmos-db/how-to-configure-firewall (0.0.0.0 = Azure
datacenters, the portal's IPs); learn.microsoft.com/azure/cosmos-db/how-to-configure-vnet-service-endpoint
(service endpoint ``Microsoft.AzureCosmosDB``);
learn.microsoft.com/azure/private-link/private-endpoint-dns (groups Sql, MongoDB,
Cassandra, Gremlin, Table and their ``privatelink.*`` zones).
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, Sequence

from ..arm import ArmClients
from ..ip_ranges import canonical_set, missing_ranges
from ..model import ALLOW, DENY, DISABLED, Change, Phase, ResourceState
from ..resource_id import ResourceId
from ..spec import PrivateLinkGroup, ServiceSpec, rbac_actions_from_docstring
from .base import ServiceRemediator
from .common import approved_private_endpoints, lower_ids, missing_subnets, props, public_access, tags_of

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..revert import Recorded

AZURE_DATACENTERS = frozenset({"0.0.0.0", "0.0.0.0/32"})
_API_CAPABILITIES = (("enablecassandra", "Cassandra"), ("enablegremlin", "Gremlin"), ("enabletable", "Table"))
_ALSO_SQL = frozenset({"Gremlin", "Table"})


def api_group(kind: Any, capabilities: Iterable[Mapping[str, Any]] | None) -> str:
    """The private endpoint group of the account's API."""
    if isinstance(kind, str) and kind.lower() == "mongodb":
        return "MongoDB"
    names = {str(c.get("name", "")).lower() for c in capabilities or ()}
    return next((group for capability, group in _API_CAPABILITIES if capability in names), "Sql")


def api_groups(kind: Any, capabilities: Iterable[Mapping[str, Any]] | None) -> tuple[str, ...]:
    """Every group the account needs: its API's, plus ``Sql`` for Gremlin and Table (module docstring)."""
    group = api_group(kind, capabilities)
    return (group, "Sql") if group in _ALSO_SQL else (group,)


def allows_azure_datacenters(rule: Mapping[str, Any]) -> bool:
    return str(rule.get("ipAddressOrRange", "")).strip() in AZURE_DATACENTERS


def effective_default(public: str, filter_enabled: bool, ip_rules: Sequence[Mapping[str, Any]]) -> str:
    if public == DISABLED:
        return DENY
    if any(allows_azure_datacenters(r) for r in ip_rules):
        return ALLOW
    return DENY if filter_enabled or ip_rules else ALLOW


class CosmosDbRemediator(ServiceRemediator):
    """Hardens Cosmos DB accounts with one PATCH of their network properties.

    RBAC actions:
        Microsoft.DocumentDB/databaseAccounts/read
        Microsoft.DocumentDB/databaseAccounts/write
        Microsoft.DocumentDB/databaseAccounts/privateEndpointConnectionsApproval/action
        Microsoft.DocumentDB/locations/operationsStatus/read
    """

    spec = ServiceSpec(
        resource_type="Microsoft.DocumentDB/databaseAccounts",
        display_name="Cosmos DB account",
        service_endpoint="Microsoft.AzureCosmosDB",
        private_link_groups=(PrivateLinkGroup("Sql", "privatelink.documents.azure.com"),
                             PrivateLinkGroup("MongoDB", "privatelink.mongo.cosmos.azure.com"),
                             PrivateLinkGroup("Cassandra", "privatelink.cassandra.cosmos.azure.com"),
                             PrivateLinkGroup("Gremlin", "privatelink.gremlin.cosmos.azure.com"),
                             PrivateLinkGroup("Table", "privatelink.table.cosmos.azure.com")),
        operations=("Microsoft.DocumentDB/databaseAccounts/write",),
        rbac_actions=rbac_actions_from_docstring(__doc__),
    )

    def read(self, arm: ArmClients, resource_id: ResourceId) -> ResourceState:
        return self.state_from(arm.cosmosdb.database_accounts.get(resource_id.resource_group, resource_id.name)
                               .as_dict(), resource_id)

    def state_from(self, account: Mapping[str, Any], resource_id: ResourceId) -> ResourceState:
        """The typed state of one ARM GET body (or a Resource Graph row of the same shape): no I/O."""
        p = props(account)
        public = public_access(p.get("publicNetworkAccess"))
        filter_enabled = p.get("isVirtualNetworkFilterEnabled") is True
        vnet_rules = list(p.get("virtualNetworkRules") or ())
        ip_rules = list(p.get("ipRules") or ())
        return ResourceState(
            id=resource_id,
            location=account.get("location", ""),
            tags=tags_of(account),
            public_network_access=public,
            default_action=effective_default(public, filter_enabled, ip_rules),
            vnet_rule_subnet_ids=lower_ids(r.get("id") for r in vnet_rules) if filter_enabled else frozenset(),
            private_endpoint_ids=approved_private_endpoints(p.get("privateEndpointConnections")),
            private_link_groups=tuple(self.spec.group(g) for g in api_groups(account.get("kind"), p.get("capabilities"))),
            raw={"virtualNetworkRules": vnet_rules, "ipRules": ip_rules, "isVirtualNetworkFilterEnabled": filter_enabled},
            ip_rules=canonical_set(r.get("ipAddressOrRange") for r in ip_rules),
            own_write_failed=str(p.get("provisioningState") or "").lower() == "failed",
        )

    def plan_lockdown(self, arm: ArmClients, state: ResourceState) -> list[Change]:
        if not state.public and not state.own_write_failed:
            return []
        ip_rules = state.raw["ipRules"]
        before: dict[str, Any] = {"publicNetworkAccess": state.public_network_access}
        after: dict[str, Any] = {"publicNetworkAccess": DISABLED}
        if any(allows_azure_datacenters(r) for r in ip_rules):
            before["ipRules"] = [r.get("ipAddressOrRange") for r in ip_rules]
            after["ipRules"] = [r.get("ipAddressOrRange") for r in ip_rules if not allows_azure_datacenters(r)]
        return [self._patch(arm, state.id, Phase.PUBLIC_ACCESS,
                            "disable public network access (and the Azure-datacenters IP rule)",
                            _lockdown_properties, before, after)]

    def plan_vnet_rules(self, arm: ArmClients, state: ResourceState,
                        subnet_ids: Sequence[str], *, ip_ranges: Sequence[str] = ()) -> list[Change]:
        if not state.public and not state.own_write_failed:
            return []  # Stricter than asked; we never loosen.
        ip_rules = state.raw["ipRules"]
        present = lower_ids(r.get("id") for r in state.raw["virtualNetworkRules"])
        planned = _vnet_rule_properties({"ipRules": ip_rules}, subnet_ids, ip_ranges)["ipRules"]
        before = {"effectiveDefault": state.default_action,
                  "isVirtualNetworkFilterEnabled": bool(state.raw.get("isVirtualNetworkFilterEnabled")),
                  "virtualNetworkRules": sorted(present),
                  "ipRules": sorted(str(r.get("ipAddressOrRange")) for r in ip_rules)}
        after = {"effectiveDefault": DENY,
                 "isVirtualNetworkFilterEnabled": True,
                 "virtualNetworkRules": sorted(present | {s.lower() for s in subnet_ids}),
                 "ipRules": sorted(str(r.get("ipAddressOrRange")) for r in planned)}
        return [self._patch(arm, state.id, Phase.FIREWALL_RULES,
                            "enable the VNet filter, allow the service-endpoint subnets and IP ranges, "
                            "drop the Azure-datacenters IP rule (other IP rules kept)",
                            lambda p: _vnet_rule_properties(p, subnet_ids, ip_ranges), before, after)]

    def plan_restore(self, arm: ArmClients, resource_id: ResourceId, recorded: Recorded) -> list[Change]:
        p = props(arm.cosmosdb.database_accounts.get(resource_id.resource_group, resource_id.name).as_dict())
        restored = _restored_properties(p, recorded)
        before, after = {}, {}
        for key, value in restored.items():
            now = _comparable(key, p.get(key))
            if now != _comparable(key, value):
                before[key], after[key] = now, _comparable(key, value)
        if not after:
            return []
        return [self._patch(arm, resource_id, Phase.PUBLIC_ACCESS if "publicNetworkAccess" in after
                            else Phase.FIREWALL_RULES,
                            "restore public network access and the firewall as they were before hardening "
                            "(rules others added kept)", lambda fresh: _restored_properties(fresh, recorded),
                            before, after)]

    @staticmethod
    def _patch(arm: ArmClients, rid: ResourceId, phase: Phase, summary: str,
               merge: Callable[[Mapping[str, Any]], dict[str, Any]],
               before: Mapping[str, Any], after: Mapping[str, Any]) -> Change:
        def apply() -> Any:
            # The arrays in the PATCH replace the account's, and this write may come minutes after
            # the plan's read (public access off waits for endpoints and DNS): merge into the rules
            # as they are now, so that a rule someone added meanwhile is kept.
            accounts = arm.cosmosdb.database_accounts
            fresh = props(accounts.get(rid.resource_group, rid.name).as_dict())
            return accounts.begin_update(rid.resource_group, rid.name, {"properties": merge(fresh)}).result()

        return Change(phase=phase, target=str(rid), summary=summary, before=dict(before), after=dict(after),
                      apply=apply)


def _lockdown_properties(p: Mapping[str, Any]) -> dict[str, Any]:
    """Public access off; the 0.0.0.0 rule goes too, every other IP rule stays."""
    properties: dict[str, Any] = {"publicNetworkAccess": DISABLED}
    ip_rules = list(p.get("ipRules") or ())
    if any(allows_azure_datacenters(r) for r in ip_rules):
        properties["ipRules"] = [r for r in ip_rules if not allows_azure_datacenters(r)]
    return properties


def _vnet_rule_properties(p: Mapping[str, Any], subnet_ids: Sequence[str],
                          ip_ranges: Sequence[str] = ()) -> dict[str, Any]:
    """The VNet filter on, every rule as read plus ours, every IP rule but 0.0.0.0 plus ours."""
    vnet_rules = list(p.get("virtualNetworkRules") or ())
    present = lower_ids(r.get("id") for r in vnet_rules)
    new_rules = [{"id": s, "ignoreMissingVNetServiceEndpoint": False} for s in missing_subnets(subnet_ids, present)]
    ip_rules = [r for r in p.get("ipRules") or () if not allows_azure_datacenters(r)]
    have = canonical_set(r.get("ipAddressOrRange") for r in ip_rules)
    return {"isVirtualNetworkFilterEnabled": True,
            "virtualNetworkRules": [*vnet_rules, *new_rules],
            "ipRules": [*ip_rules, *({"ipAddressOrRange": r} for r in missing_ranges(ip_ranges, have))]}




def _restored_properties(p: Mapping[str, Any], recorded: Recorded) -> dict[str, Any]:
    """A revert's PATCH: the rules we added out, the 0.0.0.0 rules we removed back, switches as recorded."""
    from ..revert import without

    vnet_rules = without(p.get("virtualNetworkRules") or (), recorded.subnets_added, lambda r: r.get("id"))
    ip_rules = without(p.get("ipRules") or (), {v.lower() for v in recorded.ip_rules_added},
                       lambda r: r.get("ipAddressOrRange"))
    present = {str(r.get("ipAddressOrRange")) for r in ip_rules}
    ip_rules += [{"ipAddressOrRange": v} for v in recorded.ip_rules_removed if v not in present]
    restored: dict[str, Any] = {"virtualNetworkRules": vnet_rules, "ipRules": ip_rules}
    if "isVirtualNetworkFilterEnabled" in recorded.flags:
        restored["isVirtualNetworkFilterEnabled"] = bool(recorded.flags["isVirtualNetworkFilterEnabled"])
    elif recorded.subnets_added and not vnet_rules:  # recorded before the flag was: no rule left, no filter
        restored["isVirtualNetworkFilterEnabled"] = False
    if recorded.public_network_access:
        restored["publicNetworkAccess"] = recorded.public_network_access
    return restored


def _comparable(key: str, value: Any) -> Any:
    if key == "virtualNetworkRules":
        return sorted(str(r.get("id")).lower() for r in value or ())
    if key == "ipRules":
        return sorted(str(r.get("ipAddressOrRange")) for r in value or ())
    if key == "publicNetworkAccess":
        return public_access(value)
    return bool(value)
