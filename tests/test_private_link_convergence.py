"""Private link converges (issue 13, items 2-4): Failed operations, compensation, conflicts re-plan.

Each test runs the real SDK against the emulator; the Azure behaviour each one holds us to is cited in
``emulator/privatelink.py`` (failed operations, the ALZ policy's zone group) and ``remediators/private_link.py``.
Every remediation delivers twice: ``deliver`` redelivers a hardened outcome and asserts nothing more is written.
"""
from __future__ import annotations

from typing import Any

from emulator import Fault
from emulator.events import write_event
from localdev.landing_zone import LandingZone
from localdev.seeds.cosmosdb import seed_cosmos_account
from localdev.seeds.keyvault import seed_key_vault
from localdev.seeds.storage import seed_storage_account
from remediators.private_link import private_endpoint_name, vnet_link_name
from tests.conftest import REMEDIATOR_CLIENT_ID
from tests.infra.roles import deployed_assignments
from tests.remediation import deliver, outcomes, settle

KV_WRITE = "Microsoft.KeyVault/vaults/write"
ST_WRITE = "Microsoft.Storage/storageAccounts/write"
KV_ZONE = "privatelink.vaultcore.azure.net"


def _endpoint_id(lz: Any, resource_name: str, group: str) -> str:
    return (f"{lz.rg_id(lz.network_rg)}/providers/Microsoft.Network/privateEndpoints/"
            f"{private_endpoint_name(resource_name, group)}")


def _zone_id(lz: Any, zone: str) -> str:
    return f"{lz.rg_id(lz.dns_rg)}/providers/Microsoft.Network/privateDnsZones/{zone}"


def _deliver_all(host: Any, emulator: Any, rid: str, operation: str) -> list[dict[str, Any]]:
    """One event, and every outcome published while the host works its queue (retries included)."""
    before = len(emulator.notifications)
    host.deliver(write_event(rid, operation))
    host.run_queue()
    return outcomes(emulator)[before:]


# -- 2. Failed operations ------------------------------------------------------------------------

def test_an_endpoint_operation_ending_failed_transiently_is_sent_again_in_the_same_run(host, emulator, lz):
    rid = seed_key_vault(emulator, lz, "kv-failedop01", tags={"harden": "private"})
    emulator.fail_endpoint_operations(rid, "subnet-updating", times=1)
    outcome = deliver(host, emulator, rid, KV_WRITE)
    assert outcome["status"] == "hardened", outcome
    endpoint = emulator.get(_endpoint_id(lz, "kv-failedop01", "vault"))
    assert endpoint["properties"]["provisioningState"] == "Succeeded"
    puts = [r for r in emulator.writes() if r.method == "PUT" and r.resource_type == "Microsoft.Network/privateEndpoints"]
    assert len(puts) == 2, "the endpoint was sent again after its operation ended Failed"
    assert emulator.get(rid)["properties"]["publicNetworkAccess"] == "Disabled"


def test_an_endpoint_left_failed_is_sent_again_on_the_next_pass_not_treated_as_created(host, emulator, lz):
    rid = seed_key_vault(emulator, lz, "kv-failedop02", tags={"harden": "private"})
    emulator.fail_endpoint_operations(rid, "subnet-updating", times=3)  # every attempt of the first pass
    published = _deliver_all(host, emulator, rid, KV_WRITE)
    first, retried = published[0], published[-1]
    assert first["status"] == "failed" and "RetryableError" in first["reason"], first
    assert "public_access" in {n["phase"] for n in first["notDone"]}
    # The host retried the message: the next pass found our endpoint Failed and sent it again.
    assert retried["status"] == "hardened", retried
    assert any("left Failed" in c["change"] for c in retried["changes"])
    pe_id = _endpoint_id(lz, "kv-failedop02", "vault")
    assert emulator.get(pe_id)["properties"]["provisioningState"] == "Succeeded"
    assert emulator.get(f"{pe_id}/privateDnsZoneGroups/default") is not None
    settle(host, emulator, rid, KV_WRITE)


def test_endpoints_to_one_storage_account_are_created_one_after_the_other(host, emulator, lz):
    emulator.timing.scale = 0.001  # operations take time: "after" means after the previous one finished
    rid = seed_storage_account(emulator, lz, "stoneatatime01", sku="Standard_RAGRS", tags={"harden": "private"})
    outcome = deliver(host, emulator, rid, ST_WRITE)
    assert outcome["status"] == "hardened", outcome
    endpoints = sorted((r for r in emulator.writes() if r.status < 400
                        and r.resource_type == "Microsoft.Network/privateEndpoints"), key=lambda r: r.started_at)
    assert len(endpoints) > 2
    for earlier, later in zip(endpoints, endpoints[1:]):
        assert earlier.completed_at <= later.started_at, "two endpoints to one account ran at once"


def test_a_busy_storage_account_ends_the_operation_failed_and_the_endpoint_is_sent_again(host, emulator, lz):
    rid = seed_storage_account(emulator, lz, "stbusy01", tags={"harden": "private"})
    emulator.fail_endpoint_operations(rid, "storage-busy", times=1)
    outcome = deliver(host, emulator, rid, ST_WRITE)
    assert outcome["status"] == "hardened", outcome


def test_endpoints_to_one_cosmos_account_are_created_one_after_the_other(host, emulator, lz):
    emulator.timing.scale = 0.001
    rid = seed_cosmos_account(emulator, lz, "cosmos-chain01", capabilities=["EnableGremlin"],
                              tags={"harden": "private"})
    outcome = deliver(host, emulator, rid, "Microsoft.DocumentDB/databaseAccounts/write")
    assert outcome["status"] == "hardened", outcome
    endpoints = sorted((r for r in emulator.writes() if r.status < 400
                        and r.resource_type == "Microsoft.Network/privateEndpoints"), key=lambda r: r.started_at)
    assert len(endpoints) == 2  # Gremlin, and Sql (cosmos-db/how-to-configure-private-endpoints)
    assert endpoints[0].completed_at <= endpoints[1].started_at


def test_concurrent_cosmos_endpoint_failure_is_sent_again(host, emulator, lz):
    rid = seed_cosmos_account(emulator, lz, "cosmos-busy01", tags={"harden": "private"})
    emulator.fail_endpoint_operations(rid, "cosmos-concurrent", times=1)
    outcome = deliver(host, emulator, rid, "Microsoft.DocumentDB/databaseAccounts/write")
    assert outcome["status"] == "hardened", outcome


# -- 3. Compensate -----------------------------------------------------------------------------------

def _refuse_zone_join(emulator: Any, lz: Any, zone: str) -> None:
    """ARM's 403 for a zone group naming a zone the caller may not join (shape: emulator/authz.py)."""
    emulator.faults.add(Fault(
        method="PUT", path_contains="/privateDnsZoneGroups/", status=403, code="LinkedAuthorizationFailed",
        message=("The client '5f0c6a2e-7b1d-4c3e-9a8f-2d4b6c8e0a13' with object id 'x' has permission to perform "
                 "action 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups/write' on scope '...'; however, "
                 "it does not have permission to perform action 'Microsoft.Network/privateDnsZones/join/action' on "
                 f"the linked scope(s) '{_zone_id(lz, zone)}' or the linked scope(s) are invalid."),
        times=None))


def test_a_refused_zone_group_deletes_the_endpoint_made_in_the_same_run(host, emulator, lz):
    rid = seed_key_vault(emulator, lz, "kv-dnsrefused01", tags={"harden": "private"})
    _refuse_zone_join(emulator, lz, KV_ZONE)
    outcome = deliver(host, emulator, rid, KV_WRITE)
    assert (outcome["status"], outcome["reasonCode"]) == ("failed", "dns-refused"), outcome
    assert KV_ZONE in outcome["reason"] and "LinkedAuthorizationFailed" in outcome["reason"]
    assert "deleted again" in outcome["reason"]
    assert emulator.get(_endpoint_id(lz, "kv-dnsrefused01", "vault")) is None, "no endpoint without its record"
    assert emulator.get(rid)["properties"].get("publicNetworkAccess", "Enabled") == "Enabled"
    # Delivered again: the same answer, the same compensation, and nothing left behind.
    emulator.drain_events()
    again = deliver(host, emulator, rid, KV_WRITE)
    assert again["reasonCode"] == "dns-refused"
    assert emulator.get(_endpoint_id(lz, "kv-dnsrefused01", "vault")) is None


# -- 4. Conflicts re-plan -------------------------------------------------------------------------------

def test_the_policy_zone_group_appearing_after_our_endpoint_is_adopted_in_the_same_run(host, emulator, lz):
    rid = seed_key_vault(emulator, lz, "kv-policyrace01", tags={"harden": "private"})
    zone_id = _zone_id(lz, KV_ZONE)
    emulator.seed(zone_id, {"location": "global", "properties": {}})
    emulator.assign_dns_zone_policy(lz.endpoint_subnet_id, "vault", zone_id)
    outcome = deliver(host, emulator, rid, KV_WRITE)
    assert outcome["status"] == "hardened", outcome
    assert "re-planned once" in outcome["reason"]
    pe_id = _endpoint_id(lz, "kv-policyrace01", "vault")
    assert emulator.get(f"{pe_id}/privateDnsZoneGroups/deployedByPolicy") is not None
    assert emulator.get(f"{pe_id}/privateDnsZoneGroups/default") is None
    assert emulator.get(rid)["properties"]["publicNetworkAccess"] == "Disabled"
    settle(host, emulator, rid, KV_WRITE)


def test_a_write_that_lost_a_race_is_re_read_and_re_planned_once(host, emulator, lz):
    # Someone else's write moved the zone group between our read and ours: 412 on our PUT (an ETag moved).
    rid = seed_key_vault(emulator, lz, "kv-etagrace01", tags={"harden": "private"})
    emulator.faults.add(Fault(method="PUT", path_contains="/privateDnsZoneGroups/", status=412,
                              code="PreconditionFailed", message="The specified precondition failed.", times=1))
    outcome = deliver(host, emulator, rid, KV_WRITE)
    assert outcome["status"] == "hardened", outcome
    assert "re-planned once" in outcome["reason"] and "412" in outcome["reason"]


def test_the_re_plan_is_bounded_to_once(host, emulator, lz):
    rid = seed_key_vault(emulator, lz, "kv-etagrace02", tags={"harden": "private"})
    emulator.faults.add(Fault(method="PUT", path_contains="/privateDnsZoneGroups/", status=409,
                              code="Conflict", message="Another writer.", times=None))
    published = _deliver_all(host, emulator, rid, KV_WRITE)
    assert published and published[0]["status"] == "failed"
    group_puts = [r for r in emulator.writes() if r.method == "PUT" and "privateDnsZoneGroups" in r.path]
    # Each delivery: the first plan and one re-plan, no more (the host may retry the message itself).
    assert len(group_puts) == 2 * len(published)
    assert emulator.get(rid)["properties"].get("publicNetworkAccess", "Enabled") == "Enabled"


# -- 7. Approval: without privateEndpointConnectionsApproval/action ARM refuses and creates nothing ---------

def test_without_the_approval_right_arm_refuses_the_endpoint_and_creates_nothing(host, emulator, lz):
    rid = seed_key_vault(emulator, lz, "kv-noapproval01", tags={"harden": "private"})
    approval = "Microsoft.KeyVault/vaults/privateEndpointConnectionsApproval/action"
    emulator.unassign_roles(REMEDIATOR_CLIENT_ID)
    try:
        for scope, granted in deployed_assignments(LandingZone()):
            emulator.assign_role(REMEDIATOR_CLIENT_ID, [a for a in granted if a != approval], scope=scope)
        published = _deliver_all(host, emulator, rid, KV_WRITE)
    finally:
        emulator.unassign_roles(REMEDIATOR_CLIENT_ID)
        for scope, granted in deployed_assignments(LandingZone()):
            emulator.assign_role(REMEDIATOR_CLIENT_ID, granted, scope=scope)
    assert published[0]["status"] == "failed"
    assert published[0]["error"]["code"] == "LinkedAuthorizationFailed"
    assert "'PrivateEndpointConnectionsApproval/action'" in published[0]["error"]["message"]
    assert emulator.get(_endpoint_id(lz, "kv-noapproval01", "vault")) is None, "ARM creates nothing"
    assert emulator.get(rid)["properties"].get("privateEndpointConnections") in (None, [])
    assert emulator.get(rid)["properties"].get("publicNetworkAccess", "Enabled") == "Enabled"


def test_a_manual_connection_is_pending_whatever_the_creators_rights(emulator, lz):
    """Pending comes from manual connections (and other parties' targets), not from a missing right."""
    rid = seed_key_vault(emulator, lz, "kv-manual01", tags={"harden": "off"})
    pe_id = _endpoint_id(lz, "kv-manual01", "vault")
    emulator.seed(pe_id, {"location": "westeurope", "properties": {
        "subnet": {"id": lz.endpoint_subnet_id},
        "manualPrivateLinkServiceConnections": [{"name": "m", "properties": {
            "privateLinkServiceId": rid, "groupIds": ["vault"], "requestMessage": "please"}}]}})
    state = emulator.get(pe_id)["properties"]["manualPrivateLinkServiceConnections"][0]["properties"]
    assert state["privateLinkServiceConnectionState"]["status"] == "Pending"


# -- 3. NxDomainRedirect on the links we create -------------------------------------------------------------

def test_links_we_create_fall_back_to_internet_and_existing_links_are_not_rewritten(host, emulator, lz):
    rid = seed_key_vault(emulator, lz, "kv-fallback01", tags={"harden": "private"})
    outcome = deliver(host, emulator, rid, KV_WRITE)
    assert outcome["status"] == "hardened", outcome
    links = [r for r in emulator.writes() if r.method == "PUT" and "/virtualNetworkLinks/" in r.path]
    assert len(links) == 1
    assert emulator.get(links[0].path)["properties"]["resolutionPolicy"] == "NxDomainRedirect"

    # The zone is linked now: the next hardening through it writes no link (nor rewrites one).
    other = seed_key_vault(emulator, lz, "kv-fallback02", tags={"harden": "private"})
    emulator.clear_requests()
    deliver(host, emulator, other, KV_WRITE)
    assert not [r for r in emulator.writes() if "/virtualNetworkLinks/" in r.path]


def test_our_zone_link_and_zone_group_left_failed_are_sent_again(host, emulator, lz):
    rid = seed_key_vault(emulator, lz, "kv-failedall01", tags={"harden": "private"})
    ours = {"created-by": "paas-hardener"}
    zone_id = _zone_id(lz, KV_ZONE)
    emulator.seed(zone_id, {"location": "global", "tags": ours, "properties": {"provisioningState": "Failed"}})
    link_id = f"{zone_id}/virtualNetworkLinks/{vnet_link_name(lz.vnet_id)}"
    emulator.seed(link_id, {"location": "global", "tags": ours, "properties": {
        "virtualNetwork": {"id": lz.vnet_id}, "registrationEnabled": False, "provisioningState": "Failed"}})
    outcome = deliver(host, emulator, rid, KV_WRITE)
    assert outcome["status"] == "hardened", outcome
    again = {c["phase"] for c in outcome["changes"] if "left Failed" in c["change"]}
    assert again == {"private_dns_zone", "private_dns_link"}
    assert emulator.get(zone_id)["properties"]["provisioningState"] == "Succeeded"
    assert emulator.get(link_id)["properties"]["provisioningState"] == "Succeeded"


def test_our_zone_group_left_failed_is_sent_again(host, emulator, lz):
    rid = seed_key_vault(emulator, lz, "kv-failedzg01", tags={"harden": "private"})
    zone_id = _zone_id(lz, KV_ZONE)
    pe_id = _endpoint_id(lz, "kv-failedzg01", "vault")
    emulator.seed(zone_id, {"location": "global", "properties": {}})
    emulator.seed(pe_id, {"location": "westeurope", "properties": {
        "subnet": {"id": lz.endpoint_subnet_id},
        "privateLinkServiceConnections": [{"name": "c", "properties": {"privateLinkServiceId": rid,
                                                                      "groupIds": ["vault"]}}]}})
    emulator.seed(f"{pe_id}/privateDnsZoneGroups/default", {"properties": {
        "provisioningState": "Failed",
        "privateDnsZoneConfigs": [{"name": "cfg", "properties": {"privateDnsZoneId": zone_id}}]}})
    outcome = deliver(host, emulator, rid, KV_WRITE)
    assert outcome["status"] == "hardened", outcome
    assert any(c["phase"] == "private_dns_zone_group" and "left Failed" in c["change"] for c in outcome["changes"])
    assert emulator.get(f"{pe_id}/privateDnsZoneGroups/default")["properties"]["provisioningState"] == "Succeeded"


def test_an_endpoint_still_being_created_does_not_count_and_nothing_is_written(host, emulator, lz):
    rid = seed_key_vault(emulator, lz, "kv-updating01", tags={"harden": "private"})
    zone_id = _zone_id(lz, KV_ZONE)
    pe_id = _endpoint_id(lz, "kv-updating01", "vault")
    emulator.seed(zone_id, {"location": "global", "properties": {}})
    emulator.seed(f"{zone_id}/virtualNetworkLinks/hub", {"location": "global", "properties": {
        "virtualNetwork": {"id": lz.vnet_id}, "registrationEnabled": False}})
    emulator.seed(pe_id, {"location": "westeurope", "properties": {
        "provisioningState": "Updating", "subnet": {"id": lz.endpoint_subnet_id},
        "privateLinkServiceConnections": [{"name": "c", "properties": {"privateLinkServiceId": rid,
                                                                      "groupIds": ["vault"]}}]}})
    emulator.clear_requests()
    outcome = deliver(host, emulator, rid, KV_WRITE)
    assert (outcome["status"], outcome["reasonCode"]) == ("pending", "endpoint-not-approved"), outcome
    assert "Updating" in outcome["reason"]
    assert emulator.writes() == []
    assert emulator.get(rid)["properties"].get("publicNetworkAccess", "Enabled") == "Enabled"


def test_when_the_compensating_delete_is_refused_the_outcome_says_so(host, emulator, lz):
    rid = seed_key_vault(emulator, lz, "kv-dnsrefused02", tags={"harden": "private"})
    _refuse_zone_join(emulator, lz, KV_ZONE)
    emulator.faults.add(Fault(method="DELETE", path_contains="/privateEndpoints/", status=403,
                              code="AuthorizationFailed", message="no delete for this test", times=1))
    published = _deliver_all(host, emulator, rid, KV_WRITE)
    assert published[0]["reasonCode"] == "dns-refused"
    assert "could not be deleted (AuthorizationFailed" in published[0]["reason"]
    assert emulator.get(rid)["properties"].get("publicNetworkAccess", "Enabled") == "Enabled"
