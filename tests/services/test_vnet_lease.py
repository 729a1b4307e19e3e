"""Two app instances add different service endpoints to one subnet at once: none is lost.

The Network RP does not reliably enforce If-Match on subnet PUTs (Azure/azure-rest-api-specs#6789),
and the emulator ignores it by default; a slow subnet PUT widens the read-merge-write window. Two
real OS processes race; the blob lease per VNet on the app's storage (Azurite) serialises them.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobServiceClient

from emulator import Fault
from emulator.faults import slow_subnet_put
from remediators import vnet_lease
from remediators.arm import ArmClients
from remediators.network import NetworkPlanner
from remediators.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SLOW_PUT_SECONDS = 1.5


def _race(emulator, lz, tmp_path: Path, env: dict[str, str]) -> list[str]:
    """Two processes, Microsoft.KeyVault and Microsoft.Storage, one subnet; returns its endpoints after."""
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    emulator.faults.add(slow_subnet_put(SLOW_PUT_SECONDS))
    workers = [subprocess.Popen([sys.executable, "-m", "tests.services.se_worker", lz.workload_subnet_id, service,
                                 str(barrier), service], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
               for service in ("Microsoft.KeyVault", "Microsoft.Storage")]
    try:
        for worker in workers:
            out, _ = worker.communicate(timeout=120)
            assert worker.returncode == 0, out.decode(errors="replace")[-3000:]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
        emulator.faults.clear()
    return [e["service"] for e in emulator.get(lz.workload_subnet_id)["properties"]["serviceEndpoints"]]


def test_two_instances_adding_endpoints_at_once_keep_both(azurite, emulator, lz, tmp_path):
    before = emulator.get(lz.workload_subnet_id)["properties"]
    services = _race(emulator, lz, tmp_path, {**os.environ, "AzureWebJobsStorage": azurite,
                                              "PYTHONPATH": str(ROOT)})
    assert sorted(services) == ["Microsoft.KeyVault", "Microsoft.Sql", "Microsoft.Storage"], services
    after = emulator.get(lz.workload_subnet_id)["properties"]
    for kept in ("networkSecurityGroup", "routeTable", "delegations"):
        assert after[kept] == before[kept]
    # Released on the way out: the VNet's lease blob is free for the next writer.
    blob = BlobServiceClient.from_connection_string(azurite).get_blob_client(
        vnet_lease.CONTAINER, vnet_lease.blob_name(lz.vnet_id))
    assert blob.get_blob_properties().lease.state == "available"


def test_without_the_lease_the_emulator_loses_an_endpoint(emulator, lz, tmp_path):
    """The race is real: with no AzureWebJobsStorage (in-process lock only) the last writer wins."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AzureWebJobsStorage")}
    services = _race(emulator, lz, tmp_path, {**env, "PYTHONPATH": str(ROOT)})
    assert "Microsoft.Sql" in services
    assert len({"Microsoft.KeyVault", "Microsoft.Storage"} & set(services)) == 1, services


def test_lease_is_released_when_the_subnet_write_fails(azurite, emulator, lz, monkeypatch):
    monkeypatch.setenv("AzureWebJobsStorage", azurite)
    settings = Settings.from_env()
    from azure.identity import DefaultAzureCredential

    credential = DefaultAzureCredential(managed_identity_client_id=settings.client_id)
    planner = NetworkPlanner(lambda sub: ArmClients(credential, sub, endpoint=settings.arm_endpoint,
                                                    polling_interval=0), settings)
    (change,) = planner.plan_service_endpoints("Microsoft.KeyVault", [lz.workload_subnet_id])
    emulator.faults.add(Fault(method="PUT", path_contains="/subnets/", status=400, code="InvalidRequestFormat"))
    try:
        with pytest.raises(HttpResponseError):
            change.apply()
    finally:
        emulator.faults.clear()
    blob = BlobServiceClient.from_connection_string(azurite).get_blob_client(
        vnet_lease.CONTAINER, vnet_lease.blob_name(lz.vnet_id))
    assert blob.get_blob_properties().lease.state == "available"
    change.apply()  # the next writer gets the lease at once
    assert "Microsoft.KeyVault" in [e["service"] for e in emulator.get(lz.workload_subnet_id)["properties"]["serviceEndpoints"]]


def test_lease_is_renewed_while_the_write_runs(azurite):
    """A write (its long-running operation) may outlast the 15 s lease: the holder renews it meanwhile."""
    import time

    container = BlobServiceClient.from_connection_string(azurite).get_container_client(vnet_lease.CONTAINER)
    holder = vnet_lease.VnetLease(container)
    rival = vnet_lease.VnetLease(container, wait_seconds=0)
    vnet_id = "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet-long-write"
    with holder.hold(vnet_id):
        time.sleep(vnet_lease.LEASE_SECONDS + 1.5)  # past the lease's own expiry
        with pytest.raises(vnet_lease.VnetBusy, match="vnet-long-write"):
            with rival.hold(vnet_id):
                pass
    with rival.hold(vnet_id):  # released on the way out: free at once
        pass


def test_a_lease_that_cannot_be_renewed_stops_the_write(azurite):
    """Someone breaks our lease mid-write: renewals fail, and the next write is refused, not sent unguarded."""
    import time

    from azure.storage.blob import BlobLeaseClient

    container = BlobServiceClient.from_connection_string(azurite).get_container_client(vnet_lease.CONTAINER)
    holder = vnet_lease.VnetLease(container, renew_seconds=0.1)
    vnet_id = "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet-broken-lease"
    with holder.hold(vnet_id) as held:
        held.check()  # ours: writing is allowed
        BlobLeaseClient(container.get_blob_client(vnet_lease.blob_name(vnet_id))).break_lease(lease_break_period=0)
        deadline = time.monotonic() + 10
        while not held.lost.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)
        with pytest.raises(vnet_lease.LeaseLost, match="vnet-broken-lease"):
            held.check()


def test_a_lease_not_renewed_within_its_period_less_a_margin_counts_as_lost(azurite):
    """A renewal that hangs (or never runs) must not let a write go out after the lease may have lapsed."""
    container = BlobServiceClient.from_connection_string(azurite).get_container_client(vnet_lease.CONTAINER)
    now = [1000.0]
    # Renewals far apart: none happens in this test, as if each one hung.
    holder = vnet_lease.VnetLease(container, renew_seconds=3600, clock=lambda: now[0])
    vnet_id = "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet-silent-lease"
    with holder.hold(vnet_id) as held:
        now[0] += vnet_lease.LEASE_SECONDS - vnet_lease.LOST_MARGIN_SECONDS - 1
        held.check()  # renewed (acquired) recently enough: writing is allowed
        now[0] += 2
        with pytest.raises(vnet_lease.LeaseLost, match="vnet-silent-lease"):
            held.check()

