"""The whole pipeline on the emulator and Azurite: costs, faults, settings, DNS reuse, self-exclusion."""
from __future__ import annotations

import pytest

from emulator import Fault
from emulator.events import write_event
from localdev.seeds.keyvault import seed_key_vault
from localdev.seeds.storage import seed_storage_account
from tests.remediation import deliver, outcomes, settle

KV_WRITE = "Microsoft.KeyVault/vaults/write"


def arm_calls(emu):
    return [(r.method, r.resource_type) for r in emu.arm_calls()]


def test_compliant_resource_costs_exactly_one_get(host, emulator, lz):
    rid = seed_key_vault(emulator, lz, "kv-onceonly01", tags={"harden": "private"})
    deliver(host, emulator, rid, KV_WRITE)
    emulator.clear_requests()
    outcome = deliver(host, emulator, rid, KV_WRITE)
    assert outcome["reasonCode"] == "already-compliant"
    assert arm_calls(emulator) == [("GET", "Microsoft.KeyVault/vaults")]


def test_out_of_scope_events_make_no_arm_calls_and_enqueue_nothing(host, emulator, lz):
    rid = seed_key_vault(emulator, lz, "kv-scope01", tags={"harden": "private"})
    emulator.clear_requests()
    for event in (
        write_event(rid, "Microsoft.KeyVault/vaults/accessPolicies/write"),
        {**write_event(rid, KV_WRITE), "eventType": "Microsoft.Resources.ResourceDeleteSuccess"},
        write_event(rid.replace(lz.subscription_id, "00000000-0000-0000-0000-000000000000"), KV_WRITE),
        {"id": "x", "subject": None, "eventType": "Microsoft.Resources.ResourceWriteSuccess", "data": []},
    ):
        assert host.deliver(event) is None
    assert host.run_queue() == []
    assert emulator.requests == []


def test_throttling_and_busy_network_are_survived(host, emulator, lz):
    rid = seed_storage_account(emulator, lz, "stthrottle01", tags={"harden": "service-endpoint"})
    emulator.faults.add(Fault(method="PUT", path_contains="/subnets/", status=409,
                              code="AnotherOperationInProgress", message="Another operation on this VNet",
                              retry_after=None, times=2))
    emulator.faults.add(Fault(method="PATCH", path_contains="/storageAccounts/", status=429,
                              code="TooManyRequests", message="throttled", retry_after=0, times=2))
    emulator.faults.add(Fault(method="GET", path_contains="/subnets/", status=429,
                              code="RetryableErrorDueToAnotherOperation", message="busy", retry_after=None, times=1))
    emulator.faults.add(Fault(method="GET", path_contains="/storageAccounts/", status=503,
                              code="ServiceUnavailable", message="try later", retry_after=None, times=1))
    outcome = deliver(host, emulator, rid, "Microsoft.Storage/storageAccounts/write")
    assert outcome["status"] == "hardened", outcome
    statuses = [r.status for r in emulator.arm_calls()]
    assert statuses.count(409) == 2 and statuses.count(429) == 3 and statuses.count(503) == 1
    settle(host, emulator, rid, "Microsoft.Storage/storageAccounts/write")


def test_permanent_error_is_reported_with_arm_code_and_poisons_the_message(host, emulator, lz):
    rid = seed_key_vault(emulator, lz, "kv-denied01", tags={"harden": "private"})
    emulator.faults.add(Fault(method="PATCH", path_contains="/vaults/kv-denied01", status=403,
                              code="AuthorizationFailed", message="The client does not have authorization",
                              retry_after=None, times=100))
    host.deliver(write_event(rid, KV_WRITE))
    deliveries = host.run_queue()
    assert len(deliveries) == host.max_dequeue_count and deliveries[-1].poisoned
    assert len(host.poison_messages()) == 1
    reported = outcomes(emulator)
    assert len(reported) == host.max_dequeue_count
    assert all(o["status"] == "failed" and o["error"]["code"] == "AuthorizationFailed" for o in reported), [(o["status"], o["reason"]) for o in reported]
    assert {o["reasonCode"] for o in reported} == {"permission-denied"}
    assert "infra/remediator-role-actions.json" in reported[0]["reason"]
    assert "The client does not have authorization" in reported[0]["reason"]
    # DNS and the endpoint were made on the first attempt, DNS first, and reused by
    # the retries; public access was never closed.
    assert [c["phase"] for c in reported[0]["changes"]] == [
        "private_dns_zone", "private_dns_link", "private_endpoint", "private_dns_zone_group"]
    assert [n["phase"] for n in reported[0]["notDone"]] == ["public_access"]
    assert [o["changes"] for o in reported[1:]] == [[]] * (host.max_dequeue_count - 1)
    assert emulator.get(rid)["properties"]["publicNetworkAccess"] == "Enabled"


def test_rejected_change_is_an_outcome_not_a_retry_loop(host, emulator, lz):
    rid = seed_key_vault(emulator, lz, "kv-rejected01", tags={"harden": "service-endpoint"})
    emulator.faults.add(Fault(method="PATCH", path_contains="/vaults/kv-rejected01", status=400,
                              code="FeatureNotSupported", message="Not supported for this SKU",
                              retry_after=None, times=1))
    host.deliver(write_event(rid, KV_WRITE))
    deliveries = host.run_queue()
    assert len(deliveries) == 1 and deliveries[0].error is None
    outcome = outcomes(emulator)[-1]
    assert (outcome["status"], outcome["reasonCode"]) == ("unsupported", "rejected-by-arm")
    assert outcome["error"]["code"] == "FeatureNotSupported"


def test_missing_setting_is_a_specific_outcome_without_writes(host, emulator, lz, monkeypatch):
    monkeypatch.delenv("HARDEN_PRIVATE_ENDPOINT_SUBNET_ID")
    rid = seed_key_vault(emulator, lz, "kv-nosubnet01", tags={"harden": "private"})
    emulator.clear_requests()
    outcome = deliver(host, emulator, rid, KV_WRITE)
    assert (outcome["status"], outcome["reasonCode"]) == ("failed", "setting-missing")
    assert "HARDEN_PRIVATE_ENDPOINT_SUBNET_ID" in outcome["reason"]
    assert emulator.writes() == []


def test_existing_zone_and_link_are_reused_never_duplicated(host, emulator, lz):
    zone_id = f"{lz.rg_id(lz.dns_rg)}/providers/Microsoft.Network/privateDnsZones/privatelink.vaultcore.azure.net"
    emulator.seed(zone_id, {"location": "global", "properties": {}})
    emulator.seed(f"{zone_id}/virtualNetworkLinks/hub-link", {
        "location": "global", "properties": {"virtualNetwork": {"id": lz.vnet_id}, "registrationEnabled": False}})
    rid = seed_key_vault(emulator, lz, "kv-reuse01", tags={"harden": "private"})
    outcome = deliver(host, emulator, rid, KV_WRITE)
    assert [c["phase"] for c in outcome["changes"]] == [
        "private_endpoint", "private_dns_zone_group", "public_access"]


def test_two_services_share_the_subnet_without_losing_endpoints(host, emulator, lz):
    kv = seed_key_vault(emulator, lz, "kv-share01", tags={"harden": "service-endpoint"})
    st = seed_storage_account(emulator, lz, "stshare01", tags={"harden": "service-endpoint"})
    host.deliver(write_event(kv, KV_WRITE))
    host.deliver(write_event(st, "Microsoft.Storage/storageAccounts/write"))
    host.run_queue()
    services = {e["service"] for e in emulator.get(lz.workload_subnet_id)["properties"]["serviceEndpoints"]}
    assert services == {"Microsoft.Sql", "Microsoft.KeyVault", "Microsoft.Storage"}


def test_untagged_ignore_publishes_nothing(host, emulator, lz, monkeypatch):
    monkeypatch.setenv("HARDEN_UNTAGGED", "ignore")
    rid = seed_key_vault(emulator, lz, "kv-quiet01", tags={})
    host.deliver(write_event(rid, KV_WRITE))
    host.run_queue()
    assert outcomes(emulator) == []


def test_the_app_never_hardens_its_own_storage(host, emulator, lz, monkeypatch):
    monkeypatch.setenv("AzureWebJobsStorage__accountName", "stownapp01")
    rid = seed_storage_account(emulator, lz, "stownapp01", tags={"harden": "private"})
    emulator.clear_requests()
    outcome = deliver(host, emulator, rid, "Microsoft.Storage/storageAccounts/write")
    assert (outcome["status"], outcome["reasonCode"]) == ("skipped", "excluded")
    assert emulator.requests == []


def test_deleted_resource_is_skipped(host, emulator, lz):
    rid = lz.resource_id("Microsoft.KeyVault/vaults/kv-gone01")
    outcome = deliver(host, emulator, rid, KV_WRITE)
    assert (outcome["status"], outcome["reasonCode"]) == ("skipped", "resource-gone")


def test_notification_says_what_changed_why_and_how_to_opt_out(host, emulator, lz):
    rid = seed_key_vault(emulator, lz, "kv-explain01", tags={"harden": "private"})
    deliver(host, emulator, rid, KV_WRITE)
    (event,) = [n for n in emulator.notifications if n["type"] == "PaasHardener.Resource.Hardened"]
    assert event["specversion"] == "1.0" and event["type"] == "PaasHardener.Resource.Hardened"
    assert event["subject"] == rid
    data = event["data"]
    assert data["trigger"]["operationName"] == KV_WRITE and data["trigger"]["eventId"]
    assert "harden=off" in data["optOut"]
    last = data["changes"][-1]
    assert last["before"]["publicNetworkAccess"] == "Enabled" and last["after"]["publicNetworkAccess"] == "Disabled"


def test_notifications_can_use_a_topic_key(host, emulator, lz, monkeypatch):
    monkeypatch.setenv("HARDEN_NOTIFY_TOPIC_KEY", emulator.topic_key)
    rid = seed_key_vault(emulator, lz, "kv-keyauth01", tags={"harden": "off"})
    assert deliver(host, emulator, rid, KV_WRITE)["reasonCode"] == "opted-out"


@pytest.mark.parametrize("bad", ["", "not json", '{"resourceId": 3}'])
def test_unreadable_queue_message_is_dropped_not_retried(host, emulator, lz, bad):
    host._queue.send_message(bad.encode())
    deliveries = host.run_queue()
    assert len(deliveries) == 1 and deliveries[0].error is None


def test_subnet_changed_between_read_and_write_is_merged_again(host, emulator, lz):
    rid = seed_key_vault(emulator, lz, "kv-etag01", tags={"harden": "service-endpoint"})
    emulator.faults.add(Fault(method="PUT", path_contains="/subnets/snet-workload", status=412,
                              code="PreconditionFailed", message="The etag does not match", retry_after=None,
                              times=1))
    outcome = deliver(host, emulator, rid, KV_WRITE)
    assert outcome["status"] == "hardened", outcome
    puts = [r for r in emulator.writes() if r.resource_type == "Microsoft.Network/virtualNetworks/subnets"]
    assert [r.status for r in puts][0] == 412 and [r.status for r in puts][1] in (200, 201)
    assert len(puts) == 2


def test_without_a_topic_outcomes_are_logged_only(host, emulator, lz, monkeypatch, caplog):
    monkeypatch.delenv("HARDEN_NOTIFY_TOPIC_ENDPOINT")
    rid = seed_key_vault(emulator, lz, "kv-logonly01", tags={"harden": "off"})
    with caplog.at_level("INFO", logger="remediators.notify"):
        host.deliver(write_event(rid, KV_WRITE))
        host.run_queue()
    assert emulator.notifications == []
    assert any('"reasonCode": "opted-out"' in r.getMessage() for r in caplog.records)


def test_duplicate_deliveries_processed_at_once_create_nothing_twice(host, emulator, lz):
    # At-least-once delivery: two workers may get the same resource at the same moment.
    from concurrent.futures import ThreadPoolExecutor

    from remediators.model import HardenRequest
    from remediators.runtime import engine_for
    from remediators.settings import Settings

    rid = seed_storage_account(emulator, lz, "stdupes01", tags={"harden": "private"})
    engine = engine_for(Settings.from_env())
    request = HardenRequest(rid, "dup-1", "Microsoft.Storage/storageAccounts/write")
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _: engine.evaluate(request), range(2)))
    assert {r.status.value for r in results} <= {"hardened", "skipped"}, results
    network_rg = f"{lz.rg_id(lz.network_rg)}/providers/Microsoft.Network/privateEndpoints/"
    groups = ("blob", "file", "queue", "table", "web")  # a StorageV2 account: web too (services/storage.py)
    for group in groups:
        pe = emulator.get(f"{network_rg}pe-stdupes01-{group}")
        zone_group = emulator.get(f"{network_rg}pe-stdupes01-{group}/privateDnsZoneGroups/default")
        assert len(zone_group["properties"]["privateDnsZoneConfigs"]) == 1
        assert pe["properties"]["privateLinkServiceConnections"][0]["properties"]["groupIds"] == [group]
    connections = emulator.get(rid)["properties"]["privateEndpointConnections"]
    ours = [c for c in connections if "pe-stdupes01-" in c["properties"]["privateEndpoint"]["id"]]
    assert len(ours) == len(groups)
    links = [r for r in emulator.requests if r.method == "PUT" and "virtualNetworkLinks" in r.path]
    assert len({r.path for r in links}) == len(groups), "one link per zone, whatever the duplicates did"
    assert emulator.get(rid)["properties"]["publicNetworkAccess"] == "Disabled"
