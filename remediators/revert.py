"""Break-glass revert: put a resource's network settings back as they were before this tool changed them.

Where a revert becomes ARM calls (``paas-hardener revert <id>``, :meth:`remediators.engine.Engine.revert`):

1. **Read the history** (remediators/history.py) newest first, back to the last completed revert, and fold
   every recorded change into one :class:`Recorded`: the *earliest* before-state of each setting we
   changed (public access, the firewall's default, the VNet filter, SCM's rules), the rules we *added*
   (subnets, IP ranges) and the rules we *removed* (SQL's and Cosmos DB's allow-Azure 0.0.0.0 rules), and
   the private endpoints, zones and links we created. Outcomes of earlier, failed reverts are skipped.
2. **Plan from ARM as it is now** (one read per write, as the hardening does): ``harden=off`` first, with
   a Tags Update ``Merge`` that touches no other tag (learn.microsoft.com/rest/api/resources/tags/
   update-at-scope), so no event re-hardens the resource; then the service's own settings
   (``ServiceRemediator.plan_restore``): public access and the default back as recorded, the rules we
   added taken out, the rules we removed put back, and every rule anyone else made, before or after
   us, kept; then, only with ``--remove-created``, the private endpoints we created (their zone groups
   and A records go with them, learn.microsoft.com/azure/private-link/private-endpoint-dns#private-dns-zone-group).
   Public access comes back *before* any endpoint goes, so no client is cut off in between.
3. **Apply one step at a time**, stopping at the first failure (a break-glass action is rare; order
   matters more than seconds): SQL, for one, refuses firewall edits while public access is off (42101).

With ``--remove-created``, the VNet links and private DNS zones this tool created go too, but only when no
other resource's record is in the zone (:func:`dns_cleanup_changes`); a zone someone else made (ALZ's
central zones) is never deleted. Kept on purpose: a subnet's service endpoint (the subnet's, used by every
resource behind it). What is kept is named in the revert's outcome.

A second revert finds a completed revert as the newest entry and writes nothing.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from azure.core.exceptions import ResourceNotFoundError

from .model import Change, Phase

logger = logging.getLogger(__name__)

#: Reason codes of revert outcomes: never read back as hardening changes.
REVERTED = "reverted"
REVERT_REASONS = frozenset({REVERTED, "revert-failed", "nothing-to-revert", "revert-planned"})

# The before/after keys our services record (remediators/services/*), by the setting they hold.
_PUBLIC_KEYS = ("publicNetworkAccess",)
_RULE_SET_PUBLIC_KEYS = ("networkRuleSets/default.publicNetworkAccess",)
_DEFAULT_KEYS = ("networkAcls.defaultAction", "defaultAction", "ipSecurityRestrictionsDefaultAction",
                 "effectiveDefault")
_SUBNET_KEYS = ("networkAcls.virtualNetworkRules", "virtualNetworkRules", "vnetSubnets")
_IP_KEYS = ("networkAcls.ipRules", "ipRules", "ipSecurityRestrictions.ipAddress")
_FLAG_KEYS = ("isVirtualNetworkFilterEnabled", "scmIpSecurityRestrictionsUseMain")


@dataclass
class Recorded:
    """What this tool's recorded changes did to one resource, to undo them.

    ``before`` holds each scalar setting's value before our *first* change to it; ``None`` where we
    never changed it (nothing to restore).
    """

    resource_id: str
    public_network_access: str | None = None
    rule_set_public_network_access: str | None = None
    default_action: str | None = None
    flags: dict[str, Any] = field(default_factory=dict)
    subnets_added: set[str] = field(default_factory=set)
    ip_rules_added: set[str] = field(default_factory=set)
    ip_rules_removed: list[str] = field(default_factory=list)
    #: SQL firewall rules we deleted: (name, start, end).
    firewall_rules_deleted: list[tuple[str, str, str]] = field(default_factory=list)
    #: SQL firewall rules we created (IP ranges): names.
    firewall_rules_created: set[str] = field(default_factory=set)
    endpoints_created: list[str] = field(default_factory=list)
    zones_created: list[str] = field(default_factory=list)
    links_created: list[str] = field(default_factory=list)
    subnets_given_service_endpoints: list[str] = field(default_factory=list)
    outcomes: int = 0

    @property
    def empty(self) -> bool:
        return not (self.public_network_access or self.rule_set_public_network_access or self.default_action
                    or self.flags or self.subnets_added or self.ip_rules_added or self.ip_rules_removed
                    or self.firewall_rules_deleted or self.firewall_rules_created or self.endpoints_created)


def recorded_changes(resource_id: str, timeline: Iterable[Mapping[str, Any]]) -> Recorded:
    """Fold the history (newest first) back to the last completed revert into one :class:`Recorded`."""
    entries: list[Mapping[str, Any]] = []
    for entry in timeline:
        if entry.get("reasonCode") == REVERTED:
            break
        if entry.get("reasonCode") in REVERT_REASONS:
            continue  # a failed or planned revert changed nothing of the hardening's
        entries.append(entry)
    recorded = Recorded(resource_id)
    for entry in reversed(entries):  # oldest first: the first before-state of each setting wins
        changes = list(entry.get("changes") or ())
        if changes:
            recorded.outcomes += 1
        for change in changes:
            _fold(recorded, change)
    return recorded


def _fold(recorded: Recorded, change: Mapping[str, Any]) -> None:
    phase, target = str(change.get("phase") or ""), str(change.get("target") or "")
    before, after = change.get("before"), change.get("after")
    if phase == Phase.PRIVATE_ENDPOINT.name.lower():
        if before is None and target.lower() not in (e.lower() for e in recorded.endpoints_created):
            recorded.endpoints_created.append(target)
        return
    if phase == Phase.PRIVATE_DNS_ZONE.name.lower():
        recorded.zones_created.append(target)
        return
    if phase == Phase.PRIVATE_DNS_LINK.name.lower():
        recorded.links_created.append(target)
        return
    if phase == Phase.SUBNET_SERVICE_ENDPOINT.name.lower():
        recorded.subnets_given_service_endpoints.append(target)
        return
    if phase == Phase.PRIVATE_DNS_ZONE_GROUP.name.lower():
        return  # deleted with its endpoint
    lowered = target.lower()
    if "/firewallrules/" in lowered:  # SQL's child rules, one write each
        name = target.rsplit("/", 1)[-1]
        if isinstance(before, Mapping) and after is None:
            recorded.firewall_rules_deleted.append(
                (name, str(before.get("startIpAddress")), str(before.get("endIpAddress"))))
        elif before is None and isinstance(after, Mapping):
            recorded.firewall_rules_created.add(name)
        return
    if "/virtualnetworkrules/" in lowered:  # SQL's VNet rules, one write each
        if isinstance(after, Mapping) and after.get("virtualNetworkSubnetId"):
            recorded.subnets_added.add(str(after["virtualNetworkSubnetId"]).lower())
        return
    before = before if isinstance(before, Mapping) else {}
    after = after if isinstance(after, Mapping) else {}
    for key in _PUBLIC_KEYS:
        if key in before and recorded.public_network_access is None:
            recorded.public_network_access = before[key]
    for key in _RULE_SET_PUBLIC_KEYS:
        if key in before and recorded.rule_set_public_network_access is None:
            recorded.rule_set_public_network_access = before[key]
    for key in _DEFAULT_KEYS:
        if key in before and before[key] and recorded.default_action is None:
            recorded.default_action = before[key]
    for key in _FLAG_KEYS:
        if key in before and key not in recorded.flags:
            recorded.flags[key] = before[key]
    for key in _SUBNET_KEYS:
        if key in after:
            recorded.subnets_added |= _lowered(after[key]) - _lowered(before.get(key))
    for key in _IP_KEYS:
        if key in after:
            recorded.ip_rules_added |= _plain(after[key]) - _plain(before.get(key))
            recorded.ip_rules_removed += sorted(_plain(before.get(key)) - _plain(after[key]))


def _lowered(values: Any) -> set[str]:
    return {str(v).lower() for v in values or () if v}


def _plain(values: Any) -> set[str]:
    return {str(v) for v in values or () if v}


def without(rules: Sequence[Mapping[str, Any]], ids: set[str], id_of: Any) -> list[dict[str, Any]]:
    """``rules`` less those whose (lower-cased) id is in ``ids``: every other rule kept as read."""
    return [dict(r) for r in rules if str(id_of(r) or "").lower() not in ids]


def describe_kept(recorded: Recorded, *, endpoints_removed: bool, dns_in_use: Sequence[str] = ()) -> str:
    """What a revert leaves on purpose, in words (empty when nothing)."""
    kept = []
    if recorded.endpoints_created and not endpoints_removed:
        kept.append("the private endpoints this tool created (revert with --remove-created deletes them): "
                    + ", ".join(recorded.endpoints_created))
    if recorded.subnets_given_service_endpoints:
        kept.append("the service endpoints on " + ", ".join(sorted(set(recorded.subnets_given_service_endpoints)))
                    + " (they are the subnet's, and other resources may use them)")
    if not endpoints_removed and (recorded.zones_created or recorded.links_created):
        kept.append("the private DNS zones and VNet links this tool created (--remove-created deletes those "
                    "no other resource uses)")
    if dns_in_use:
        kept.append("the private DNS zones " + ", ".join(z.rsplit("/", 1)[-1] for z in dns_in_use)
                    + " and their VNet links (other resources' records are in them)")
    return "; kept: " + "; ".join(kept) if kept else ""


def dns_cleanup_changes(clients_for: Any, recorded: Recorded,
                        removals: Sequence[Change]) -> tuple[list[Change], list[str]]:
    """Delete the VNet links and zones this tool created that nothing else uses once ``removals`` ran.

    A zone is unused when every record set in it but the SOA (created with the zone,
    learn.microsoft.com/azure/dns/private-dns-privatednszone) is one our removed endpoints registered
    (their zone groups list them). Links go before their zone: a zone with links cannot be deleted
    (learn.microsoft.com/azure/dns/private-dns-virtual-network-links). Returns the changes and the ids of
    the zones kept because others use them.
    """
    from collections import Counter

    from .resource_id import ResourceId

    ours: Counter[str] = Counter()
    for removal in removals:
        rid = ResourceId.parse(removal.target)
        network = clients_for(rid.subscription_id).network
        # The SDK's order is (endpoint name, resource group).
        for group in network.private_dns_zone_groups.list(rid.name, rid.resource_group):
            body = group.as_dict()  # azure-mgmt-network 30: ARM's JSON shape, "properties" nested
            for config in (body.get("properties") or {}).get("privateDnsZoneConfigs") or ():
                p = config.get("properties") or {}
                ours[str(p.get("privateDnsZoneId") or "").lower()] += max(1, len(p.get("recordSets") or ()))
    zones: dict[str, str] = {}
    for zone_id in recorded.zones_created:
        zones.setdefault(zone_id.lower(), zone_id)
    for link_id in recorded.links_created:
        zone_id = link_id.split("/virtualNetworkLinks/")[0]
        zones.setdefault(zone_id.lower(), zone_id)
    created = {z.lower() for z in recorded.zones_created}
    changes: list[Change] = []
    in_use: list[str] = []
    for key, zone_id in zones.items():
        zone_rid = ResourceId.parse(zone_id)
        dns = clients_for(zone_rid.subscription_id).private_dns
        try:
            zone = dns.private_zones.get(zone_rid.resource_group, zone_rid.name)
        except ResourceNotFoundError:
            continue
        if (zone.number_of_record_sets or 1) - 1 > ours[key]:
            in_use.append(zone_id)
            continue
        for link_id in recorded.links_created:
            if link_id.lower().startswith(key + "/virtualnetworklinks/"):
                link = link_id.rsplit("/", 1)[-1]
                changes.append(Change(
                    phase=Phase.REMOVE_CREATED, target=link_id, key=f"delete:{link_id.lower()}",
                    summary="delete the VNet link this tool created (no other resource's record is in its zone)",
                    before={"exists": True}, after={"exists": False},
                    apply=lambda z=zone_rid, n=link, d=dns: d.virtual_network_links.begin_delete(
                        z.resource_group, z.name, n).result()))
        if key in created:
            changes.append(Change(
                phase=Phase.REMOVE_CREATED, target=zone_id, key=f"delete:{key}",
                summary="delete the private DNS zone this tool created (no other resource's record is in it)",
                before={"exists": True}, after={"exists": False},
                apply=lambda z=zone_rid, d=dns: d.private_zones.begin_delete(z.resource_group, z.name).result()))
    return changes, in_use


def tag_off_change(arm: Any, resource_id: str, tags: Mapping[str, str]) -> Change | None:
    """``harden=off`` by a Tags Update ``Merge`` (no other tag touched), unless it is already off."""
    from .model import TAG_NAME, Mode, requested_mode

    raw, mode = requested_mode(tags)
    if mode is Mode.OFF:
        return None
    name = next((k for k in tags if k.lower() == TAG_NAME), TAG_NAME)
    body = {"operation": "Merge", "properties": {"tags": {name: Mode.OFF.value}}}
    return Change(phase=Phase.TAG, target=resource_id, summary=f"set the tag {TAG_NAME}=off so nothing re-hardens it",
                  before={f"tags.{name}": raw}, after={f"tags.{name}": Mode.OFF.value},
                  apply=lambda: arm.resources.tags.begin_update_at_scope(resource_id, body).result())


def endpoint_delete_changes(clients_for: Any, recorded: Recorded) -> list[Change]:
    """Delete the private endpoints we created that still exist (zone groups and A records go with them).

    :param clients_for: ARM clients for a subscription id (an endpoint may sit in the hub's).
    """
    from .resource_id import ResourceId

    changes = []
    for endpoint_id in recorded.endpoints_created:
        rid = ResourceId.parse(endpoint_id)
        network = clients_for(rid.subscription_id).network
        try:
            network.private_endpoints.get(rid.resource_group, rid.name)
        except ResourceNotFoundError:
            continue
        changes.append(Change(
            phase=Phase.REMOVE_CREATED, target=endpoint_id,
            summary="delete the private endpoint this tool created (its zone group and A record go with it)",
            before={"exists": True}, after={"exists": False},
            apply=lambda rid=rid, network=network: network.private_endpoints.begin_delete(
                rid.resource_group, rid.name).result()))
    return changes


def render(outcome: Any, *, output: str) -> str:
    """A revert's plan or result: JSON (the notification's data, ``schemaVersion`` 1.0) or plain text."""
    import json

    from .notify import outcome_data

    data = outcome_data(outcome)
    if output == "json":
        return json.dumps({"schemaVersion": "1.0", **data}, indent=2, default=str) + "\n"
    lines = [f"{outcome.resource_id}: {outcome.status.value} ({outcome.reason_code})", f"  {outcome.reason}"]
    for change in data["changes"]:
        lines.append(f"  step {change.get('step')}: {change['change']}")
        lines.append(f"    target: {change['target']}")
        lines.append(f"    before: {json.dumps(change['before'], default=str)}")
        lines.append(f"    after:  {json.dumps(change['after'], default=str)}")
    for change in data.get("notDone") or ():
        lines.append(f"  not done, step {change.get('step')}: {change['change']} ({change['why']})")
    return "\n".join(lines) + "\n"
