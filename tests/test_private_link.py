"""Private endpoints and DNS as real Azure behaves (issue "Real Azure, not our emulator's Azure").

Each test names the Azure behaviour it holds us to; the sources are in
``remediators/private_link.py`` and next to the emulator code that models them.
"""
from __future__ import annotations

from typing import Any

import pytest
from azure.identity import DefaultAzureCredential
from azure.mgmt.keyvault import KeyVaultManagementClient

from emulator import Fault
from emulator.events import write_event
from localdev.seeds.keyvault import seed_key_vault
from localdev.seeds.sql import seed_sql_server
from localdev.seeds.storage import seed_storage_account
from localdev.seeds.web import seed_web_app
from remediators.private_link import private_endpoint_name
from tests.remediation import deliver, outcomes, settle

KV_WRITE = "Microsoft.KeyVault/vaults/write"
# Someone other than the remediator: a person approving a connection, a policy's deployment.
USER_CLIENT_ID = "0b7e5c1d-3f2a-4e6b-9c8d-1a2b3c4d5e6f"


def _endpoint_id(lz: Any, resource_name: str, group: str) -> str:
    return (f"{lz.rg_id(lz.network_rg)}/providers/Microsoft.Network/privateEndpoints/"
            f"{private_endpoint_name(resource_name, group)}")


def _zone_id(lz: Any, zone: str, group: str | None = None) -> str:
    return f"{lz.rg_id(group or lz.dns_rg)}/providers/Microsoft.Network/privateDnsZones/{zone}"


def _set_connection(emulator: Any, lz: Any, vault_id: str, status: str) -> None:
    """Approve or reject the vault's one connection as its owner would, through the Key Vault API."""
    name = emulator.get(vault_id)["properties"]["privateEndpointConnections"][0]["name"]
    credential = DefaultAzureCredential(managed_identity_client_id=USER_CLIENT_ID)
    with KeyVaultManagementClient(credential, lz.subscription_id, base_url=emulator.url) as client:
        client.private_endpoint_connections.put(lz.app_rg, vault_id.rsplit("/", 1)[-1], name, {
            "properties": {"privateLinkServiceConnectionState": {"status": status, "description": "by hand"}}})


# -- approval state, every time ---------------------------------------------------------

def test_pending_connection_keeps_public_access_on_every_time_until_approved(host, emulator, lz):
    rid = seed_key_vault(emulator, lz, "kv-approve01", tags={"harden": "private"})
    emulator.require_manual_approval(rid)

    first = deliver(host, emulator, rid, KV_WRITE)
    assert (first["status"], first["reasonCode"]) == ("pending", "endpoint-not-approved")
    assert "Pending" in first["reason"] and "approve it on" in first["reason"]
    assert emulator.get(_endpoint_id(lz, "kv-approve01", "vault")) is not None
    assert [n["phase"] for n in first["notDone"]] == ["private_dns_zone_group", "public_access"]

    # Redelivered (and our own writes' events): the endpoint exists now and is still Pending.
    emulator.drain_events()
    emulator.clear_requests()
    again = deliver(host, emulator, rid, KV_WRITE)
    assert (again["status"], again["reasonCode"]) == ("pending", "endpoint-not-approved")
    assert "Pending" in again["reason"]
    assert [r.method for r in emulator.writes() if "/vaults/" in r.path] == []
    assert emulator.get(rid)["properties"].get("publicNetworkAccess", "Enabled") == "Enabled"

    # The owner approves; the approval's own write event finishes the hardening.
    emulator.drain_events()
    _set_connection(emulator, lz, rid, "Approved")
    approval = [e for e in emulator.drain_events()
                if e["data"]["operationName"] == "Microsoft.KeyVault/vaults/privateEndpointConnections/write"]
    assert approval, "approving raises a connection write event"
    done = deliver(host, emulator, approval[0]["subject"], approval[0]["data"]["operationName"])
    assert done["status"] == "hardened", done
    assert emulator.get(rid)["properties"]["publicNetworkAccess"] == "Disabled"


@pytest.mark.parametrize(("status", "advice"), [("Rejected", "delete the endpoint"),
                                                ("Disconnected", "delete the endpoint")])
def test_rejected_or_disconnected_connection_keeps_public_access_and_says_what_to_do(host, emulator, lz, status,
                                                                                     advice):
    name = f"kv-{status.lower()[:6]}01"
    rid = seed_key_vault(emulator, lz, name, tags={"harden": "off"})
    # An endpoint of ours made earlier (auto-approved), then rejected/disconnected by the vault's owner.
    tagged = emulator.get(rid)
    emulator.seed(rid, {**tagged, "tags": {"harden": "private"}})
    emulator.require_manual_approval(rid)
    deliver(host, emulator, rid, KV_WRITE)
    _set_connection(emulator, lz, rid, status)
    emulator.drain_events()
    emulator.clear_requests()

    outcome = deliver(host, emulator, rid, KV_WRITE)
    assert (outcome["status"], outcome["reasonCode"]) == ("pending", "endpoint-not-approved")
    assert status in outcome["reason"] and advice in outcome["reason"]
    assert not any(r.method == "PATCH" for r in emulator.writes())
    assert emulator.get(rid)["properties"].get("publicNetworkAccess", "Enabled") == "Enabled"


# -- DNS before the endpoint --------------------------------------------------------------

def test_dns_zone_refused_stops_the_plan_before_any_endpoint_exists(host, emulator, lz):
    rid = seed_web_app(emulator, lz, "app-dnsdenied01", tags={"harden": "private"})
    emulator.faults.add(Fault(method="PUT", path_contains="/privateDnsZones/privatelink.azurewebsites.net",
                              status=403, code="RequestDisallowedByPolicy",
                              message="Resource 'privatelink.azurewebsites.net' was disallowed by policy.",
                              times=None))
    host.deliver(write_event(rid, "Microsoft.Web/sites/write"))
    host.run_queue()
    reported = outcomes(emulator)
    assert reported and all(o["status"] == "failed" for o in reported)
    assert "privatelink.azurewebsites.net" in reported[0]["reason"] and lz.dns_rg in reported[0]["reason"]
    assert reported[0]["reasonCode"] == "denied-by-policy" and "exempt" in reported[0]["reason"]
    assert {n["phase"] for n in reported[0]["notDone"]} >= {"private_endpoint", "public_access"}
    assert emulator.get(_endpoint_id(lz, "app-dnsdenied01", "sites")) is None, "an endpoint would close the site"
    assert [r for r in emulator.writes() if r.status < 400] == []


def test_zone_and_link_are_written_before_every_endpoint(host, emulator, lz):
    emulator.timing.scale = 0.001  # operations take time: "before" means after the DNS operations finished
    rid = seed_storage_account(emulator, lz, "stdnsfirst01", tags={"harden": "private"})
    outcome = deliver(host, emulator, rid, "Microsoft.Storage/storageAccounts/write")
    assert outcome["status"] == "hardened"
    log = [r for r in emulator.writes() if r.status < 400]
    dns = [r for r in log if r.resource_type.startswith("Microsoft.Network/privateDnsZones")]
    endpoints = [r for r in log if r.resource_type == "Microsoft.Network/privateEndpoints"]
    assert dns and endpoints
    assert max(r.completed_at for r in dns) <= min(r.started_at for r in endpoints)


# -- one zone group per endpoint ------------------------------------------------------------

def _seed_policy_endpoint(emulator: Any, lz: Any, rid: str, group: str, zone_id: str) -> str:
    """Our endpoint, with the zone group an Azure Landing Zones DINE policy adds ('deployedByPolicy')."""
    pe_id = _endpoint_id(lz, rid.rsplit("/", 1)[-1], group)
    emulator.seed(pe_id, {"location": "westeurope", "properties": {
        "subnet": {"id": lz.endpoint_subnet_id},
        "privateLinkServiceConnections": [{"name": "c", "properties": {"privateLinkServiceId": rid,
                                                                      "groupIds": [group]}}]}})
    emulator.seed(zone_id, {"location": "global", "properties": {}})
    emulator.seed(f"{pe_id}/privateDnsZoneGroups/deployedByPolicy", {"properties": {"privateDnsZoneConfigs": [
        {"name": "cfg", "properties": {"privateDnsZoneId": zone_id}}]}})
    return pe_id


def test_a_policy_zone_group_with_our_zone_counts_and_no_second_group_is_made(host, emulator, lz):
    rid = seed_key_vault(emulator, lz, "kv-policyzg01", tags={"harden": "private"})
    pe_id = _seed_policy_endpoint(emulator, lz, rid, "vault", _zone_id(lz, "privatelink.vaultcore.azure.net"))
    outcome = deliver(host, emulator, rid, KV_WRITE)
    assert outcome["status"] == "hardened", outcome
    assert not any("privateDnsZoneGroups" in c["target"] for c in outcome["changes"])
    assert emulator.get(f"{pe_id}/privateDnsZoneGroups/default") is None
    assert emulator.get(rid)["properties"]["publicNetworkAccess"] == "Disabled"


def test_a_zone_group_without_our_zone_gets_it_added_not_a_second_group(host, emulator, lz):
    rid = seed_key_vault(emulator, lz, "kv-policyzg02", tags={"harden": "private"})
    elsewhere = _zone_id(lz, "privatelink.example.internal")
    pe_id = _seed_policy_endpoint(emulator, lz, rid, "vault", elsewhere)
    outcome = deliver(host, emulator, rid, KV_WRITE)
    assert outcome["status"] == "hardened", outcome
    group = emulator.get(f"{pe_id}/privateDnsZoneGroups/deployedByPolicy")
    zones = [c["properties"]["privateDnsZoneId"].lower() for c in group["properties"]["privateDnsZoneConfigs"]]
    assert zones == [elsewhere.lower(), _zone_id(lz, "privatelink.vaultcore.azure.net").lower()]
    assert emulator.get(f"{pe_id}/privateDnsZoneGroups/default") is None


# -- overlapping namespaces ------------------------------------------------------------------

def test_vnet_linked_to_a_same_named_zone_elsewhere_fails_before_anything_is_written(host, emulator, lz):
    rid = seed_key_vault(emulator, lz, "kv-overlap01", tags={"harden": "private"})
    other = _zone_id(lz, "privatelink.vaultcore.azure.net", group="rg-central-dns")
    emulator.seed(other, {"location": "global", "properties": {}})
    emulator.seed(f"{other}/virtualNetworkLinks/hub", {"location": "global", "properties": {
        "virtualNetwork": {"id": lz.vnet_id}, "registrationEnabled": False}})
    emulator.clear_requests()
    outcome = deliver(host, emulator, rid, KV_WRITE)
    assert (outcome["status"], outcome["reasonCode"]) == ("failed", "dns-conflict")
    assert "rg-central-dns" in outcome["reason"] and lz.dns_rg in outcome["reason"]
    assert emulator.writes() == []
    assert emulator.get(rid)["properties"].get("publicNetworkAccess", "Enabled") == "Enabled"


# -- names ----------------------------------------------------------------------------------------

def test_endpoint_names_fit_64_characters_deterministically():
    server = "s" * 63  # SQL server names are up to 63 characters
    name = private_endpoint_name(server, "sqlServer")
    assert len(name) <= 64 and name == private_endpoint_name(server, "sqlServer")
    assert name != private_endpoint_name("s" * 62 + "t", "sqlServer")
    assert private_endpoint_name("kv1", "vault") == "pe-kv1-vault"
    assert len(private_endpoint_name("a" * 24, "table_secondary")) <= 64


def test_sql_server_with_the_longest_name_is_hardened(host, emulator, lz):
    name = "sql-" + "x" * 59
    rid = seed_sql_server(emulator, lz, name, tags={"harden": "private"})
    outcome = deliver(host, emulator, rid, "Microsoft.Sql/servers/write")
    assert outcome["status"] == "hardened", outcome
    assert emulator.get(_endpoint_id(lz, name, "sqlServer")) is not None
    settle(host, emulator, rid, "Microsoft.Sql/servers/write")


# -- zones owned by the platform team (HARDEN_CREATE_PRIVATE_DNS_ZONES=false) ---------------------

def test_a_missing_zone_is_reported_and_nothing_is_created_when_zone_creation_is_off(host, emulator, lz,
                                                                                      monkeypatch):
    monkeypatch.setenv("HARDEN_CREATE_PRIVATE_DNS_ZONES", "false")
    rid = seed_key_vault(emulator, lz, "kv-nozone01", tags={"harden": "private"})
    emulator.clear_requests()
    outcome = deliver(host, emulator, rid, KV_WRITE)
    assert (outcome["status"], outcome["reasonCode"]) == ("failed", "zone-missing")
    assert "privatelink.vaultcore.azure.net" in outcome["reason"] and lz.dns_rg in outcome["reason"]
    assert emulator.writes() == []
    assert emulator.get(_zone_id(lz, "privatelink.vaultcore.azure.net")) is None
    assert emulator.get(rid)["properties"].get("publicNetworkAccess", "Enabled") == "Enabled"


def test_an_existing_zone_is_linked_and_used_when_zone_creation_is_off(host, emulator, lz, monkeypatch):
    monkeypatch.setenv("HARDEN_CREATE_PRIVATE_DNS_ZONES", "false")
    zone = _zone_id(lz, "privatelink.vaultcore.azure.net")
    emulator.seed(zone, {"location": "global", "properties": {}})
    rid = seed_key_vault(emulator, lz, "kv-nozone02", tags={"harden": "private"})
    outcome = deliver(host, emulator, rid, KV_WRITE)
    assert outcome["status"] == "hardened", outcome
    assert not any(c["phase"] == "private_dns_zone" for c in outcome["changes"])
    assert any(c["phase"] == "private_dns_link" for c in outcome["changes"])
