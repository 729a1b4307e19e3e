"""Benchmark: what a break-glass revert costs, in ARM calls, per service and mode.

For one resource per service and mode: harden it through the engine (history in Azurite), then
`paas-hardener revert --yes --remove-created` as the engine runs it (remediators/revert.py), and count the
revert's ARM reads, writes and LRO polls from the emulator's request log; then a second revert, which must
write nothing.

Run: `make bench` (or `.venv/bin/python benchmarks/bench_revert.py`). Prints figures; asserts nothing.
"""
from __future__ import annotations

import os
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from emulator import Emulator  # noqa: E402
from localdev.azurite import running_azurite  # noqa: E402
from localdev.landing_zone import seed_network  # noqa: E402
from localdev.seeds import DEMO_RESOURCES  # noqa: E402
from remediators.history import history_from_environment  # noqa: E402
from remediators.model import HardenRequest  # noqa: E402
from remediators.runtime import engine_for  # noqa: E402
from remediators.settings import Settings  # noqa: E402


def main() -> None:
    import logging
    logging.disable(logging.CRITICAL)
    with Emulator.start() as emu, running_azurite() as storage:
        lz = seed_network(emu)
        os.environ.update({**emu.env(), **lz.settings(), "AZURE_RESOURCE_MANAGER_ENDPOINT": emu.url,
                           "AzureWebJobsStorage": storage, "HARDEN_POLL_INTERVAL_SECONDS": "0"})
        engine = engine_for(Settings.from_env())
        history = history_from_environment()
        print("Revert with --remove-created, per resource (ARM calls from the emulator's request log; polls apart):")
        print(f"  {'resource':<40} {'mode':<17} {'hardening':>9} {'steps':>5} {'reads':>5} {'writes':>6} "
              f"{'polls':>5} {'wall ms':>8}   second revert")
        one_per_type = {r.operation: r for r in reversed(DEMO_RESOURCES) if r.tags and not r.options}
        for index, (seed, name, _, operation, _) in enumerate(reversed(one_per_type.values())):
            for mode in ("private", "service-endpoint"):
                rid = seed(emu, lz, f"{name[:14]}{mode[:2]}{index}", tags={"harden": mode})
                hardened = engine.handle(HardenRequest(rid, f"bench-revert-{index}-{mode}", operation))
                emu.clear_requests()
                started = time.perf_counter()
                reverted = engine.revert(rid, history=history, apply=True, remove_created=True)
                wall = (time.perf_counter() - started) * 1000
                calls = Counter("poll" if r.is_lro_poll else ("read" if r.method == "GET" else "write")
                                for r in emu.arm_calls())
                emu.clear_requests()
                again = engine.revert(rid, history=history, apply=True, remove_created=True)
                second = sum(1 for r in emu.arm_calls() if r.method != "GET")
                kind = rid.split("/providers/", 1)[1].rsplit("/", 1)[0]
                print(f"  {kind:<40} {mode:<17} {len(hardened.changes):>9} {len(reverted.changes):>5} "
                      f"{calls['read']:>5} {calls['write']:>6} {calls['poll']:>5} {wall:>8.1f}   "
                      f"{again.reason_code}, {second} writes  [{reverted.status.value}]")


if __name__ == "__main__":
    main()
