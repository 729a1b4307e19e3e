"""Benchmark: several instances of the app, one identity, one ARM bucket (issue 13 item 1).

ARM's token bucket is per subscription and principal (learn.microsoft.com/azure/azure-resource-manager/
management/request-limits-and-throttling), so every instance of the function app, signed in as the same
managed identity, spends the same bucket, and each sees only ARM's headers and its own 429s. Here N OS
processes (default 4) each send M GETs through the product's ARM clients with pacing on
(remediators/throttle.py), against the emulator's shared bucket (emulator/throttle.py), all at once.

Printed:
- completion time ÷ the bucket's lower bound, ``(all requests − burst) ÷ refill rate`` (goal ≤ 1.3);
- 429s as a share of the requests sent (goal ≤ 1%);
- processes that did not finish within the time limit (wedged; goal 0).

Run: `make bench`, or `.venv/bin/python benchmarks/bench_multiprocess.py [--processes 4] [--requests 300]`.
Prints figures; asserts nothing. ``run()`` is what tests/estate/test_multiprocess_pacing.py calls, smaller.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SUBSCRIPTION = "8f3c2a71-5b6d-4e0f-9a1b-2c3d4e5f6a7b"


@dataclass
class Figures:
    processes: int
    requests: int
    seconds: float
    bound: float
    throttled: int
    wedged: int
    failed: int = 0

    @property
    def ratio(self) -> float:
        return self.seconds / self.bound if self.bound else float("nan")

    @property
    def throttled_share(self) -> float:
        return self.throttled / self.requests if self.requests else 0.0


def run(*, processes: int = 4, requests: int = 300, burst: int = 100, rate: float = 50.0,
        time_limit: float = 120.0) -> Figures:
    """Start the emulator and ``processes`` workers of ``requests`` GETs each; return what happened."""
    from emulator import Emulator
    from localdev.landing_zone import LandingZone, seed_network
    from localdev.seeds import seed_key_vault

    with Emulator.start() as emu:
        zone = seed_network(emu, LandingZone(subscription_id=SUBSCRIPTION))
        rid = seed_key_vault(emu, zone, "kv-shared-bucket", tags={"harden": "private"})
        env = {**os.environ, **emu.env(), "PYTHONPATH": str(ROOT)}
        go = Path(emu.ca_bundle_path).parent / "go"
        workers = [subprocess.Popen([sys.executable, __file__, "--worker", rid, str(requests), str(rate), str(go)],
                                    env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                   for _ in range(processes)]
        time.sleep(1.0)  # every worker signed in and waiting: the bucket is what is measured
        emu.clear_requests()
        emu.throttle.enable(limits={"reads": (burst, rate)})
        started = time.monotonic()
        go.touch()
        wedged = failed = 0
        for worker in workers:
            try:
                _, err = worker.communicate(timeout=max(1.0, time_limit - (time.monotonic() - started)))
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.communicate()
                wedged += 1
                continue
            if worker.returncode:
                failed += 1
                print(err[-2000:], file=sys.stderr)
        elapsed = time.monotonic() - started
        sent = sum(1 for r in emu.requests if r.path.lower().startswith("/subscriptions/"))
        throttled = emu.throttle.throttled
        emu.throttle.disable()
    served = processes * requests
    return Figures(processes, sent, elapsed, max(0.0, (served - burst) / rate), throttled, wedged, failed)


def _worker(resource_id: str, count: int, rate: float, go: Path) -> None:
    """One instance: sign in, wait for the start, send ``count`` paced GETs."""
    from azure.identity import DefaultAzureCredential

    from remediators.arm import ArmClients
    from remediators.resource_id import ResourceId
    from remediators.throttle import ArmBudget

    rid = ResourceId.parse(resource_id)
    credential = DefaultAzureCredential()
    credential.get_token(os.environ["AZURE_RESOURCE_MANAGER_ENDPOINT"] + "/.default")
    arm = ArmClients(credential, rid.subscription_id, endpoint=os.environ["AZURE_RESOURCE_MANAGER_ENDPOINT"],
                     polling_interval=0, retry_backoff_factor=0.1, budget=ArmBudget(reads_per_second=rate))
    while not go.exists():
        time.sleep(0.01)
    for _ in range(count):
        arm.keyvault.vaults.get(rid.resource_group, rid.name)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _worker(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), Path(sys.argv[5]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--requests", type=int, default=300, help="GETs per process")
    parser.add_argument("--burst", type=int, default=100, help="the bucket's size (ARM: 250 reads)")
    parser.add_argument("--rate", type=float, default=50.0, help="refill per second (ARM: 25 reads; scaled up here)")
    args = parser.parse_args()
    f = run(processes=args.processes, requests=args.requests, burst=args.burst, rate=args.rate)
    print(f"Shared bucket: {f.processes} processes × {args.requests} GETs, one identity, bucket {args.burst} "
          f"+{args.rate:g}/s\n"
          f"  completion time:    {f.seconds:6.1f} s\n"
          f"  bucket lower bound: {f.bound:6.1f} s\n"
          f"  completion ÷ bound: {f.ratio:6.2f}   (goal ≤ 1.3)\n"
          f"  429s:               {f.throttled:6d}   = {100 * f.throttled_share:.2f}% of {f.requests} requests "
          f"(goal ≤ 1%)\n"
          f"  wedged processes:   {f.wedged:6d}   (goal 0); failed: {f.failed}")


if __name__ == "__main__":
    main()
