"""Azure SQL logical servers (``Microsoft.Sql/servers``).

Where the settings live:

- ``properties.publicNetworkAccess`` on the server; Servers_Update is a
  long-running PATCH (``begin_update``) that leaves every property it does not
  carry alone (``administrators``, ``administratorLogin``, ``minimalTlsVersion``...).
- The firewall is default-deny and lives in child resources:
  ``firewallRules/{name}`` {startIpAddress, endIpAddress} and
  ``virtualNetworkRules/{name}`` {virtualNetworkSubnetId, ignoreMissingVnetServiceEndpoint}
  (a long-running PUT). A firewall rule from 0.0.0.0 to 0.0.0.0 is the portal's
  "Allow Azure services and resources to access this server" checkbox
  (usually named ``AllowAllWindowsAzureIps``): it admits every Azure
  customer's traffic, so while it exists the *effective* default is Allow.
  We delete exactly that rule; every other firewall rule is its owner's and stays.

Decisions:

- **Effective default.** With public network access Disabled, SQL evaluates
  no firewall rule at all and only private endpoints connect, so the server
  reads as ``Deny`` without listing its rules. Otherwise ``Allow`` if an
  Azure-services rule exists, else ``Deny``.
- **harden=private also deletes the Azure-services rule**, before turning public
  access off. Once public access is Disabled, SQL refuses any firewall-rule
  change (error 42101), so this is the last chance to remove it; left behind, it
  would silently re-admit all of Azure the moment anyone re-enables public
  access. It costs one DELETE. Public access is only turned off after our
  private endpoint exists, which SQL insists on anyway (error 42102).
- **VNet rule names** are deterministic (``vnet-<subnet name>-<8 hex of the
  subnet id>``), so a redelivered event reuses the rule, and two subnets with
  the same name in different VNets do not collide. A subnet that already has a
  rule under any name is left as it is.
- **Region.** A ``Microsoft.Sql`` service endpoint carries traffic only to servers in
  its VNet's region (learn.microsoft.com/azure/virtual-network/virtual-network-service-endpoints-overview,
  "Limitations"), and the Network RP refuses such a VNet rule. A configured subnet in another
  region fails the plan before anything is written (``NetworkPlanner.plan_service_endpoints``,
  shared by every service), so the Azure-services rule is never deleted while a subnet
  that relied on it cannot be given a working VNet rule.
- **Allowed IP ranges** (HARDEN_ALLOWED_IP_RANGES, ``service-endpoint`` only): one
  ``firewallRules/harden-ip-<range>`` {startIpAddress, endIpAddress} per configured range that no
  rule already spans exactly (whatever its name), written before the Azure-services rule goes
  (FirewallRules_CreateOrUpdate, a plain PUT). Server-level rules are IPv4 start/end addresses
  (learn.microsoft.com/azure/azure-sql/database/firewall-configure); the settings refuse anything
  else, and 0.0.0.0, at start-up (remediators/ip_ranges.py).
- A write to a firewall rule (``Microsoft.Sql/servers/firewallRules/write``,
  e.g. someone ticking the checkbox again) re-evaluates the server: the trigger
  maps child writes to the parent.

GETs for a compliance check: 1 (the server) when public access is Disabled,
which is every compliant ``private`` server; 3 (server, firewall rules,
VNet rules) for a compliant ``service-endpoint`` server that stays public.

Sources: azure-rest-api-specs sql/resource-manager/Microsoft.Sql (Servers_Get,
Servers_Update, FirewallRules_ListByServer/CreateOrUpdate/Delete, VirtualNetworkRules_ListByServer/
CreateOrUpdate); learn.microsoft.com/azure/azure-sql/database/connectivity-settings
(errors 42101 and 42102); learn.microsoft.com/azure/azure-sql/database/network-access-controls-overview
("Allow Azure services" is a 0.0.0.0 rule); learn.microsoft.com/azure/azure-sql/database/vnet-service-endpoint-rule-overview
(VNet rules need the Microsoft.Sql service endpoint);
learn.microsoft.com/azure/private-link/private-endpoint-dns (group ``sqlServer``,
zone ``privatelink.database.windows.net``).
"""
from __future__ import annotations

import hashlib
from typing import Any, Mapping, Sequence

from ..arm import ArmClients
from ..ip_ranges import bounds, canonical_bounds, missing_ranges, rule_name
from ..model import ALLOW, DENY, DISABLED, Change, Phase, ResourceState
from ..resource_id import ResourceId
from ..spec import PrivateLinkGroup, ServiceSpec, rbac_actions_from_docstring
from .base import ServiceRemediator
from .common import approved_private_endpoints, lower_ids, missing_subnets, props, public_access, tags_of

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..revert import Recorded

AZURE_SERVICES_IP = "0.0.0.0"
# SQL's limit for a virtual network rule name is 128 characters.
_MAX_RULE_NAME = 128


def allows_azure_services(rule: Mapping[str, Any]) -> bool:
    """The "Allow Azure services" rule: start and end address both 0.0.0.0."""
    p = props(rule)
    return p.get("startIpAddress") == AZURE_SERVICES_IP and p.get("endIpAddress") == AZURE_SERVICES_IP


def vnet_rule_name(subnet_id: str) -> str:
    """Deterministic per subnet: ``vnet-<subnet name>-<hash of the lower-cased subnet id>``."""
    digest = hashlib.sha256(subnet_id.lower().encode()).hexdigest()[:8]
    stem = subnet_id.rstrip("/").rsplit("/", 1)[-1]
    return f"vnet-{stem[:_MAX_RULE_NAME - 14]}-{digest}"


class SqlServerRemediator(ServiceRemediator):
    """Hardens Azure SQL logical servers: VNet rules, the Azure-services rule, public access.

    RBAC actions:
        Microsoft.Sql/servers/read
        Microsoft.Sql/servers/write
        Microsoft.Sql/servers/firewallRules/read
        Microsoft.Sql/servers/firewallRules/write
        Microsoft.Sql/servers/firewallRules/delete
        Microsoft.Sql/servers/virtualNetworkRules/read
        Microsoft.Sql/servers/virtualNetworkRules/write
        Microsoft.Sql/servers/privateEndpointConnectionsApproval/action
        Microsoft.Sql/locations/*/read
    """

    spec = ServiceSpec(
        resource_type="Microsoft.Sql/servers",
        display_name="Azure SQL logical server",
        service_endpoint="Microsoft.Sql",
        private_link_groups=(PrivateLinkGroup("sqlServer", "privatelink.database.windows.net"),),
        operations=("Microsoft.Sql/servers/write", "Microsoft.Sql/servers/firewallRules/write"),
        rbac_actions=rbac_actions_from_docstring(__doc__),
    )

    def read(self, arm: ArmClients, resource_id: ResourceId) -> ResourceState:
        rg, name = resource_id.resource_group, resource_id.name
        server = arm.sql.servers.get(rg, name).as_dict()
        p = props(server)
        public = public_access(p.get("publicNetworkAccess"))
        firewall: list[dict[str, Any]] = []
        vnet_rules: list[dict[str, Any]] = []
        if public == DISABLED:
            # No firewall rule is evaluated (nor editable, error 42101): nothing public gets in.
            default = DENY
        else:
            firewall = [r.as_dict() for r in arm.sql.firewall_rules.list_by_server(rg, name)]
            vnet_rules = [r.as_dict() for r in arm.sql.virtual_network_rules.list_by_server(rg, name)]
            default = ALLOW if any(allows_azure_services(r) for r in firewall) else DENY
        return ResourceState(
            id=resource_id,
            location=server.get("location", ""),
            tags=tags_of(server),
            public_network_access=public,
            default_action=default,
            vnet_rule_subnet_ids=lower_ids(props(r).get("virtualNetworkSubnetId") for r in vnet_rules),
            private_endpoint_ids=approved_private_endpoints(p.get("privateEndpointConnections")),
            private_link_groups=self.spec.private_link_groups,
            raw={"firewallRules": firewall},
            ip_rules=frozenset(c for c in (canonical_bounds(props(r).get("startIpAddress"), props(r).get("endIpAddress"))
                                           for r in firewall if not allows_azure_services(r)) if c),
        )

    def plan_lockdown(self, arm: ArmClients, state: ResourceState) -> list[Change]:
        if not state.public:
            return []  # Already private-only; the firewall can no longer be edited (42101).
        rid = state.id
        body = {"properties": {"publicNetworkAccess": DISABLED}}
        return [
            *self._delete_azure_services_rules(arm, state),
            Change(
                phase=Phase.PUBLIC_ACCESS,
                target=str(rid),
                summary="disable public network access (only private endpoints connect)",
                before={"publicNetworkAccess": state.public_network_access},
                after={"publicNetworkAccess": DISABLED},
                apply=lambda: arm.sql.servers.begin_update(rid.resource_group, rid.name, body).result(),
            ),
        ]

    def plan_vnet_rules(self, arm: ArmClients, state: ResourceState,
                        subnet_ids: Sequence[str], *, ip_ranges: Sequence[str] = ()) -> list[Change]:
        if not state.public:
            return []  # Stricter than asked; we never loosen.
        changes = [self._add_vnet_rule(arm, state.id, s)
                   for s in missing_subnets(subnet_ids, state.vnet_rule_subnet_ids)]
        changes += [self._add_firewall_rule(arm, state.id, r) for r in missing_ranges(ip_ranges, state.ip_rules)]
        # After the VNet rules, so the subnets never lose access half-way.
        return changes + self._delete_azure_services_rules(arm, state)

    def plan_restore(self, arm: ArmClients, resource_id: ResourceId, recorded: Recorded) -> list[Change]:
        """Public access first (SQL refuses firewall edits while it is off, 42101), then the child rules."""
        rg, name, rid = resource_id.resource_group, resource_id.name, resource_id
        server = arm.sql.servers.get(rg, name).as_dict()
        now = public_access(props(server).get("publicNetworkAccess"))
        changes: list[Change] = []
        if recorded.public_network_access and now != public_access(recorded.public_network_access):
            body = {"properties": {"publicNetworkAccess": recorded.public_network_access}}
            changes.append(Change(
                phase=Phase.PUBLIC_ACCESS, target=str(rid), summary="restore public network access",
                before={"publicNetworkAccess": now}, after={"publicNetworkAccess": recorded.public_network_access},
                apply=lambda: arm.sql.servers.begin_update(rg, name, body).result()))
        for rule in arm.sql.virtual_network_rules.list_by_server(rg, name):
            rule = rule.as_dict()
            subnet = str(props(rule).get("virtualNetworkSubnetId") or "")
            if subnet.lower() in recorded.subnets_added:
                rule_name = str(rule.get("name"))
                changes.append(Change(
                    phase=Phase.FIREWALL_RULES, target=str(rid.child("virtualNetworkRules", rule_name)),
                    summary="delete the VNet rule this tool added", before={"virtualNetworkSubnetId": subnet},
                    after=None, apply=lambda n=rule_name: arm.sql.virtual_network_rules.begin_delete(
                        rg, name, n).result()))
        firewall = {str(r.name).lower() for r in arm.sql.firewall_rules.list_by_server(rg, name)}
        for rule_name, start, end in recorded.firewall_rules_deleted:
            if rule_name.lower() in firewall:
                continue
            rule_body = {"properties": {"startIpAddress": start, "endIpAddress": end}}
            changes.append(Change(
                phase=Phase.FIREWALL_RULES, target=str(rid.child("firewallRules", rule_name)),
                summary="put back the firewall rule this tool deleted", before=None, after=rule_body["properties"],
                apply=lambda n=rule_name, b=rule_body: arm.sql.firewall_rules.create_or_update(rg, name, n, b)))
        for rule_name in sorted(recorded.firewall_rules_created):
            if rule_name.lower() in firewall:
                changes.append(Change(
                    phase=Phase.FIREWALL_RULES, target=str(rid.child("firewallRules", rule_name)),
                    summary="delete the firewall rule this tool added", before={"exists": True}, after=None,
                    apply=lambda n=rule_name: arm.sql.firewall_rules.delete(rg, name, n)))
        return changes

    @staticmethod
    def _add_vnet_rule(arm: ArmClients, rid: ResourceId, subnet_id: str) -> Change:
        name = vnet_rule_name(subnet_id)
        body = {"properties": {"virtualNetworkSubnetId": subnet_id, "ignoreMissingVnetServiceEndpoint": False}}
        return Change(
            phase=Phase.FIREWALL_RULES,
            target=str(rid.child("virtualNetworkRules", name)),
            summary="allow the service-endpoint subnet",
            before=None,
            after=body["properties"],
            apply=lambda: arm.sql.virtual_network_rules.begin_create_or_update(
                rid.resource_group, rid.name, name, body).result(),
        )

    @staticmethod
    def _add_firewall_rule(arm: ArmClients, rid: ResourceId, ip_range: str) -> Change:
        name = rule_name(ip_range)
        start, end = bounds(ip_range)
        body = {"properties": {"startIpAddress": start, "endIpAddress": end}}
        return Change(
            phase=Phase.FIREWALL_RULES,
            target=str(rid.child("firewallRules", name)),
            summary=f"allow the IP range {ip_range} (HARDEN_ALLOWED_IP_RANGES)",
            before=None,
            after=dict(body["properties"]),
            apply=lambda: arm.sql.firewall_rules.create_or_update(rid.resource_group, rid.name, name, body),
        )

    @staticmethod
    def _delete_azure_services_rules(arm: ArmClients, state: ResourceState) -> list[Change]:
        rid = state.id
        changes = []
        for rule in state.raw.get("firewallRules") or ():
            if not allows_azure_services(rule):
                continue
            name = str(rule.get("name") or str(rule.get("id", "")).rsplit("/", 1)[-1])
            changes.append(Change(
                phase=Phase.FIREWALL_CLEANUP,
                target=str(rid.child("firewallRules", name)),
                summary="delete the 'Allow Azure services' firewall rule (0.0.0.0); other rules are kept",
                before={"startIpAddress": AZURE_SERVICES_IP, "endIpAddress": AZURE_SERVICES_IP},
                after=None,
                apply=lambda name=name: arm.sql.firewall_rules.delete(rid.resource_group, rid.name, name),
            ))
        return changes
