"""Soak (issue 13 item 9): many events, mixed services, a share of them faulted, in one process.

Events go through the Event Grid trigger and the queue-triggered worker (the :class:`~tests.simulation.Simulator`'s
delivery loop: host retries, simulated crashes, a stall watchdog). A pool of resources grows as the soak goes
(every ``new_every``-th event tags a new resource, so hardenings keep happening); the other events are writes on
resources already in the pool (the common case: one read, nothing to do). ``fault_rate`` of the events meet one
transient fault on that resource: a 429 (never the process's first answer), a 5xx, an operation ending
``Failed``, someone else writing first, or the worker dying before or after a request.

Nothing is lost: every event the trigger accepted ends in a published outcome (notifications carry the
``eventId``) or in the poison queue. Memory is measured as RSS (``/proc/self/statm``) and, when asked,
with tracemalloc, after a warm-up and at the end.
"""
from __future__ import annotations

import gc
import json
import os
import random
import resource
import threading
import tracemalloc
from dataclasses import dataclass, field
from typing import Any, Callable

from emulator import Emulator
from emulator import faults as fault_classes
from emulator.events import write_event
from localdev.host import LocalHost
from localdev.landing_zone import LandingZone
from tests.simulation import MODES, SERVICES, KillSwitch, Simulator, Verdict

SOAK_FAULTS = ("throttled", "server-error", "operation-failed", "concurrent-writer", "killed-before", "killed-after")


def rss_bytes() -> int:
    """The process's resident set now (Linux), else its peak."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@dataclass
class SoakReport:
    events: int = 0
    faulted: int = 0
    accepted: set[str] = field(default_factory=set)  # event ids the trigger enqueued
    outcomes: dict[str, str] = field(default_factory=dict)  # event id -> its last outcome's status
    poisoned: set[str] = field(default_factory=set)
    deliveries: int = 0
    stalled: int = 0
    hardenings: int = 0
    memory: list[tuple[int, int, int]] = field(default_factory=list)  # (events so far, RSS, traced bytes)
    threads: list[int] = field(default_factory=list)  # threads alive at each measurement
    snapshot: Any = None  # tracemalloc's, after the warm-up
    top: list[str] = field(default_factory=list)  # where traced memory grew most since then

    @property
    def lost(self) -> set[str]:
        return self.accepted - set(self.outcomes) - self.poisoned

    def lines(self) -> list[str]:
        (n0, rss0, traced0), (n1, rss1, traced1) = self.memory[0], self.memory[-1]
        statuses: dict[str, int] = {}
        for status in self.outcomes.values():
            statuses[status] = statuses.get(status, 0) + 1
        return [
            f"events: {self.events} ({self.faulted} faulted), accepted by the trigger: {len(self.accepted)}, "
            f"deliveries: {self.deliveries}, stalled: {self.stalled}",
            f"outcomes: {len(self.outcomes)} {dict(sorted(statuses.items()))}, poisoned: {len(self.poisoned)}, "
            f"lost: {len(self.lost)}",
            f"memory after {n0} events: RSS {rss0 / 2**20:.1f} MiB, traced {traced0 / 2**20:.1f} MiB; "
            f"after {n1}: RSS {rss1 / 2**20:.1f} MiB, traced {traced1 / 2**20:.1f} MiB "
            f"(growth {(rss1 - rss0) / 2**20:+.1f} MiB RSS, {(traced1 - traced0) / 2**20:+.1f} MiB traced); "
            f"threads {self.threads[0]} -> {self.threads[-1]}",
        ]


def _fault_on(emu: Emulator, kill: KillSwitch, rng: random.Random, kind: str, rid: str) -> None:
    """One transient fault on the next request about ``rid`` (its first GET is the worker's first read)."""
    if kind == "killed-before" or kind == "killed-after":
        kill.arm("GET", rid, kind.removeprefix("killed-"))
        return
    method = rng.choice(("GET", "PUT", "PATCH")) if kind != "operation-failed" else "PUT"
    if kind == "throttled":
        emu.faults.add(fault_classes.throttled(method, rid))
    elif kind == "server-error":
        emu.faults.add(fault_classes.server_error(method, rid, status=rng.choice((500, 502, 503, 504))))
    elif kind == "operation-failed":
        emu.faults.add(fault_classes.operation_failed("PUT", rid.rsplit("/", 1)[-1],
                                                      code=rng.choice(fault_classes.OPERATION_FAILED_CODES)))
    else:
        def touch(emulator: Emulator, _method: str, path: str, _body: Any) -> None:
            current = emulator.get(path)
            if current is not None and "location" in current:
                emulator.seed(path, {**current, "tags": {**(current.get("tags") or {}), "touched": str(rng.random())}})

        emu.faults.add(fault_classes.concurrent_writer(method, rid, touch))


def soak(host: LocalHost, emu: Emulator, lz: LandingZone, kill: KillSwitch, *, events: int, seed: int,
         fault_rate: float = 0.2, new_every: int = 25, warm_up: int = 0, trace: bool = False, top: bool = False,
         progress: Callable[[int], None] | None = None) -> SoakReport:
    """Run ``events`` events; returns what became of them and the memory figures.

    ``trace`` measures with tracemalloc too; ``top`` also lists where traced memory grew since the warm-up
    (its snapshot inflates the final RSS figure).
    """
    rng = random.Random(seed)
    report = SoakReport()
    sim = Simulator(host, emu, lz, kill, stall_after_s=8.0)
    pool: list[tuple[str, str]] = []  # (resource id, write operation)
    names = iter(range(1_000_000))
    warm_up = warm_up or max(2 * len(SERVICES) * new_every, events // 10)
    if trace:
        tracemalloc.start()

    def measure() -> None:
        gc.collect()
        report.memory.append((report.events, rss_bytes(), tracemalloc.get_traced_memory()[0] if trace else 0))
        report.threads.append(threading.active_count())
        if top and trace and report.snapshot is None:  # holds every trace: RSS grows by its size
            report.snapshot = tracemalloc.take_snapshot()

    def collect() -> None:
        for note in emu.drain_notifications():
            data = note.get("data") or {}
            event_id = (data.get("trigger") or {}).get("eventId")
            if event_id:
                report.outcomes[event_id] = data.get("status", "")
        emu.clear_requests()
        for body in sim.poisoned:
            report.poisoned.add(json.loads(body).get("eventId", "") if body.startswith(b"{") else "")
        sim.poisoned.clear()

    for n in range(events):
        if not pool or n % new_every == 0:
            # Every service and mode once first (their clients and modules load then: the warm-up), then at random.
            first = len(pool) < 2 * len(SERVICES)
            service = sorted(SERVICES)[len(pool) % len(SERVICES)] if first else rng.choice(sorted(SERVICES))
            mode = MODES[len(pool) // len(SERVICES)] if first else rng.choice(MODES)
            rid = SERVICES[service].seed(emu, lz, f"soak{next(names):05d}", {"harden": mode})
            pool.append((rid, SERVICES[service].operation))
            report.hardenings += 1
        rid, operation = pool[-1] if n % new_every == 0 else rng.choice(pool)
        if rng.random() < fault_rate and report.events > 0:  # never the process's first answer
            report.faulted += 1
            _fault_on(emu, kill, rng, rng.choice(SOAK_FAULTS), rid)
        verdict = Verdict("soak", "-", str(n), "-")
        for event in [write_event(rid, operation), *emu.drain_events()]:
            queued = host.deliver(event)
            if queued is not None:
                report.accepted.add(json.loads(queued)["eventId"])
        sim.drain(verdict)
        emu.faults.clear()
        kill.disarm()
        report.events += 1
        report.deliveries += verdict.deliveries
        report.stalled += int(verdict.stalled)
        collect()
        if report.events == warm_up:
            measure()
        if progress is not None:
            progress(report.events)
    collect()
    measure()
    if report.snapshot is not None:
        report.top = [str(stat) for stat in tracemalloc.take_snapshot().compare_to(report.snapshot, "lineno")[:8]]
        tracemalloc.stop()
    return report
