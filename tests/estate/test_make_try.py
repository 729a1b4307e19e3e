"""`make try` (issue 16, item 6): the emulator with the demo landing zone, and exports that work as printed."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_make_try_prints_exports_that_point_the_cli_at_the_demo_estate():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^try: setup\n\t\$\(PY\) -m localdev.try_cli$", makefile, re.MULTILINE)
    server = subprocess.Popen([sys.executable, "-m", "localdev.try_cli", "--seconds", "60"], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        exports: dict[str, str] = {}
        for line in server.stdout:
            if line.startswith("export "):
                name, _, value = line[len("export "):].strip().partition("=")
                exports[name] = shlex.split(value)[0]
            if line.startswith("# then"):
                break
        assert {"IDENTITY_ENDPOINT", "IDENTITY_HEADER", "REQUESTS_CA_BUNDLE", "AZURE_RESOURCE_MANAGER_ENDPOINT",
                "HARDEN_SUBSCRIPTION_IDS", "HARDEN_PRIVATE_ENDPOINT_SUBNET_ID"} <= set(exports)
        # A fresh shell: only PATH/HOME and the printed exports.
        env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **exports}
        scan = subprocess.run([sys.executable, "-m", "remediators", "scan", "--subscription",
                               exports["HARDEN_SUBSCRIPTION_IDS"]], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)
        assert scan.returncode == 1, scan.stderr  # the demo estate has findings
        assert "kv-lz-payments" in scan.stdout and "would-harden" in scan.stdout and scan.stderr == ""
    finally:
        server.terminate()
        server.wait(timeout=10)
