"""The plan graph's safety rules hold when its changes run at once (issue "Shortest exposure window").

The emulator gives every long-running operation a random duration, so the
order in which branches finish changes from run to run; the request log's
``started_at``/``completed_at`` show what ran while what was still going.
"""
from __future__ import annotations

import random
from typing import Any

import pytest

from emulator import Fault
from localdev.seeds.sql import seed_sql_server
from localdev.seeds.storage import seed_storage_account
from tests.remediation import deliver, outcomes

RUNS = 12


def _randomise(emulator: Any, seed: int) -> None:
    emulator.timing.scale = 0.001  # one Azure second is 1 ms here
    emulator.timing.jitter = 0.95  # each operation takes 5 % to 195 % of its usual time
    emulator.timing.rng = random.Random(seed)


def _assert_safe_order(emulator: Any, resource_id: str) -> None:
    writes = [r for r in emulator.writes() if r.status < 400]
    endpoints = [r for r in writes if r.resource_type == "Microsoft.Network/privateEndpoints"]
    groups = [r for r in writes if r.resource_type == "Microsoft.Network/privateEndpoints/privateDnsZoneGroups"]
    dns = [r for r in writes if r.resource_type.startswith("Microsoft.Network/privateDnsZones")]
    own = [r for r in writes if r.path.lower().startswith(resource_id.lower())]
    assert endpoints and groups and own
    for endpoint in endpoints:
        assert all(d.completed_at <= endpoint.started_at for d in dns), "an endpoint started before its DNS was done"
    for group in groups:
        mine = [e for e in endpoints if group.path.lower().startswith(e.path.lower() + "/")]
        assert mine and all(e.completed_at <= group.started_at for e in mine), "zone group before its endpoint"
    first_own = min(r.started_at for r in own)
    assert all(r.completed_at <= first_own for r in endpoints + groups), \
        "the resource was locked down before every endpoint and zone group had succeeded"


@pytest.mark.parametrize("seed", range(RUNS))
def test_public_access_goes_last_whatever_order_the_branches_finish_in(host, emulator, lz, seed):
    _randomise(emulator, seed)
    storage = seed_storage_account(emulator, lz, f"stconc{seed:02d}", tags={"harden": "private"})
    assert deliver(host, emulator, storage, "Microsoft.Storage/storageAccounts/write")["status"] == "hardened"
    _assert_safe_order(emulator, storage)

    emulator.clear_requests()
    sql = seed_sql_server(emulator, lz, f"sql-conc{seed:02d}", tags={"harden": "private"})
    assert deliver(host, emulator, sql, "Microsoft.Sql/servers/write")["status"] == "hardened"
    _assert_safe_order(emulator, sql)


def test_independent_branches_overlap_and_one_at_a_time_does_not(host, emulator, lz, monkeypatch):
    emulator.timing.scale = 0.005

    def overlapping(requests: list[Any]) -> bool:
        spans = sorted((r.started_at, r.completed_at) for r in requests)
        return any(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:]))

    parallel = seed_storage_account(emulator, lz, "stpar01", tags={"harden": "private"})
    deliver(host, emulator, parallel, "Microsoft.Storage/storageAccounts/write")
    endpoints = [r for r in emulator.writes() if r.resource_type == "Microsoft.Network/privateEndpoints"]
    assert len(endpoints) == 5  # StorageV2: blob, file, queue, table, web
    # Endpoints to one account go one at a time (remediators/private_link.py), each zone group alongside the next.
    assert not overlapping(endpoints)
    assert overlapping([r for r in emulator.writes() if r.status < 400 and not r.is_lro_poll])

    monkeypatch.setenv("HARDEN_MAX_PARALLEL_CHANGES", "1")
    emulator.clear_requests()
    serial = seed_storage_account(emulator, lz, "stser01", tags={"harden": "private"})
    deliver(host, emulator, serial, "Microsoft.Storage/storageAccounts/write")
    assert not overlapping([r for r in emulator.writes() if r.status < 400 and not r.is_lro_poll])


def test_a_failed_branch_leaves_public_access_on_and_reports_the_rest(host, emulator, lz):
    _randomise(emulator, 7)
    rid = seed_storage_account(emulator, lz, "stbranch01", tags={"harden": "private"})
    # The last endpoint of the account's chain (endpoints to one account go one after the other).
    emulator.faults.add(Fault(method="PUT", path_contains="privateEndpoints/pe-stbranch01-web", status=400,
                              code="PrivateEndpointCreationNotAllowed", message="denied for this test",
                              times=None))
    from emulator.events import write_event

    host.deliver(write_event(rid, "Microsoft.Storage/storageAccounts/write"))
    host.run_queue()
    outcome = outcomes(emulator)[-1]
    assert (outcome["status"], outcome["reasonCode"]) == ("failed", "rejected-by-arm"), outcome
    assert "pe-stbranch01-web" in outcome["reason"]
    made = {c["target"].rsplit("/", 1)[-1] for c in outcome["changes"] if c["phase"] == "private_endpoint"}
    assert made == {"pe-stbranch01-blob", "pe-stbranch01-file", "pe-stbranch01-queue", "pe-stbranch01-table"}
    not_done = {(n["phase"], n["target"].rsplit("/", 1)[-1]) for n in outcome["notDone"]}
    assert ("private_endpoint", "pe-stbranch01-web") in not_done
    assert ("public_access", "stbranch01") in not_done
    assert all(n["why"] for n in outcome["notDone"])
    assert emulator.get(rid)["properties"].get("publicNetworkAccess", "Enabled") == "Enabled"
    assert emulator.get(rid)["properties"]["networkAcls"]["defaultAction"] == "Allow"
    # Steps are numbered and say what they wait for.
    public = next(n for n in outcome["notDone"] if n["phase"] == "public_access")
    assert public["step"] == max(c["step"] for c in outcome["changes"] + outcome["notDone"])
    assert len(public["runsAfter"]) == public["step"] - 1
