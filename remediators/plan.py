"""A plan is a graph: each change names the changes it needs.

Planners set the edges only they know (a zone group needs its endpoint, an
endpoint needs the DNS zones and links); :func:`link` adds the safety edges
that follow from the phases, orders the plan and numbers its steps. The
executor (``executor.py``) then runs every change whose needs have succeeded.

Safety edges (see ``Phase``):
- a firewall rule waits for every subnet service endpoint in the plan (a VNet
  rule naming a subnet without the endpoint is refused, or never matches);
- firewall clean-up (removing an allow-all rule) and public access off wait for
  every other change in the plan: endpoints, zone groups, DNS, VNet rules.
"""
from __future__ import annotations

import dataclasses
from typing import Iterable, Mapping, Sequence

from .model import Change, Phase

#: Phases whose changes wait for *every* change of a lower phase.
_LAST = (Phase.FIREWALL_CLEANUP, Phase.PUBLIC_ACCESS)


class PlanError(ValueError):
    """A planner produced a graph that cannot run (a bug, not bad input)."""


def link(changes: Iterable[Change]) -> list[Change]:
    """Add the phase-derived edges, sort topologically and number the steps.

    The order is stable: among ready changes, lower phase first, then the
    order the planners produced them in.
    """
    planned = _unique_keys(list(changes))
    keys = {c.key for c in planned}
    subnet_keys = frozenset(c.key for c in planned if c.phase is Phase.SUBNET_SERVICE_ENDPOINT)
    linked: list[Change] = []
    for change in planned:
        unknown = change.needs - keys
        if unknown:
            raise PlanError(f"{change.key} needs changes that are not in the plan: {sorted(unknown)}")
        needs = set(change.needs)
        if change.phase is Phase.FIREWALL_RULES:
            needs |= subnet_keys
        if change.phase in _LAST:
            needs |= {c.key for c in planned if c.phase < change.phase}
        linked.append(dataclasses.replace(change, needs=frozenset(needs)))
    ordered = _topological(linked)
    steps = {c.key: i for i, c in enumerate(ordered, 1)}
    return [dataclasses.replace(c, step=steps[c.key], after_steps=tuple(sorted(steps[k] for k in c.needs)))
            for c in ordered]


def critical_path(changes: Sequence[Change], durations: Mapping[str, float]) -> float:
    """The longest chain of ``durations`` (seconds, by change key) through the linked plan."""
    finish: dict[str, float] = {}
    for change in changes:  # linked plans are in topological order
        start = max((finish[k] for k in change.needs), default=0.0)
        finish[change.key] = start + durations.get(change.key, 0.0)
    return max(finish.values(), default=0.0)


def _unique_keys(changes: list[Change]) -> list[Change]:
    """Keys name edges: two changes with one key would make every edge to it ambiguous."""
    seen: set[str] = set()
    for change in changes:
        if change.key in seen:
            raise PlanError(f"two changes in one plan share the key {change.key!r}; give one of them its own key")
        seen.add(change.key)
    return changes


def _topological(changes: list[Change]) -> list[Change]:
    position = {c.key: i for i, c in enumerate(changes)}
    waiting = {c.key: set(c.needs) for c in changes}
    by_key = {c.key: c for c in changes}
    ordered: list[Change] = []
    while waiting:
        ready = [k for k, needs in waiting.items() if not needs]
        if not ready:
            raise PlanError(f"the plan has a cycle among {sorted(waiting)}")
        key = min(ready, key=lambda k: (by_key[k].phase, position[k]))
        ordered.append(by_key[key])
        del waiting[key]
        for needs in waiting.values():
            needs.discard(key)
    return ordered
