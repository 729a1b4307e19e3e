"""``make demo`` says when the worker failed, and exits non-zero (issue 7, "The demo shows errors")."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from localdev.host import Delivery
from localdev.report import render_worker_errors
from remediators.settings import SettingsError

ROOT = Path(__file__).resolve().parent.parent


def test_worker_errors_are_rendered_once_each_with_their_fate():
    error = SettingsError("HARDEN_DRY_RUN must be true or false, got 'maybe'")
    text = render_worker_errors([Delivery("m1", 1, error), Delivery("m1", 5, error, poisoned=True),
                                 Delivery("m2", 1)])
    assert text.count("WORKER ERROR") == 1
    assert "SettingsError: HARDEN_DRY_RUN must be true or false, got 'maybe'" in text
    assert "raised 2 time(s), 1 message(s) moved to the poison queue" in text
    assert render_worker_errors([Delivery("m2", 1)]) == ""


def test_a_bad_setting_makes_the_demo_print_it_and_fail():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HARDEN_", "WEBSITE_", "AZURE_"))}
    env["HARDEN_DRY_RUN"] = "maybe"
    run = subprocess.run([sys.executable, "-m", "demo"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode != 0, run.stdout[-2000:]
    assert "HARDEN_DRY_RUN must be true or false, got 'maybe'" in run.stderr, run.stderr[-2000:]
