"""Soak (issue 13 item 9), small and seeded: benchmarks/soak.py runs 10,000 events.

Events of every service and both modes, a fifth of them meeting a transient fault, go through the trigger and
the worker in this process (tests/soaking.py). Nothing may be lost, nothing may stall, and after the warm-up
(every service's clients loaded) traced memory stays flat.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from tests.simulation import SERVICES, KillSwitch, print_figures
from tests.soaking import soak

EVENTS = 80
NEW_EVERY = 4  # every service in both modes by event 56, the warm-up
MAX_GROWTH = 4 * 2**20  # bytes of traced memory over the last 24 events; a leak of a resource's state per event shows


def test_mixed_events_with_faults_lose_nothing_and_keep_memory_flat(host, emulator, lz, monkeypatch, request):
    kill = KillSwitch(urlsplit(emulator.url).netloc)
    kill.install(monkeypatch.setattr)
    report = soak(host, emulator, lz, kill, events=EVENTS, seed=5, fault_rate=0.2, new_every=NEW_EVERY,
                  warm_up=2 * len(SERVICES) * NEW_EVERY, trace=True)
    print_figures(request.config, [f"soak (seed 5): {line}" for line in report.lines()])
    assert report.faulted >= EVENTS // 10
    assert report.stalled == 0
    assert report.lost == set(), f"events without an outcome: {sorted(report.lost)[:5]}"
    assert len(report.accepted) >= EVENTS, "every write event on a tagged resource is accepted by the trigger"
    assert report.hardenings == EVENTS // NEW_EVERY
    (_, _, traced_warm), (_, _, traced_end) = report.memory[0], report.memory[-1]
    assert traced_end - traced_warm < MAX_GROWTH, report.lines()[-1]
