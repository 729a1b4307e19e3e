"""Someone else's endpoint in our zone serves the group (issue 14, item 2).

A private-link group is served when an approved, ``Succeeded`` endpoint for it is registered in our
private DNS zone (one of its zone groups references our zone id), whoever made it and wherever it is:
a second endpoint registered in the same zone would replace its A record and cut its clients off
(learn.microsoft.com/azure/private-link/private-endpoint-dns). The engine's one-read check counts only
ours (remediators/compliance.py); the planner reads the others' endpoints and zone groups, so a resource
served by another team's endpoint still costs zero writes. One our role may not read (403) does not count.
"""
from __future__ import annotations

from typing import Any

from emulator.events import write_event
from localdev.landing_zone import LOCATION
from localdev.seeds.keyvault import seed_key_vault
from remediators.private_link import private_endpoint_name
from tests.remediation import deliver

KV_WRITE = "Microsoft.KeyVault/vaults/write"
ZONE = "privatelink.vaultcore.azure.net"
OTHER_SUBSCRIPTION = "0b7e2c4d-1a3f-4e5b-8c9d-7f6a5b4c3d2e"


def _foreign_endpoint(emulator: Any, lz: Any, vault_id: str, *, zone_rg: str | None = None,
                      subscription: str | None = None) -> str:
    """Another team's approved endpoint to the vault (named as they like), registered through a zone group
    named as Azure Landing Zones' policy names it, in our zone (``zone_rg`` None) or another one."""
    scope = f"/subscriptions/{subscription}/resourceGroups/rg-theirs" if subscription else lz.rg_id(lz.network_rg)
    pe_id = f"{scope}/providers/Microsoft.Network/privateEndpoints/pe-their-vault"
    emulator.seed(pe_id, {"location": LOCATION, "properties": {
        "provisioningState": "Succeeded",
        "subnet": {"id": lz.endpoint_subnet_id},
        "privateLinkServiceConnections": [{"name": "theirs", "properties": {
            "privateLinkServiceId": vault_id, "groupIds": ["vault"],
            "privateLinkServiceConnectionState": {"status": "Approved"}}}]}})
    zone_id = f"{lz.rg_id(zone_rg or lz.dns_rg)}/providers/Microsoft.Network/privateDnsZones/{ZONE}"
    emulator.seed(zone_id, {"location": "global", "properties": {}})
    emulator.seed(f"{pe_id}/privateDnsZoneGroups/deployedByPolicy", {"properties": {"privateDnsZoneConfigs": [
        {"name": "vault", "properties": {"privateDnsZoneId": zone_id}}]}})
    return pe_id


def _vault_connected_to(emulator: Any, lz: Any, name: str, pe_id: str, *, closed: bool = False) -> str:
    rid = seed_key_vault(emulator, lz, name, tags={"harden": "private"})
    body = emulator.get(rid)
    body["properties"]["privateEndpointConnections"] = [{"name": "theirs", "properties": {
        "privateEndpoint": {"id": pe_id}, "provisioningState": "Succeeded",
        "privateLinkServiceConnectionState": {"status": "Approved"}}}]
    if closed:
        body["properties"]["publicNetworkAccess"] = "Disabled"
        body["properties"]["networkAcls"] = {"defaultAction": "Deny", "bypass": "AzureServices",
                                             "ipRules": [], "virtualNetworkRules": []}
    emulator.seed(rid, {k: v for k, v in body.items() if k not in ("id", "name", "type")})
    return rid


def _ours(lz: Any, name: str) -> str:
    return (f"{lz.rg_id(lz.network_rg)}/providers/Microsoft.Network/privateEndpoints/"
            f"{private_endpoint_name(name, 'vault')}")


def test_another_teams_endpoint_in_our_zone_serves_a_closed_vault_with_zero_writes(host, emulator, lz):
    rid = lz.resource_id("Microsoft.KeyVault/vaults/kv-theirs-closed")
    pe_id = _foreign_endpoint(emulator, lz, rid)
    _vault_connected_to(emulator, lz, "kv-theirs-closed", pe_id, closed=True)
    emulator.clear_requests()
    before = len(emulator.notifications)
    host.deliver(write_event(rid, KV_WRITE))
    host.run_queue()
    outcome = emulator.notifications[before:][-1]["data"]
    assert (outcome["status"], outcome["reasonCode"]) == ("skipped", "already-compliant"), outcome
    assert emulator.writes() == []
    assert emulator.get(_ours(lz, "kv-theirs-closed")) is None  # no second endpoint in the same zone


def test_another_teams_endpoint_in_our_zone_serves_an_open_vault(host, emulator, lz):
    rid = lz.resource_id("Microsoft.KeyVault/vaults/kv-theirs-open")
    pe_id = _foreign_endpoint(emulator, lz, rid)
    _vault_connected_to(emulator, lz, "kv-theirs-open", pe_id)
    outcome = deliver(host, emulator, rid, KV_WRITE)  # hardened, then delivered again: nothing written
    assert outcome["status"] == "hardened", outcome
    assert [c["phase"] for c in outcome["changes"]] == ["public_access"]  # no endpoint, no DNS of ours
    assert emulator.get(_ours(lz, "kv-theirs-open")) is None
    assert emulator.get(rid)["properties"]["publicNetworkAccess"] == "Disabled"


def test_an_endpoint_registered_in_another_zone_does_not_serve_ours(host, emulator, lz):
    rid = lz.resource_id("Microsoft.KeyVault/vaults/kv-elsewhere")
    pe_id = _foreign_endpoint(emulator, lz, rid, zone_rg="rg-other-team")
    _vault_connected_to(emulator, lz, "kv-elsewhere", pe_id)
    outcome = deliver(host, emulator, rid, KV_WRITE)
    assert outcome["status"] == "hardened", outcome
    assert emulator.get(_ours(lz, "kv-elsewhere")) is not None


def test_a_foreign_endpoint_our_role_cannot_read_does_not_serve(host, emulator, lz):
    rid = lz.resource_id("Microsoft.KeyVault/vaults/kv-unreadable")
    pe_id = _foreign_endpoint(emulator, lz, rid, subscription=OTHER_SUBSCRIPTION)  # registered in our zone
    _vault_connected_to(emulator, lz, "kv-unreadable", pe_id)
    emulator.clear_requests()
    outcome = deliver(host, emulator, rid, KV_WRITE)
    assert outcome["status"] == "hardened", outcome
    assert any(r.method == "GET" and r.path.lower().startswith(pe_id.lower()) and r.status == 403
               for r in emulator.requests), "the foreign endpoint was not read (or was readable)"
    assert emulator.get(_ours(lz, "kv-unreadable")) is not None


def test_the_sweep_queues_a_vault_only_someone_elses_endpoint_serves():
    """Resource Graph shows the connection, not the endpoint's zone groups: the prefilter cannot prove the
    group served, so it queues the vault (never looser than the engine, which reads the zone groups)."""
    from remediators.compliance import graph_verdict_compliant
    from remediators.model import Mode

    sub = "8f3c2a71-5b6d-4e0f-9a1b-2c3d4e5f6a7b"
    vault = f"/subscriptions/{sub}/resourceGroups/rg-app/providers/Microsoft.KeyVault/vaults/kv-graph"
    theirs = f"/subscriptions/{sub}/resourceGroups/rg-net/providers/Microsoft.Network/privateEndpoints/pe-their-vault"
    row = {"id": vault, "type": "microsoft.keyvault/vaults", "location": LOCATION, "tags": {"harden": "private"},
           "properties": {"publicNetworkAccess": "Disabled", "networkAcls": {"defaultAction": "Deny"},
                          "privateEndpointConnections": [{"properties": {
                              "privateEndpoint": {"id": theirs}, "provisioningState": "Succeeded",
                              "privateLinkServiceConnectionState": {"status": "Approved"}}}]}}
    assert graph_verdict_compliant(row, Mode.PRIVATE, endpoint_subnets_configured=True,
                                   service_endpoint_subnets=()) is False
    ours = theirs.replace("pe-their-vault", private_endpoint_name("kv-graph", "vault"))
    row["properties"]["privateEndpointConnections"][0]["properties"]["privateEndpoint"]["id"] = ours
    assert graph_verdict_compliant(row, Mode.PRIVATE, endpoint_subnets_configured=True,
                                   service_endpoint_subnets=()) is True
