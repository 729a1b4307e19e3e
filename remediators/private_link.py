"""``harden=private``'s network half: private DNS, private endpoints, zone groups.

The order is the safety argument, and the plan graph encodes it per resource:

    zone (if missing) → VNet link (if missing) → private endpoint → zone group → public access off

- DNS comes before any endpoint. An App Service site whose ``publicNetworkAccess``
  is unset turns public access off the moment it gets a private endpoint, and a
  Cosmos DB account with no IP or VNet rules becomes private-only likewise; a
  client that cannot resolve the private address is then locked out
  (learn.microsoft.com/azure/app-service/overview-access-restrictions#app-access;
  learn.microsoft.com/azure/cosmos-db/how-to-configure-private-endpoints,
  "Private Link combined with firewall rules"). So every endpoint of a plan
  waits for every DNS change of the plan: a DNS step that fails (refused, denied
  by policy, a conflict) stops the plan before any endpoint exists.
- An endpoint counts only once its connection is ``Approved``, checked every
  time, not only when we create it: ``Pending``, ``Rejected`` and ``Disconnected``
  connections carry no traffic (learn.microsoft.com/azure/private-link/manage-private-endpoint;
  learn.microsoft.com/azure/event-hubs/private-link-service). Until then public
  access stays on and the outcome says what to do.
- An endpoint has at most one DNS zone group; Azure refuses a second, and Azure
  Landing Zones' ``Deploy-Private-DNS-*`` policies add their own (named
  ``deployedByPolicy``). We read every group of the endpoint, whatever its name:
  one that references our zone is compliant; one without it gets our zone added
  (learn.microsoft.com/azure/private-link/private-endpoint-dns; pulumi/pulumi-azure-native#2179;
  Azure/Enterprise-Scale policy definitions ``Deploy-Private-DNS-*``).
- A VNet cannot be linked to two zones of the same name; if the endpoint VNet is
  already linked to a ``privatelink.*`` zone of that name elsewhere, our link
  would fail, so we say so before writing anything
  (learn.microsoft.com/azure/dns/private-dns-virtual-network-links; MicrosoftDocs/azure-aks-docs#212).
- Converge or say why. An endpoint counts only when it is ``Succeeded`` and its connection
  ``Approved``. A write whose operation ends ``Failed`` with a transient code is sent again at once
  (``TRANSIENT_OPERATION_CODES``, with sources); one of ours still ``Failed`` at the next pass is sent
  again (re-PUT). Endpoints to one Storage or Cosmos DB account go one after the other (a plan edge).
  When ARM refuses for good (403) the zone group of an endpoint made in this run, the endpoint is
  deleted again in the same run (:class:`DnsRefused`, outcome ``dns-refused``): an endpoint without
  its record breaks the name for every VNet linked to the zone. Links we create fall back to public
  resolution for names the zone lacks (``resolutionPolicy: NxDomainRedirect``, see ``_plan_zone``).
  A 409/412, or a 400 on a zone group, re-plans once from a fresh read (remediators/engine.py).
- Names are deterministic (a redelivered or concurrent message reuses them) and
  within Azure's limits: a private endpoint name is 2 to 64 characters
  (learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftnetwork).
"""
from __future__ import annotations

import hashlib
import logging
import time
from typing import Any, Callable, Iterable, Mapping

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from .arm import ArmClients
from .executor import Hold
from .model import Change, Phase, ResourceState
from .network import CREATED_BY_TAG, LockoutRisk
from .resource_id import ResourceId, same_id
from .settings import Settings, SettingsError
from .spec import PrivateLinkGroup

from .compliance import served_groups  # noqa: E402 - compliance imports private_endpoint_name lazily

logger = logging.getLogger(__name__)

ZONE_GROUP_NAME = "default"
SUCCEEDED = "succeeded"
NXDOMAIN_REDIRECT = "NxDomainRedirect"
FAILED = "failed"
# An endpoint operation that ends Failed with one of these codes (the operation's error code or one of
# its details' codes) is sent again: the refusal is about a moment, not about the request.
# - StorageAccountOperationInProgress: several endpoints to one account at once
#   (Azure/bicep-registry-modules#6001).
# - RetryableError / ReferencedResourceNotProvisioned: the endpoint subnet is still being updated
#   (hashicorp/terraform-provider-azurerm#21293, #30197; the provider retries them since #28112).
# - InternalServerError: concurrent endpoints to one Cosmos DB account
#   (hashicorp/terraform-provider-azurerm#14364).
TRANSIENT_OPERATION_CODES = frozenset({
    "storageaccountoperationinprogress", "retryableerror", "referencedresourcenotprovisioned",
    "internalservererror",
})
# Targets whose provider takes an exclusive lock per endpoint (Storage: #6001; Cosmos DB: #14364): our
# endpoints to one such account are created one after the other (a plan edge), not at once.
_ONE_ENDPOINT_AT_A_TIME = frozenset({"microsoft.storage/storageaccounts", "microsoft.documentdb/databaseaccounts"})
# How often one change sends its write when the operation ends Failed with a transient code.
SEND_ATTEMPTS = 3
# resource-name-rules, Microsoft.Network: privateEndpoints 2-64, virtualNetworkLinks 1-80.
MAX_ENDPOINT_NAME = 64
MAX_LINK_NAME = 80
APPROVED = "approved"


class DnsConflict(LockoutRisk):
    """The endpoint VNet already resolves this zone name through another zone."""


class ZoneMissing(LockoutRisk):
    """The private DNS zone does not exist and HARDEN_CREATE_PRIVATE_DNS_ZONES is false: the platform team
    owns the zones, so nothing is created and public access stays on."""


class ConnectionNotApproved(LockoutRisk, Hold):
    """A private endpoint exists but carries no traffic yet; public access must stay on."""


class DnsRefused(Exception):
    """The zone group of an endpoint made in this run was refused for good, and the endpoint was deleted.

    An endpoint without its A record sends every client of a VNet linked to the zone to NXDOMAIN
    (public DNS already points the name at ``privatelink.*``: learn.microsoft.com/azure/private-link/
    private-endpoint-dns), so the endpoint goes too; public access stays on.
    """

    def __init__(self, zone: str, error: HttpResponseError, deleted: str | None,
                 undo_error: HttpResponseError | None = None) -> None:
        code, message = operation_error(error)
        if deleted:
            undone = f"the private endpoint {deleted} made in this run was deleted again, so that the name keeps resolving"
        else:
            undo_code, undo_message = operation_error(undo_error) if undo_error is not None else ("Unknown", "")
            undone = (f"the endpoint made in this run could not be deleted ({undo_code}: {undo_message}); delete "
                      "it, or register it in the zone")
        super().__init__(f"ARM refused to register the endpoint in private DNS zone {zone} "
                         f"({error.status_code} {code}: {message}); {undone}; public access was left on. "
                         f"Grant Microsoft.Network/privateDnsZones/join/action on {zone}, or register the "
                         "endpoint in DNS another way")
        self.zone = zone
        #: ARM's answer, as outcomes report it (``error``: code, message, status).
        self.arm_error = {"code": code, "message": message, "status": str(error.status_code)}


def operation_error(error: HttpResponseError) -> tuple[str, str]:
    """The ARM error code and message of a failed request or operation."""
    odata = getattr(error, "error", None)
    code = (odata.code if odata is not None and odata.code else None) or "Unknown"
    message = (odata.message if odata is not None and odata.message else None) or str(error.message or error)
    return code, message


def is_transient_operation_failure(error: BaseException) -> bool:
    """An operation that ended Failed with a code known to pass (:data:`TRANSIENT_OPERATION_CODES`)."""
    if not isinstance(error, HttpResponseError):
        return False
    odata = getattr(error, "error", None)
    codes = {str(getattr(odata, "code", "") or "")}
    codes |= {str(getattr(d, "code", "") or "") for d in (getattr(odata, "details", None) or [])}
    return bool({c.lower() for c in codes} & TRANSIENT_OPERATION_CODES)


def send(write: Callable[[], Any], *, what: str, delay: float, sleep: Callable[[float], None] = time.sleep,
         attempts: int = SEND_ATTEMPTS) -> Any:
    """Run a long-running ``write`` (its ``.result()``), sending it again while it ends Failed transiently.

    Our writes are whole PUTs, so sending one again over the resource it left ``Failed`` is safe.
    """
    for attempt in range(1, attempts + 1):
        try:
            return write().result()
        except HttpResponseError as error:
            if attempt == attempts or not is_transient_operation_failure(error):
                raise
            logger.warning("%s ended Failed (%s), sending it again (%d/%d)", what, operation_error(error)[0],
                           attempt + 1, attempts)
            sleep(delay * attempt)
    raise AssertionError("unreachable")


def _ours(resource: Mapping[str, Any]) -> bool:
    tags = {str(k).lower(): str(v).lower() for k, v in (resource.get("tags") or {}).items()}
    return all(tags.get(k.lower()) == v.lower() for k, v in CREATED_BY_TAG.items())


def _state_of(resource: Mapping[str, Any] | None) -> str:
    return str(((resource or {}).get("properties") or {}).get("provisioningState") or SUCCEEDED).lower()


def _short_name(stem: str, suffix: str, limit: int, *, seed: str) -> str:
    """``stem + suffix``, or, when longer than ``limit``, a truncated stem with a stable hash."""
    name = f"{stem}{suffix}"
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(seed.lower().encode()).hexdigest()[:8]
    tail = f"{suffix}-{digest}"
    return f"{stem[: limit - len(tail)]}{tail}"


def private_endpoint_name(resource_name: str, group_id: str) -> str:
    """``pe-<resource>-<group>``, shortened with a stable hash past 64 characters."""
    return _short_name(f"pe-{resource_name}", f"-{group_id.lower()}", MAX_ENDPOINT_NAME,
                       seed=f"{resource_name}/{group_id}")


def private_endpoint_id(subnet: ResourceId, resource_name: str, group_id: str) -> str:
    """Where our endpoint for one group lives: the endpoint subnet's resource group."""
    return (f"/subscriptions/{subnet.subscription_id}/resourceGroups/{subnet.resource_group}"
            f"/providers/Microsoft.Network/privateEndpoints/{private_endpoint_name(resource_name, group_id)}")


def vnet_link_name(vnet_id: str) -> str:
    vnet = vnet_id.rstrip("/").rsplit("/", 1)[-1]
    return _short_name("link-", vnet, MAX_LINK_NAME, seed=vnet_id)


def _get_or_none(getter: Callable[..., Any], *args: str) -> Any:
    try:
        return getter(*args)
    except ResourceNotFoundError:
        return None


class PrivateLinkPlanner:
    """Plans endpoints, DNS zones, VNet links and zone groups, reading current state first.

    :param clients_for: ARM clients for a subscription id (the endpoint VNet and
        the zones may live in other subscriptions than the resource).
    :param zone_name: This cloud's name for a public-cloud ``privatelink.*`` zone.
    """

    def __init__(self, clients_for: Callable[[str], ArmClients], settings: Settings, *,
                 zone_name: Callable[[str], str] = lambda zone: zone,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._clients_for = clients_for
        self._settings = settings
        self._zone_name = zone_name
        self._sleep = sleep

    def _send(self, write: Callable[[], Any], what: str) -> Any:
        return send(write, what=what, delay=self._settings.poll_interval_seconds, sleep=self._sleep)

    def plan(self, state: ResourceState, *, subnet_id: str | None) -> tuple[list[Change], list[str]]:
        """The changes that give ``state`` working private endpoints, and the holds.

        A hold is a reason public access must stay on that no change of ours can
        fix (a connection awaiting approval); the engine then leaves the lockdown out.
        ``subnet_id``: the endpoint subnet placed for this resource (remediators/placement.py).
        """
        zones_rg = self._settings.dns_zones_resource_group_id
        if not subnet_id:
            raise SettingsError("neither HARDEN_PRIVATE_ENDPOINT_SUBNET_IDS nor HARDEN_PRIVATE_ENDPOINT_SUBNET_ID "
                                "is set; harden=private needs an endpoint subnet")
        if not zones_rg:
            raise SettingsError("HARDEN_DNS_ZONES_RESOURCE_GROUP_ID is not set; harden=private needs it")
        sid = ResourceId.parse(subnet_id)
        network = self._clients_for(sid.subscription_id).network
        vnet = network.virtual_networks.get(sid.resource_group, sid.names[0])
        vnet_id, location = vnet["id"], vnet["location"]
        _, _, zones_sub, _, zones_group = zones_rg.split("/")
        zones_sub = zones_sub.lower()

        # A group our endpoint already serves from another subnet (the placement changed since: a spoke was
        # added) needs nothing: a second endpoint would register a second A record for the same name in
        # the same zone, replacing the first one's (remediators/compliance.py).
        served = served_groups(state)
        groups = tuple(g for g in state.private_link_groups
                       if g.group_id not in served
                       or private_endpoint_id(sid, state.link_target.name, g.group_id).lower() in state.private_endpoint_ids)
        # A group someone else's endpoint serves in our zone needs nothing either (a second endpoint
        # registered in the same zone would replace its A record): read only here, when planning.
        theirs = self.served_by_others(state, [g for g in groups if g.group_id not in served], {
            g.group_id: _zone_id(zones_sub, zones_group, self._zone_name(g.dns_zone)) for g in groups})
        groups = tuple(g for g in groups if g.group_id not in theirs)
        zones = {g.group_id: self._zone_name(g.dns_zone) for g in groups}
        changes: list[Change] = []
        dns_keys: dict[str, frozenset[str]] = {}
        for zone in dict.fromkeys(zones.values()):
            zone_id = _zone_id(zones_sub, zones_group, zone)
            planned = self._plan_zone(zones_sub, zones_group, zone, zone_id, vnet_id, sid.subscription_id)
            dns_keys[zone] = frozenset(c.key for c in planned)
            changes += planned
        every_dns_key = frozenset().union(*dns_keys.values()) if dns_keys else frozenset()

        holds: list[str] = []
        previous_endpoint: frozenset[str] = frozenset()
        for group in groups:
            zone = zones[group.group_id]
            # A slot's endpoint targets its site (group sites-<slot>): named after the site, pe-<site>-sites-<slot>.
            pe_name = private_endpoint_name(state.link_target.name, group.group_id)
            pe_id = private_endpoint_id(sid, state.link_target.name, group.group_id)
            endpoint = _get_or_none(network.private_endpoints.get, sid.resource_group, pe_name)
            if endpoint is not None and _state_of(endpoint) == FAILED:
                # Ours, left Failed by an earlier pass (or a retried write that failed again): it is not
                # an endpoint yet, and no approval or zone group makes it one. Send it again.
                _check_endpoint_target(endpoint, state, pe_id)
            if endpoint is None or _state_of(endpoint) == FAILED:
                create = self._create_endpoint(network, sid, pe_id, pe_name, location, state, group,
                                               needs=every_dns_key | previous_endpoint,
                                               resend=endpoint is not None)
                changes.append(create)
                group_needs = dns_keys[zone] | {create.key}
                if state.link_target.type.lower() in _ONE_ENDPOINT_AT_A_TIME:
                    previous_endpoint = frozenset({create.key})
                changes += self._plan_zone_group(network, sid.resource_group, pe_name, pe_id, endpoint is not None,
                                                 zone, _zone_id(zones_sub, zones_group, zone), needs=group_needs,
                                                 created_here=True)  # made, or made to work, in this run
                continue
            _check_endpoint_target(endpoint, state, pe_id)
            if _state_of(endpoint) != SUCCEEDED:
                # Someone's operation on it is still running (Creating, Updating): not an endpoint yet.
                holds.append(f"private endpoint {pe_id} is {_state_of(endpoint).capitalize()} (an operation on it "
                             "is still running); public access was left on; a later pass (the next event or "
                             "the sweep) finishes the hardening")
                continue
            hold = connection_problem(endpoint, pe_id, str(state.link_target))
            if hold:
                # Its DNS record waits for the approval too, as it does when we have just made it:
                # every pass over a held endpoint plans the same, so a redelivery writes nothing.
                holds.append(hold)
                continue
            changes += self._plan_zone_group(network, sid.resource_group, pe_name, pe_id, True,
                                             zone, _zone_id(zones_sub, zones_group, zone), needs=dns_keys[zone])
        return changes, holds

    def served_by_others(self, state: ResourceState, groups: Iterable[PrivateLinkGroup],
                         zone_ids: Mapping[str, str]) -> frozenset[str]:
        """The ``groups`` that an approved, ``Succeeded`` endpoint not named as ours serves in our zone.

        Served means: the endpoint's connection to this resource is approved and names the group, the
        endpoint is ``Succeeded``, and one of its zone groups references ``zone_ids[group]`` (our zone),
        whoever made it and wherever it is. Candidates are the approved connections the resource's one
        read listed; each is read with its zone groups here, when planning, so the compliant check stays
        one GET. One we may not read (403: another team's subscription) or that is gone (404) serves
        nothing: we cannot show that it does, and ours is planned as before.
        """
        wanted = {g.group_id.lower(): g.group_id for g in groups}
        if not wanted:
            return frozenset()
        ours = {private_endpoint_name(state.link_target.name, g).lower() for g in wanted.values()}
        served: set[str] = set()
        for pe_id in sorted(state.private_endpoint_ids):
            if len(served) == len(wanted):
                break
            try:
                rid = ResourceId.parse(pe_id)
            except ValueError:
                continue
            if rid.name.lower() in ours:
                continue  # ours: served_groups (remediators/compliance.py) judges it
            network = self._clients_for(rid.subscription_id).network
            try:
                endpoint = _get_or_none(network.private_endpoints.get, rid.resource_group, rid.name)
            except HttpResponseError as error:
                if error.status_code != 403:
                    raise
                logger.warning("%s: cannot read private endpoint %s (403); it is not counted as serving any "
                               "group, and ours is planned", state.id, pe_id)
                continue
            if endpoint is None or _state_of(endpoint) != SUCCEEDED or connection_problem(endpoint, pe_id,
                                                                                           str(state.link_target)):
                continue
            named = {str(g).lower() for c in _connections(endpoint)
                     if same_id((c.get("properties") or {}).get("privateLinkServiceId"), str(state.link_target))
                     for g in (c.get("properties") or {}).get("groupIds") or ()} & (wanted.keys() - served)
            if not named:
                continue
            registered = [z for zone_group in network.private_dns_zone_groups.list(
                private_endpoint_name=rid.name, resource_group_name=rid.resource_group)
                for z in _zone_ids(zone_group) if _state_of(zone_group) != FAILED]
            served |= {g for g in named if any(same_id(z, zone_ids[wanted[g]]) for z in registered)}
        return frozenset(wanted[g] for g in served)

    # -- DNS ------------------------------------------------------------------

    def _plan_zone(self, zones_sub: str, zones_group: str, zone: str, zone_id: str, vnet_id: str,
                   vnet_sub: str) -> list[Change]:
        dns = self._clients_for(zones_sub).private_dns
        existing = _get_or_none(dns.private_zones.get, zones_group, zone)
        changes: list[Change] = []
        if existing is None and not self._settings.create_private_dns_zones:
            raise ZoneMissing(
                f"private DNS zone {zone} does not exist in resource group {zones_group} (subscription {zones_sub}) "
                "and HARDEN_CREATE_PRIVATE_DNS_ZONES is false: ask the team that owns the zones to create it; "
                "nothing was written and public access was left on")
        zone_failed = existing is not None and _ours(existing) and _state_of(existing) == FAILED
        if existing is None or zone_failed:
            # Created, or ours left Failed by an earlier pass: sent (again) whole.
            changes.append(Change(
                phase=Phase.PRIVATE_DNS_ZONE, target=zone_id,
                summary=(f"send again private DNS zone {zone}, left Failed" if zone_failed
                         else f"create private DNS zone {zone} in resource group {zones_group}"),
                before={"provisioningState": "Failed"} if zone_failed else None, after={"location": "global"},
                apply=lambda: self._send(lambda: dns.private_zones.begin_create_or_update(
                    zones_group, zone, {"location": "global", "tags": {**dict((existing or {}).get("tags") or {}),
                                                                       **CREATED_BY_TAG}}),
                    f"private DNS zone {zone_id}")))
        links: list[Any] = [] if existing is None else list(dns.virtual_network_links.list(zones_group, zone))
        ours_failed = [link for link in links if same_id(_link_vnet(link), vnet_id)
                       and _ours(link) and _state_of(link) == FAILED]
        if ours_failed:
            return changes + [self._resend_link(dns, zones_group, zone, zone_id, ours_failed[0],
                                                needs=frozenset(c.key for c in changes))]
        if any(same_id(_link_vnet(link), vnet_id) for link in links):
            return changes
        self._check_namespace_free(zone, zone_id, vnet_id, {zones_sub, vnet_sub.lower()})
        link_name = vnet_link_name(vnet_id)
        # resolutionPolicy NxDomainRedirect ("fallback to internet", Private DNS API 2024-06-01, the version
        # azure-mgmt-privatedns 2.0.0 sends; learn.microsoft.com/azure/dns/private-dns-fallback): a name in
        # this privatelink zone without a record resolves publicly instead of answering NXDOMAIN. We set it
        # on the links we create because linking a privatelink.* zone to a VNet makes every resource of that
        # service with an endpoint anywhere (another team's, another tenant's) CNAME into this zone, and
        # without a record of ours it would stop resolving in the VNet; and because it narrows the window
        # between our endpoint and its zone group (or a run killed in between) to a public answer rather
        # than an outage. It cannot open anything: public access goes off only once our record exists, and
        # a name with a record never falls back. Links that exist already (a hub's) are not rewritten.
        body = {"location": "global", "tags": dict(CREATED_BY_TAG),
                "properties": {"virtualNetwork": {"id": vnet_id}, "registrationEnabled": False,
                               "resolutionPolicy": NXDOMAIN_REDIRECT}}
        changes.append(Change(
            phase=Phase.PRIVATE_DNS_LINK, target=f"{zone_id}/virtualNetworkLinks/{link_name}",
            summary=f"link private DNS zone {zone} to the endpoint VNet (fallback to internet for names it lacks)",
            before=None, after={"virtualNetwork": vnet_id, "registrationEnabled": False,
                                "resolutionPolicy": NXDOMAIN_REDIRECT},
            needs=frozenset(c.key for c in changes),
            apply=lambda: self._send(lambda: dns.virtual_network_links.begin_create_or_update(
                zones_group, zone, link_name, body), f"VNet link {zone_id}/{link_name}")))
        return changes

    def _resend_link(self, dns: Any, zones_group: str, zone: str, zone_id: str, link: Mapping[str, Any], *,
                     needs: frozenset[str]) -> Change:
        """Our VNet link, left Failed by an earlier pass: sent again as it is (its settings kept)."""
        name = str(link.get("name"))
        props = dict(link.get("properties") or {})
        body = {"location": "global", "tags": dict(link.get("tags") or {}), "properties": {
            k: v for k, v in props.items() if k in ("virtualNetwork", "registrationEnabled", "resolutionPolicy")}}
        return Change(
            phase=Phase.PRIVATE_DNS_LINK, target=f"{zone_id}/virtualNetworkLinks/{name}",
            summary=f"send again the link of private DNS zone {zone} to the endpoint VNet, left Failed",
            before={"provisioningState": "Failed"}, after=body["properties"], needs=needs,
            apply=lambda: self._send(lambda: dns.virtual_network_links.begin_create_or_update(
                zones_group, zone, name, body), f"VNet link {zone_id}/{name}"))

    def _check_namespace_free(self, zone: str, zone_id: str, vnet_id: str, subscriptions: Iterable[str]) -> None:
        """Fail before writing anything if the VNet is linked to another zone of this name.

        Only run when we are about to link (a VNet linked to our zone cannot be
        linked to another of the same name), over the subscriptions we can see:
        the zones' and the VNet's. A clash elsewhere still fails our link, which
        runs before any endpoint exists.
        """
        for subscription in sorted(subscriptions):
            dns = self._clients_for(subscription).private_dns
            for other in dns.private_zones.list():
                other_id = str(other.get("id") or "")
                if str(other.get("name", "")).lower() != zone.lower() or same_id(other_id, zone_id):
                    continue
                rid = ResourceId.parse(other_id)
                if any(same_id(_link_vnet(link), vnet_id)
                       for link in dns.virtual_network_links.list(rid.resource_group, rid.name)):
                    raise DnsConflict(
                        f"the endpoint VNet {vnet_id} is already linked to private DNS zone {other_id}, which has "
                        f"the same name as {zone_id}; a VNet cannot be linked to two zones with the same name, so "
                        "the endpoint's name would not resolve through our zone. Point "
                        "HARDEN_DNS_ZONES_RESOURCE_GROUP_ID at the resource group of the linked zone, or remove "
                        "that link. Nothing was changed and public access was left on")

    # -- endpoints and zone groups --------------------------------------------

    def _create_endpoint(self, network: Any, sid: ResourceId, pe_id: str, pe_name: str, location: str,
                         state: ResourceState, group: PrivateLinkGroup, *, needs: frozenset[str],
                         resend: bool = False) -> Change:
        body = {
            "location": location,
            "tags": dict(CREATED_BY_TAG),
            "properties": {
                "subnet": {"id": str(sid)},
                "privateLinkServiceConnections": [{
                    "name": pe_name,
                    "properties": {"privateLinkServiceId": str(state.link_target), "groupIds": [group.group_id]},
                }],
            },
        }

        def apply() -> Any:
            endpoint = self._send(lambda: network.private_endpoints.begin_create_or_update(
                sid.resource_group, pe_name, body), f"private endpoint {pe_id}")
            problem = connection_problem(endpoint, pe_id, str(state.link_target))
            if problem:
                raise ConnectionNotApproved(problem)
            return endpoint

        summary = (f"send again the private endpoint for group '{group.group_id}', left Failed" if resend
                   else f"create private endpoint for group '{group.group_id}' in the endpoint subnet")
        return Change(
            phase=Phase.PRIVATE_ENDPOINT, target=pe_id, summary=summary,
            before={"provisioningState": "Failed"} if resend else None,
            after={"subnet": str(sid), "groupIds": [group.group_id]}, apply=apply, needs=needs)

    def _plan_zone_group(self, network: Any, group_rg: str, pe_name: str, pe_id: str, endpoint_exists: bool,
                         zone: str, zone_id: str, *, needs: frozenset[str], created_here: bool = False) -> list[Change]:
        """Register the endpoint in ``zone``: nothing if a group of it names the zone, else add or create.

        ``created_here``: the endpoint is created by this plan; if ARM refuses the group for good,
        the endpoint is deleted again in the same run (:class:`DnsRefused`).
        """
        groups = (list(network.private_dns_zone_groups.list(private_endpoint_name=pe_name, resource_group_name=group_rg))
                  if endpoint_exists else [])
        for existing in groups:
            if any(same_id(config_zone, zone_id) for config_zone in _zone_ids(existing)):
                if _state_of(existing) != FAILED:
                    return []
                # A group left Failed has no record sets to rely on: send it again as it is.
                name = str(existing.get("name"))
                again = {"properties": {"privateDnsZoneConfigs": [
                    {"name": c.get("name"), "properties": {"privateDnsZoneId": (c.get("properties") or {})
                                                           .get("privateDnsZoneId")}}
                    for c in ((existing.get("properties") or {}).get("privateDnsZoneConfigs") or [])]}}
                return [Change(
                    phase=Phase.PRIVATE_DNS_ZONE_GROUP, target=f"{pe_id}/privateDnsZoneGroups/{name}",
                    summary=f"send again the endpoint's zone group '{name}', left Failed",
                    before={"provisioningState": "Failed"}, after={"privateDnsZones": _zone_ids(existing)},
                    needs=needs, apply=lambda name=name, again=again: self._send(
                        lambda: network.private_dns_zone_groups.begin_create_or_update(group_rg, pe_name, name, again),
                        f"zone group {pe_id}/{name}"))]
        # At most one group per endpoint: add our zone to the one there (whatever its name), else create ours.
        existing = groups[0] if groups else None
        name = str(existing.get("name")) if existing is not None else ZONE_GROUP_NAME
        configs = list(((existing or {}).get("properties") or {}).get("privateDnsZoneConfigs") or [])
        present = _zone_ids(existing) if existing is not None else []
        body = {"properties": {"privateDnsZoneConfigs": [
            *({"name": c.get("name"), "properties": {"privateDnsZoneId": (c.get("properties") or {})
                                                     .get("privateDnsZoneId")}} for c in configs),
            {"name": zone.replace(".", "-"), "properties": {"privateDnsZoneId": zone_id}},
        ]}}
        verb = f"add {zone} to the endpoint's zone group '{name}' (its other zones kept)" if existing is not None \
            else f"register the private endpoint in {zone}"

        def apply() -> Any:
            try:
                return self._send(lambda: network.private_dns_zone_groups.begin_create_or_update(
                    group_rg, pe_name, name, body), f"zone group {pe_id}/{name}")
            except HttpResponseError as error:
                if not (created_here and error.status_code == 403):
                    raise
                # Refused for good (e.g. LinkedAuthorizationFailed on privateDnsZones/join/action): the
                # endpoint we made in this run would leave the name unresolvable; delete it now.
                logger.warning("Zone group of %s refused (%s); deleting the endpoint made in this run", pe_id,
                               operation_error(error)[0])
                try:
                    network.private_endpoints.begin_delete(group_rg, pe_name).result()
                except HttpResponseError as undo:
                    raise DnsRefused(zone, error, None, undo) from undo
                raise DnsRefused(zone, error, pe_id) from error

        return [Change(
            phase=Phase.PRIVATE_DNS_ZONE_GROUP, target=f"{pe_id}/privateDnsZoneGroups/{name}",
            summary=verb, before={"privateDnsZones": present}, after={"privateDnsZones": [*present, zone_id]},
            needs=needs, apply=apply)]


def _zone_id(subscription: str, group: str, zone: str) -> str:
    return f"/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Network/privateDnsZones/{zone}"


def _zone_ids(zone_group: Mapping[str, Any] | None) -> list[str]:
    configs = ((zone_group or {}).get("properties") or {}).get("privateDnsZoneConfigs") or []
    return [str((c.get("properties") or {}).get("privateDnsZoneId")) for c in configs]


def _link_vnet(link: Mapping[str, Any]) -> str | None:
    return ((link.get("properties") or {}).get("virtualNetwork") or {}).get("id")


def _connections(endpoint: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    p = endpoint.get("properties") or {}
    return [*(p.get("privateLinkServiceConnections") or ()), *(p.get("manualPrivateLinkServiceConnections") or ())]


def _check_endpoint_target(endpoint: Mapping[str, Any], state: ResourceState, pe_id: str) -> None:
    targets = [(c.get("properties") or {}).get("privateLinkServiceId") for c in _connections(endpoint)]
    if not any(same_id(t, str(state.link_target)) for t in targets):
        raise LockoutRisk(f"private endpoint {pe_id} already exists and points at {targets}, "
                          f"not at {state.link_target}; rename or remove it")


def connection_problem(endpoint: Mapping[str, Any], pe_id: str, target_id: str) -> str | None:
    """Why this endpoint carries no traffic to ``target_id`` yet, with what to do; ``None`` when it does."""
    for connection in _connections(endpoint):
        p = connection.get("properties") or {}
        if not same_id(p.get("privateLinkServiceId"), target_id):
            continue
        status = str((p.get("privateLinkServiceConnectionState") or {}).get("status") or "unknown")
        if status.lower() == APPROVED:
            return None
        action = {
            "pending": f"approve it on {target_id} (Networking → Private endpoint connections, or "
                       "az network private-endpoint-connection approve); we finish the hardening when the "
                       "approval's write event arrives",
            "rejected": f"approve it on {target_id}, or delete the endpoint so that we create it again",
            "disconnected": "delete the endpoint; we create it again at the resource's next event",
        }.get(status.lower(), "check the endpoint's connection on the resource")
        return (f"private endpoint {pe_id} has a {status} connection, which carries no traffic; public access "
                f"was left on. To finish: {action}")
    return f"private endpoint {pe_id} has no connection to {target_id}; public access was left on"
