"""The CLI in a pipeline (issue 16): exit codes, one error line, plan's verdicts, scope checks,
output that agrees with itself, and the polish. Real CLI, real clients, the emulator."""
from __future__ import annotations

import json
import re
import uuid


from localdev.seeds import seed_key_vault, seed_service_bus_namespace, seed_storage_account, seed_web_app
from remediators.runtime import credential_for
from tests.estate.test_cli import PIPELINE_CLIENT_ID, pipeline_identity, run  # noqa: F401 (autouse fixture)

GRAPH = "Microsoft.ResourceGraph/resources"


def assert_one_error_line(code: int, out: str, err: str, *needles: str) -> str:
    """Exit 2, nothing on stdout, one line on stderr that says what, why and what to do."""
    assert code == 2, err
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    assert ";" in lines[0]  # "<what>: <why>; <what to do>"
    for needle in needles:
        assert needle in lines[0], lines[0]
    print(f"exit {code}: {lines[0]}")  # the report's table of error cases is built from these
    return lines[0]


# -- 1, 2: exit codes and one line per failure ------------------------------------
def test_exit_0_when_every_tagged_resource_is_compliant_and_1_with_findings(emulator, lz):
    seed_key_vault(emulator, lz, "kv-exit-codes", tags={"harden": "private"})
    code, _, _ = run("scan", "--subscription", lz.subscription_id, "-o", "json")
    assert code == 1
    code, _, _ = run("apply", "--subscription", lz.subscription_id, "--yes", "-o", "json")
    assert code == 0
    code, _, _ = run("scan", "--subscription", lz.subscription_id, "-o", "json")
    assert code == 0


def test_usage_errors_exit_2_and_name_the_flag(emulator, lz):
    assert_one_error_line(*run("scan"), "--subscription")
    assert_one_error_line(*run("scan", "--subscription", "not-a-guid"), "not a subscription id")
    assert_one_error_line(*run("scan", "--subscription", lz.subscription_id, "--workers", "0"),
                          "--workers", "at least 1")
    assert_one_error_line(*run("scan", "--subscription", lz.subscription_id, "--untagged", "maybe"),
                          "--untagged must be")
    line = assert_one_error_line(*run("scan", "--subscription", lz.subscription_id, "--private-endpoint-subnet-id",
                                      "not-an-id"), "--private-endpoint-subnet-id")
    assert "HARDEN_PRIVATE_ENDPOINT_SUBNET_ID" not in line
    assert_one_error_line(*run("frobnicate"), "invalid choice")
    assert_one_error_line(*run("plan", "/subscriptions/x"), "invalid scope")


def test_no_credential_is_one_line_that_says_what_to_do(emulator, lz, monkeypatch):
    for name in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "MSI_SECRET", "AZURE_CLIENT_SECRET",
                 "AZURE_FEDERATED_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    credential_for.cache_clear()
    try:
        code, out, err = run("scan", "--subscription", lz.subscription_id)
        assert_one_error_line(code, out, err, "no Azure credential", "az login", "AZURE_CLIENT_ID")
        code, out, err = run("scan", "--subscription", lz.subscription_id, "--debug")
        assert code == 2 and "Traceback" in err  # --debug shows where
    finally:
        credential_for.cache_clear()


def test_arm_unreachable_is_one_line(emulator, lz):
    code, out, err = run("scan", "--subscription", lz.subscription_id, "--arm-endpoint", "https://127.0.0.1:9")
    assert_one_error_line(code, out, err, "ARM unreachable at https://127.0.0.1:9", "--arm-endpoint")


def test_a_subscription_that_cannot_be_read_is_an_error_not_an_empty_table(emulator, lz):
    missing = str(uuid.uuid4())
    assert_one_error_line(*run("scan", "--subscription", missing), f"cannot read subscription {missing}",
                          "SubscriptionNotFound")
    outsider = str(uuid.uuid4())
    emulator.assign_role(outsider, ["*/read"], scope=f"/subscriptions/{uuid.uuid4()}")
    try:
        assert_one_error_line(*run("scan", "--subscription", lz.subscription_id, "--client-id", outsider),
                              f"cannot read subscription {lz.subscription_id}", "403 AuthorizationFailed", "Reader")
    finally:
        emulator.unassign_roles(outsider)


def test_a_management_group_that_cannot_be_read_is_an_error(emulator, lz):
    assert_one_error_line(*run("scan", "--management-group", "mg-not-mine"), "cannot read the scope",
                          "mg-not-mine")


def test_a_missing_resource_is_an_error_for_plan_and_apply(emulator, lz):
    missing = lz.id(lz.app_rg, "Microsoft.KeyVault/vaults/kv-typo")
    assert_one_error_line(*run("plan", missing), "resource not found", "kv-typo")
    assert_one_error_line(*run("apply", missing, "--yes"), "resource not found")
    assert_one_error_line(*run("plan", lz.id(lz.app_rg, "Microsoft.Compute/virtualMachines/vm1")),
                          "not a handled resource")


# -- 3: plan shows what it found ----------------------------------------------------
def test_plan_prints_every_verdict_and_reason_in_scans_words(emulator, lz):
    untagged = seed_storage_account(emulator, lz, "stplanuntagged", tags=None)
    legacy = seed_service_bus_namespace(emulator, lz, "sb-plan-legacy", tags={"harden": "private"}, tier="Standard")
    code, text, _ = run("plan", "--subscription", lz.subscription_id)
    _, scan, _ = run("scan", "--subscription", lz.subscription_id, "-o", "json")
    rows = {r["id"]: r for r in json.loads(scan)["resources"]}
    for rid in (untagged, legacy):
        assert f"{rid}  {rows[rid]['verdict']}: {rows[rid]['reason']}" in text
    assert "Nothing to change." in text and code == 1
    code, text, _ = run("plan", legacy)
    assert text.startswith(f"{legacy}  unsupported: ") and code == 1


# -- 4: scope checks -----------------------------------------------------------------
def test_the_subscription_is_read_first_and_an_empty_scope_is_said_in_words(emulator, lz):
    emulator.clear_requests()
    code, out, err = run("scan", "--subscription", lz.subscription_id, "--resource-group", "rg-empty")
    assert code == 0 and "0 resources in scope" in out
    first, *rest = [r for r in emulator.requests]
    assert first.method == "GET" and first.path == f"/subscriptions/{lz.subscription_id}"
    assert [r.resource_type for r in rest] == [GRAPH]
    _, md, _ = run("scan", "--subscription", lz.subscription_id, "--resource-group", "rg-empty", "-o", "markdown")
    assert "0 resources in scope." in md and "|" not in md  # no malformed empty table
    code, js, err = run("scan", "--subscription", lz.subscription_id, "--resource-group", "rg-empty", "-o", "json")
    assert code == 0 and json.loads(js)["resources"] == [] and "0 resources in scope" in err


# -- issue 14 item 7: one resource is read from ARM, never from Resource Graph -------------
def test_plan_and_apply_of_one_id_read_arm_not_resource_graph(emulator, lz):
    vault = seed_key_vault(emulator, lz, "kv-arm-only", tags={"harden": "private"})
    emulator.clear_requests()
    code, out, _ = run("plan", vault, "-o", "json")
    assert code == 1 and json.loads(out)["resources"][0]["verdict"] == "would-harden"
    code, out, _ = run("apply", vault, "--yes", "-o", "json")
    assert code == 0 and json.loads(out)["resources"][0]["verdict"] == "hardened"
    assert [r for r in emulator.requests if r.resource_type == GRAPH] == []  # Graph lags (Azure/azure-dev#540)


# -- 7: output that agrees with itself ------------------------------------------------
def test_exposure_is_labelled_by_source_and_apply_shows_the_state_after(emulator, lz):
    vault = seed_key_vault(emulator, lz, "kv-exposure", tags={"harden": "private"})
    site = seed_web_app(emulator, lz, "app-exposure", tags={"harden": "private"})
    _, out, _ = run("scan", "--subscription", lz.subscription_id, "-o", "json")
    rows = {r["id"]: r for r in json.loads(out)["resources"]}
    assert rows[vault]["exposure"]["source"] == "resourceGraph"
    assert "App Service" in rows[site]["exposure"]["note"]  # Graph cannot show its connections: says so
    _, out, _ = run("plan", vault, "-o", "json")
    [row] = json.loads(out)["resources"]
    assert row["exposure"]["source"] == "arm" and row["exposure"]["publicNetworkAccess"] == "Enabled"
    code, out, _ = run("apply", "--subscription", lz.subscription_id, "--yes", "-o", "json")
    rows = {r["id"]: r for r in json.loads(out)["resources"]}
    assert rows[vault]["verdict"] == "hardened"
    assert rows[vault]["exposure"] == {"source": "arm", "publicNetworkAccess": "Disabled",
                                       "defaultAction": rows[vault]["exposure"]["defaultAction"], "vnetRules": 0,
                                       "privateEndpoints": 1}
    other = seed_key_vault(emulator, lz, "kv-exposure-2", tags={"harden": "private"})
    _, text, _ = run("apply", other, "--yes")
    [line] = [line for line in text.splitlines() if "kv-exposure-2" in line]
    assert "ARM: public Disabled" in line and "hardened" in line


# -- 11: polish ----------------------------------------------------------------------
def test_help_shows_the_exit_codes_and_only_the_flags_of_the_verb(emulator, lz):
    code, out, _ = run("--help")
    assert code == 0 and "exit codes:" in out and "could not judge" in out
    _, scan_help, _ = run("scan", "--help")
    _, apply_help, _ = run("apply", "--help")
    assert "exit codes:" in scan_help
    for flag in ("--subscription-ids", "--sweep-dedupe-minutes", "--dry-run", "--notify-topic-endpoint",
                 "--notify-topic-key", "--max-parallel-changes", "--yes"):
        assert flag not in scan_help, flag
    assert scan_help.count("--subscription ") + scan_help.count("--subscription]") >= 1
    assert "--notify-topic-endpoint" in apply_help and "--yes" in apply_help


def test_apply_logs_no_lease_warning_and_table_lines_do_not_wrap(emulator, lz, monkeypatch):
    from remediators import vnet_lease

    monkeypatch.delenv("AzureWebJobsStorage", raising=False)
    vnet_lease._lease_for.cache_clear()  # the warning is logged once per process: make it due again
    seed_storage_account(emulator, lz, "stnowrap" + "x" * 10, tags={"harden": "service-endpoint"})
    code, out, err = run("apply", "--subscription", lz.subscription_id, "--yes")
    assert "AzureWebJobsStorage" not in err and code == 0
    rows = [line for line in out.splitlines() if "storageAccounts" in line]
    assert len(rows) == 1 and "rg-workload/storageAccounts/stnowrapxxxxxxxxxx" in rows[0]  # one line, whole


def test_flag_and_environment_errors_name_their_source(emulator, lz, monkeypatch):
    monkeypatch.setenv("HARDEN_UNTAGGED", "maybe")
    line = assert_one_error_line(*run("scan", "--subscription", lz.subscription_id))
    assert "HARDEN_UNTAGGED" in line and "--untagged" not in line


def test_no_error_output_carries_ansi_or_wraps(emulator, lz):
    code, out, err = run("plan", lz.id(lz.app_rg, "Microsoft.KeyVault/vaults/" + "k" * 24))
    assert code == 2 and not re.search(r"\x1b\[", err) and err.count("\n") == 1


