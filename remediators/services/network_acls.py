"""The ``properties.networkAcls`` firewall shared by Key Vault and Storage.

Both answer a GET with ``networkAcls {defaultAction, bypass, ipRules[],
virtualNetworkRules[]}`` and both replace ``networkAcls`` as a whole on PATCH,
so one PATCH carrying every rule we read is the safe write.

IP rules (``ipRules[].value``, HARDEN_ALLOWED_IP_RANGES): a single address is written bare
("Configure these ranges by using individual IP address rules", storage-network-security,
"Restrictions for IP network rules"), a range in CIDR; both services take public IPv4 only
(remediators/ip_ranges.py). Key Vault echoes a bare address as ``/32``, so rules are compared
normalised and an echoed rule is never added twice.
"""
from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..arm import ArmClients
from ..ip_ranges import canonical_set, missing_ranges
from ..model import DENY, DISABLED, Change, Phase, ResourceState
from ..resource_id import ResourceId
from ..spec import PrivateLinkGroup
from .base import ServiceRemediator
from .common import (approved_private_endpoints, default_action, lower_ids, missing_subnets, props,
                     public_access, tags_of)

if TYPE_CHECKING:
    from ..revert import Recorded


class NetworkAclsRemediator(ServiceRemediator):
    """A service whose firewall is ``properties.networkAcls``."""

    @abc.abstractmethod
    def get(self, arm: ArmClients, resource_id: ResourceId) -> Mapping[str, Any]:
        """GET the resource as ARM JSON."""

    @abc.abstractmethod
    def update(self, arm: ArmClients, resource_id: ResourceId, body: Mapping[str, Any]) -> Any:
        """PATCH the resource with an ARM JSON body."""

    @abc.abstractmethod
    def vnet_rule(self, subnet_id: str) -> dict[str, Any]:
        """A ``virtualNetworkRules[]`` entry allowing this subnet."""

    def ip_rule(self, value: str) -> dict[str, Any]:
        """An ``ipRules[]`` entry allowing this canonical address or range."""
        return {"value": value}

    def private_link_groups_for(self, resource: Mapping[str, Any]) -> tuple[PrivateLinkGroup, ...]:
        """The groups this resource needs endpoints for (the whole ARM GET: kind and SKU matter)."""
        return self.spec.private_link_groups

    def unsupported_reason(self, resource: Mapping[str, Any]) -> str | None:
        """Why this resource cannot be hardened as its tag asks, if it cannot."""
        return None

    def read(self, arm: ArmClients, resource_id: ResourceId) -> ResourceState:
        return self.state_from(self.get(arm, resource_id), resource_id)

    def state_from(self, resource: Mapping[str, Any], resource_id: ResourceId) -> ResourceState:
        """The typed state of one ARM GET body (or a Resource Graph row of the same shape): no I/O."""
        p = props(resource)
        acls = p.get("networkAcls") or {}
        return ResourceState(
            id=resource_id,
            location=resource.get("location", ""),
            tags=tags_of(resource),
            public_network_access=public_access(p.get("publicNetworkAccess")),
            default_action=default_action(acls.get("defaultAction")),
            vnet_rule_subnet_ids=lower_ids(r.get("id") for r in acls.get("virtualNetworkRules") or ()),
            private_endpoint_ids=approved_private_endpoints(p.get("privateEndpointConnections")),
            private_link_groups=self.private_link_groups_for(resource),
            unsupported=self.unsupported_reason(resource),
            raw={"networkAcls": acls},
            ip_rules=canonical_set(r.get("value") for r in acls.get("ipRules") or ()),
        )

    def plan_lockdown(self, arm: ArmClients, state: ResourceState) -> list[Change]:
        return [self._patch(arm, state, public_network_access=DISABLED)]

    def plan_vnet_rules(self, arm: ArmClients, state: ResourceState,
                        subnet_ids: Sequence[str], *, ip_ranges: Sequence[str] = ()) -> list[Change]:
        return [self._patch(arm, state, subnet_ids=subnet_ids, ip_ranges=ip_ranges)]

    def _merged_acls(self, acls: Mapping[str, Any], subnet_ids: Sequence[str],
                     ip_ranges: Sequence[str] = ()) -> dict[str, Any]:
        """``acls`` as read, plus a rule for each subnet and IP range that has none, default Deny."""
        merged = dict(acls)
        rules = list(acls.get("virtualNetworkRules") or ())
        present = lower_ids(r.get("id") for r in rules)
        merged["virtualNetworkRules"] = rules + [self.vnet_rule(s) for s in missing_subnets(subnet_ids, present)]
        ip_rules = list(acls.get("ipRules") or ())
        have = canonical_set(r.get("value") for r in ip_rules)
        merged["ipRules"] = ip_rules + [self.ip_rule(r) for r in missing_ranges(ip_ranges, have)]
        merged["bypass"] = acls.get("bypass") or "AzureServices"
        merged["defaultAction"] = DENY
        return merged

    def _patch(self, arm: ArmClients, state: ResourceState, *, public_network_access: str | None = None,
               subnet_ids: Sequence[str] = (), ip_ranges: Sequence[str] = ()) -> Change:
        planned = self._merged_acls(state.raw["networkAcls"], subnet_ids, ip_ranges)
        before: dict[str, Any] = {"networkAcls.defaultAction": state.default_action}
        after: dict[str, Any] = {"networkAcls.defaultAction": DENY}
        if missing_subnets(subnet_ids, state.vnet_rule_subnet_ids):
            before["networkAcls.virtualNetworkRules"] = sorted(state.vnet_rule_subnet_ids)
            after["networkAcls.virtualNetworkRules"] = sorted(
                lower_ids(r.get("id") for r in planned["virtualNetworkRules"]))
        if missing_ranges(ip_ranges, state.ip_rules):
            before["networkAcls.ipRules"] = _ip_values(state.raw["networkAcls"].get("ipRules"))
            after["networkAcls.ipRules"] = _ip_values(planned["ipRules"])
        if public_network_access:
            before["publicNetworkAccess"] = state.public_network_access
            after["publicNetworkAccess"] = public_network_access
        rid = state.id

        def apply() -> Any:
            # networkAcls is replaced whole, and this write may come minutes after the plan's read
            # (it waits for endpoints, DNS, subnets): merge into the rules as they are now, so that
            # a rule someone added meanwhile is kept.
            fresh = props(self.get(arm, rid)).get("networkAcls") or {}
            properties: dict[str, Any] = {"networkAcls": self._merged_acls(fresh, subnet_ids, ip_ranges)}
            if public_network_access:
                properties["publicNetworkAccess"] = public_network_access
            return self.update(arm, rid, {"properties": properties})

        return Change(
            phase=Phase.PUBLIC_ACCESS if public_network_access else Phase.FIREWALL_RULES,
            target=str(rid),
            summary="disable public network access and deny the firewall's default"
            if public_network_access else "allow the service-endpoint subnets and IP ranges and deny all other networks",
            before=before,
            after=after,
            apply=apply,
        )

    def plan_restore(self, arm: ArmClients, resource_id: ResourceId, recorded: Recorded) -> list[Change]:
        p = props(self.get(arm, resource_id))
        acls = p.get("networkAcls") or {}
        restored = self._restored_acls(acls, recorded)
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        if recorded.public_network_access and public_access(p.get("publicNetworkAccess")) != \
                public_access(recorded.public_network_access):
            before["publicNetworkAccess"] = public_access(p.get("publicNetworkAccess"))
            after["publicNetworkAccess"] = recorded.public_network_access
        if default_action(acls.get("defaultAction")) != default_action(restored["defaultAction"]):
            before["networkAcls.defaultAction"] = default_action(acls.get("defaultAction"))
            after["networkAcls.defaultAction"] = restored["defaultAction"]
        for key, id_of in (("virtualNetworkRules", lambda r: r.get("id")), ("ipRules", lambda r: r.get("value"))):
            now = sorted(str(id_of(r)) for r in acls.get(key) or ())
            then = sorted(str(id_of(r)) for r in restored[key])
            if now != then:
                before[f"networkAcls.{key}"], after[f"networkAcls.{key}"] = now, then
        if not after:
            return []
        public = after.get("publicNetworkAccess")

        def apply() -> Any:
            # Replaced whole: restore into the rules as they are now, so a rule added meanwhile stays.
            fresh = props(self.get(arm, resource_id)).get("networkAcls") or {}
            properties: dict[str, Any] = {"networkAcls": self._restored_acls(fresh, recorded)}
            if public:
                properties["publicNetworkAccess"] = public
            return self.update(arm, resource_id, {"properties": properties})

        return [Change(phase=Phase.PUBLIC_ACCESS if public else Phase.FIREWALL_RULES, target=str(resource_id),
                       summary="restore public network access and the firewall as they were before hardening "
                               "(rules others added kept)", before=before, after=after, apply=apply)]

    def _restored_acls(self, acls: Mapping[str, Any], recorded: Recorded) -> dict[str, Any]:
        """``acls`` less the rules we added, plus the ones we removed, the default as recorded."""
        return _restored_acls(acls, recorded, self.ip_rule)


def _restored_acls(acls: Mapping[str, Any], recorded: Recorded, ip_rule: Any) -> dict[str, Any]:
    from ..revert import without

    restored = dict(acls)
    restored["virtualNetworkRules"] = without(acls.get("virtualNetworkRules") or (), recorded.subnets_added,
                                              lambda r: r.get("id"))
    ip_rules = without(acls.get("ipRules") or (), {_ip(v) for v in recorded.ip_rules_added}, lambda r: _ip(r.get("value")))
    present = {_ip(r.get("value")) for r in ip_rules}
    ip_rules += [ip_rule(v) for v in recorded.ip_rules_removed if _ip(v) not in present]
    restored["ipRules"] = ip_rules
    restored["defaultAction"] = default_action(recorded.default_action or acls.get("defaultAction"))
    restored.setdefault("bypass", "AzureServices")
    return restored


def _ip(value: Any) -> str:
    """Key Vault echoes a single address as ``/32``; compare without it."""
    text = str(value or "").lower()
    return text[:-3] if text.endswith("/32") else text

def _ip_values(rules: Any) -> list[str]:
    """The ``ipRules[].value`` strings exactly as read, sorted (what history records and revert writes back)."""
    return sorted(str(r.get("value")) for r in rules or () if isinstance(r, Mapping) and r.get("value") is not None)
