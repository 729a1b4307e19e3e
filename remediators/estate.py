"""A whole estate through the engine: what it would do (preview) or does (apply) to each resource.

The verdict for every resource is the engine's own outcome — the same read, decision and plan
the queue worker runs — so the CLI holds no hardening logic of its own.
"""
from __future__ import annotations

import logging
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from .engine import Engine, HardeningFailed
from .inventory import InventoryItem
from .model import Caller, HardenRequest, Mode, Outcome, Status

logger = logging.getLogger(__name__)

CLI_OPERATION = "PaasHardener/cli"
COMPLIANT = "compliant"
WOULD_HARDEN = "would-harden"
# Verdicts of a tagged resource that leave nothing to do.
_SETTLED = frozenset({COMPLIANT, "hardened", "opted-out", "excluded", "resource-gone"})


def cli_request(resource_id: str, *, action: str) -> HardenRequest:
    """A request as if an event had hinted at the resource; ``action`` names the command."""
    return HardenRequest(resource_id=resource_id, event_id=f"cli-{action}-{uuid.uuid4()}",
                         operation_name=f"{CLI_OPERATION}/{action}", caller=Caller(name="paas-hardener CLI"))


def verdict_of(outcome: Outcome) -> str:
    """A short label: ``compliant``, ``would-harden``, ``hardened``, ``untagged-public``, ``unsupported``..."""
    if outcome.reason_code == "already-compliant":
        return COMPLIANT
    if outcome.status is Status.PLANNED:
        return WOULD_HARDEN
    if outcome.status is Status.SKIPPED:
        return outcome.reason_code
    return outcome.status.value


@dataclass(frozen=True)
class Finding:
    """One resource, as Resource Graph lists it and as the engine judges it."""

    item: InventoryItem
    outcome: Outcome

    @property
    def verdict(self) -> str:
        return verdict_of(self.outcome)

    @property
    def tagged(self) -> bool:
        """Carries a ``harden`` tag that asks for something (``off`` asks for nothing)."""
        return self.item.harden_tag is not None and self.item.mode is not Mode.OFF

    @property
    def settled(self) -> bool:
        return not self.tagged or self.verdict in _SETTLED

    def describe(self) -> dict[str, Any]:
        o = self.outcome
        return {
            "id": self.item.id, "name": self.item.name, "type": self.item.type,
            "subscriptionId": self.item.subscription_id, "resourceGroup": self.item.resource_group,
            "location": self.item.location, "tag": self.item.harden_tag,
            "exposure": self.item.exposure.describe(), "verdict": self.verdict,
            "status": o.status.value, "reasonCode": o.reason_code, "reason": o.reason,
            "changes": [c.describe() for c in o.changes],
            **({"error": dict(o.error)} if o.error else {}),
        }


def preview(engine: Engine, request: HardenRequest) -> Outcome:
    """What the engine would do (:meth:`Engine.preview`): read, decide, plan; nothing written."""
    try:
        return engine.preview(request)
    except HardeningFailed as failure:  # an ARM read failed: report it like the worker would
        return failure.outcome


def apply(engine: Engine, request: HardenRequest) -> Outcome:
    """Evaluate and apply, publishing the outcome as the queue worker does."""
    try:
        return engine.handle(request)
    except HardeningFailed as failure:
        return failure.outcome


def judge_all(items: Iterable[InventoryItem], judge: Callable[[HardenRequest], Outcome], *, action: str,
              workers: int = 8, on_done: Callable[[Finding], None] | None = None) -> list[Finding]:
    """Run ``judge`` (``preview`` or ``apply`` bound to an engine) over every item, ``workers`` at a time.

    Results keep the input order.
    """
    listed = list(items)

    def one(item: InventoryItem) -> Finding:
        finding = Finding(item, judge(cli_request(item.id, action=action)))
        if on_done:
            on_done(finding)
        return finding

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="estate") as pool:
        return list(pool.map(one, listed))


def summarize(findings: Iterable[Finding]) -> dict[str, Any]:
    """Counts by verdict and by subscription × verdict, and whether every tagged resource is settled."""
    findings = list(findings)
    by_sub: dict[str, Counter[str]] = defaultdict(Counter)
    for f in findings:
        by_sub[f.item.subscription_id][f.verdict] += 1
    return {
        "total": len(findings),
        "byVerdict": dict(sorted(Counter(f.verdict for f in findings).items())),
        "bySubscription": {sub: dict(sorted(c.items())) for sub, c in sorted(by_sub.items())},
        "taggedNotCompliant": sum(1 for f in findings if not f.settled),
        "compliant": all(f.settled for f in findings),
    }


def exit_code(findings: Iterable[Finding]) -> int:
    """0 when every tagged resource is compliant (or was just hardened), else 1: a pipeline gate."""
    return 0 if all(f.settled for f in findings) else 1
