"""The timer-triggered sweep, below the host: Resource Graph → claims on Azurite blobs → the work queue."""
from __future__ import annotations

import os

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient

from localdev.seeds import (seed_cosmos_account, seed_key_vault, seed_service_bus_namespace, seed_sql_server,
                            seed_storage_account)
from remediators.events import decode_request
from remediators.sweep import CLAIMS_CONTAINER, SWEEP_EVENT_TYPE
from tests.remediation import deliver

GRAPH = "Microsoft.ResourceGraph/resources"


@pytest.fixture
def sweep_host(host, azurite):
    try:
        BlobServiceClient.from_connection_string(azurite).delete_container(CLAIMS_CONTAINER)
    except ResourceNotFoundError:
        pass
    return host


def queued_ids(messages: list[str]) -> set[str]:
    return {decode_request(m).resource_id for m in messages}


def arm_writes(emulator) -> list:
    return [r for r in emulator.writes() if r.resource_type != GRAPH]


def test_sweep_queues_exactly_what_graph_does_not_show_compliant_and_never_writes(emulator, lz, sweep_host):
    host = sweep_host
    hardened_kv = seed_key_vault(emulator, lz, "kv-sweep-done", tags={"harden": "private"})
    hardened_st = seed_storage_account(emulator, lz, "stsweepdone", tags={"harden": "service-endpoint"})
    hardened_sql = seed_sql_server(emulator, lz, "sql-sweep-done", tags={"harden": "private"})
    for rid, op in ((hardened_kv, "Microsoft.KeyVault/vaults/write"),
                    (hardened_st, "Microsoft.Storage/storageAccounts/write"),
                    (hardened_sql, "Microsoft.Sql/servers/write")):
        assert deliver(host, emulator, rid, op)["status"] == "hardened"
    open_kv = seed_key_vault(emulator, lz, "kv-sweep-open", tags={"harden": "private"})
    open_st = seed_storage_account(emulator, lz, "stsweepopen", tags={"harden": "service-endpoint"})
    open_cosmos = seed_cosmos_account(emulator, lz, "cosmos-sweep-open", tags={"harden": "service-endpoint"})
    untagged = seed_storage_account(emulator, lz, "stsweepuntagged", tags=None)
    seed_key_vault(emulator, lz, "kv-sweep-off", tags={"harden": "off"})
    odd_tag = seed_key_vault(emulator, lz, "kv-sweep-odd", tags={"harden": "maybe"})
    # Its rules live in networkRuleSets/default, which Resource Graph's row does not show: always queued.
    bus = seed_service_bus_namespace(emulator, lz, "sb-sweep", tags={"harden": "service-endpoint"})
    emulator.clear_requests()
    before = len(emulator.notifications)

    messages = host.sweep()

    # The hardened SQL server is queued too: its effective default (the 0.0.0.0 "Allow Azure services" rule)
    # lives in servers/firewallRules, which the row does not show, so the row cannot prove it compliant
    # (remediators/compliance.py); the worker's check then costs one read and writes nothing.
    assert queued_ids(messages) == {open_kv, open_st, open_cosmos, untagged, odd_tag, bus, hardened_sql}
    assert arm_writes(emulator) == []  # the sweep enqueues; only the worker writes
    assert len([r for r in emulator.requests if r.resource_type == GRAPH]) == 1
    assert all(r.resource_type == GRAPH for r in emulator.requests)  # no per-resource GET
    [summary] = [n for n in emulator.notifications[before:] if n["type"] == SWEEP_EVENT_TYPE]
    data = summary["data"]
    assert data["queued"] == 7 and data["alreadyQueued"] == 0 and data["total"] == 10
    assert data["byVerdict"] == {"compliant": 2, "not-compliant": 5, "opted-out": 1, "unknown-tag": 1,
                                 "untagged-public": 1}
    assert data["bySubscription"] == {lz.subscription_id: data["byVerdict"]}

    host.run_queue()  # the worker hardens what needs it, reports the rest
    outcomes = {n["data"]["resourceId"]: n["data"]["status"] for n in emulator.notifications[before:]
                if n["type"] != SWEEP_EVENT_TYPE}
    assert outcomes[open_kv] == outcomes[open_st] == outcomes[open_cosmos] == "hardened"
    assert outcomes[untagged] == "skipped" and outcomes[odd_tag] == "failed"
    assert emulator.get(untagged)["properties"].get("publicNetworkAccess") != "Disabled"  # reported, never changed


def test_a_resource_queued_within_the_window_is_not_queued_again(emulator, lz, sweep_host, monkeypatch):
    untagged = seed_storage_account(emulator, lz, "stsweepdedupe", tags=None)
    assert queued_ids(sweep_host.sweep()) == {untagged}
    assert sweep_host.sweep() == []
    again = [n["data"] for n in emulator.notifications if n["type"] == SWEEP_EVENT_TYPE][-1]
    assert again["queued"] == 0 and again["alreadyQueued"] == 1
    monkeypatch.setenv("HARDEN_SWEEP_DEDUPE_MINUTES", "0")  # the window has passed
    assert queued_ids(sweep_host.sweep()) == {untagged}


def test_untagged_resources_are_not_queued_when_untagged_is_ignore(emulator, lz, sweep_host, monkeypatch):
    seed_storage_account(emulator, lz, "stsweepignored", tags=None)
    monkeypatch.setenv("HARDEN_UNTAGGED", "ignore")
    assert sweep_host.sweep() == []


def test_a_claim_is_written_only_after_its_message_is_queued(emulator, lz, azurite):
    """The queue refuses the third message: the two queued are claimed, nothing else is (issue 16)."""
    from azure.storage.blob import BlobServiceClient

    from remediators.inventory import Scope, list_resources, resource_graph_client
    from remediators.runtime import credential_for
    from remediators.settings import Settings
    from remediators.sweep import BlobClaims, sweep

    ids = sorted((seed_storage_account(emulator, lz, f"stclaim{i:02d}", tags=None) for i in range(5)), key=str.lower)
    settings = Settings.from_env()
    container = BlobServiceClient.from_connection_string(azurite).get_container_client(CLAIMS_CONTAINER)
    try:
        container.delete_container()
    except ResourceNotFoundError:
        pass
    claims = BlobClaims(container, window_minutes=60)
    sent: list[str] = []

    def enqueue(message: str) -> None:
        if len(sent) == 2:
            raise ConnectionError("the queue is unreachable")
        sent.append(message)

    graph = resource_graph_client(credential_for(settings.client_id), endpoint=settings.arm_endpoint)
    with pytest.raises(ConnectionError):
        sweep(list_resources(graph, Scope(subscriptions=(lz.subscription_id,))), settings, claims=claims,
              enqueue=enqueue)
    assert queued_ids(sent) == set(ids[:2])
    assert [claims.is_claimed(rid) for rid in ids] == [True, True, False, False, False]  # no false "queued" mark


def test_a_failed_sweep_still_sends_its_summary_saying_it_failed(emulator, lz, sweep_host):
    from emulator.faults import Fault
    from remediators.sweep import SWEEP_FAILED_EVENT_TYPE

    seed_storage_account(emulator, lz, "stsweepfails", tags=None)
    emulator.faults.add(Fault(method="POST", path_contains="resourcegraph", status=403, code="AuthorizationFailed",
                              message="no access", times=None))
    before = len(emulator.notifications)
    with pytest.raises(Exception) as raised:  # the invocation fails, as the host should record it
        sweep_host.sweep()
    assert getattr(raised.value, "status_code", None) == 403
    [summary] = [n for n in emulator.notifications[before:] if n["type"].startswith("PaasHardener.Sweep")]
    assert summary["type"] == SWEEP_FAILED_EVENT_TYPE
    data = summary["data"]
    assert data["status"] == "failed" and data["queued"] == 0 and "no access" in data["error"]
    assert data["reason"].startswith("the sweep failed after 0 resources")
    assert sweep_host._peek() == []  # nothing queued


def test_a_deleted_endpoint_is_found_by_the_sweep_and_rebuilt(emulator, lz, sweep_host, monkeypatch):
    """Issue 14 item 8: deleting an endpoint that serves a hardened resource raises no event we listen to
    (a delete event names only the endpoint, which can no longer be read to find its target). The sweep
    finds it: the resource's row loses the connection (Private Link removes it with the endpoint), so the
    prefilter no longer proves it served and queues it; the worker builds the endpoint again."""
    from azure.identity import DefaultAzureCredential

    from remediators.arm import ArmClients
    from tests.estate.test_cli import PIPELINE_CLIENT_ID

    host = sweep_host
    vault = seed_key_vault(emulator, lz, "kv-sweep-pe-gone", tags={"harden": "private"})
    assert deliver(host, emulator, vault, "Microsoft.KeyVault/vaults/write")["status"] == "hardened"
    assert host.sweep() == []  # served: nothing to queue
    [endpoint] = [r.path for r in emulator.writes() if r.resource_type == "Microsoft.Network/privateEndpoints"
                  and r.method == "PUT"]
    # Someone deletes our endpoint (a user with rights on the endpoint subnet's resource group).
    remediator = os.environ["AZURE_CLIENT_ID"]
    monkeypatch.setenv("AZURE_CLIENT_ID", PIPELINE_CLIENT_ID)
    pe_rg, pe_name = endpoint.split("/")[4], endpoint.rsplit("/", 1)[1]
    ArmClients(DefaultAzureCredential(), lz.subscription_id, endpoint=emulator.url, polling_interval=0) \
        .network.private_endpoints.begin_delete(pe_rg, pe_name).result()
    monkeypatch.setenv("AZURE_CLIENT_ID", remediator)
    assert queued_ids(host.sweep()) == {vault}
    host.run_queue()
    assert emulator.get(endpoint) is not None  # built again
    assert (emulator.get(vault)["properties"].get("publicNetworkAccess") or "") == "Disabled"


def test_the_sweep_finds_an_open_slot_of_a_hardened_site_and_the_worker_closes_it(emulator, lz, sweep_host,
                                                                                   monkeypatch):
    """Issue 14 item 5: the site was hardened, its untagged slot was not (a tag written on the site re-evaluates
    the site only). The slot's row cannot show its site's tag, so the sweep queues it; the worker hardens it,
    and the next sweep still queues it (rows prove nothing for slots) at the cost of reads, never a write.
    Even with HARDEN_UNTAGGED=ignore: the slot is not untagged, it inherits."""
    from localdev.seeds.web import seed_web_app, seed_web_slot

    monkeypatch.setenv("HARDEN_UNTAGGED", "ignore")
    host = sweep_host
    site = seed_web_app(emulator, lz, "app-sweepslot", tags={"harden": "private"})
    assert deliver(host, emulator, site, "Microsoft.Web/sites/write")["status"] == "hardened"
    slot = seed_web_slot(emulator, lz, site, "staging")
    emulator.clear_requests()
    before = len(emulator.notifications)

    messages = host.sweep()

    assert slot in queued_ids(messages)
    [summary] = [n for n in emulator.notifications[before:] if n["type"] == SWEEP_EVENT_TYPE]
    assert summary["data"]["byVerdict"].get("inherits-tag") == 1
    host.run_queue()
    [outcome] = [n["data"] for n in emulator.notifications[before:]
                 if n["type"] != SWEEP_EVENT_TYPE and n["data"]["resourceId"].lower() == slot.lower()]
    assert (outcome["status"], outcome["tag"]) == ("hardened", {"harden": "private"}), outcome
    assert emulator.get(slot)["properties"]["publicNetworkAccess"] == "Disabled"
