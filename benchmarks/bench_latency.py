"""Benchmark: from an event landing in the events queue to the worker starting on it (then its first ARM
read and write, the same in every layout), idle and busy, before and after issue 15.

Models the Functions queue listener's documented polling (learn.microsoft.com/azure/azure-functions/
functions-bindings-storage-queue-trigger#polling-algorithm): "a random exponential back-off algorithm ...
When a message is found, the runtime waits 100 milliseconds and then checks for another message. When no
message is found, it waits about 200 milliseconds before trying again. After subsequent failed attempts ...
the wait time continues to increase until it reaches the maximum wait time, which defaults to one minute"
(host.json extensions.queues.maxPollingInterval, learn.microsoft.com/azure/azure-functions/
functions-bindings-storage-queue#host-json). The randomisation is modelled as ±20 % (our choice).

Layouts:
- before: maxPollingInterval 1 min (host.json set none), two hops (resource-events → harden-requests);
- after: maxPollingInterval 2 s, one hop (resource-events → worker, triage first);
- the two in between, to show what each change is worth.
A second hop is modelled both ways: polled on its own back-off ("no notify", the issue's worst case), and
woken at once because the same host wrote it (the WebJobs SDK's SharedQueueWatcher notifies a queue's
listener when an output binding of that host enqueues to it: Azure/azure-webjobs-sdk
Microsoft.Azure.WebJobs.Host.Queues.Listeners.SharedQueueWatcher).

Idle: the listener has backed off to its maximum when the event lands. Busy: events arrive as a Poisson
stream (default 1/s). Flex Consumption scales idle apps to zero, and then the platform's scale controller,
not this listener, notices the queue: that cold path is not modelled (the same before and after).

Also prints the idle polling's storage transactions per month per running instance. The price per
10,000 queue operations is a parameter: check azure.microsoft.com/pricing/details/storage/queues/ for the
account's region and redundancy (not reachable from here).

Run: `.venv/bin/python benchmarks/bench_latency.py [--events N] [--rate R] [--price-per-10k P]`.
Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import random
import statistics
from dataclasses import dataclass

FOUND_WAIT_S = 0.1  # Learn: after a message is found
FIRST_EMPTY_WAIT_S = 0.2  # Learn: after the first empty poll
JITTER = 0.2  # "random" back-off: ±20 % (our choice)
SECONDS_PER_MONTH = 30 * 24 * 3600


@dataclass(frozen=True)
class Layout:
    name: str
    max_polling_s: float
    hops: int


LAYOUTS = (
    Layout("before: 60 s max, two hops", 60.0, 2),
    Layout("60 s max, one hop", 60.0, 1),
    Layout("2 s max, two hops", 2.0, 2),
    Layout("after: 2 s max, one hop", 2.0, 1),
)


class Listener:
    """One queue listener on one instance: when it polls next, given what its polls found."""

    def __init__(self, max_polling_s: float, rng: random.Random, *, idle: bool) -> None:
        self.max = max_polling_s
        self.rng = rng
        self.empty_streak = 64 if idle else 0  # idle: backed off to the maximum already
        self.next_poll = rng.uniform(0, self._delay()) if idle else 0.0

    def _delay(self) -> float:
        if self.empty_streak == 0:
            base = FOUND_WAIT_S
        else:
            base = min(self.max, FIRST_EMPTY_WAIT_S * 2 ** min(self.empty_streak - 1, 30))
        return base * self.rng.uniform(1 - JITTER, 1 + JITTER)

    def poll(self, now: float, found: bool) -> None:
        self.empty_streak = 0 if found else self.empty_streak + 1
        self.next_poll = now + self._delay()

    def notify(self, now: float) -> None:
        """SharedQueueWatcher: the host wrote to this queue; poll now."""
        self.empty_streak = 0
        self.next_poll = now


def simulate(layout: Layout, arrivals: list[float], *, idle: bool, notify: bool, seed: int) -> list[float]:
    """Seconds from each arrival in the first queue to the worker picking it up."""
    rng = random.Random(seed)
    listeners = [Listener(layout.max_polling_s, rng, idle=idle) for _ in range(layout.hops)]
    queues: list[list[tuple[float, float]]] = [[] for _ in range(layout.hops)]  # (visible at, arrived at)
    pending = sorted(arrivals)
    latencies: list[float] = []
    now = 0.0
    while pending or any(queues):
        # Next thing to happen: an arrival or a poll.
        next_arrival = pending[0] if pending else float("inf")
        hop = min(range(layout.hops), key=lambda h: listeners[h].next_poll)
        if next_arrival <= listeners[hop].next_poll:
            now = pending.pop(0)
            queues[0].append((now, now))
            continue
        now = listeners[hop].next_poll
        ready = [m for m in queues[hop] if m[0] <= now]
        queues[hop] = [m for m in queues[hop] if m[0] > now]
        listeners[hop].poll(now, found=bool(ready))
        for _, arrived in ready:
            if hop + 1 < layout.hops:
                queues[hop + 1].append((now, arrived))
                if notify:
                    listeners[hop + 1].notify(now)
            else:
                latencies.append(now - arrived)
        if not pending and not any(queues):
            break
    return latencies


def _idle_arrivals(count: int, rng: random.Random) -> list[float]:
    # Far apart (10 min): each one finds the listeners backed off to their maximum.
    return [i * 600.0 + rng.uniform(0, 60) for i in range(count)]


def _busy_arrivals(count: int, rate: float, rng: random.Random) -> list[float]:
    t, out = 0.0, []
    for _ in range(count):
        t += rng.expovariate(rate)
        out.append(t)
    return out


def _figures(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    return f"mean {statistics.mean(values):6.2f} s  p95 {p95:6.2f} s  max {ordered[-1]:6.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=1.0, help="busy: events per second (Poisson)")
    parser.add_argument("--price-per-10k", type=float, default=0.004,
                        help="USD per 10,000 queue read operations (check the pricing page)")
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    scenarios = {"idle": _idle_arrivals(args.events, rng), "busy": _busy_arrivals(args.events, args.rate, rng)}

    print(f"Event in the events queue -> worker picks it up ({args.events} events per cell)")
    for scenario, arrivals in scenarios.items():
        for layout in LAYOUTS:
            modes = (False, True) if layout.hops > 1 else (False,)
            for notify in modes:
                label = layout.name + (" (2nd hop woken by the host)" if notify else
                                       (" (2nd hop polled)" if layout.hops > 1 else ""))
                latencies = simulate(layout, arrivals, idle=scenario == "idle", notify=notify, seed=args.seed)
                print(f"  {scenario:4}  {label:55} {_figures(latencies)}")

    print("\nIdle polling, per running instance (every listened queue polled at maxPollingInterval):")
    listened_queues = 2  # resource-events (queue delivery) and harden-requests (push delivery, sweep)
    for max_s in (60.0, 2.0):
        polls = listened_queues * SECONDS_PER_MONTH / max_s
        print(f"  maxPollingInterval {max_s:4.0f} s: {polls / 1e6:6.3f} M GetMessages/month "
              f"= USD {polls / 10_000 * args.price_per_10k:6.2f} at USD {args.price_per_10k}/10k")


if __name__ == "__main__":
    main()
