"""Where a linked plan becomes ARM calls: every ready change at once, bounded.

Threads over the synchronous SDK clients rather than the ``aio`` clients: the
services' read-merge-write code and the SDK pollers stay the same in the
Functions worker, the CLI and the tests, and a change spends nearly all of
its time waiting on ARM (a long-running operation polls for tens of seconds),
which threads overlap as well as an event loop would. The bound keeps us
within what one principal may reasonably send to one subscription; subnet
writes to one VNet are serialised separately (``network.py``).

Which ready change takes a free slot first: a zone group whose endpoint exists, because from the
moment an endpoint exists until its record does, the resource's name resolves to ``privatelink.*``
and clients of VNets linked to that zone get no answer (learn.microsoft.com/azure/private-link/
private-endpoint-dns); then the change with the longest estimated chain still ahead of it (critical
path first, so a bounded pool finishes the plan as early as the graph allows); then plan order.

A failure stops every change that needs it (directly or not); independent
changes still run to completion, so the outcome reports exactly what was done
and what was not. Public access off needs every other change of its plan
(``plan.link``), so it never runs after a partial failure.
"""
from __future__ import annotations

import logging
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Sequence

from .model import Change, Phase

logger = logging.getLogger(__name__)


class Hold(Exception):
    """Raised by a change that was made but must not be built on yet (e.g. an endpoint awaiting approval).

    The change counts as done; the changes that need it do not run.
    """


@dataclass
class Execution:
    """What became of each change of a plan, in plan order.

    :param done: Changes that were made (held ones included).
    :param held: Changes that were made but raised :class:`Hold`, with it.
    :param failed: Changes that raised, with the exception.
    :param not_run: Changes skipped because a change they need did not succeed, with why.
    :param seconds: Wall time of each change that ran, by key.
    """

    done: list[Change] = field(default_factory=list)
    held: list[tuple[Change, Hold]] = field(default_factory=list)
    failed: list[tuple[Change, BaseException]] = field(default_factory=list)
    not_run: list[tuple[Change, str]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.failed and not self.held and not self.not_run


# Typical seconds of one change of each phase in Azure, for ordering only (emulator/timing.py gives the
# sources: a private endpoint ~45 s and a subnet ~10 s from terraform-provider-azurerm#28112/#17649 logs;
# the others are order-of-magnitude estimates). A wrong estimate changes an order, never an outcome.
_ESTIMATED_SECONDS = {
    Phase.SUBNET_SERVICE_ENDPOINT: 10.0,
    Phase.PRIVATE_DNS_ZONE: 30.0,
    Phase.PRIVATE_DNS_LINK: 30.0,
    Phase.PRIVATE_ENDPOINT: 45.0,
    Phase.PRIVATE_DNS_ZONE_GROUP: 10.0,
    Phase.FIREWALL_RULES: 1.5,
    Phase.FIREWALL_CLEANUP: 1.5,
    Phase.PUBLIC_ACCESS: 1.5,
}


def remaining_chain(plan: Sequence[Change]) -> dict[str, float]:
    """For each change, the estimated seconds of the longest chain from its start to the plan's end."""
    needed_by: dict[str, list[str]] = {c.key: [] for c in plan}
    for change in plan:
        for key in change.needs:
            needed_by.setdefault(key, []).append(change.key)
    own = {c.key: _ESTIMATED_SECONDS.get(c.phase, 1.0) for c in plan}
    chain: dict[str, float] = {}
    for change in reversed(plan):  # linked plans are in topological order
        chain[change.key] = own[change.key] + max((chain[k] for k in needed_by[change.key]), default=0.0)
    return chain


def _priority(plan: Sequence[Change]) -> dict[str, tuple[int, float, int]]:
    chain = remaining_chain(plan)
    return {c.key: (0 if c.phase is Phase.PRIVATE_DNS_ZONE_GROUP else 1, -chain[c.key], i)
            for i, c in enumerate(plan)}


def execute(plan: Sequence[Change], *, max_parallel: int) -> Execution:
    """Run a linked plan (``plan.link``), at most ``max_parallel`` changes at a time."""
    if max_parallel < 1:
        raise ValueError("max_parallel must be at least 1")
    order = {c.key: i for i, c in enumerate(plan)}
    priority = _priority(plan)
    waiting = sorted(plan, key=lambda c: priority[c.key])
    succeeded: set[str] = set()
    unsuccessful: dict[str, int] = {}  # key -> step, of failed or skipped changes
    execution = Execution()
    failed: list[tuple[Change, BaseException]] = []
    held: list[tuple[Change, Hold]] = []
    not_run: list[tuple[Change, str]] = []
    done: list[Change] = []

    def timed(change: Change) -> None:
        started = time.monotonic()
        try:
            logger.info("Step %d, %s: %s", change.step, change.target, change.summary)
            change.apply()
        finally:
            execution.seconds[change.key] = time.monotonic() - started

    with ThreadPoolExecutor(max_workers=max_parallel, thread_name_prefix="harden-change") as pool:
        running: dict[Future[None], Change] = {}
        while waiting or running:
            still_waiting = []
            for change in waiting:
                blocked = sorted(unsuccessful[k] for k in change.needs if k in unsuccessful)
                if blocked:
                    unsuccessful[change.key] = change.step
                    not_run.append((change, "not made: it needs step(s) "
                                    f"{', '.join(map(str, blocked))}, which did not succeed or are held"))
                elif change.needs <= succeeded and len(running) < max_parallel:
                    running[pool.submit(timed, change)] = change
                else:
                    still_waiting.append(change)
            waiting = still_waiting
            if not running:
                if waiting:  # cannot happen with a linked plan; never spin
                    raise RuntimeError(f"changes can never become ready: {[c.key for c in waiting]}")
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                change = running.pop(future)
                error = future.exception()
                if error is None:
                    succeeded.add(change.key)
                    done.append(change)
                elif isinstance(error, Hold):
                    logger.info("Step %d made, but held: %s", change.step, error)
                    unsuccessful[change.key] = change.step
                    done.append(change)
                    held.append((change, error))
                else:
                    logger.warning("Step %d failed (%s): %s", change.step, change.target, error)
                    unsuccessful[change.key] = change.step
                    failed.append((change, error))
    execution.done = sorted(done, key=lambda c: order[c.key])
    execution.failed = sorted(failed, key=lambda f: order[f[0].key])
    execution.held = sorted(held, key=lambda h: order[h[0].key])
    execution.not_run = sorted(not_run, key=lambda n: order[n[0].key])
    return execution
