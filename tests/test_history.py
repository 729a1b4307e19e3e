"""The change history (issue 17): every outcome that changed something is written durably, keyed by resource."""
from __future__ import annotations

import datetime as dt
import io
import json
import os

from azure.data.tables import TableServiceClient

from localdev.seeds import seed_key_vault
from remediators import history
from remediators.cli import main
from tests.remediation import deliver

VAULT_WRITE = "Microsoft.KeyVault/vaults/write"


def _read_back(resource_id: str) -> list[dict]:
    """A new client, as a new process would build it: nothing of the writer's is reused."""
    service = TableServiceClient.from_connection_string(os.environ["AzureWebJobsStorage"])
    return history.History(service.get_table_client(history.TABLE)).list_for(resource_id)


def test_a_hardening_is_recorded_with_its_before_states_and_survives_a_restart(emulator, lz, host):
    vault = seed_key_vault(emulator, lz, "kv-history", tags={"harden": "service-endpoint"})
    assert deliver(host, emulator, vault, VAULT_WRITE)["status"] == "hardened"  # delivered twice: settles
    history._history_for.cache_clear()  # a process restart: the next reader builds everything anew
    timeline = _read_back(vault)
    assert [e["status"] for e in timeline] == ["hardened"], "the settle pass (already-compliant) is not recorded"
    [entry] = timeline
    assert entry["resourceId"] == vault and entry["trigger"]["operationName"] == VAULT_WRITE
    assert dt.datetime.fromisoformat(entry["time"]) <= dt.datetime.now(dt.timezone.utc)
    firewall = [c for c in entry["changes"] if c["target"].lower() == vault.lower()]
    assert firewall and firewall[0]["before"], entry["changes"]
    # The before-state is the resource's as it was (seeded without networkAcls: Allow, no rules).
    assert firewall[0]["before"] == {"networkAcls.defaultAction": "Allow", "networkAcls.virtualNetworkRules": []}


def test_the_cli_prints_the_timeline(emulator, lz, host):
    vault = seed_key_vault(emulator, lz, "kv-history-cli", tags={"harden": "private"})
    assert deliver(host, emulator, vault, VAULT_WRITE)["status"] == "hardened"
    out, err = io.StringIO(), io.StringIO()
    assert main(["history", vault, "-o", "json"], environ=dict(os.environ), stdout=out, stderr=err) == 0, err.getvalue()
    document = json.loads(out.getvalue())
    assert document["schemaVersion"] == "1.0" and document["timeline"][0]["status"] == "hardened"
    out = io.StringIO()
    assert main(["history", vault], environ=dict(os.environ), stdout=out, stderr=io.StringIO()) == 0
    assert "hardened" in out.getvalue() and "before:" in out.getvalue() and "after:" in out.getvalue()


def test_the_cli_without_a_history_store_says_so_and_exits_2(lz):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AzureWebJobsStorage")}
    err = io.StringIO()
    assert main(["history", lz.resource_id("Microsoft.KeyVault/vaults/kv-x")], environ=env, stdout=io.StringIO(),
                stderr=err) == 2
    assert err.getvalue().startswith("error: no change history to read") and len(err.getvalue().splitlines()) == 1


def test_a_broken_history_store_never_changes_the_outcome(emulator, lz, host, monkeypatch):
    # A table endpoint nobody listens on: every history write fails (after the SDK's retries).
    broken = os.environ["AzureWebJobsStorage"].split("TableEndpoint=")[0] + \
        "TableEndpoint=http://127.0.0.1:9/devstoreaccount1;"
    history._history_for.cache_clear()
    monkeypatch.setattr(history, "_history_for", lambda values: history.History(
        TableServiceClient.from_connection_string(broken, retry_total=0).get_table_client(history.TABLE)))
    failures = history.write_failures
    vault = seed_key_vault(emulator, lz, "kv-history-broken", tags={"harden": "private"})
    assert deliver(host, emulator, vault, VAULT_WRITE)["status"] == "hardened"
    assert history.write_failures > failures
    assert emulator.get(vault)["properties"]["publicNetworkAccess"] == "Disabled"


def test_retention_deletes_the_partitions_old_rows(azurite):
    from remediators.model import Outcome, Status

    service = TableServiceClient.from_connection_string(azurite)
    now = [dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)]
    store = history.History(service.get_table_client(history.TABLE), retention_days=30, now=lambda: now[0])
    rid = "/subscriptions/x/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-retention"
    outcome = Outcome(Status.FAILED, rid, "arm-error", "boom")
    store.record(outcome)
    now[0] += dt.timedelta(days=31)
    store.record(outcome)
    assert len(store.list_for(rid)) == 1
