"""Benchmark: how long a resource stays open while we harden it, against its critical path.

For each service and mode, one hardening runs against the local emulator with
Azure's long-running-operation durations scaled down (``emulator/timing.py``:
private endpoint 45 s, DNS zone 30 s, VNet link 30 s, zone group 10 s, subnet
10 s, SQL VNet rule 30 s, Cosmos DB update 60 s, synchronous writes 1.5 s; all
multiplied by SCALE below). It prints:

- ``plan``: reading and planning (``Engine.preview``: every GET the decision needs);
- ``apply``: running that plan with the engine's executor (``executor.execute``);
- ``bound``: the plan graph's critical path, i.e. the longest chain of measured
  change durations (request latency + operation time) through the edges;
- ``ratio``: apply ÷ bound (1.0 is the best any executor can do);
- the same with ``HARDEN_MAX_PARALLEL_CHANGES=1`` (one change at a time), for the gain.

Times are in Azure seconds (emulator seconds ÷ SCALE). Run: `make bench`. Prints figures; asserts nothing.
"""
from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from emulator import Emulator  # noqa: E402
from localdev.landing_zone import seed_network  # noqa: E402
from localdev.seeds import (seed_cosmos_account, seed_event_hubs_namespace, seed_key_vault,  # noqa: E402
                            seed_service_bus_namespace, seed_sql_server, seed_storage_account, seed_web_app)
from remediators.executor import execute  # noqa: E402
from remediators.model import HardenRequest  # noqa: E402
from remediators.plan import critical_path  # noqa: E402
from remediators.runtime import engine_for  # noqa: E402
from remediators.settings import Settings  # noqa: E402

SCALE = 0.01  # one Azure second is 10 ms here
PARALLEL = 8  # HARDEN_MAX_PARALLEL_CHANGES's default
SERVICES = (
    ("Key Vault", seed_key_vault, "kv", "Microsoft.KeyVault/vaults/write"),
    ("Storage", seed_storage_account, "st", "Microsoft.Storage/storageAccounts/write"),
    ("Azure SQL", seed_sql_server, "sql", "Microsoft.Sql/servers/write"),
    ("Cosmos DB", seed_cosmos_account, "cosmos", "Microsoft.DocumentDB/databaseAccounts/write"),
    ("Service Bus", seed_service_bus_namespace, "sb", "Microsoft.ServiceBus/namespaces/write"),
    ("Event Hubs", seed_event_hubs_namespace, "evh", "Microsoft.EventHub/namespaces/write"),
    ("App Service", seed_web_app, "app", "Microsoft.Web/sites/write"),
)


def _one(emu: Emulator, lz, engine, seed, stem: str, operation: str, mode: str, run: str, *,
         max_parallel: int) -> tuple[float, float, float, int]:
    """(plan seconds, apply seconds, critical-path seconds, steps): the engine's own plan and executor."""
    name = f"{stem}{mode[:2]}{run}"
    emu.reset()  # the same starting point for every run: no zone, link or service endpoint yet
    seed_network(emu, lz)
    emu.timing.scale = SCALE
    rid = seed(emu, lz, name, tags={"harden": mode})
    started = time.monotonic()
    planned = engine.preview(HardenRequest(rid, f"bench-{name}", operation))
    applying = time.monotonic()
    assert planned.status.value == "planned", (rid, planned.reason)
    execution = execute(planned.changes, max_parallel=max_parallel)
    ended = time.monotonic()
    assert execution.complete, (rid, execution.failed)
    return applying - started, ended - applying, critical_path(planned.changes, execution.seconds), \
        len(planned.changes)


def main() -> None:
    logging.disable(logging.CRITICAL)
    with Emulator.start() as emu:
        lz = seed_network(emu)
        os.environ.update({**emu.env(), **lz.settings(), "AZURE_RESOURCE_MANAGER_ENDPOINT": emu.url,
                           "HARDEN_POLL_INTERVAL_SECONDS": "0"})
        os.environ.pop("HARDEN_NOTIFY_TOPIC_ENDPOINT", None)
        engine = engine_for(Settings.from_env())
        # Sign in and start the clients before timing anything.
        for mode in ("private", "service-endpoint"):
            _one(emu, lz, engine, seed_key_vault, "warm", "Microsoft.KeyVault/vaults/write", mode, "0",
                 max_parallel=8)
        print(f"Exposure window per hardening, Azure seconds (emulator time ÷ {SCALE}); LRO durations in "
              "emulator/timing.py")
        print(f"  {'service':<12} {'mode':<17} {'steps':>5} {'plan':>6} | {'apply':>6} {'bound':>6} {'ratio':>5} "
              f"| {'1-at-a-time':>11} {'ratio':>5}")
        ratios = []
        for label, seed, stem, operation in SERVICES:
            for mode in ("private", "service-endpoint"):
                plan, apply, bound, steps = _one(emu, lz, engine, seed, stem, operation, mode, "p",
                                                 max_parallel=PARALLEL)
                _, apply1, bound1, _ = _one(emu, lz, engine, seed, stem, operation, mode, "s", max_parallel=1)
                ratios.append(apply / bound)
                print(f"  {label:<12} {mode:<17} {steps:>5} {plan / SCALE:>6.1f} | {apply / SCALE:>6.1f} "
                      f"{bound / SCALE:>6.1f} {apply / bound:>5.2f} | {apply1 / SCALE:>11.1f} {apply1 / bound1:>5.2f}")
        print(f"  worst ratio (concurrent): {max(ratios):.2f}")


if __name__ == "__main__":
    main()
