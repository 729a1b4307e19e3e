"""scan / plan / apply through the real CLI, Resource Graph client and engine, against the emulator."""
from __future__ import annotations

import io
import json
import os
from typing import Any

import pytest

from emulator import Emulator
from localdev.landing_zone import LandingZone
from localdev.seeds import DEMO_RESOURCES, MANUAL_APPROVAL, seed_key_vault, seed_storage_account
from remediators.cli import main


# The pipeline's identity (a platform team's service connection): Reader on the estate plus what apply
# writes. Unassigned in the emulator, so unrestricted; tests that need a refusal assign it a role.
PIPELINE_CLIENT_ID = "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"


@pytest.fixture(autouse=True)
def pipeline_identity(lz: LandingZone, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AZURE_CLIENT_ID", PIPELINE_CLIENT_ID)
    return PIPELINE_CLIENT_ID


def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), environ=dict(os.environ), stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def estate(emulator: Emulator, lz: LandingZone) -> dict[str, str]:
    """Every demo resource (one per type, an untagged one, an unsupported tier), by name."""
    seeded = {}
    for seed, name, tags, _, options in DEMO_RESOURCES:
        seeded[name] = seed(emulator, lz, name, tags=tags, **{k: v for k, v in options.items() if k != MANUAL_APPROVAL})
        if options.get(MANUAL_APPROVAL):
            emulator.require_manual_approval(seeded[name])
    return seeded


def by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in report["resources"]}


def test_scan_json_lists_every_resource_with_the_engine_verdict_and_writes_nothing(emulator, lz, estate):
    emulator.clear_requests()
    code, out, err = run("scan", "--subscription", lz.subscription_id, "--output", "json")
    assert code != 2, err
    report = json.loads(out)  # stdout is the JSON document and nothing else
    rows = by_name(report)
    assert set(rows) == set(estate)
    assert rows["kv-lz-payments"]["verdict"] == "would-harden"
    changes = rows["kv-lz-payments"]["changes"]
    assert {"private_endpoint", "private_dns_zone_group"} <= {c["phase"] for c in changes}
    assert changes[-1]["phase"] == "public_access"  # the plan, in the engine's order: public access last
    assert [c["step"] for c in changes] == list(range(1, len(changes) + 1))
    assert all(s < c["step"] for c in changes for s in c["runsAfter"])
    assert rows["stlzscratch01"]["verdict"] == "untagged-public" and rows["stlzscratch01"]["tag"] is None
    assert rows["sb-lz-legacy"]["verdict"] == "unsupported"
    assert rows["kv-lz-payments"]["exposure"]["publicNetworkAccess"] == "Enabled"
    summary = report["summary"]
    assert summary["total"] == len(estate)
    assert summary["bySubscription"] == {lz.subscription_id: summary["byVerdict"]}
    assert summary["byVerdict"]["would-harden"] == len(estate) - 2 and summary["compliant"] is False  # all but two
    assert code == 1
    assert emulator.writes() == [r for r in emulator.writes() if r.resource_type == "Microsoft.ResourceGraph/resources"]
    graph_calls = [r for r in emulator.requests if r.resource_type == "Microsoft.ResourceGraph/resources"]
    assert len(graph_calls) == 1 and graph_calls[0].body["options"]["$top"] == 1000


def test_plan_shows_the_changes_in_order_before_and_after_and_writes_nothing(emulator, lz, estate):
    vault = estate["kv-lz-payments"]
    emulator.clear_requests()
    code, out, _ = run("plan", vault, "--output", "json")
    [row] = json.loads(out)["resources"]
    last = row["changes"][-1]
    assert last["before"] == {"publicNetworkAccess": "Enabled", "networkAcls.defaultAction": "Allow"} or \
        last["before"]["publicNetworkAccess"] == "Enabled"
    assert last["after"]["publicNetworkAccess"] == "Disabled"
    assert not [r for r in emulator.writes() if r.resource_type != "Microsoft.ResourceGraph/resources"]
    assert code == 1
    code, text, _ = run("plan", vault)
    assert "before:" in text and "after:" in text and "public_access" in text


def test_apply_asks_first_and_without_yes_writes_nothing(emulator, lz, estate):
    emulator.clear_requests()
    code, _, err = run("apply", estate["kv-lz-payments"], "--output", "json", stdin="no\n")
    assert code == 1 and "Nothing applied" in err
    assert not [r for r in emulator.writes() if r.resource_type != "Microsoft.ResourceGraph/resources"]


def test_apply_hardens_publishes_and_a_second_scan_is_compliant(emulator, lz):
    vault = seed_key_vault(emulator, lz, "kv-cli-apply", tags={"harden": "private"})
    account = seed_storage_account(emulator, lz, "stcliapply01", tags={"harden": "service-endpoint"})
    code, out, _ = run("apply", "--subscription", lz.subscription_id, "--yes", "--output", "json")
    rows = by_name(json.loads(out))
    assert rows["kv-cli-apply"]["verdict"] == "hardened" and rows["stcliapply01"]["verdict"] == "hardened"
    assert code == 0
    published = {n["data"]["resourceId"]: n["data"]["status"] for n in emulator.notifications}
    assert published == {vault: "hardened", account: "hardened"}
    assert emulator.get(vault)["properties"]["publicNetworkAccess"] == "Disabled"
    emulator.clear_requests()
    code, out, _ = run("scan", "--subscription", lz.subscription_id, "-o", "json")
    assert {r["verdict"] for r in json.loads(out)["resources"]} == {"compliant"} and code == 0
    assert not [r for r in emulator.writes() if r.resource_type != "Microsoft.ResourceGraph/resources"]


def test_scan_by_management_group_and_resource_group(emulator, lz, estate):
    emulator.management_groups["mg-landing-zones"] = [lz.subscription_id]
    try:
        code, out, _ = run("scan", "--management-group", "mg-landing-zones", "-o", "json")
        assert {r["name"] for r in json.loads(out)["resources"]} == set(estate)
        code, out, _ = run("scan", "--subscription", lz.subscription_id, "--resource-group", "rg-elsewhere",
                           "-o", "json")
        assert json.loads(out)["resources"] == [] and code == 0
    finally:
        emulator.management_groups.clear()


def test_markdown_output_has_a_table_and_a_summary(emulator, lz, estate):
    _, out, _ = run("scan", "--subscription", lz.subscription_id, "-o", "markdown")
    assert "| subscription | resource | type | tag | exposure | verdict |" in out
    assert f"| {lz.subscription_id} |" in out and "#### Changes, in order" in out


def test_settings_flags_override_the_environment(emulator, lz, estate):
    code, out, _ = run("scan", "--subscription", lz.subscription_id, "-o", "json",
                       "--service-endpoint-subnet-ids", "")
    rows = by_name(json.loads(out))
    assert rows["stlzorders01"]["reasonCode"] == "setting-missing"


def test_bad_scope_is_a_clear_error(emulator, lz):
    code, out, err = run("scan", "--subscription", "not-a-guid")
    assert code == 2 and out == "" and "not a subscription id" in err


def test_console_entry_point_is_the_cli():
    import importlib
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())["project"]
    module, _, name = project["scripts"]["paas-hardener"].partition(":")
    assert getattr(importlib.import_module(module), name) is main


def test_scan_agrees_with_the_worker_on_every_demo_resource(emulator, lz, estate, host):
    """Issue 14: one definition. What scan predicts for each demo resource (its App Service slot included) is what
    the worker then does, and after the worker every resource it hardened scans as compliant."""
    from emulator.events import write_event
    from localdev.seeds import DEMO_RESOURCES

    code, out, err = run("scan", "--subscription", lz.subscription_id, "--output", "json")
    predicted = {name: row["verdict"] for name, row in by_name(json.loads(out)).items()}
    assert predicted["staging"] == "would-harden", "the untagged slot follows its site's harden=private"
    for demo in DEMO_RESOURCES:
        host.deliver(write_event(estate[demo.name], demo.operation))
    host.run_queue()
    did = {}
    for note in emulator.notifications:
        data = note["data"]
        name = next((n for n, rid in estate.items() if rid.lower() == str(data.get("resourceId")).lower()), None)
        if name is not None:
            did[name] = data
    assert set(did) == set(estate), set(estate) - set(did)
    for name, verdict in predicted.items():
        status, reason = did[name]["status"], did[name]["reasonCode"]
        if verdict == "would-harden":
            assert status in ("hardened", "pending"), (name, did[name])
        elif verdict == "unsupported":
            assert status == "unsupported", (name, did[name])
        else:
            assert reason == verdict, (name, verdict, did[name])
    code, out, err = run("scan", "--subscription", lz.subscription_id, "--output", "json")
    after = {name: row["verdict"] for name, row in by_name(json.loads(out)).items()}
    hardened = sorted(n for n, d in did.items() if d["status"] == "hardened")
    assert "staging" in hardened and all(after[n] == "compliant" for n in hardened), after
