"""The one definition of "compliant with its tag", asked by the worker, ``scan``, ``plan`` and the sweep.

:func:`is_compliant` decides from the typed state one read gives (``ResourceState``) and the
platform's settings, with no I/O, so that a compliant resource costs the worker one GET and every
caller gets the same answer for the same state:

- ``private``: public network access off, the firewall's default (if it has one) Deny, and every
  private-link group the resource needs *served*: an approved connection from our endpoint for that
  group (named deterministically, ``private_link.private_endpoint_name``), in whichever subnet,
  resource group or subscription it lives. Someone else's approved, ``Succeeded`` endpoint that is
  registered in our zone serves a group too, but only a read of that endpoint and its zone groups can
  show it: the planner makes it (``private_link.PrivateLinkPlanner.served_by_others``), so such a
  resource costs a few more reads, then plans nothing and is reported already compliant; never a
  second endpoint in the same zone. Here (one read, and the sweep's prefilter) it reads as not served,
  the stricter side. Where a new endpoint would go (``placement.py``) never
  enters into it: adding a spoke subnet changes nothing for a resource that is already served.
  Which groups a resource needs is the state's own ``private_link_groups``, as the engine's read
  shaped them with the settings (Storage's ``web`` only where ``HARDEN_STORAGE_WEB_ENDPOINT`` and the
  static-website read say so: remediators/static_website.py), so the check and the plan agree.
- ``service-endpoint``: public access off (stricter than asked; we never loosen), or a Deny default
  with a VNet rule for every configured subnet and an IP rule for every range of
  ``HARDEN_ALLOWED_IP_RANGES`` (compared normalised; rules someone else made count too), and no other
  way in left open (``ResourceState.also_open``: App Service's SCM site with its own open restrictions).

:func:`graph_verdict_compliant` is the sweep's prefilter over a Resource Graph row. The row holds
the same ``properties`` a GET returns, so for the services whose whole state is in that body it
builds the state with the service's own parser and asks :func:`is_compliant`; for everything the
row cannot show (rules and connections held in child resources; the private-link groups of Storage
and Cosmos DB, which follow ``kind``/``sku``/capabilities the query does not project) it says "not
proven", and the sweep queues the resource. A missing property reads as open, as ARM treats it.
tests/test_compliance.py holds the prefilter to the engine over generated shapes.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from . import registry
from .model import DENY, Mode, ResourceState
from .resource_id import InvalidResourceId, ResourceId


def served_groups(state: ResourceState) -> frozenset[str]:
    """The private-link groups of ``state`` that an approved connection from our endpoint serves."""
    from .private_link import private_endpoint_name

    names = {endpoint.rstrip("/").rsplit("/", 1)[-1] for endpoint in state.private_endpoint_ids}
    return frozenset(g.group_id for g in state.private_link_groups
                     if private_endpoint_name(state.link_target.name, g.group_id).lower() in names)


def is_compliant(state: ResourceState, mode: Mode, *, endpoint_subnets_configured: bool,
                 service_endpoint_subnets: Iterable[str], allowed_ip_ranges: Iterable[str] = ()) -> bool:
    """Whether ``state`` already is what ``harden=<mode>`` asks; decided from the one read alone.

    :keyword endpoint_subnets_configured: Whether any private endpoint subnet is configured (without
        one there is nothing more we could add to a closed resource).
    :keyword service_endpoint_subnets: The subnets ``service-endpoint`` allows in.
    :keyword allowed_ip_ranges: The canonical ranges ``service-endpoint`` allows in (``Settings.allowed_ip_ranges``).
    """
    if mode is Mode.OFF:
        return True
    if state.own_write_failed:
        return False  # its properties may be the failed write's, not the resource's
    if mode is Mode.PRIVATE:
        if state.public or state.default_action not in (None, DENY):
            return False
        if not endpoint_subnets_configured:
            return True
        return {g.group_id for g in state.private_link_groups} <= served_groups(state)
    if not state.public:
        return True  # Stricter than asked; we never loosen.
    if state.also_open:
        return False  # e.g. App Service's SCM site with its own open restrictions: a way round the firewall
    wanted = {s.lower() for s in service_endpoint_subnets}
    ranges = set(allowed_ip_ranges)
    return (bool(wanted or ranges) and state.default_action in (None, DENY) and wanted <= state.vnet_rule_subnet_ids
            and ranges <= state.ip_rules)


# Resource types whose compliance for a mode is fully in the resource's own body as Resource Graph
# projects it (inventory.PROPERTIES). Key Vault needs one fixed group; Storage's and Cosmos DB's groups
# depend on kind, SKU and capabilities, so only their service-endpoint verdict is judged from the row.
# SQL, Service Bus, Event Hubs and App Service keep rules or connections in child resources.
_JUDGED_FROM_ROW = {
    "microsoft.keyvault/vaults": frozenset({Mode.PRIVATE, Mode.SERVICE_ENDPOINT}),
    "microsoft.storage/storageaccounts": frozenset({Mode.SERVICE_ENDPOINT}),
    "microsoft.documentdb/databaseaccounts": frozenset({Mode.SERVICE_ENDPOINT}),
}


def graph_verdict_compliant(row: Mapping[str, Any], mode: Mode, *, endpoint_subnets_configured: bool,
                            service_endpoint_subnets: Iterable[str], allowed_ip_ranges: Iterable[str] = ()) -> bool:
    """True only if the row *proves* what :func:`is_compliant` would say of the resource's GET.

    ``row``: ``id``, ``type``, ``location``, ``tags`` and ``properties`` (the projected ones).
    """
    kind = str(row.get("type") or "").lower()
    if mode not in _JUDGED_FROM_ROW.get(kind, frozenset()):
        return False
    service = registry.service_for(kind)
    parse = getattr(service, "state_from", None)
    if parse is None:
        return False
    try:
        rid = ResourceId.parse(str(row.get("id") or ""))
    except InvalidResourceId:
        return False
    state = parse(row, rid)
    return is_compliant(state, mode, endpoint_subnets_configured=endpoint_subnets_configured,
                        service_endpoint_subnets=service_endpoint_subnets, allowed_ip_ranges=allowed_ip_ranges)
