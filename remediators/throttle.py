"""Slow down before ARM says 429: pace requests by the budget ARM reports, per subscription.

ARM throttles per subscription, principal and kind of request with a token bucket (reads 250
burst, refill 25/s; writes and deletes 200, 10/s) and reports what is left on every response in
``x-ms-ratelimit-remaining-subscription-reads`` / ``-writes`` / ``-deletes`` (and the
subscription-wide ``-global-reads`` / ``-global-writes``); past the limit it answers 429 with
``Retry-After`` (learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling).

:class:`ArmBudget` keeps, per kind, an estimate of the tokens left: spent by each request we
send, refilled at ARM's documented rate, and lowered to what ARM reports whenever a header says
less. A request that would find the estimate below one token waits until the refill makes one,
so a burst drains the bucket to the floor and then runs at the refill rate instead of bouncing
off 429s (which cost a ``Retry-After`` of whole seconds each). 429s that still happen (another app using the same
identity) are retried by :class:`~remediators.arm.ArmRetryPolicy`, honouring ``Retry-After``.
One budget serves every client of a subscription (:func:`budget_for`).
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import HTTPPolicy

logger = logging.getLogger(__name__)

HEADER = "x-ms-ratelimit-remaining-subscription-{}"
# Tokens left unspent: answers overtake each other, so a header can be a little stale.
_MARGIN = 2
GLOBAL_HEADER = "x-ms-ratelimit-remaining-subscription-global-{}"
# ARM's bucket sizes per principal and subscription (request-limits-and-throttling, "Migrating to
# regional throttling and token bucket algorithm"): the estimate never holds more than these.
BUCKET_SIZE = {"reads": 250.0, "writes": 200.0, "deletes": 200.0}
# No single wait is longer than this, whatever the estimate says: the loop re-checks, so a wrong
# estimate costs at most this much before ARM's next answer corrects it.
MAX_WAIT_SECONDS = 5.0
# Retry-After is honoured up to this (a bounded wait even if ARM asks for more).
MAX_RETRY_AFTER_SECONDS = 60.0
# Other instances of the app (same identity) spend the same bucket, and the headers are the only
# thing they share. A 429 halves this process's share of the refill; an answer that shows the bucket
# above its floor gives some back (additive increase, multiplicative decrease, as TCP does): the
# instances settle on splitting the refill without a coordinator.
_MIN_SHARE = 1 / 64
_EPSILON = 1e-6
_MIN_WAIT_SECONDS = 0.001
_SHARE_STEP = 0.02
_FLOOR = 5 + _MARGIN


def kind_of(method: str) -> str:
    """ARM's bucket for an HTTP method: reads, writes or deletes."""
    method = method.upper()
    if method in ("GET", "HEAD"):
        return "reads"
    return "deletes" if method == "DELETE" else "writes"


@dataclass
class _Estimate:
    rate: float
    size: float
    tokens: float | None = None  # None until ARM has told us
    stamp: float = 0.0
    share: float = 1.0  # this process's share of the refill (see _MIN_SHARE)
    hold_until: float = 0.0  # a 429's Retry-After: nobody in this process sends before then
    unknown: int = 0  # requests sent before ARM's first answer, still unanswered

    def refill(self, now: float) -> None:
        """Always refills, at this process's share of ARM's rate, up to ARM's bucket size.

        Never stalls: however low a header or a 429 set the estimate, time raises it again.
        """
        assert self.tokens is not None
        if now > self.stamp:
            self.tokens = min(self.size, self.tokens + (now - self.stamp) * self.rate * self.share)
            self.stamp = now


class ArmBudget:
    """The client-side picture of one subscription's buckets, shared by its clients' pipelines.

    Each kind's estimate is spent by every request we send and refilled at (our share of) ARM's
    rate, up to ARM's bucket size; every answer's header can only lower it (``min``): a header is a
    little stale by the time it is read (answers overtake each other, requests of ours are still on
    their way), so it may show more than is left, never less than another client has taken. A 429
    empties the estimate, halves our share of the refill and holds every request of this process
    for its ``Retry-After`` (capped). No wait is unbounded: each sleep is at most
    :data:`MAX_WAIT_SECONDS` and the estimate always refills.

    :keyword writes_per_second: ARM's refill rate for writes (and deletes).
    :keyword reads_per_second: ARM's refill rate for reads.
    :keyword clock: Monotonic seconds; :keyword sleep: waits (both injectable for tests).
    """

    def __init__(self, *, writes_per_second: float = 10.0, reads_per_second: float = 25.0,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._kinds = {"reads": _Estimate(reads_per_second, BUCKET_SIZE["reads"]),
                       "writes": _Estimate(writes_per_second, BUCKET_SIZE["writes"]),
                       "deletes": _Estimate(writes_per_second, BUCKET_SIZE["deletes"])}
        self.waited_seconds = 0.0
        self.longest_wait = 0.0
        self.throttled = 0

    def acquire(self, kind: str) -> None:
        """Wait until the estimate holds a token (plus a small margin), then spend it."""
        est = self._kinds[kind]
        while True:
            with self._lock:
                now = self._clock()
                if now >= est.hold_until:
                    if est.tokens is None:
                        est.unknown += 1
                        return  # nothing known yet: ARM's first answer tells us
                    est.refill(now)
                    if est.tokens >= 1 + _MARGIN - _EPSILON:
                        est.tokens -= 1
                        return
                    wait = (1 + _MARGIN - est.tokens) / (est.rate * est.share)
                else:
                    wait = est.hold_until - now
                # Never a sleep too short to move a float clock (that would spin), never a long one.
                wait = min(max(wait, _MIN_WAIT_SECONDS), MAX_WAIT_SECONDS)
                self.waited_seconds += wait
                self.longest_wait = max(self.longest_wait, wait)
            self._sleep(wait)

    def release(self, kind: str, *, remaining: float | None, throttled: bool,
                retry_after: float | None = None) -> None:
        """Record what ARM said about the bucket in its answer to one of our requests."""
        est = self._kinds[kind]
        with self._lock:
            now = self._clock()
            if throttled:
                self.throttled += 1
                remaining = 0.0
                est.share = max(_MIN_SHARE, est.share / 2)
                hold = min(retry_after if retry_after is not None else 1 / est.rate, MAX_RETRY_AFTER_SECONDS)
                est.hold_until = max(est.hold_until, now + hold)
            elif remaining is not None and remaining >= _FLOOR:
                est.share = min(1.0, est.share + _SHARE_STEP)
            if remaining is None:
                if est.tokens is None:
                    est.unknown = max(0, est.unknown - 1)
                return
            if est.tokens is None:
                # The other requests sent blind may not be counted in this header yet: assume they are not.
                est.unknown = max(0, est.unknown - 1)
                est.tokens, est.stamp, est.unknown = min(est.size, remaining) - est.unknown, now, 0
            else:
                est.refill(now)
                est.tokens = min(est.tokens, remaining)


class ArmThrottlePolicy(HTTPPolicy):
    """Pipeline policy (placed after the retry policy, so every attempt is paced) around an :class:`ArmBudget`."""

    def __init__(self, budget: ArmBudget) -> None:
        super().__init__()
        self._budget = budget

    def send(self, request: PipelineRequest) -> PipelineResponse:
        kind = kind_of(request.http_request.method)
        self._budget.acquire(kind)
        response: PipelineResponse | None = None
        try:
            response = self.next.send(request)
            return response
        finally:
            remaining = _remaining(response.http_response.headers, kind) if response is not None else None
            throttled = response is not None and response.http_response.status_code == 429
            retry_after = _retry_after(response.http_response.headers) if throttled and response is not None else None
            self._budget.release(kind, remaining=remaining, throttled=throttled, retry_after=retry_after)
            if throttled:
                logger.warning("ARM throttled a %s request (429) despite pacing", kind)


def _retry_after(headers: Any) -> float | None:
    try:
        return max(0.0, float(headers["Retry-After"]))
    except (KeyError, TypeError, ValueError):
        return None  # an HTTP-date or nothing: the policy falls back to one refill interval


def _remaining(headers: Any, kind: str) -> float | None:
    values = []
    for name in (HEADER.format(kind), GLOBAL_HEADER.format(kind)):
        try:
            values.append(float(headers[name]))
        except (KeyError, TypeError, ValueError):
            continue
    return min(values) if values else None


_budgets: dict[tuple[str, str, float, float], ArmBudget] = {}
_budgets_lock = threading.Lock()


def forget_budgets() -> None:
    """Drop every subscription's budget (tests: each starts from ARM's full bucket)."""
    with _budgets_lock:
        _budgets.clear()


def budget_for(endpoint: str, subscription_id: str, *, writes_per_second: float = 10.0,
               reads_per_second: float = 25.0) -> ArmBudget:
    """The one budget of a subscription in this process, whichever engine or client asks."""
    key = (endpoint.rstrip("/").lower(), subscription_id.lower(), writes_per_second, reads_per_second)
    with _budgets_lock:
        if key not in _budgets:
            _budgets[key] = ArmBudget(writes_per_second=writes_per_second, reads_per_second=reads_per_second)
        return _budgets[key]
