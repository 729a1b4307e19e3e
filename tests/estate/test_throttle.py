"""ARM's token bucket in the emulator, and the product pacing itself by the remaining-budget headers."""
from __future__ import annotations

import os
import time

import pytest
from azure.identity import DefaultAzureCredential

from emulator import Emulator
from localdev.seeds import seed_key_vault
from remediators.arm import ArmClients
from remediators.throttle import ArmBudget


@pytest.fixture
def vault(emulator: Emulator, lz):
    rid = seed_key_vault(emulator, lz, "kv-throttle", tags={"harden": "private"})
    yield rid.split("/")[4], rid.rsplit("/", 1)[1]
    emulator.throttle.disable()


def clients(lz, budget: ArmBudget | None) -> ArmClients:
    return ArmClients(DefaultAzureCredential(), lz.subscription_id, endpoint=os.environ["AZURE_RESOURCE_MANAGER_ENDPOINT"],
                      polling_interval=0, retry_backoff_factor=0.1, budget=budget)


def test_emulator_counts_down_the_bucket_and_answers_429_with_retry_after(emulator, lz, vault):
    arm = clients(lz, None)
    arm.keyvault.vaults.get(*vault)  # sign in and warm up before the clock starts
    emulator.throttle.enable(limits={"reads": (3, 1.0)})
    seen = []
    hook = lambda r: seen.append((r.http_response.status_code,  # noqa: E731
                                  r.http_response.headers.get("x-ms-ratelimit-remaining-subscription-reads"),
                                  r.http_response.headers.get("Retry-After")))
    for _ in range(3):
        arm.keyvault.vaults.get(*vault, raw_response_hook=hook)
    assert [s[1] for s in seen] == ["2", "1", "0"]
    arm.keyvault.vaults.get(*vault, raw_response_hook=hook)  # throttled once, retried after Retry-After
    assert emulator.throttle.throttled >= 1
    assert any(r.status == 429 for r in emulator.requests)
    assert seen[-1][0] == 200


def test_without_pacing_a_burst_is_throttled(emulator, lz, vault):
    arm = clients(lz, None)
    arm.keyvault.vaults.get(*vault)
    emulator.throttle.enable(limits={"reads": (5, 10.0)})
    for _ in range(15):
        arm.keyvault.vaults.get(*vault)
    assert emulator.throttle.throttled > 0


def test_paced_by_the_headers_a_burst_gets_no_429_and_runs_at_the_refill_rate(emulator, lz, vault):
    budget = ArmBudget(reads_per_second=10.0)
    arm = clients(lz, budget)
    arm.keyvault.vaults.get(*vault)  # sign in and warm up before the bucket is on
    emulator.throttle.enable(limits={"reads": (5, 10.0)})
    started = time.monotonic()
    for _ in range(15):
        arm.keyvault.vaults.get(*vault)
    elapsed = time.monotonic() - started
    assert emulator.throttle.throttled == 0
    # (15 - 5 burst) / 10 per second: at least about 1 s, spent waiting for the refill (no upper
    # bound on wall time: a loaded machine may be slower, never faster).
    assert elapsed >= 0.8 and budget.waited_seconds >= 0.5


def test_budget_spends_per_request_and_waits_for_the_refill():
    now = [0.0]
    waits: list[float] = []

    def sleep(s: float) -> None:
        waits.append(s)
        now[0] += s

    budget = ArmBudget(writes_per_second=10.0, clock=lambda: now[0], sleep=sleep)
    budget.acquire("writes")  # nothing known yet: go
    budget.release("writes", remaining=10, throttled=False)
    for _ in range(8):  # each request spends from what ARM reported, down to a margin of 2 tokens
        budget.acquire("writes")
    assert waits == []
    budget.acquire("writes")  # the ninth waits for one refill (0.1 s at 10/s)
    assert waits == [pytest.approx(0.1)]
    budget.release("writes", remaining=None, throttled=True)  # a 429 empties the estimate
    budget.acquire("reads")  # other kinds are separate buckets
    assert len(waits) == 1
