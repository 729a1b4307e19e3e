"""``python -m remediators`` / ``paas-hardener``: scan, plan and apply over a whole estate.

Argument parsing and wiring only. Resources come from Resource Graph
(:mod:`remediators.inventory`), every verdict from the engine the function app runs
(:mod:`remediators.estate`), and the rendering from :mod:`remediators.report`.
stdout carries only the requested output; progress and logs go to stderr.

Exit codes: 0 every tagged resource is compliant (or was just hardened); 1 otherwise;
2 bad arguments or settings.
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from typing import Any, Callable, Mapping, Sequence

from . import estate, inventory, report
from .inventory import InvalidScope, Scope
from .settings import _KEYS, Settings, SettingsError

logger = logging.getLogger(__name__)

# Settings a flag may not set: dry run is what the command says (scan/plan never write).
_NOT_FLAGS = {"HARDEN_DRY_RUN"}
_EXTRA_FLAGS = {"AZURE_RESOURCE_MANAGER_ENDPOINT": "--arm-endpoint", "AZURE_CLIENT_ID": "--client-id"}


def _flag_for(key: str) -> str | None:
    if key in _EXTRA_FLAGS:
        return _EXTRA_FLAGS[key]
    if key.startswith("HARDEN_") and key not in _NOT_FLAGS:
        return "--" + key[len("HARDEN_"):].lower().replace("_", "-")
    return None


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    scope = common.add_argument_group("scope")
    scope.add_argument("--subscription", action="append", default=[], metavar="ID",
                       help="subscription id (repeat for several)")
    scope.add_argument("--management-group", action="append", default=[], metavar="NAME",
                       help="management group name (repeat for several)")
    scope.add_argument("--resource-group", metavar="NAME", help="only this resource group")
    common.add_argument("--output", "-o", choices=("table", "json", "markdown"), default="table")
    common.add_argument("--workers", type=int, default=8, help="resources evaluated at a time (default 8)")
    common.add_argument("--verbose", "-v", action="store_true", help="log to stderr at INFO")
    settings = common.add_argument_group("settings (default: the environment variable of the same name)")
    for key in _KEYS:
        flag = _flag_for(key)
        if flag:
            settings.add_argument(flag, dest=key, metavar="VALUE", help=key)

    parser = argparse.ArgumentParser(prog="paas-hardener", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("scan", parents=[common], help="every handled resource in scope and the engine's verdict")
    plan = sub.add_parser("plan", parents=[common], help="the exact changes, in order, before → after; writes nothing")
    plan.add_argument("resource_id", nargs="?", help="one resource id (instead of a scope)")
    apply = sub.add_parser("apply", parents=[common], help="plan, confirm, then apply as the function app would")
    apply.add_argument("resource_id", nargs="?", help="one resource id (instead of a scope)")
    apply.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation (pipelines)")
    doctor = sub.add_parser("doctor", help="check a deployment read-only (reads the azd environment's variables)")
    doctor.add_argument("--output", "-o", choices=("table", "json"), default="table")
    doctor.add_argument("--verbose", "-v", action="store_true", help="log to stderr at INFO")
    return parser


def settings_from(args: argparse.Namespace, environ: Mapping[str, str], scope: Scope) -> Settings:
    """The app's settings: environment, overridden by flags; subscriptions default to the scope's."""
    env = dict(environ)
    for key in _KEYS:
        value = getattr(args, key, None)
        if value is not None:
            env[key] = value
    if not env.get("HARDEN_SUBSCRIPTION_IDS") and scope.subscriptions:
        env["HARDEN_SUBSCRIPTION_IDS"] = ",".join(scope.subscriptions)
    if not env.get("HARDEN_SUBSCRIPTION_IDS"):
        # Management-group scans: the engine does not filter by subscription; the trigger does.
        env["HARDEN_SUBSCRIPTION_IDS"] = "00000000-0000-0000-0000-000000000000"
    return Settings.from_env(env)


def _scope(args: argparse.Namespace) -> Scope:
    resource_id = getattr(args, "resource_id", None)
    if resource_id:
        return Scope.for_resource(resource_id)
    return Scope(subscriptions=tuple(s.lower() for s in args.subscription),
                 management_groups=tuple(args.management_group), resource_group=args.resource_group)


def main(argv: Sequence[str] | None = None, *, environ: Mapping[str, str] | None = None,
         stdin: Any = None, stdout: Any = None, stderr: Any = None) -> int:
    from rich.console import Console

    args = _parser().parse_args(argv)
    out = stdout or sys.stdout
    err_console = Console(file=stderr or sys.stderr)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=stderr or sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    env = os.environ if environ is None else environ
    if args.command == "doctor":  # remediators/doctor.py: 0 all good, 1 findings, 2 could not judge
        from . import doctor

        return doctor.main(env, output=args.output, out=out)
    try:
        scope = _scope(args)
        settings = settings_from(args, env, scope)
    except (InvalidScope, SettingsError) as exc:
        err_console.print(f"error: {exc}", markup=False, highlight=False)
        return 2

    from .runtime import credential_for, engine_for

    graph = inventory.resource_graph_client(credential_for(settings.client_id), endpoint=settings.arm_endpoint)
    # One engine: preview never writes; apply is what the user asked for, whatever HARDEN_DRY_RUN says.
    engine = engine_for(dataclasses.replace(settings, dry_run=False))
    findings = _run(f"{args.command}: evaluating", err_console,
                    lambda on_page, on_done: estate.judge_all(
                        inventory.list_resources(graph, scope, on_page=on_page),
                        lambda r: estate.preview(engine, r), action=args.command, workers=args.workers,
                        on_done=on_done))

    if args.command == "apply":
        planned = [f for f in findings if f.outcome.changes]
        report.print_plan(planned, err_console)
        if planned and not (args.yes or _confirm(len(planned), stdin or sys.stdin, err_console)):
            err_console.print("Nothing applied.")
            return 1
        applied = {f.item.id: f for f in _run("apply: applying", err_console, lambda _, on_done: estate.judge_all(
            (f.item for f in planned), lambda r: estate.apply(engine, r), action="apply",
            workers=args.workers, on_done=on_done))}
        findings = [applied.get(f.item.id, f) for f in findings]

    _write(args, findings, out)
    return estate.exit_code(findings)


def _run(label: str, console: Any, work: Callable[[Callable[[int, int], None], Callable[[Any], None]], list]) -> list:
    """Run ``work(on_page, on_done)`` under a progress bar on stderr (shown on a terminal only)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task(label, total=None)
        return work(lambda _seen, total: progress.update(task, total=total),
                    lambda _finding: progress.advance(task))


def _confirm(count: int, stdin: Any, console: Any) -> bool:
    console.print(f"Apply these changes to {count} resource(s)? Type 'yes' to continue: ", end="")
    answer = stdin.readline().strip().lower()
    return answer in ("yes", "y")


def _write(args: argparse.Namespace, findings: list[estate.Finding], out: Any) -> None:
    if args.output == "json":
        out.write(report.as_json(findings, command=args.command) + "\n")
    elif args.output == "markdown":
        out.write(report.as_markdown(findings, command=args.command))
    else:
        from rich.console import Console

        console = Console(file=out, width=None if out.isatty() else 180)
        if args.command == "plan":
            report.print_plan(findings, console)
        else:
            report.print_table(findings, console, command=args.command)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
