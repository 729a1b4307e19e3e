"""Renders findings for people (a table), for machines (JSON) and for pull requests (Markdown).

Nothing here decides anything: verdicts come from :mod:`remediators.estate`.

- JSON follows ``schemas/report.schema.json`` (``schemaVersion`` :data:`SCHEMA_VERSION`): a field is
  added with a minor version; a field renamed, removed or given another meaning needs a major one.
- The table is plain text, one line per resource, never wrapped, unless stdout is a terminal and
  ``rich`` is installed (the ``cli`` extra): then a ``rich`` table. The CLI needs nothing beyond the
  runtime lock.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Any, Iterable, Mapping, Sequence

from .estate import Finding, summarize

SCHEMA_VERSION = "1.0"
COLUMNS = ("subscription", "resource", "type", "tag", "exposure", "verdict")


def _short(resource_id: str) -> str:
    parts = resource_id.split("/")
    return "/".join(parts[4:5] + parts[-2:]) if len(parts) > 8 else resource_id


def exposure_text(f: Finding) -> str:
    """Where it was read, then what it shows: ``ARM: public Disabled, ...`` or ``Graph: ... (cannot show ...)``."""
    e = f.item.exposure
    bits = [f"public {e.public_network_access}"]
    if e.default_action:
        bits.append(f"default {e.default_action}")
    bits.append(f"{e.vnet_rules} vnet rules")
    bits.append(f"{e.private_endpoints} PE")
    source = "ARM" if e.source == "arm" else "Graph"
    text = f"{source}: " + ", ".join(bits)
    if e.note:  # the JSON report carries the whole note
        text += " (rules/connections not in Graph)"
    return text


def verdict_text(f: Finding, *, limit: int | None = 90) -> str:
    n = len(f.outcome.changes)
    if f.verdict in ("would-harden", "hardened"):
        return f"{f.verdict} ({n} change{'s' if n != 1 else ''})"
    if f.verdict in ("unsupported", "failed", "pending"):
        reason = f.outcome.reason
        return f"{f.verdict}: {reason if limit is None or len(reason) <= limit else reason[:limit - 1] + '…'}"
    return f.verdict


def report_data(findings: Sequence[Finding], *, command: str, scope: Mapping[str, Any], exit_code: int,
                generated: dt.datetime | None = None) -> dict[str, Any]:
    """The JSON report as a dict (see ``schemas/report.schema.json``)."""
    return {
        "schemaVersion": SCHEMA_VERSION,
        "command": command,
        "generatedAt": (generated or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds"),
        "scope": dict(scope),
        "exitCode": exit_code,
        "resources": [f.describe() for f in findings],
        "summary": summarize(findings),
    }


def as_json(findings: Sequence[Finding], *, command: str, scope: Mapping[str, Any] | None = None,
            exit_code: int = 0) -> str:
    return json.dumps(report_data(findings, command=command, scope=scope or {}, exit_code=exit_code),
                      indent=2, default=str)


def _md_cell(text: Any) -> str:
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def as_markdown(findings: Sequence[Finding], *, command: str) -> str:
    lines = [f"### paas-hardener {command}", ""]
    if not findings:
        lines += ["0 resources in scope.", ""]
        return "\n".join(lines)
    lines += ["| " + " | ".join(COLUMNS) + " |", "|---" * len(COLUMNS) + "|"]
    for f in findings:
        lines.append("| " + " | ".join(_md_cell(v) for v in (
            f.item.subscription_id, _short(f.item.id), f.item.type, f.item.harden_tag or "—",
            exposure_text(f), verdict_text(f, limit=None))) + " |")
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


def _rows(findings: Iterable[Finding], *, limit: int | None = 90) -> list[tuple[str, ...]]:
    return [(f.item.subscription_id, _short(f.item.id), f.item.type.split("/")[-1], f.item.harden_tag or "—",
             exposure_text(f), verdict_text(f, limit=limit)) for f in findings]


def _plain_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]
    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()
    return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def as_text(findings: Sequence[Finding], *, command: str) -> str:
    """The table as plain text: one line per resource, full ids' tails, never wrapped (pipes, CI logs)."""
    if not findings:
        return f"paas-hardener {command}: 0 resources in scope.\n"
    lines = [f"paas-hardener {command}", *_plain_table(COLUMNS, _rows(findings, limit=None)), ""]
    summary = summarize(findings)
    verdicts = list(summary["byVerdict"])
    totals = [(sub, *(str(c.get(v, 0)) for v in verdicts)) for sub, c in summary["bySubscription"].items()]
    totals.append(("total", *(str(summary["byVerdict"][v]) for v in verdicts)))
    lines += ["summary by subscription and verdict", *_plain_table(("subscription", *verdicts), totals)]
    return "\n".join(lines) + "\n"


def print_table(findings: Sequence[Finding], console: Any, *, command: str) -> None:
    """A ``rich`` table per resource, then the summary (a terminal with the ``cli`` extra)."""
    from rich.table import Table

    if not findings:
        console.print(f"paas-hardener {command}: 0 resources in scope.", markup=False, highlight=False)
        return
    table = Table(title=f"paas-hardener {command}", show_lines=False)
    for column in COLUMNS:
        table.add_column(column, overflow="fold")
    for f, row in zip(findings, _rows(findings)):
        style = {"compliant": "green", "would-harden": "yellow", "hardened": "green", "failed": "red",
                 "unsupported": "magenta", "untagged-public": "yellow"}.get(f.verdict)
        table.add_row(row[0][:8] + "…", *row[1:], style=style)
    console.print(table, markup=False)
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


def plan_text(findings: Iterable[Finding], *, changes_only: bool = False) -> str:
    """The exact changes per resource, in the order they are applied, before → after; and, for every
    resource with nothing to change, its verdict and reason in the words ``scan`` uses."""
    lines: list[str] = []
    findings = list(findings)
    for f in findings:
        if not f.outcome.changes:
            if not changes_only:
                lines.append(f"{f.item.id}  {f.verdict}: {f.outcome.reason}")
            continue
        lines.append(f"{f.item.id}  ({f.item.harden_tag}: {f.outcome.reason})")
        for i, c in enumerate(f.outcome.changes, 1):
            d = c.describe()
            waits = f" (after step {', '.join(map(str, d['runsAfter']))})" if d.get("runsAfter") else ""
            lines += [f"  {d.get('step', i)}. [{d['phase']}] {d['change']}{waits}",
                      f"     target: {d['target']}",
                      f"     before: {json.dumps(d['before'], default=str)}",
                      f"     after:  {json.dumps(d['after'], default=str)}"]
    if not findings:
        lines.append("0 resources in scope.")
    elif not any(f.outcome.changes for f in findings):
        lines.append("Nothing to change.")
    return "\n".join(lines) + "\n"
