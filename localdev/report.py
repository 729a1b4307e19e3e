"""Render outcome notifications for a person reading a terminal."""
from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any, Iterable, Mapping

_MARK = {"hardened": "✔", "planned": "…", "pending": "⏸", "skipped": "·", "unsupported": "⚠", "failed": "✘"}


def short_id(resource_id: str) -> str:
    """``…/providers/Microsoft.KeyVault/vaults/kv1`` → ``KeyVault/vaults/kv1``."""
    tail = re.split("/providers/", resource_id, maxsplit=1, flags=re.I)[-1]
    return tail[len("microsoft."):] if tail.lower().startswith("microsoft.") else tail


def _value(value: Any) -> str:
    if isinstance(value, str):
        return short_id(value) if value.startswith("/subscriptions/") else value
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return json.dumps(value)


def render_outcome(data: Mapping[str, Any]) -> str:
    status = data["status"]
    lines = [f"{_MARK.get(status, '?')} {status.upper():<11} {short_id(data['resourceId'])}",
             f"    why:  {data['reason']}"]
    if data.get("tag"):
        lines.append(f"    tag:  harden={data['tag']['harden']}")
    trigger = data.get("trigger") or {}
    if trigger:
        who = trigger.get("caller") or {}
        lines.append(f"    from: {trigger.get('operationName')} (event {trigger.get('eventId')}"
                     f"{', by ' + (who.get('name') or who.get('principalId') or '') if who else ''})")
    for number, change in enumerate(data.get("changes") or (), 1):
        lines += _change_lines(change, number)
    for item in data.get("notDone") or ():
        lines += _change_lines(item, None)
    if data.get("error"):
        lines.append(f"    error: {data['error']['code']}: {data['error']['message']}")
    return "\n".join(lines)


def _change_lines(change: Mapping[str, Any], number: int | None) -> list[str]:
    """``3. [private_endpoint] create ... (after 1, 2; 0.45 s)`` and its before → after lines."""
    step = change.get("step", number)
    notes = []
    if change.get("runsAfter"):
        notes.append("after " + ", ".join(map(str, change["runsAfter"])))
    if change.get("seconds") is not None:
        notes.append(f"{change['seconds']:.2f} s")
    mark = "NOT DONE " if number is None else ""
    lines = [f"    {step}. {mark}[{change['phase']}] {change['change']}" + (f" ({'; '.join(notes)})" if notes else ""),
             f"       on {short_id(change['target'])}"]
    if change.get("why"):
        lines.append(f"       why: {change['why']}")
    before, after = change.get("before"), change.get("after")
    if isinstance(after, Mapping):
        for key, new in after.items():
            old = before.get(key) if isinstance(before, Mapping) else None
            lines.append(f"       {key}: {_value(old)} → {_value(new)}")
    return lines


def render_outcomes(items: Iterable[Mapping[str, Any]]) -> str:
    return "\n\n".join(render_outcome(d) for d in items)


def render_worker_errors(deliveries: Iterable[Any]) -> str:
    """Every distinct exception the worker raised (``localdev.host.Delivery``), with how often and whether
    the message ended in the poison queue; empty when there were none."""
    seen: Counter[str] = Counter()
    poisoned: Counter[str] = Counter()
    for delivery in deliveries:
        if delivery.error is None:
            continue
        text = f"{type(delivery.error).__name__}: {delivery.error}"
        seen[text] += 1
        poisoned[text] += delivery.poisoned
    lines = []
    for text, count in seen.items():
        fate = f", {poisoned[text]} message(s) moved to the poison queue" if poisoned[text] else ""
        lines.append(f"{_MARK['failed']} WORKER ERROR {text}\n    raised {count} time(s){fate}")
    return "\n".join(lines)
