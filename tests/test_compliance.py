"""One definition of compliance (issue 14 items 1 and 2): the sweep's prefilter never says more than the engine.

The engine's check (remediators/compliance.py ``is_compliant``, through ``Engine.compliant``) decides from the
resource's own GET body; the sweep's prefilter (``graph_verdict_compliant``) sees the Resource Graph row, which
holds the same ``properties`` but not ``kind``/``sku`` nor child resources. A property-based test over generated
shapes holds the prefilter to the engine: whenever the prefilter says compliant, the engine says so too.
"""
from __future__ import annotations

import sys
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from localdev.seeds import seed_key_vault
from remediators import registry
from remediators.compliance import graph_verdict_compliant, is_compliant
from remediators.inventory import InventoryItem
from remediators.model import Mode
from remediators.private_link import private_endpoint_name
from remediators.resource_id import ResourceId
from remediators.settings import Settings
from remediators.sweep import graph_verdict
from tests.remediation import deliver

SUB = "8f3c2a71-5b6d-4e0f-9a1b-2c3d4e5f6a7b"
SUBNETS = tuple(f"/subscriptions/{SUB}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet/"
                f"subnets/snet-{n}" for n in ("a", "b"))
OTHER_SUBNET = f"/subscriptions/{SUB}/resourceGroups/rg-x/providers/Microsoft.Network/virtualNetworks/v/subnets/s"
TYPES = {"Microsoft.KeyVault/vaults": "kv", "Microsoft.Storage/storageAccounts": "st",
         "Microsoft.DocumentDB/databaseAccounts": "cosmos", "Microsoft.Sql/servers": "sql",
         "Microsoft.ServiceBus/namespaces": "sb", "Microsoft.EventHub/namespaces": "eh", "Microsoft.Web/sites": "app",
         "Microsoft.Web/sites/slots": "slot"}
# Allowed IP ranges (HARDEN_ALLOWED_IP_RANGES) and rule values in the notations services echo them in.
RANGES = ("20.30.40.0/24", "52.1.2.3")
RULE_VALUES = ("20.30.40.0/24", "52.1.2.3", "52.1.2.3/32", "198.51.100.0/24", "0.0.0.0")
GROUPS = ("vault", "blob", "file", "queue", "table", "web", "dfs", "Sql", "MongoDB", "sqlServer", "namespace", "sites",
          "sites-staging")
STATES = ("Approved", "Pending", "Rejected", "Disconnected", None)

shapes_tried = {"n": 0, "prefilter_compliant": 0, "with_ip_ranges": 0}


def _absent_or(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(st.just(None), strategy)


@st.composite
def resources(draw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the Resource Graph row, the ARM GET body of the same resource)."""
    kind = draw(st.sampled_from(sorted(TYPES)))
    name = f"{TYPES[kind]}shape{draw(st.integers(0, 3))}"
    rid = f"/subscriptions/{SUB}/resourceGroups/rg-app/providers/{kind}/{name}"
    if kind == "Microsoft.Web/sites/slots":  # a slot: sites/{site}/slots/{slot}; its endpoints are named after the site
        rid = f"/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Web/sites/{name}/slots/staging"
    p: dict[str, Any] = {}
    for key, value in (
        ("publicNetworkAccess", _absent_or(st.sampled_from(["Enabled", "Disabled", "disabled", "SecuredByPerimeter",
                                                            "Unknown"]))),
        ("networkAcls", _absent_or(st.fixed_dictionaries({}, optional={
            "defaultAction": st.sampled_from(["Allow", "Deny", "deny"]),
            "virtualNetworkRules": st.lists(st.sampled_from([*SUBNETS, OTHER_SUBNET]).map(lambda s: {"id": s}),
                                            max_size=3),
            "ipRules": st.lists(st.sampled_from(RULE_VALUES).map(lambda v: {"value": v}), max_size=3)}))),
        ("isVirtualNetworkFilterEnabled", _absent_or(st.booleans())),
        ("virtualNetworkRules", _absent_or(st.lists(st.sampled_from([*SUBNETS, OTHER_SUBNET])
                                                    .map(lambda s: {"id": s}), max_size=3))),
        ("ipRules", _absent_or(st.lists(st.sampled_from(RULE_VALUES).map(lambda v: {"ipAddressOrRange": v}),
                                        max_size=3))),
    ):
        drawn = draw(value)
        if drawn is not None:
            p[key] = drawn
    connections = []
    for _ in range(draw(st.integers(0, 4))):
        group = draw(st.sampled_from(GROUPS))
        ours = draw(st.booleans())
        pe = private_endpoint_name(name, group) if ours else f"someone-elses-{group}"
        rg = draw(st.sampled_from(["rg-net", "rg-spoke", "rg-other"]))
        state = draw(st.sampled_from(STATES))
        # The connection's own provisioningState (common-types privatelinks.json; SQL's "Ready"), or none.
        provisioning = draw(st.sampled_from([None, "Succeeded", "Ready", "Creating", "Deleting", "Failed"]))
        connections.append({"properties": {
            "privateEndpoint": {"id": f"/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Network/"
                                      f"privateEndpoints/{pe}"},
            "groupIds": [group],
            **({"provisioningState": provisioning} if provisioning else {}),
            "privateLinkServiceConnectionState": {"status": state} if state else {}}})
    if connections or draw(st.booleans()):
        p["privateEndpointConnections"] = connections
    tags = {"harden": draw(st.sampled_from(["private", "service-endpoint"]))}
    row = {"id": rid, "type": kind.lower(), "name": name, "location": "westeurope", "tags": tags, "properties": p}
    body = {**row, "type": kind,
            "kind": draw(st.sampled_from(["StorageV2", "BlobStorage", "BlockBlobStorage", "FileStorage",
                                          "GlobalDocumentDB", "MongoDB"])),
            "sku": {"name": draw(st.sampled_from(["Standard_LRS", "Standard_RAGRS", "Premium_LRS"]))}}
    return row, body


def _engine_says(body: dict[str, Any], mode: Mode, subnets: tuple[str, ...],
                 ranges: tuple[str, ...] = ()) -> bool | None:
    """The engine's verdict from the GET body, for services whose whole state is in it (else None)."""
    service = registry.service_for(body["type"])
    parse = getattr(service, "state_from", None)
    if parse is None:
        return None
    state = parse(body, ResourceId.parse(body["id"]))
    return is_compliant(state, mode, endpoint_subnets_configured=True, service_endpoint_subnets=subnets,
                        allowed_ip_ranges=ranges)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(resources(), st.sampled_from([SUBNETS, SUBNETS[:1], ()]), st.sampled_from([(), RANGES, RANGES[1:]]))
def test_the_prefilter_never_says_compliant_where_the_engine_would_not(shape, subnets, ranges):
    row, body = shape
    mode = Mode(row["tags"]["harden"])
    shapes_tried["n"] += 1
    prefilter = graph_verdict_compliant(row, mode, endpoint_subnets_configured=True,
                                        service_endpoint_subnets=subnets, allowed_ip_ranges=ranges)
    if not prefilter:
        return
    shapes_tried["prefilter_compliant"] += 1
    if ranges and mode is Mode.SERVICE_ENDPOINT:
        shapes_tried["with_ip_ranges"] += 1
    engine = _engine_says(body, mode, subnets, ranges)
    assert engine is True, (row, mode)


def test_print_how_many_shapes_were_tried():
    print(f"\ncompliance property test: {shapes_tried['n']} generated resource shapes, "
          f"{shapes_tried['prefilter_compliant']} judged compliant by the prefilter "
          f"({shapes_tried['with_ip_ranges']} of them in service-endpoint mode with allowed IP ranges), "
          "the engine agreeing on every one", file=sys.__stdout__)
    assert shapes_tried["n"] >= 400


def _item(properties: dict[str, Any], *, kind: str = "Microsoft.KeyVault/vaults", name: str = "kv-seen",
          tag: str = "private") -> InventoryItem:
    rid = f"/subscriptions/{SUB}/resourceGroups/rg-app/providers/{kind}/{name}"
    return InventoryItem(id=rid, name=name, type=kind, location="westeurope", subscription_id=SUB,
                         resource_group="rg-app", tags={"harden": tag}, properties=properties)


def _settings() -> Settings:
    return Settings.from_env({"HARDEN_SUBSCRIPTION_IDS": SUB, "HARDEN_PRIVATE_ENDPOINT_SUBNET_ID": SUBNETS[0],
                              "HARDEN_SERVICE_ENDPOINT_SUBNET_IDS": ",".join(SUBNETS),
                              "HARDEN_DNS_ZONES_RESOURCE_GROUP_ID": f"/subscriptions/{SUB}/resourceGroups/rg-dns"})


def _connection(endpoint_name: str, status: str = "Approved", rg: str = "rg-net") -> dict[str, Any]:
    return {"properties": {"privateEndpoint": {"id": f"/subscriptions/{SUB}/resourceGroups/{rg}/providers/"
                                                     f"Microsoft.Network/privateEndpoints/{endpoint_name}"},
                           "privateLinkServiceConnectionState": {"status": status}}}


def test_a_tagged_vault_without_network_acls_is_queued():
    """Seen: the sweep called this vault closed (no networkAcls read as no firewall) and never queued it.
    ARM treats absent networkAcls as defaultAction Allow, and so does the worker."""
    item = _item({"publicNetworkAccess": "Disabled",
                  "privateEndpointConnections": [_connection(private_endpoint_name("kv-seen", "vault"))]})
    assert graph_verdict(item, _settings()) == "not-compliant"
    closed = _item({"publicNetworkAccess": "Disabled", "networkAcls": {"defaultAction": "Deny"},
                    "privateEndpointConnections": [_connection(private_endpoint_name("kv-seen", "vault"))]})
    assert graph_verdict(closed, _settings()) == "compliant"


def test_someone_elses_approved_endpoint_or_a_pending_one_does_not_make_it_private():
    for connection in (_connection("pe-someone-else"), _connection(private_endpoint_name("kv-seen", "vault"),
                                                                   status="Pending")):
        item = _item({"publicNetworkAccess": "Disabled", "networkAcls": {"defaultAction": "Deny"},
                      "privateEndpointConnections": [connection]})
        assert graph_verdict(item, _settings()) == "not-compliant"


def test_one_group_of_five_is_not_private():
    item = _item({"publicNetworkAccess": "Disabled", "networkAcls": {"defaultAction": "Deny"},
                  "privateEndpointConnections": [_connection(private_endpoint_name("stfive", "blob"))]},
                 kind="Microsoft.Storage/storageAccounts", name="stfive")
    assert graph_verdict(item, _settings()) == "not-compliant"


def test_adding_a_spoke_subnet_changes_nothing_for_a_served_resource(emulator, lz, host, monkeypatch):
    """Placement decides only where a NEW endpoint goes (issue 14 item 2): a resource hardened through one
    subnet stays compliant when another subnet that placement now prefers is configured; no second endpoint."""
    vault = seed_key_vault(emulator, lz, "kv-served", tags={"harden": "private"})
    assert deliver(host, emulator, vault, "Microsoft.KeyVault/vaults/write")["status"] == "hardened"
    # The workload subnet (same subscription and region as the vault) now comes first: placement picks it.
    monkeypatch.setenv("HARDEN_PRIVATE_ENDPOINT_SUBNET_IDS", f"{lz.workload_subnet_id},{lz.endpoint_subnet_id}")
    emulator.clear_requests()
    outcome = deliver(host, emulator, vault, "Microsoft.KeyVault/vaults/write")
    assert outcome["status"] == "skipped" and outcome["reasonCode"] == "already-compliant", outcome
    assert [r for r in emulator.writes() if r.resource_type != "Microsoft.ResourceGraph/resources"] == []  # no 2nd PE


def test_the_sweep_counts_the_allowed_ip_ranges():
    """service-endpoint with HARDEN_ALLOWED_IP_RANGES: a vault missing one configured range is queued; one with
    every range (in whatever notation Key Vault echoes it) is not."""
    settings = Settings.from_env({"HARDEN_SUBSCRIPTION_IDS": SUB, "HARDEN_SERVICE_ENDPOINT_SUBNET_IDS": SUBNETS[0],
                                  "HARDEN_ALLOWED_IP_RANGES": ",".join(RANGES)})
    acls = {"defaultAction": "Deny", "virtualNetworkRules": [{"id": SUBNETS[0].lower()}],
            "ipRules": [{"value": "20.30.40.0/24"}]}
    missing = _item({"networkAcls": acls}, tag="service-endpoint")
    assert graph_verdict(missing, settings) == "not-compliant"
    complete = _item({"networkAcls": {**acls, "ipRules": [*acls["ipRules"], {"value": "52.1.2.3/32"}]}},
                     tag="service-endpoint")
    assert graph_verdict(complete, settings) == "compliant"


def test_an_approved_connection_still_provisioning_does_not_count():
    from remediators.services.common import approved_private_endpoints

    def connection(provisioning: str | None) -> dict[str, Any]:
        p: dict[str, Any] = {"privateEndpoint": {"id": f"/subscriptions/{SUB}/resourceGroups/rg/providers/"
                                                       f"Microsoft.Network/privateEndpoints/pe-{provisioning}"},
                             "privateLinkServiceConnectionState": {"status": "Approved"}}
        if provisioning:
            p["provisioningState"] = provisioning
        return {"properties": p}

    ids = approved_private_endpoints([connection(s) for s in (None, "Succeeded", "Ready", "Creating", "Failed")])
    assert sorted(i.rsplit("/", 1)[-1] for i in ids) == ["pe-none", "pe-ready", "pe-succeeded"]


def test_an_open_scm_site_is_not_compliant_in_service_endpoint_mode():
    """Issue 14 item 5: App Service's SCM (Kudu) site with its own open restrictions is a way round the main ones."""
    from remediators.model import ResourceState
    from remediators.services.web import SCM_SITE

    rid = ResourceId.parse(f"/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Web/sites/app1")
    state = ResourceState(id=rid, location="westeurope", tags={"harden": "service-endpoint"},
                          public_network_access="Enabled", default_action="Deny",
                          vnet_rule_subnet_ids=frozenset(s.lower() for s in SUBNETS), private_endpoint_ids=frozenset(),
                          private_link_groups=())
    judge = {"endpoint_subnets_configured": True, "service_endpoint_subnets": SUBNETS}
    assert is_compliant(state, Mode.SERVICE_ENDPOINT, **judge)
    import dataclasses

    scm_open = dataclasses.replace(state, also_open=(SCM_SITE,))
    assert not is_compliant(scm_open, Mode.SERVICE_ENDPOINT, **judge)
    # Public access off closes SCM too: stricter than asked.
    assert is_compliant(dataclasses.replace(scm_open, public_network_access="Disabled"), Mode.SERVICE_ENDPOINT, **judge)


def test_a_slots_endpoint_is_named_after_its_site_and_serves_its_group():
    """A slot's endpoint targets the site with group sites-<slot> (remediators/services/web_slots.py):
    compliance recognises it by the site's name, not the slot's."""
    from remediators.compliance import served_groups
    from remediators.model import ResourceState
    from remediators.services.web_slots import slot_group

    site = ResourceId.parse(f"/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Web/sites/app1")
    slot = ResourceId.parse(f"{site}/slots/staging")

    def state(endpoint: str) -> ResourceState:
        return ResourceState(id=slot, location="westeurope", tags={"harden": "private"},
                             public_network_access="Disabled", default_action=None,
                             vnet_rule_subnet_ids=frozenset(),
                             private_endpoint_ids=frozenset({f"/subscriptions/{SUB}/resourcegroups/rg-net/providers/"
                                                             f"microsoft.network/privateendpoints/{endpoint}"}),
                             private_link_groups=(slot_group("staging"),), private_link_target=site)

    judge = {"endpoint_subnets_configured": True, "service_endpoint_subnets": ()}
    assert private_endpoint_name("app1", "sites-staging") == "pe-app1-sites-staging"
    assert served_groups(state("pe-app1-sites-staging")) == {"sites-staging"}
    assert is_compliant(state("pe-app1-sites-staging"), Mode.PRIVATE, **judge)
    for other in ("pe-app1-sites", "pe-staging-sites-staging", "pe-app1-sites-prod"):
        assert not is_compliant(state(other), Mode.PRIVATE, **judge), other


def test_the_sweep_queues_slots_it_cannot_judge_from_the_row():
    """A slot keeps its rules in config/web and its connections on its site, and without its own tag follows its
    site's: the row proves nothing, so every slot not opted out is queued (the worker reads it)."""
    slot = f"/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Web/sites/app1/slots/staging"

    def item(tags: dict[str, str], properties: dict[str, Any]) -> InventoryItem:
        return InventoryItem(id=slot, name="staging", type="Microsoft.Web/sites/slots", location="westeurope",
                             subscription_id=SUB, resource_group="rg-app", tags=tags, properties=properties)

    settings = _settings()
    assert graph_verdict(item({}, {}), settings) == "inherits-tag"
    assert graph_verdict(item({}, {"publicNetworkAccess": "Disabled"}), settings) == "inherits-tag"
    assert graph_verdict(item({"harden": "private"}, {"publicNetworkAccess": "Disabled"}), settings) == "not-compliant"
    assert graph_verdict(item({"harden": "service-endpoint"}, {}), settings) == "not-compliant"
    assert graph_verdict(item({"harden": "off"}, {}), settings) == "opted-out"
    from remediators.sweep import QUEUED_VERDICTS
    assert "inherits-tag" in QUEUED_VERDICTS


def test_the_sweep_and_the_engine_share_one_exclusion_an_excluded_sites_slots_included():
    """Settings.excludes is asked by both (remediators/engine.py, remediators/sweep.py)."""
    import dataclasses

    site = f"/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Web/sites/app1"
    settings = dataclasses.replace(_settings(), excluded_resource_ids=frozenset({site.lower()}))
    slot = InventoryItem(id=f"{site}/slots/staging", name="staging", type="Microsoft.Web/sites/slots",
                         location="westeurope", subscription_id=SUB, resource_group="rg-app",
                         tags={"harden": "private"}, properties={})
    assert graph_verdict(slot, settings) == "excluded"
    assert settings.excludes(ResourceId.parse(f"{site}/slots/staging")) and settings.excludes(ResourceId.parse(site))
    assert not settings.excludes(ResourceId.parse(site.replace("app1", "app2")))
