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


# -- never stall (issue 13): whatever ARM answers first, the budget refills and every wait is bounded --

class _Clock:
    """An injected clock whose sleep advances it; a run that sleeps past ``limit`` has stalled."""

    def __init__(self, limit: float = 120.0) -> None:
        self.now, self.limit, self.sleeps = 0.0, limit, []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if self.now > self.limit:
            raise AssertionError(f"stalled: still waiting after {self.now:.0f} s ({len(self.sleeps)} sleeps)")


@pytest.mark.parametrize("first", ["429 without a header", "429 with Retry-After", "remaining 0", "remaining 0 global"])
def test_the_first_answer_draining_the_budget_never_stalls(first):
    clock = _Clock()
    budget = ArmBudget(reads_per_second=25.0, clock=clock, sleep=clock.sleep)
    budget.acquire("reads")  # sent blind: nothing known yet
    if first.startswith("429"):
        budget.release("reads", remaining=None, throttled=True, retry_after=7.0 if "Retry" in first else None)
    else:
        budget.release("reads", remaining=0.0, throttled=False)
    for _ in range(50):  # every later request of the process still goes, at ARM's refill rate at worst
        budget.acquire("reads")
        budget.release("reads", remaining=None, throttled=False)
    assert clock.now < 60
    if "Retry" in first:
        assert clock.now >= 7.0  # the Retry-After was honoured by every request of the process


def test_no_single_wait_exceeds_the_bound_even_after_many_429s():
    from remediators.throttle import MAX_RETRY_AFTER_SECONDS, MAX_WAIT_SECONDS

    clock = _Clock(limit=10_000)
    budget = ArmBudget(writes_per_second=10.0, clock=clock, sleep=clock.sleep)
    budget.acquire("writes")
    for _ in range(20):  # a storm: another app of the same identity keeps the bucket empty
        budget.release("writes", remaining=None, throttled=True, retry_after=3600)
        budget.acquire("writes")
    assert max(clock.sleeps) <= max(MAX_WAIT_SECONDS, MAX_RETRY_AFTER_SECONDS)
    assert budget.longest_wait <= MAX_WAIT_SECONDS
    # The share of the refill fell, but never to nothing: the next quiet answers give it back.
    for _ in range(60):
        budget.release("writes", remaining=150, throttled=False)
    waited = clock.now
    for _ in range(100):
        budget.acquire("writes")
    assert clock.now - waited < 15


def test_a_header_of_zero_lowers_the_estimate_and_time_raises_it_again():
    clock = _Clock()
    budget = ArmBudget(writes_per_second=10.0, clock=clock, sleep=clock.sleep)
    budget.acquire("writes")
    budget.release("writes", remaining=200, throttled=False)
    budget.acquire("writes")
    budget.release("writes", remaining=0, throttled=False)  # another instance drained the bucket
    budget.acquire("writes")  # waits for ~3 tokens of refill (1 + the margin), not forever
    assert 0.2 <= clock.now <= 1.0


def _stalls(target, seconds: float = 30.0) -> bool:
    import threading

    errors: list[BaseException] = []

    def run() -> None:
        try:
            target()
        except BaseException as exc:  # noqa: BLE001 - reported to the test below
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if errors:
        raise errors[0]
    return thread.is_alive()


@pytest.mark.parametrize("start", [0, 1], ids=["429 first", "remaining 0 first"])
def test_a_worker_whose_first_answer_is_throttled_finishes(emulator, lz, vault, start):
    """The bucket was drained by other instances of the same identity before this process's first GET."""
    arm = clients(lz, None)
    arm.keyvault.vaults.get(*vault)  # sign in (the token is cached by the credential, not the budget)
    budget = ArmBudget(reads_per_second=25.0)
    paced = clients(lz, budget)
    emulator.throttle.enable(limits={"reads": (250, 25.0)}, start={"reads": start})
    assert not _stalls(lambda: [paced.keyvault.vaults.get(*vault) for _ in range(5)]), "the worker stalled"
    if start == 0:
        assert budget.throttled >= 1 and any(r.status == 429 for r in emulator.requests)


def test_concurrent_duplicate_deliveries_after_a_429_all_finish(emulator, lz, vault):
    from concurrent.futures import ThreadPoolExecutor

    arm = clients(lz, None)
    arm.keyvault.vaults.get(*vault)
    budget = ArmBudget(reads_per_second=25.0)
    paced = clients(lz, budget)
    emulator.throttle.enable(limits={"reads": (250, 25.0)}, start={"reads": 0})

    def deliveries() -> None:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda _: [paced.keyvault.vaults.get(*vault) for _ in range(3)], range(4)))

    assert not _stalls(deliveries), "a duplicate delivery stalled"


def test_retry_after_is_honoured_up_to_a_bound():
    from azure.core.pipeline import PipelineResponse
    from azure.core.rest import HttpRequest

    from remediators.arm import ArmRetryPolicy
    from remediators.throttle import MAX_RETRY_AFTER_SECONDS

    class _Answer:
        def __init__(self, value: str) -> None:
            self.headers = {"Retry-After": value}

    policy = ArmRetryPolicy()
    ask = lambda value: policy.get_retry_after(  # noqa: E731
        PipelineResponse(HttpRequest("GET", "https://arm"), _Answer(value), None))
    assert ask("7") == 7
    assert ask("86400") == MAX_RETRY_AFTER_SECONDS
