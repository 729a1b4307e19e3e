"""The Functions app as the host indexes it, and the files users of Functions expect."""
from __future__ import annotations

import json
from pathlib import Path

from localdev.host import _functions_of

ROOT = Path(__file__).resolve().parent.parent


def bindings():
    import function_app

    return {name: {b.type: b for b in f.get_bindings()} for name, f in _functions_of(function_app.app).items()}


def test_two_functions_wired_through_one_queue():
    functions = bindings()
    assert {"on_resource_event", "on_queued_resource_event", "harden_resource", "sweep_estate"} <= set(functions)
    trigger, output = functions["on_resource_event"]["eventGridTrigger"], functions["on_resource_event"]["queue"]
    worker = functions["harden_resource"]["queueTrigger"]
    assert trigger.name == "event"
    assert output.queue_name == worker.queue_name == "harden-requests"
    assert output.connection == worker.connection == "AzureWebJobsStorage"


def test_the_sweep_runs_daily_by_default_and_only_enqueues():
    sweep = bindings()["sweep_estate"]
    # No output binding: the sweep sends to the work queue itself, so that it claims a resource only
    # after its message is queued (remediators/sweep.py); no ARM output: the worker stays the one writer.
    assert set(sweep) == {"timerTrigger"}
    timer = sweep["timerTrigger"]
    assert timer.schedule == "0 30 3 * * *" and not timer.run_on_startup
    import function_app

    assert function_app.QUEUE_NAME == bindings()["harden_resource"]["queueTrigger"].queue_name


def test_host_json_uses_the_v4_bundle_and_poisons_after_retries():
    host = json.loads((ROOT / "host.json").read_text())
    assert host["extensionBundle"] == {"id": "Microsoft.Azure.Functions.ExtensionBundle", "version": "[4.*, 5.0.0)"}
    assert host["extensions"]["queues"]["maxDequeueCount"] >= 1


def test_requirements_leave_the_worker_to_the_host():
    lines = [l.split("#")[0].strip().lower() for l in (ROOT / "requirements.txt").read_text().splitlines()]
    packages = {l.split(">")[0].split("=")[0].split("<")[0] for l in lines if l}
    assert "azure-functions" in packages and "azure-functions-worker" not in packages


def test_deployment_package_excludes_development_files():
    ignored = set((ROOT / ".funcignore").read_text().split())
    assert {"tests", "emulator", "localdev", "local.settings.json", ".venv"} <= ignored
    assert "local.settings.json" in (ROOT / ".gitignore").read_text().split()


def test_example_settings_name_every_setting_the_app_reads():
    from remediators.settings import _KEYS

    example = json.loads((ROOT / "local.settings.example.json").read_text())["Values"]
    app_service_provided = {"WEBSITE_SITE_NAME", "WEBSITE_RESOURCE_GROUP", "WEBSITE_OWNER_NAME",
                            "AzureWebJobsStorage__accountName", "HARDEN_NOTIFY_TOPIC_KEY",
                            "HARDEN_POLL_INTERVAL_SECONDS"}
    assert set(_KEYS) - app_service_provided <= set(example)
    readme = (ROOT / "README.md").read_text()
    assert all(key in readme for key in _KEYS if key.startswith(("HARDEN_", "AZURE_")))
