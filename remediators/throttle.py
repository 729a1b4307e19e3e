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


def kind_of(method: str) -> str:
    """ARM's bucket for an HTTP method: reads, writes or deletes."""
    method = method.upper()
    if method in ("GET", "HEAD"):
        return "reads"
    return "deletes" if method == "DELETE" else "writes"


@dataclass
class _Estimate:
    rate: float
    tokens: float | None = None  # None until ARM has told us
    stamp: float = 0.0
    ceiling: float = 0.0  # the largest remaining seen: the bucket is never fuller than that
    unknown: int = 0  # requests sent before ARM's first answer, still unanswered

    def refill(self, now: float) -> None:
        assert self.tokens is not None
        self.tokens = min(max(self.ceiling, self.tokens), self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now


class ArmBudget:
    """The client-side picture of one subscription's buckets, shared by its clients' pipelines.

    Each kind's estimate is spent by every request we send and refilled at ARM's rate; every
    answer's header can only lower it (``min``): a header is a little stale by the time it is read
    (answers overtake each other, requests of ours are still on their way), so it may show more
    than is left, never less than another client has taken.

    :keyword writes_per_second: ARM's refill rate for writes (and deletes).
    :keyword reads_per_second: ARM's refill rate for reads.
    :keyword clock: Monotonic seconds; :keyword sleep: waits (both injectable for tests).
    """

    def __init__(self, *, writes_per_second: float = 10.0, reads_per_second: float = 25.0,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._kinds = {"reads": _Estimate(reads_per_second), "writes": _Estimate(writes_per_second),
                       "deletes": _Estimate(writes_per_second)}
        self.waited_seconds = 0.0
        self.throttled = 0

    def acquire(self, kind: str) -> None:
        """Wait until the estimate holds a token (plus a small margin), then spend it."""
        est = self._kinds[kind]
        while True:
            with self._lock:
                if est.tokens is None:
                    est.unknown += 1
                    return  # nothing known yet: ARM's first answer tells us
                est.refill(self._clock())
                if est.tokens >= 1 + _MARGIN:
                    est.tokens -= 1
                    return
                wait = (1 + _MARGIN - est.tokens) / est.rate
                self.waited_seconds += wait
            self._sleep(wait)

    def release(self, kind: str, *, remaining: float | None, throttled: bool) -> None:
        """Record what ARM said about the bucket in its answer to one of our requests."""
        est = self._kinds[kind]
        with self._lock:
            if throttled:
                self.throttled += 1
                remaining = 0.0
            if remaining is None:
                return
            est.ceiling = max(est.ceiling, remaining)
            if est.tokens is None:
                # The other requests sent blind may not be counted in this header yet: assume they are not.
                est.unknown = max(0, est.unknown - 1)
                est.tokens, est.stamp, est.unknown = remaining - est.unknown, self._clock(), 0
            else:
                est.refill(self._clock())
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
            self._budget.release(kind, remaining=remaining, throttled=throttled)
            if throttled:
                logger.warning("ARM throttled a %s request (429) despite pacing", kind)


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
