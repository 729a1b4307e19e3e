"""Benchmark: a burst of new resources across subscriptions, under ARM's throttle, from events to all hardened.

1,000 Key Vaults tagged ``harden=private`` appear at once, 250 in each of 4 subscriptions (each
with its own spoke VNet and endpoint subnet; the private DNS zones live in the first). Their
write events (interleaved across subscriptions) go through the real Event Grid trigger function,
then 64 worker threads run the queue worker's code (``process_message`` → engine), as about
five instances of the Functions host would (host.json: batchSize 8 + newBatchThreshold 4, so up
to 12 messages at a time each). A failure is retried as the host would (up to ``maxDequeueCount`` deliveries); a message
that still fails is *lost* (poisoned).

The emulator throttles like ARM (emulator/throttle.py: per subscription and principal, reads 250
burst +25/s, writes 200 burst +10/s, deletes 200 +10/s), time-scaled: ``--scale S`` multiplies the
refill rates by S (bursts unchanged), and the product is told the same rates through
``HARDEN_ARM_WRITES_PER_SECOND`` / ``HARDEN_ARM_READS_PER_SECOND``. One second here is S seconds
of Azure time; the bound and the completion time below are both printed in Azure seconds
(measured × S) as well.

Printed:
- completion time ÷ the bucket's lower bound, where the lower bound is, over every subscription
  and kind, ``(requests the run needed − burst) ÷ refill rate``: no client could finish sooner
  (goal ≤ 1.2);
- 429s received (goal 0); lost requests (goal 0).

Run: `make bench` (or `.venv/bin/python benchmarks/bench_burst.py [--resources 1000] [--scale 4]`).
Prints figures; asserts nothing. LRO durations are instant here (the throttle is what is measured).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import queue
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from emulator import Emulator  # noqa: E402
from emulator.events import write_event  # noqa: E402
from emulator.throttle import ARM_LIMITS, kind_of  # noqa: E402
from localdev.landing_zone import LandingZone, seed_network  # noqa: E402
from localdev.seeds import seed_key_vault  # noqa: E402

SUBSCRIPTIONS = ("8f3c2a71-5b6d-4e0f-9a1b-2c3d4e5f6a7b", "2b7d4c1e-9f3a-4e6b-8c2d-1a0f9e8d7c6b",
                 "5c9e1f2a-3b4d-4c6e-8f0a-1b2c3d4e5f6a", "7e1a2b3c-4d5e-4f60-8a1b-2c3d4e5f6a7c")
MAX_DEQUEUE = 5  # host.json's maxDequeueCount


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resources", type=int, default=1000)
    parser.add_argument("--scale", type=float, default=2.0, help="Azure seconds per benchmark second")
    parser.add_argument("--workers", type=int, default=64,
                        help="messages processed at a time (~5 instances × 12, host.json's queue batch)")
    parser.add_argument("--no-pacing", action="store_true", help="turn the client-side pacing off (for comparison)")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)

    with Emulator.start() as emu:
        zones = [seed_network(emu, LandingZone(subscription_id=sub, network_rg=f"rg-spoke{i}-network",
                                               app_rg=f"rg-spoke{i}-app", vnet_name=f"vnet-spoke{i}"))
                 for i, sub in enumerate(SUBSCRIPTIONS)]
        hub = zones[0]
        rates = {k: (burst, rate * args.scale) for k, (burst, rate) in ARM_LIMITS.items()}
        os.environ.update({
            **emu.env(), "AZURE_RESOURCE_MANAGER_ENDPOINT": emu.url, "HARDEN_POLL_INTERVAL_SECONDS": "0",
            "HARDEN_SUBSCRIPTION_IDS": ",".join(SUBSCRIPTIONS),
            "HARDEN_PRIVATE_ENDPOINT_SUBNET_IDS": ",".join(z.endpoint_subnet_id for z in zones),
            "HARDEN_DNS_ZONES_RESOURCE_GROUP_ID": hub.rg_id(hub.dns_rg),
            # Without pacing, the product thinks ARM refills a million a second: it never waits.
            "HARDEN_ARM_WRITES_PER_SECOND": str(1e6 if args.no_pacing else rates["writes"][1]),
            "HARDEN_ARM_READS_PER_SECOND": str(1e6 if args.no_pacing else rates["reads"][1]),
        })
        import function_app  # noqa: F401  (after the environment, as the host imports it)
        from localdev.host import Out, _functions_of, to_function_event
        from remediators.engine import HardeningFailed
        from remediators.handlers import process_message
        from remediators.runtime import engine_for
        from remediators.settings import Settings

        trigger = _functions_of(function_app.app)["on_resource_event"].get_user_function()
        per_sub = args.resources // len(zones)
        # Interleaved across subscriptions, as events from several subscriptions' topics arrive.
        resources = [seed_key_vault(emu, z, f"kv{i:02d}burst{n:04d}", tags={"harden": "private"})
                     for n in range(per_sub) for i, z in enumerate(zones)]
        engine = engine_for(Settings.from_env())
        engine.preview  # noqa: B018 - build the engine before the clock starts
        emu.clear_requests()
        emu.throttle.enable(scale=args.scale)

        work: queue.Queue[tuple[str, int]] = queue.Queue()
        started, cpu_started = time.monotonic(), time.process_time()
        for rid in resources:  # the burst: every write event at once, through the trigger
            out = Out()
            trigger(event=to_function_event(write_event(rid, "Microsoft.KeyVault/vaults/write")), requests=out)
            work.put((out.value, 1))
        statuses: Counter[str] = Counter()
        lost: list[str] = []
        lock = threading.Lock()

        def worker() -> None:
            while True:
                try:
                    message, attempt = work.get(timeout=0.5)
                except queue.Empty:
                    if work.unfinished_tasks == 0:
                        return
                    continue
                try:
                    outcome = process_message(message, engine)
                    with lock:
                        statuses[outcome.status.value if outcome else "unreadable"] += 1
                except HardeningFailed:
                    if attempt >= MAX_DEQUEUE:
                        with lock:
                            lost.append(json.loads(message)["resourceId"])
                    else:
                        work.put((message, attempt + 1))
                finally:
                    work.task_done()

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(args.workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed, cpu = time.monotonic() - started, time.process_time() - cpu_started

        served = Counter((r.path.split("/")[2].lower(), kind_of(r.method)) for r in emu.requests
                         if r.status != 429 and r.path.lower().startswith("/subscriptions/"))
        bound, where = 0.0, ""
        for (sub, kind), count in served.items():
            burst, rate = rates[kind]
            seconds = max(0.0, (count - burst) / rate)
            if seconds > bound:
                bound, where = seconds, f"{kind} of {sub[:8]}…: {count} requests"
        hardened = sum(1 for rid in resources if (emu.get(rid) or {}).get("properties", {})
                       .get("publicNetworkAccess") == "Disabled")
        print(f"Burst: {len(resources)} Key Vaults (harden=private) in {len(zones)} subscriptions, "
              f"{args.workers} workers, time scale ×{args.scale:g} (1 s here = {args.scale:g} s in Azure), "
              f"pacing {'off' if args.no_pacing else 'on'}")
        print(f"  requests served: {sum(served.values())} "
              f"({sum(c for (_, k), c in served.items() if k == 'reads')} reads, "
              f"{sum(c for (_, k), c in served.items() if k == 'writes')} writes); busiest bucket: {where}")
        print(f"  completion time:     {elapsed:7.1f} s  ({elapsed * args.scale:7.1f} Azure s)")
        print(f"  bucket lower bound:  {bound:7.1f} s  ({bound * args.scale:7.1f} Azure s)")
        print(f"  completion ÷ bound:  {elapsed / bound if bound else float('nan'):7.2f}   (goal ≤ 1.2)")
        print(f"  CPU of this process: {cpu:7.1f} s  (emulator and product share it: near the completion time, "
              "the harness is the limit)")
        print(f"  429s received:       {emu.throttle.throttled:7d}   (goal 0)")
        if os.environ.get("BENCH_DEBUG"):
            for r in emu.requests:
                if r.status == 429:
                    print(f"    429 at {r.started_at - started:6.2f}s {r.method} {r.resource_type} {r.path.split('/')[2][:8]}")
        print(f"  lost requests:       {len(lost):7d}   (goal 0); outcomes {dict(statuses)}; "
              f"public access off on {hardened}/{len(resources)}")


if __name__ == "__main__":
    main()
