"""Benchmark: what an event costs, in trigger microseconds and ARM calls.

Plays a mix of events through the real code against the local emulator:
- out of scope (wrong type, unhandled operation, other subscription, malformed):
  trigger time per event, and ARM calls (target: 0, under 50 µs);
- compliant resources, one per service: ARM calls per check (target for Key
  Vault and Storage: exactly one GET);
- resources needing hardening, one per service and mode: reads, writes (target:
  no more than the plan's changes), LRO polls, wall time.

Run: `make bench` (or `.venv/bin/python benchmarks/bench_events.py`). Prints figures; asserts nothing.
"""
from __future__ import annotations

import os
import statistics
import sys
import time
import timeit
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from emulator import Emulator  # noqa: E402
from emulator.events import write_event  # noqa: E402
from localdev.landing_zone import seed_network  # noqa: E402
from localdev.seeds import DEMO_RESOURCES  # noqa: E402
from localdev.host import Out as _Out, to_function_event  # noqa: E402
from remediators.model import HardenRequest  # noqa: E402
from remediators.runtime import engine_for  # noqa: E402
from remediators.settings import Settings  # noqa: E402


def trigger_figures(sub: str) -> None:
    vault = f"/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1"
    cases = {
        "wrong event type": {**write_event(vault, "Microsoft.KeyVault/vaults/write"),
                             "eventType": "Microsoft.Resources.ResourceDeleteSuccess"},
        "unhandled operation": write_event(vault.replace("KeyVault/vaults/kv1", "Compute/virtualMachines/vm1"),
                                           "Microsoft.Compute/virtualMachines/write"),
        "other subscription": write_event(vault.replace(sub, "00000000-0000-0000-0000-000000000000"),
                                          "Microsoft.KeyVault/vaults/write"),
        "malformed subject": write_event(vault + "/../../etc", "Microsoft.KeyVault/vaults/write"),
        "in scope (queued)": write_event(vault, "Microsoft.KeyVault/vaults/write"),
    }
    import function_app

    trigger = next(f for f in function_app.app.get_functions()
                   if f.get_function_name() == "on_resource_event").get_user_function()
    print("Event Grid trigger, the decorated function as the worker calls it (EventGridEvent in,")
    print("queue output binding out): µs per event, median of 7 runs of 2,000")
    for label, event in cases.items():
        function_event = to_function_event(event)
        out = _Out()
        runs = timeit.repeat(lambda e=function_event, o=out: trigger(event=e, requests=o), number=2000, repeat=7)
        print(f"  {label:<22} {statistics.median(runs) / 2000 * 1e6:7.1f} µs   "
              f"{'enqueued' if out.value else 'dropped'}")


def main() -> None:
    import logging
    logging.disable(logging.CRITICAL)
    with Emulator.start() as emu:
        lz = seed_network(emu)
        os.environ.update({**emu.env(), **lz.settings(), "AZURE_RESOURCE_MANAGER_ENDPOINT": emu.url,
                           "HARDEN_NOTIFY_TOPIC_ENDPOINT": emu.topic_endpoint,
                           "HARDEN_POLL_INTERVAL_SECONDS": "0"})
        settings = Settings.from_env()
        emu.clear_requests()
        trigger_figures(lz.subscription_id)
        print(f"  ARM calls made by the trigger for all of the above: {len(emu.requests)}\n")

        engine = engine_for(settings)
        print("Worker, per resource (ARM calls counted from the emulator's request log; polls apart;")
        print("the first row includes the managed-identity sign-in and client start-up):")
        print(f"  {'resource':<40} {'mode':<17} {'plan':>4} {'reads':>5} {'writes':>6} {'polls':>5} "
              f"{'wall ms':>8}   compliant re-check")
        one_per_type = {r.operation: r for r in reversed(DEMO_RESOURCES) if r.tags and not r.options}
        for index, (seed, name, _, operation, _) in enumerate(reversed(one_per_type.values())):
            for mode in ("private", "service-endpoint"):
                rid = seed(emu, lz, f"{name[:14]}{mode[:2]}{index}", tags={"harden": mode})
                request = HardenRequest(rid, f"bench-{index}-{mode}", operation)
                emu.clear_requests()
                started = time.perf_counter()
                outcome = engine.handle(request)
                wall = (time.perf_counter() - started) * 1000
                calls = Counter("poll" if r.is_lro_poll else ("read" if r.method == "GET" else "write")
                                for r in emu.requests)
                emu.clear_requests()
                recheck = engine.handle(request)
                again = Counter(r.method for r in emu.arm_calls())
                kind = rid.split("/providers/", 1)[1].rsplit("/", 1)[0]
                status = outcome.status.value if outcome.status.value == "hardened" else \
                    f"{outcome.status.value}:{outcome.reason_code}"
                print(f"  {kind:<40} {mode:<17} {len(outcome.changes):>4} {calls['read']:>5} "
                      f"{calls['write']:>6} {calls['poll']:>5} {wall:>8.1f}   "
                      f"{dict(again)} {recheck.reason_code}  [{status}]")


if __name__ == "__main__":
    main()
