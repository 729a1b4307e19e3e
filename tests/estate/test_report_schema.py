"""The CLI's JSON report follows schemas/report.schema.json, for scan, plan and apply (issue 16, item 10)."""
from __future__ import annotations

import io
import json
import os
from pathlib import Path

import jsonschema
import pytest

from localdev.seeds import seed_key_vault, seed_storage_account, seed_web_app
from remediators.cli import main
from remediators.report import SCHEMA_VERSION
from tests.estate.test_cli import PIPELINE_CLIENT_ID

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "report.schema.json").read_text())


@pytest.fixture(autouse=True)
def pipeline_identity(lz, monkeypatch):
    monkeypatch.setenv("AZURE_CLIENT_ID", PIPELINE_CLIENT_ID)


def report(*argv: str) -> tuple[int, dict]:
    out, err = io.StringIO(), io.StringIO()
    code = main([*argv, "-o", "json"], environ=dict(os.environ), stdin=io.StringIO(""), stdout=out, stderr=err)
    assert code in (0, 1), err.getvalue()
    return code, json.loads(out.getvalue())


def test_the_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_scan_plan_and_apply_reports_follow_the_schema(emulator, lz):
    validator = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    vault = seed_key_vault(emulator, lz, "kv-schema", tags={"harden": "private"})
    seed_storage_account(emulator, lz, "stschema01", tags=None)
    seed_web_app(emulator, lz, "app-schema", tags={"harden": "off"})
    runs = [report("scan", "--subscription", lz.subscription_id), report("plan", vault),
            report("plan", "--subscription", lz.subscription_id),
            report("apply", "--subscription", lz.subscription_id, "--yes"),
            report("scan", "--subscription", lz.subscription_id, "--resource-group", "rg-none")]
    for code, document in runs:
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
        assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]
        assert document["schemaVersion"] == SCHEMA_VERSION and document["exitCode"] == code
    assert {r["verdict"] for r in runs[3][1]["resources"]} >= {"hardened", "untagged-public", "opted-out"}
    assert runs[4][1]["resources"] == [] and runs[4][1]["summary"]["total"] == 0


def test_a_report_that_drifts_from_the_schema_fails_validation():
    """The test can fail: an unknown field or a missing schemaVersion is refused."""
    validator = jsonschema.Draft202012Validator(SCHEMA)
    good = {"schemaVersion": SCHEMA_VERSION, "command": "scan", "generatedAt": "2026-01-01T00:00:00+00:00",
            "scope": {"subscriptions": [], "managementGroups": [], "resourceGroup": None, "resourceId": None},
            "exitCode": 0, "resources": [],
            "summary": {"total": 0, "byVerdict": {}, "bySubscription": {}, "taggedNotCompliant": 0, "compliant": True}}
    assert validator.is_valid(good)
    assert not validator.is_valid({**good, "surprise": 1})
    assert not validator.is_valid({k: v for k, v in good.items() if k != "schemaVersion"})
