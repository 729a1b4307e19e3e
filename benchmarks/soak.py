"""Soak (issue 13 item 9): 10,000 events, mixed services, 20 % of them faulted, through trigger and worker in one process.

Prints memory (RSS; tracemalloc with --trace) after a warm-up and at the end, and what became of every
event: nothing may be lost (each accepted event ends in an outcome or the poison queue). tests/test_soak.py
runs a small seeded version.

    .venv/bin/python benchmarks/soak.py                       # 10,000 events
    .venv/bin/python benchmarks/soak.py --events 500 --seed 3 --trace
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.simulation import KillSwitch, fresh_world, standalone  # noqa: E402
from tests.soaking import soak  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--new-every", type=int, default=50, help="every n-th event tags a new resource")
    parser.add_argument("--trace", action="store_true", help="also measure with tracemalloc (slower)")
    parser.add_argument("--top", action="store_true", help="with --trace: where traced memory grew (inflates RSS)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    started = time.monotonic()

    def progress(done: int) -> None:
        if done % 1000 == 0:
            print(f"  {done} events, {time.monotonic() - started:.0f} s", flush=True)

    with standalone() as (emu, azurite):
        kill = KillSwitch(urlsplit(emu.url).netloc)
        kill.install(setattr)
        try:
            lz, host = fresh_world(emu, azurite)
            report = soak(host, emu, lz, kill, events=args.events, seed=args.seed, fault_rate=args.fault_rate,
                          new_every=args.new_every, trace=args.trace, top=args.top, progress=progress)
        finally:
            kill.uninstall()
    for line in report.lines():
        print(line)
    for line in report.top:
        print("  grew:", line)
    print(f"{time.monotonic() - started:.0f} s, seed {args.seed}")
    return 1 if report.lost or report.stalled else 0


if __name__ == "__main__":
    raise SystemExit(main())
