"""Messaging namespaces whose firewall is the ``networkRuleSets/default`` child.

Service Bus and Event Hubs share this shape exactly: the namespace GET carries
the tags, the SKU, ``properties.publicNetworkAccess`` and the private endpoint
connections; the firewall lives in ``{namespace}/networkRuleSets/default``
``{defaultAction, publicNetworkAccess, ipRules[].ipMask,
virtualNetworkRules[].{subnet.id, ignoreMissingVnetServiceEndpoint},
trustedServiceAccessEnabled}``, and a PUT of the rule set replaces all of it.
So every rule-set write re-reads the rule set, changes only what it must, and
PUTs everything back.

Sources: azure-rest-api-specs servicebus and eventhub resource-manager specs
(Namespaces_Get, Namespaces_Update with ``location`` in the body,
Namespaces_GetNetworkRuleSet, Namespaces_CreateOrUpdateNetworkRuleSet: examples
SBNameSpaceGet.json, SBNetworkRuleSetList.json, EHNameSpaceGet.json,
EHNameSpaceUpdate.json); learn.microsoft.com/azure/event-hubs/event-hubs-service-endpoints
and .../service-bus-messaging/service-bus-service-endpoints ("If there are no IP
and virtual network rules, the namespace can be accessed over the public internet":
``defaultAction: Deny`` only denies once a rule exists);
learn.microsoft.com/azure/private-link/private-endpoint-dns (group ``namespace``,
zone ``privatelink.servicebus.windows.net`` for both services).

ARM reads per evaluation (the compliant check is the first row):
    harden=private or service-endpoint: namespace GET + networkRuleSets/default GET
    harden=off, unknown value, or a tier that cannot be hardened: namespace GET
    untagged: namespace GET, + rule set GET when the namespace's own switch is
    enabled and the tier is not Basic (to tell a firewalled namespace from an
    open one in the report)
Writes per remediation (besides the shared endpoint/DNS/subnet changes), each
rule-set PUT preceded by a GET of the rule set as it is at that moment:
    private: rule set PUT (public access off, only if on) + namespace PATCH
    (public access off, only if on); the firewall rules and default stay as read
    service-endpoint: rule set PUT (VNet rules and IP rules added, default Deny)

IP rules (HARDEN_ALLOWED_IP_RANGES): ``ipRules[] {ipMask, action: Allow}``, "a set of IPv4 addresses
or IPv4 address ranges (in CIDR ... notation)" (learn.microsoft.com/azure/service-bus-messaging/
service-bus-ip-filtering; event-hubs/event-hubs-ip-filtering); added for each configured range no
Allow rule covers yet, in the same PUT as the VNet rules.
"""
from __future__ import annotations

import abc
import logging
from typing import Any, Callable, Mapping, Sequence

from ..arm import ArmClients, response_status
from ..ip_ranges import canonical_set, missing_ranges
from ..model import (ALLOW, DENY, DISABLED, ENABLED, SECURED_BY_PERIMETER, Change, Mode, Phase, ResourceState,
                     requested_mode)
from ..resource_id import ResourceId
from .base import ServiceRemediator
from .common import approved_private_endpoints, lower_ids, missing_subnets, props, public_access, tags_of

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..revert import Recorded

logger = logging.getLogger(__name__)

RULE_SET_NAME = "default"
BASIC = "basic"
_RULE_SET_READ_ONLY = ("id", "name", "type", "location", "systemData", "etag")


def rule_set_subnet_ids(rule_set_props: Mapping[str, Any]) -> frozenset[str]:
    return lower_ids((r.get("subnet") or {}).get("id") for r in rule_set_props.get("virtualNetworkRules") or ())


def rule_set_ip_ranges(rule_set_props: Mapping[str, Any]) -> frozenset[str]:
    """The ranges the rule set's Allow IP rules let in, normalised (an absent action is Allow)."""
    return canonical_set(r.get("ipMask") for r in rule_set_props.get("ipRules") or ()
                         if str(r.get("action") or ALLOW).lower() == ALLOW.lower())


def effective_default_action(rule_set_props: Mapping[str, Any]) -> str:
    """What the firewall does with traffic no rule names.

    A rule set with public access disabled admits no public traffic at all;
    ``defaultAction: Deny`` without a single IP or VNet rule still admits
    everything (see the module docstring).
    """
    if public_access(rule_set_props.get("publicNetworkAccess")) == DISABLED:
        return DENY
    denies = str(rule_set_props.get("defaultAction") or "").lower() == DENY.lower()
    has_rules = bool(rule_set_props.get("ipRules") or rule_set_props.get("virtualNetworkRules"))
    return DENY if denies and has_rules else ALLOW


def merged_rule_set(current: Mapping[str, Any], *, subnet_ids: Sequence[str] = (), ip_ranges: Sequence[str] = (),
                    public_network_access: str | None = None) -> dict[str, Any]:
    """The rule set ``current`` plus our change, everything else kept as read.

    ``subnet_ids`` get VNet rules and ``ip_ranges`` IP rules (and the default becomes Deny);
    ``public_network_access`` replaces the rule set's public switch.
    """
    p = dict(props(current))
    rules = [dict(r) for r in p.get("virtualNetworkRules") or ()]
    present = rule_set_subnet_ids(p)
    rules += [{"subnet": {"id": s}, "ignoreMissingVnetServiceEndpoint": False}
              for s in missing_subnets(subnet_ids, present)]
    p["virtualNetworkRules"] = rules
    p["ipRules"] = [dict(r) for r in p.get("ipRules") or ()] + [
        {"ipMask": r, "action": ALLOW} for r in missing_ranges(ip_ranges, rule_set_ip_ranges(p))]
    if subnet_ids or ip_ranges:
        p["defaultAction"] = DENY
    if public_network_access:
        p["publicNetworkAccess"] = public_network_access
    return {k: v for k, v in {**current, "properties": p}.items() if k not in _RULE_SET_READ_ONLY}


def restored_rule_set(current: Mapping[str, Any], recorded: Recorded) -> dict[str, Any]:
    """A revert's rule set: the rules we added out, the switches as recorded, everything else as read."""
    from ..revert import without

    p = dict(props(current))
    p["virtualNetworkRules"] = without(p.get("virtualNetworkRules") or (), recorded.subnets_added,
                                       lambda r: (r.get("subnet") or {}).get("id"))
    ip_rules = without(p.get("ipRules") or (), {v.lower() for v in recorded.ip_rules_added}, lambda r: r.get("ipMask"))
    present = {str(r.get("ipMask")) for r in ip_rules}
    p["ipRules"] = ip_rules + [{"ipMask": v, "action": "Allow"} for v in recorded.ip_rules_removed if v not in present]
    if recorded.default_action:
        p["defaultAction"] = recorded.default_action
    if recorded.rule_set_public_network_access:
        p["publicNetworkAccess"] = recorded.rule_set_public_network_access
    return {k: v for k, v in {**current, "properties": p}.items() if k not in _RULE_SET_READ_ONLY}


class MessagingNamespaceRemediator(ServiceRemediator):
    """Service Bus and Event Hubs namespaces; subclasses name the SDK client and the tier limit."""

    @abc.abstractmethod
    def namespaces(self, arm: ArmClients) -> Any:
        """The SDK's ``namespaces`` operations (identical in both SDKs)."""

    @abc.abstractmethod
    def tier_problem(self, tier: str) -> str | None:
        """Why a namespace of this SKU tier cannot be hardened, with the fix; ``None`` if it can."""

    def read(self, arm: ArmClients, resource_id: ResourceId) -> ResourceState:
        ops = self.namespaces(arm)
        namespace = ops.get(resource_id.resource_group, resource_id.name).as_dict()
        p = props(namespace)
        tags = tags_of(namespace)
        sku = namespace.get("sku") or {}
        tier = str(sku.get("tier") or sku.get("name") or "")
        problem = self.tier_problem(tier)
        tag, mode = requested_mode(tags)
        namespace_public = public_access(p.get("publicNetworkAccess"))
        if mode in (Mode.PRIVATE, Mode.SERVICE_ENDPOINT):
            needs_rule_set = problem is None
        else:  # untagged: only to report accurately; off / unknown value: never
            needs_rule_set = tag is None and namespace_public == ENABLED and tier.lower() != BASIC
        rule_set = (ops.get_network_rule_set(resource_id.resource_group, resource_id.name).as_dict()
                    if needs_rule_set else None)
        rs = props(rule_set) if rule_set is not None else {}
        both_off = namespace_public == DISABLED and (
            rule_set is None or public_access(rs.get("publicNetworkAccess")) == DISABLED)
        return ResourceState(
            id=resource_id,
            location=namespace.get("location", ""),
            tags=tags,
            # Either switch at SecuredByPerimeter: the namespace's perimeter governs it (engine skips it).
            public_network_access=SECURED_BY_PERIMETER if SECURED_BY_PERIMETER in (
                namespace_public, public_access(rs.get("publicNetworkAccess"))) else DISABLED if both_off else ENABLED,
            default_action=effective_default_action(rs) if rule_set is not None else None,
            vnet_rule_subnet_ids=rule_set_subnet_ids(rs),
            ip_rules=rule_set_ip_ranges(rs),
            private_endpoint_ids=approved_private_endpoints(p.get("privateEndpointConnections")),
            private_link_groups=self.spec.private_link_groups,
            unsupported=problem,
            raw={"namespacePublicNetworkAccess": namespace_public, "networkRuleSet": rule_set or {}},
        )

    def plan_lockdown(self, arm: ArmClients, state: ResourceState) -> list[Change]:
        """Public access off in both places ARM keeps it; the firewall rules stay as they are."""
        changes = []
        rs = props(state.raw["networkRuleSet"])
        rule_set_public = public_access(rs.get("publicNetworkAccess"))
        if rule_set_public != DISABLED:
            changes.append(self._rule_set_change(
                arm, state, Phase.PUBLIC_ACCESS, "disable public network access on the network rule set "
                "(IP and VNet rules and trusted-service access kept)",
                before={"networkRuleSets/default.publicNetworkAccess": rule_set_public},
                after={"networkRuleSets/default.publicNetworkAccess": DISABLED},
                merge=lambda current: merged_rule_set(current, public_network_access=DISABLED)))
        namespace_public = state.raw["namespacePublicNetworkAccess"]
        if namespace_public != DISABLED:
            rid, body = state.id, {"location": state.location, "properties": {"publicNetworkAccess": DISABLED}}
            changes.append(Change(
                phase=Phase.PUBLIC_ACCESS, target=str(rid), summary="disable public network access on the namespace",
                before={"publicNetworkAccess": namespace_public}, after={"publicNetworkAccess": DISABLED},
                # One write at a time on a namespace: both update the same resource, and a second
                # update while the first runs may be refused as a conflict.
                needs=frozenset(c.key for c in changes),
                apply=lambda: self.namespaces(arm).update(rid.resource_group, rid.name, body,
                                                          stream=True, cls=response_status)))
        return changes

    def plan_vnet_rules(self, arm: ArmClients, state: ResourceState,
                        subnet_ids: Sequence[str], *, ip_ranges: Sequence[str] = ()) -> list[Change]:
        current = state.raw["networkRuleSet"]
        planned = props(merged_rule_set(current, subnet_ids=subnet_ids, ip_ranges=ip_ranges))
        before = {"defaultAction": props(current).get("defaultAction"),
                  "virtualNetworkRules": sorted(state.vnet_rule_subnet_ids)}
        after = {"defaultAction": planned["defaultAction"],
                 "virtualNetworkRules": sorted(rule_set_subnet_ids(planned))}
        if missing_ranges(ip_ranges, state.ip_rules):
            before["ipRules"] = _masks(props(current).get("ipRules"))
            after["ipRules"] = _masks(planned["ipRules"])
        return [self._rule_set_change(
            arm, state, Phase.FIREWALL_RULES,
            "allow the service-endpoint subnets and IP ranges and deny all other networks "
            "(existing IP rules and trusted-service access kept)",
            before=before, after=after,
            merge=lambda fresh: merged_rule_set(fresh, subnet_ids=subnet_ids, ip_ranges=ip_ranges))]

    def plan_restore(self, arm: ArmClients, resource_id: ResourceId, recorded: Recorded) -> list[Change]:
        """The namespace's switch first, then the rule set: one write at a time on a namespace."""
        ops = self.namespaces(arm)
        rg, name, rid = resource_id.resource_group, resource_id.name, resource_id
        namespace = ops.get(rg, name).as_dict()
        changes: list[Change] = []
        now = public_access(props(namespace).get("publicNetworkAccess"))
        if recorded.public_network_access and now != public_access(recorded.public_network_access):
            body = {"location": namespace.get("location"),
                    "properties": {"publicNetworkAccess": recorded.public_network_access}}
            changes.append(Change(
                phase=Phase.PUBLIC_ACCESS, target=str(rid), summary="restore public network access on the namespace",
                before={"publicNetworkAccess": now}, after={"publicNetworkAccess": recorded.public_network_access},
                apply=lambda: ops.update(rg, name, body, stream=True, cls=response_status)))
        rule_set = ops.get_network_rule_set(rg, name).as_dict()
        current, planned = props(rule_set), props(restored_rule_set(rule_set, recorded))
        before, after = {}, {}
        for key, view in (("publicNetworkAccess", public_access), ("defaultAction", lambda v: v),
                          ("virtualNetworkRules", lambda v: sorted(rule_set_subnet_ids({"virtualNetworkRules": v}))),
                          ("ipRules", lambda v: sorted(str(r.get("ipMask")) for r in v or ()))):
            if view(current.get(key)) != view(planned.get(key)):
                before[key], after[key] = view(current.get(key)), view(planned.get(key))
        if after:
            changes.append(self._rule_set_change(
                arm, ResourceState(rid, "", {}, now, None, frozenset(), frozenset(), ()), Phase.FIREWALL_RULES,
                "restore the network rule set as it was before hardening (rules others added kept)",
                before=before, after=after, merge=lambda fresh: restored_rule_set(fresh, recorded),
                needs=frozenset(c.key for c in changes)))
        return changes

    def _rule_set_change(self, arm: ArmClients, state: ResourceState, phase: Phase, summary: str, *,
                         before: Mapping[str, Any], after: Mapping[str, Any],
                         merge: Callable[[Mapping[str, Any]], dict[str, Any]],
                         needs: frozenset[str] = frozenset()) -> Change:
        rid = state.id

        def apply() -> Any:
            # A PUT replaces the rule set: merge into it as it is now, not as it was planned.
            ops = self.namespaces(arm)
            fresh = ops.get_network_rule_set(rid.resource_group, rid.name).as_dict()
            return ops.create_or_update_network_rule_set(rid.resource_group, rid.name, merge(fresh))

        return Change(phase=phase, target=str(rid.child("networkRuleSets", RULE_SET_NAME)), summary=summary,
                      before=dict(before), after=dict(after), apply=apply, needs=needs)


def _masks(rules: Any) -> list[str]:
    """``ipRules[].ipMask`` exactly as read, sorted (what history records and revert writes back)."""
    return sorted(str(r.get("ipMask")) for r in rules or () if isinstance(r, Mapping) and r.get("ipMask") is not None)
