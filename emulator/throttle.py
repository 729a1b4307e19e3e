"""ARM's request throttle: a token bucket per subscription, principal and kind of request.

Source: learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling
("Migrating to regional throttling and token bucket algorithm"): limits apply per region of the
ARM instance, per subscription and security principal; reads 250 burst, refill 25/s; writes 200,
10/s; deletes 200, 10/s. Each response carries the remaining budget in
``x-ms-ratelimit-remaining-subscription-reads`` / ``-writes`` / ``-deletes``; a request over the
limit gets 429 with ``Retry-After`` (seconds). (The subscription-wide limit, 15x a principal's, and
the tenant limits are not modelled: one principal per subscription stays below them.)

The buckets are this server's, keyed by (subscription, principal, kind): every process that signs in
as the same identity (several instances of the function app, the CLI) spends the same bucket, as
in Azure ("the limits apply per security principal", request-limits-and-throttling), and a process's
first answer can be a 429 or a remaining of 0 because others drained it. ``start`` begins a bucket
at a given level to model exactly that.

Off by default. ``scale`` multiplies the refill rates (not the bursts): with ``scale=10`` a
second of wall time refills what ten seconds would in Azure, so a benchmark of a burst runs ten
times faster while keeping the shape (burst first, then the steady rate).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

ARM_LIMITS = {"reads": (250, 25.0), "writes": (200, 10.0), "deletes": (200, 10.0)}


def kind_of(method: str) -> str:
    if method in ("GET", "HEAD"):
        return "reads"
    return "deletes" if method == "DELETE" else "writes"


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class Throttle:
    """Token buckets keyed by (subscription, principal, kind); thread-safe."""

    def __init__(self) -> None:
        self.enabled = False
        self.scale = 1.0
        self.limits = dict(ARM_LIMITS)
        self.throttled = 0  # 429s answered since enable()
        self.start: dict[str, float] = {}
        self._buckets: dict[tuple[str, str, str], _Bucket] = {}
        self._lock = threading.Lock()

    def enable(self, *, scale: float = 1.0, limits: dict[str, tuple[int, float]] | None = None,
               start: dict[str, float] | None = None) -> None:
        """Turn the buckets on; ``start`` gives a kind's level when a bucket is first used (default: full)."""
        with self._lock:
            self.enabled, self.scale, self.throttled = True, scale, 0
            self.limits = {**ARM_LIMITS, **(limits or {})}
            self.start = dict(start or {})
            self._buckets.clear()

    def disable(self) -> None:
        with self._lock:
            self.enabled = False
            self._buckets.clear()

    def take(self, subscription: str, principal: str, method: str) -> tuple[bool, int, int]:
        """Spend one token: (allowed, remaining, retry-after seconds when refused)."""
        kind = kind_of(method)
        burst, rate = self.limits[kind]
        rate *= self.scale
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.setdefault((subscription.lower(), principal, kind),
                                              _Bucket(self.start.get(kind, burst), now))
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.stamp) * rate)
            bucket.stamp = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return True, int(bucket.tokens), 0
            self.throttled += 1
            # Retry-After is whole seconds on the wire; never 0, or a client would spin.
            return False, 0, max(1, math.ceil((1 - bucket.tokens) / rate))
