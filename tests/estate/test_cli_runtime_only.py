"""`pip install .` gives the whole CLI (issue 16, item 5): the CLI runs with only what the runtime lock
(requirements.txt, which pyproject's dependencies come from) installs. A subprocess blocks every
third-party module whose distribution is not in the lock (rich, pytest, jsonschema, the storage
test tools...), then runs scan and plan against the emulator."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

from localdev.seeds import seed_key_vault, seed_storage_account
from tests.estate.test_cli import PIPELINE_CLIENT_ID

ROOT = Path(__file__).resolve().parents[2]

BLOCKER = textwrap.dedent("""
    import importlib.abc, importlib.metadata, re, sys
    allowed = {re.sub(r"[-_.]+", "-", n).lower() for n in sys.argv[1].split(",")} | {"paas-hardener"}
    owners = importlib.metadata.packages_distributions()
    blocked = []

    class RuntimeLockOnly(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            top = name.partition(".")[0]
            dists = {re.sub(r"[-_.]+", "-", d).lower() for d in owners.get(top, ())}
            if dists and not dists & allowed:
                blocked.append(top)
                raise ModuleNotFoundError(f"No module named {top!r} (not in the runtime lock)", name=top)
            return None

    sys.meta_path.insert(0, RuntimeLockOnly())
    from remediators.cli import main
    code = main(sys.argv[2:])
    assert "rich" not in sys.modules
    try:  # the blocker works: rich is installed here, and refused
        import rich
    except ModuleNotFoundError:
        pass
    sys.stderr.write("blocked: " + ",".join(sorted(set(blocked))) + "\\n")
    sys.exit(code)
""")


def runtime_lock() -> list[str]:
    names = []
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==", line.strip())
        if match:
            names.append(match.group(1))
    return names


def run_runtime_only(*argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "AZURE_CLIENT_ID": PIPELINE_CLIENT_ID}
    return subprocess.run([sys.executable, "-c", BLOCKER, ",".join(runtime_lock()), *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_pyproject_installs_the_runtime_lock_and_rich_is_not_in_it():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["tool"]["setuptools"]["dynamic"]["dependencies"] == {"file": ["requirements.in"]}
    assert "rich" not in {n.lower() for n in runtime_lock()}


def test_the_cli_runs_with_the_runtime_lock_only(emulator, lz):
    vault = seed_key_vault(emulator, lz, "kv-runtime-only", tags={"harden": "private"})
    seed_storage_account(emulator, lz, "struntimeonly", tags=None)
    scan = run_runtime_only("scan", "--subscription", lz.subscription_id)
    assert scan.returncode == 1, scan.stderr
    assert "rich" in scan.stderr.splitlines()[-1].split(": ")[1].split(",")  # installed here, and refused
    assert "rg-workload/vaults/kv-runtime-only" in scan.stdout and "would-harden" in scan.stdout
    plan = run_runtime_only("plan", vault, "-o", "markdown")
    assert plan.returncode == 1 and "#### Changes, in order" in plan.stdout, plan.stderr
