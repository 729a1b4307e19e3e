"""Renders findings for people (a ``rich`` table), for machines (JSON) and for pull requests (Markdown).

Nothing here decides anything: verdicts come from :mod:`remediators.estate`.
"""
from __future__ import annotations

import json
from typing import Any, Iterable, Sequence

from .estate import Finding, summarize


def _short(resource_id: str) -> str:
    parts = resource_id.split("/")
    return "/".join(parts[4:5] + parts[-2:]) if len(parts) > 8 else resource_id


def _exposure(f: Finding) -> str:
    e = f.item.exposure
    bits = [f"public {e.public_network_access}"]
    if e.default_action:
        bits.append(f"default {e.default_action}")
    bits.append(f"{e.vnet_rules} vnet rule(s)")
    bits.append(f"{e.private_endpoints} PE")
    return ", ".join(bits)


def _verdict(f: Finding) -> str:
    n = len(f.outcome.changes)
    if f.verdict in ("would-harden", "hardened"):
        return f"{f.verdict} ({n} change{'s' if n != 1 else ''})"
    if f.verdict in ("unsupported", "failed", "pending"):
        reason = f.outcome.reason
        return f"{f.verdict}: {reason if len(reason) <= 90 else reason[:89] + '…'}"
    return f.verdict


def as_json(findings: Sequence[Finding], *, command: str) -> str:
    return json.dumps({"command": command, "resources": [f.describe() for f in findings],
                       "summary": summarize(findings)}, indent=2, default=str)


def _md_cell(text: Any) -> str:
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def as_markdown(findings: Sequence[Finding], *, command: str) -> str:
    lines = [f"### paas-hardener {command}", "",
             "| subscription | resource | type | tag | exposure | verdict |", "|---|---|---|---|---|---|"]
    for f in findings:
        lines.append("| " + " | ".join(_md_cell(v) for v in (
            f.item.subscription_id, _short(f.item.id), f.item.type, f.item.harden_tag or "—",
            _exposure(f), _verdict(f))) + " |")
    lines += ["", *_summary_markdown(findings)]
    changes = [f for f in findings if f.outcome.changes]
    if changes:
        lines += ["", "#### Changes, in order", ""]
        for f in changes:
            lines.append(f"- `{f.item.id}`")
            for i, c in enumerate(f.outcome.changes, 1):
                d = c.describe()
                lines.append(f"  {d.get('step', i)}. {d['phase']}: {d['change']} on `{d['target']}`: "
                             f"`{json.dumps(d['before'], default=str)}` → `{json.dumps(d['after'], default=str)}`")
    return "\n".join(lines) + "\n"


def _summary_markdown(findings: Sequence[Finding]) -> list[str]:
    summary = summarize(findings)
    verdicts = list(summary["byVerdict"])
    lines = ["| subscription | " + " | ".join(verdicts) + " |", "|---" * (len(verdicts) + 1) + "|"]
    for sub, counts in summary["bySubscription"].items():
        lines.append(f"| {sub} | " + " | ".join(str(counts.get(v, 0)) for v in verdicts) + " |")
    lines.append("| **total** | " + " | ".join(str(summary["byVerdict"][v]) for v in verdicts) + " |")
    return lines


def print_table(findings: Sequence[Finding], console: Any, *, command: str) -> None:
    """A table per resource, then the summary, on a ``rich`` console."""
    from rich.table import Table

    table = Table(title=f"paas-hardener {command}", show_lines=False)
    for column in ("subscription", "resource", "type", "tag", "exposure", "verdict"):
        table.add_column(column, overflow="fold")
    for f in findings:
        style = {"compliant": "green", "would-harden": "yellow", "hardened": "green", "failed": "red",
                 "unsupported": "magenta", "untagged-public": "yellow"}.get(f.verdict)
        table.add_row(f.item.subscription_id[:8] + "…", _short(f.item.id), f.item.type.split("/")[-1],
                      f.item.harden_tag or "—", _exposure(f), _verdict(f), style=style)
    console.print(table)
    summary = summarize(findings)
    totals = Table(title="summary by subscription and verdict")
    verdicts = list(summary["byVerdict"])
    totals.add_column("subscription")
    for v in verdicts:
        totals.add_column(v, justify="right")
    for sub, counts in summary["bySubscription"].items():
        totals.add_row(sub, *(str(counts.get(v, 0)) for v in verdicts))
    totals.add_row("total", *(str(summary["byVerdict"][v]) for v in verdicts), style="bold")
    console.print(totals)


def print_plan(findings: Iterable[Finding], console: Any) -> None:
    """The exact changes per resource, in the order they are applied, before → after."""
    any_change = False
    for f in findings:
        if not f.outcome.changes:
            continue
        any_change = True
        console.print(f"{f.item.id}  ({f.item.harden_tag}: {f.outcome.reason})", style="bold", highlight=False,
                      markup=False)
        for i, c in enumerate(f.outcome.changes, 1):
            d = c.describe()
            waits = f" (after step {', '.join(map(str, d['runsAfter']))})" if d.get("runsAfter") else ""
            console.print(f"  {d.get('step', i)}. [{d['phase']}] {d['change']}{waits}\n     target: {d['target']}\n"
                          f"     before: {json.dumps(d['before'], default=str)}\n"
                          f"     after:  {json.dumps(d['after'], default=str)}", highlight=False, markup=False)
    if not any_change:
        console.print("Nothing to change.")
