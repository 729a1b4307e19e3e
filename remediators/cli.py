"""``python -m remediators`` / ``paas-hardener``: scan, plan and apply over a whole estate.

Argument parsing and wiring only. Resources come from Resource Graph (:mod:`remediators.inventory`),
or, for one resource id, from ARM through the engine (Graph lags writes with no upper bound,
Azure/azure-dev#540); every verdict comes from the engine the function app runs
(:mod:`remediators.estate`); the rendering from :mod:`remediators.report`. stdout carries only the
requested output; progress, logs and errors go to stderr.

Exit codes (every verb keeps to them; ruff/pylint style, like terraform's ``-detailed-exitcode``):

  0  every tagged resource in scope is compliant (or was just hardened); "0 resources" is 0 too
  1  findings: something to harden, failed, unsupported, pending, or a change not applied
  2  the command could not judge: bad usage or settings, no credential, ARM unreachable, a scope
     it cannot read, a resource not found. stdout stays empty; stderr has one line
     ``error: <what happened>: <why>; <what to do>`` (the traceback only with ``--debug``).

Adding a verb (``doctor``, ``history``, ``revert``...): put its logic in a module of its own, write
``def _run_<verb>(args, ctx) -> int`` returning one of the codes above (raise :class:`CliError` for
a 2), and add one :class:`Verb` to :data:`VERBS`. ``scope=True`` gives it the scope flags,
``settings`` the app-setting flags it honours.
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from . import estate, inventory, report
from .inventory import InvalidScope, Scope
from .settings import _KEYS, Settings, SettingsError

logger = logging.getLogger(__name__)

EXIT_COMPLIANT = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
EXIT_CODES_HELP = """exit codes:
  0  every tagged resource in scope is compliant (or was just hardened)
  1  findings: something to harden, failed, unsupported or pending
  2  could not judge: usage, no credential, ARM unreachable, a scope it cannot read, a resource not found"""


class CliError(Exception):
    """The command could not judge (exit 2). ``str()`` is the one line shown: what, why, what to do."""

    def __init__(self, what: str, why: str, fix: str) -> None:
        super().__init__(f"{what}: {why.strip().rstrip('.')}; {fix}")


# -- settings flags ----------------------------------------------------------------
# Settings that are not flags: the scope flags give the subscriptions, scan/plan never write
# whatever HARDEN_DRY_RUN says, and the sweep's and the host's own settings do not apply.
_NOT_FLAGS = {"HARDEN_DRY_RUN", "HARDEN_SUBSCRIPTION_IDS", "HARDEN_SWEEP_DEDUPE_MINUTES", "HARDEN_SWEEP_SCHEDULE"}
# Settings that only matter when writing (apply).
_APPLY_ONLY = {"HARDEN_NOTIFY_TOPIC_ENDPOINT", "HARDEN_NOTIFY_TOPIC_KEY", "HARDEN_POLL_INTERVAL_SECONDS",
               "HARDEN_MAX_PARALLEL_CHANGES", "HARDEN_ARM_WRITES_PER_SECOND"}
_EXTRA_FLAGS = {"AZURE_RESOURCE_MANAGER_ENDPOINT": "--arm-endpoint", "AZURE_CLIENT_ID": "--client-id"}


def _flag_for(key: str) -> str | None:
    if key in _EXTRA_FLAGS:
        return _EXTRA_FLAGS[key]
    if key.startswith("HARDEN_") and key not in _NOT_FLAGS:
        return "--" + key[len("HARDEN_"):].lower().replace("_", "-")
    return None


def _settings_keys(*, writes: bool) -> list[str]:
    return [k for k in _KEYS if _flag_for(k) and (writes or k not in _APPLY_ONLY)]


# -- verbs -------------------------------------------------------------------------
@dataclass
class Context:
    """What a verb gets besides its arguments."""

    environ: Mapping[str, str]
    stdin: Any
    stdout: Any
    stderr: Any


@dataclass(frozen=True)
class Verb:
    """One sub-command: its help, its own arguments, and what runs it."""

    name: str
    help: str
    run: Callable[[argparse.Namespace, Context], int]
    add_arguments: Callable[[argparse.ArgumentParser], None] = lambda _parser: None
    scope: bool = False
    #: App settings the verb honours as flags (see :func:`_settings_keys`).
    settings: Sequence[str] = field(default_factory=tuple)
    output: bool = True


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _resource_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("resource_id", nargs="?", help="one resource id, read from ARM (instead of a scope)")


def _apply_arguments(parser: argparse.ArgumentParser) -> None:
    _resource_argument(parser)
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation (pipelines)")


def _run_scan(args: argparse.Namespace, ctx: Context) -> int:
    return _judge(args, ctx)


def _run_plan(args: argparse.Namespace, ctx: Context) -> int:
    return _judge(args, ctx)


def _run_apply(args: argparse.Namespace, ctx: Context) -> int:
    return _judge(args, ctx)


def _doctor_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", "-o", choices=("table", "json"), default="table")


def _run_doctor(args: argparse.Namespace, ctx: Context) -> int:
    from . import doctor  # remediators/doctor.py: 0 all good, 1 findings, 2 could not judge

    return doctor.main(ctx.environ, output=args.output, out=ctx.stdout)


def _history_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("resource_id", help="the resource whose timeline to show")
    parser.add_argument("--output", "-o", choices=("table", "json"), default="table")
    parser.add_argument("--limit", type=_positive_int, default=50, help="newest entries shown (default 50)")


def _history(ctx: Context, what: str) -> Any:
    """The change history the app's ``AzureWebJobsStorage`` settings name; exit 2 without them."""
    from .history import history_from_environment

    history = history_from_environment(ctx.environ)
    if history is None:
        raise CliError(what, "AzureWebJobsStorage is not set",
                       "set AzureWebJobsStorage (a connection string) or AzureWebJobsStorage__accountName to the "
                       "app's storage account, as the function app has it")
    return history


def _run_history(args: argparse.Namespace, ctx: Context) -> int:
    from azure.core.exceptions import AzureError

    from .history import render_timeline

    history = _history(ctx, "no change history to read")
    try:
        timeline = history.list_for(args.resource_id, limit=args.limit)
    except AzureError as exc:
        raise CliError("cannot read the change history", f"{type(exc).__name__}: {exc}",
                       "give the identity Storage Table Data Reader on the app's storage account") from exc
    ctx.stdout.write(render_timeline(args.resource_id, timeline, output=args.output))
    return EXIT_COMPLIANT


def _revert_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("resource_id", help="the resource to put back as it was before this tool changed it")
    parser.add_argument("--yes", "-y", action="store_true", help="apply the plan (without it, only show it)")
    parser.add_argument("--remove-created", action="store_true",
                        help="also delete the private endpoints this tool created for the resource")
    parser.add_argument("--output", "-o", choices=("table", "json"), default="table")


def _run_revert(args: argparse.Namespace, ctx: Context) -> int:
    """Plan (and with --yes apply) a revert; 0 reverted or nothing to revert, 1 planned only or failed."""
    from azure.core.exceptions import AzureError, ResourceNotFoundError

    from .model import Caller, Status
    from .revert import render
    from .runtime import engine_for

    history = _history(ctx, "no change history to revert from")
    settings = settings_from(args, ctx.environ, Scope.for_resource(_valid_id(args)))
    engine = engine_for(dataclasses.replace(settings, dry_run=False))
    who = ctx.environ.get("AZURE_CLIENT_ID") or ctx.environ.get("USER") or "unknown"
    try:
        outcome = engine.revert(args.resource_id, history=history, apply=args.yes, remove_created=args.remove_created,
                                caller=Caller(name=f"paas-hardener revert ({who})"))
    except LookupError as exc:
        raise CliError("not a handled resource", str(exc), "give the id of a resource this tool hardens") from exc
    except ResourceNotFoundError as exc:
        raise CliError(f"resource not found: {args.resource_id}", "ARM answered 404",
                       "check the id (az resource show --ids ...) and that the identity can read it") from exc
    except AzureError as exc:
        explained = explain(exc, ctx.environ, args)
        if explained is None and type(exc).__module__.startswith("azure.data.tables"):
            raise CliError("cannot read the change history", f"{type(exc).__name__}: {exc}",
                           "give the identity Storage Table Data Reader on the app's storage account") from exc
        raise
    ctx.stdout.write(render(outcome, output=args.output))
    if outcome.status is Status.PLANNED:
        ctx.stderr.write("Nothing changed: run again with --yes to apply this plan.\n")
    return EXIT_COMPLIANT if outcome.status in (Status.REVERTED, Status.SKIPPED) else EXIT_FINDINGS


def _valid_id(args: argparse.Namespace) -> str:
    try:
        Scope.for_resource(args.resource_id)
    except InvalidScope as exc:
        raise CliError("invalid resource id", str(exc), "give a full ARM resource id") from exc
    return args.resource_id


VERBS: tuple[Verb, ...] = (
    Verb("scan", "every handled resource in scope and the engine's verdict; writes nothing", _run_scan,
         scope=True, settings=_settings_keys(writes=False)),
    Verb("plan", "the exact changes, in order, before → after, and every other verdict; writes nothing",
         _run_plan, _resource_argument, scope=True, settings=_settings_keys(writes=False)),
    Verb("apply", "plan, confirm, then apply as the function app would; shows the state after", _run_apply,
         _apply_arguments, scope=True, settings=_settings_keys(writes=True)),
    Verb("doctor", "check a deployment read-only (reads the azd environment's variables)", _run_doctor,
         _doctor_arguments, output=False),
    Verb("history", "what this tool did to one resource, newest first (the change history)", _run_history,
         _history_arguments, output=False),
    Verb("revert", "put a resource back as it was before this tool changed it (harden=off first); --yes applies",
         _run_revert, _revert_arguments, output=False, settings=_settings_keys(writes=True)),
)


# -- parsing -----------------------------------------------------------------------
class _UsageError(Exception):
    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, and prints help to the CLI's own stdout."""

    out: Any = None

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(self, message)

    def _print_message(self, message: str, file: Any = None) -> None:
        if message:
            (self.out or sys.stdout).write(message)


def _parser(out: Any = None) -> _Parser:
    _Parser.out = out
    parser = _Parser(prog="paas-hardener", description=__doc__.split("\n\n")[0], epilog=EXIT_CODES_HELP,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="{" + ",".join(v.name for v in VERBS) + "}",
                                parser_class=_Parser)
    for verb in VERBS:
        p = sub.add_parser(verb.name, help=verb.help, description=verb.help, epilog=EXIT_CODES_HELP,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(verb=verb)
        verb.add_arguments(p)
        if verb.scope:
            scope = p.add_argument_group("scope")
            scope.add_argument("--subscription", action="append", default=[], metavar="ID",
                               help="subscription id (repeat for several)")
            scope.add_argument("--management-group", action="append", default=[], metavar="NAME",
                               help="management group name (repeat for several)")
            scope.add_argument("--resource-group", metavar="NAME", help="only this resource group")
            p.add_argument("--workers", type=_positive_int, default=8,
                           help="resources evaluated at a time, at least 1 (default 8)")
        if verb.output:
            p.add_argument("--output", "-o", choices=("table", "json", "markdown"), default="table",
                           help="table (plain text unless stdout is a terminal), json "
                                "(schemas/report.schema.json) or markdown")
        p.add_argument("--verbose", "-v", action="store_true", help="log to stderr at INFO")
        p.add_argument("--debug", action="store_true", help="log at DEBUG; show the traceback of an error")
        if verb.settings:
            group = p.add_argument_group("settings (default: the environment variable named)")
            for key in verb.settings:
                group.add_argument(_flag_for(key), dest=key, metavar="VALUE", help=key)
    return parser


def settings_from(args: argparse.Namespace, environ: Mapping[str, str], scope: Scope) -> Settings:
    """The app's settings: environment, overridden by flags; subscriptions default to the scope's.

    A setting given as a flag that is invalid is reported by its flag's name."""
    env = dict(environ)
    flagged = {}
    for key in _KEYS:
        value = getattr(args, key, None)
        if value is not None:
            env[key] = value
            flagged[key] = _flag_for(key)
    if not env.get("HARDEN_SUBSCRIPTION_IDS") and scope.subscriptions:
        env["HARDEN_SUBSCRIPTION_IDS"] = ",".join(scope.subscriptions)
    if not env.get("HARDEN_SUBSCRIPTION_IDS"):
        # Management-group scans: the engine does not filter by subscription; the trigger does.
        env["HARDEN_SUBSCRIPTION_IDS"] = "00000000-0000-0000-0000-000000000000"
    try:
        return Settings.from_env(env)
    except SettingsError as exc:
        message = str(exc)
        by_flag = [flag for key, flag in flagged.items() if key in message]
        for key, flag in flagged.items():
            message = message.replace(key, flag or key)
        raise CliError("invalid setting", message, f"fix the value of {by_flag[0]}" if by_flag else
                       "fix that environment variable, or override it with its flag") from exc


def _scope(args: argparse.Namespace) -> Scope:
    resource_id = getattr(args, "resource_id", None)
    try:
        if resource_id:
            if args.subscription or args.management_group or args.resource_group:
                raise InvalidScope("give either a resource id or --subscription/--management-group, not both")
            return Scope.for_resource(resource_id)
        return Scope(subscriptions=tuple(s.lower() for s in args.subscription),
                     management_groups=tuple(args.management_group), resource_group=args.resource_group)
    except InvalidScope as exc:
        raise CliError("invalid scope", str(exc), f"see `paas-hardener {args.command} --help`") from exc


# -- main --------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None, *, environ: Mapping[str, str] | None = None,
         stdin: Any = None, stdout: Any = None, stderr: Any = None) -> int:
    out, err = stdout or sys.stdout, stderr or sys.stderr
    ctx = Context(environ=os.environ if environ is None else environ, stdin=stdin or sys.stdin, stdout=out,
                  stderr=err)
    try:
        args = _parser(out).parse_args(argv)
    except _UsageError as exc:
        err.write(f"error: {exc}; see `{exc.parser.prog} --help`\n")
        return EXIT_ERROR
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    restore = _configure_logging(args, err)
    try:
        return _run_verb(args, ctx)
    finally:
        restore()


def _run_verb(args: argparse.Namespace, ctx: Context) -> int:
    err = ctx.stderr
    try:
        return args.verb.run(args, ctx)
    except BrokenPipeError:  # `... | head`: the reader left; nothing more to say, and no verdict was delivered
        return EXIT_ERROR
    except CliError as exc:
        failure: BaseException = exc
        line = str(exc)
    except Exception as exc:  # noqa: BLE001 - every failure becomes exit 2 with one line, never a verdict
        failure = exc
        explained = explain(exc, ctx.environ, args)
        if explained is None:
            line = f"unexpected error: {type(exc).__name__}: {exc}; run again with --debug and report it"
        else:
            line = str(explained)
    if args.debug:
        err.write("".join(traceback.format_exception(failure)))
    err.write(f"error: {line}\n")
    return EXIT_ERROR


def _not_lease_warning(record: logging.LogRecord) -> bool:
    # The CLI is one process: its VNet lock is in-process, and the function app's lease on
    # AzureWebJobsStorage (remediators/vnet_lease.py) is not expected here; that warning is the app's.
    return "AzureWebJobsStorage is not set" not in record.getMessage()


def _configure_logging(args: argparse.Namespace, err: Any) -> Callable[[], None]:
    """Logs to ``err`` for this run; returns what undoes it (main() may run in-process, e.g. in tests)."""
    level = logging.DEBUG if args.debug else logging.INFO if args.verbose else logging.WARNING
    handler = logging.StreamHandler(err)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_not_lease_warning)
    root, sdk = logging.getLogger(), logging.getLogger("azure")
    saved = (root.level, sdk.level)
    root.addHandler(handler)
    root.setLevel(level)
    # The SDK's own logs (azure.identity's many-line "failed to retrieve a token") are for --debug:
    # without it, the failure is the one error line.
    sdk.setLevel(logging.DEBUG if args.debug else logging.CRITICAL)

    def restore() -> None:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        sdk.setLevel(saved[1])
    return restore


def explain(exc: BaseException, environ: Mapping[str, str], args: argparse.Namespace) -> CliError | None:
    """One line for a failure of Azure's (no credential, no answer, refused), or ``None``."""
    from azure.core.exceptions import (ClientAuthenticationError, HttpResponseError, ServiceRequestError,
                                       ServiceResponseError)

    endpoint = getattr(args, "AZURE_RESOURCE_MANAGER_ENDPOINT", None) or environ.get(
        "AZURE_RESOURCE_MANAGER_ENDPOINT") or "https://management.azure.com"
    if isinstance(exc, ClientAuthenticationError) and getattr(exc, "status_code", None) is None:
        return CliError("no Azure credential",
                        _first_line(exc.message if hasattr(exc, "message") else str(exc)),
                        "run `az login`, or set AZURE_CLIENT_ID for a managed identity "
                        "(AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET for a service principal)")
    if isinstance(exc, ServiceRequestError):
        return CliError(f"ARM unreachable at {endpoint}", _first_line(str(exc)),
                        "check the network or proxy, and --arm-endpoint / AZURE_RESOURCE_MANAGER_ENDPOINT")
    if isinstance(exc, ServiceResponseError):
        return CliError(f"no answer from ARM at {endpoint}", _first_line(str(exc)),
                        "run again; if it persists, check the network or proxy")
    if isinstance(exc, inventory.GraphIncomplete):
        return CliError("incomplete inventory", str(exc), "narrow the scope (--resource-group) and run again")
    if isinstance(exc, HttpResponseError):
        code = getattr(getattr(exc, "error", None), "code", None) or ""
        message = _first_line(getattr(getattr(exc, "error", None), "message", None) or str(exc))
        if exc.status_code == 401:
            return CliError("ARM refused the credential", f"401 {code}: {message}",
                            "check the tenant and the identity (az login --tenant ...)")
        if exc.status_code == 403:
            return CliError("cannot read the scope", f"403 {code}: {message}",
                            "grant the identity Reader on the subscriptions or management group in scope")
        if exc.status_code == 404:
            return CliError("not found", f"404 {code}: {message}", "check the id and the subscription")
        if exc.status_code == 429:
            return CliError("throttled", f"429 {code}: {message}", "wait a minute and run again")
        return CliError(f"ARM answered {exc.status_code}", f"{code}: {message}", "run again with --debug")
    return None


def _first_line(text: str) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else ""


# -- scan / plan / apply -----------------------------------------------------------
def _judge(args: argparse.Namespace, ctx: Context) -> int:
    scope = _scope(args)
    settings = settings_from(args, ctx.environ, scope)
    from .runtime import credential_for, engine_for

    credential = credential_for(settings.client_id)
    # One engine: preview never writes; apply is what the user asked for, whatever HARDEN_DRY_RUN says.
    engine = engine_for(dataclasses.replace(settings, dry_run=False))
    err = ctx.stderr
    if scope.resource_id:
        items = [_read_one(engine, scope.resource_id)]
    else:
        for sub in scope.subscriptions:  # an unreadable subscription is an error, never an empty table
            _check_subscription(credential, sub, endpoint=settings.arm_endpoint)
        graph = inventory.resource_graph_client(credential, endpoint=settings.arm_endpoint)
        items = list(inventory.list_resources(graph, scope))
    logger.info("%d resource(s) in scope", len(items))
    if not items and args.output == "json":  # the table and Markdown say it themselves
        err.write(f"0 resources in scope ({_describe_scope(scope)}).\n")
    progress = _Progress(err, f"{args.command}: evaluating", len(items))
    findings = estate.judge_all(items, lambda r: estate.preview(engine, r), action=args.command,
                                workers=args.workers, on_done=progress.advance)
    progress.close()

    if args.command == "apply":
        planned = [f for f in findings if f.outcome.changes]
        if planned:
            err.write(report.plan_text(planned, changes_only=True))
        if planned and not (args.yes or _confirm(len(planned), ctx.stdin, err)):
            err.write("Nothing applied.\n")
            _write(args, findings, ctx.stdout, scope, EXIT_FINDINGS)
            return EXIT_FINDINGS
        progress = _Progress(err, "apply: applying", len(planned))
        applied = estate.judge_all((f.item for f in planned), lambda r: estate.apply(engine, r), action="apply",
                                   workers=args.workers, on_done=progress.advance)
        progress.close()
        # The table shows the state after the apply: each changed resource read again from ARM.
        after = {f.item.id: dataclasses.replace(f, item=_reread(engine, f.item)) for f in applied}
        findings = [after.get(f.item.id, f) for f in findings]

    code = estate.exit_code(findings)
    _write(args, findings, ctx.stdout, scope, code)
    return code


def _check_subscription(credential: Any, subscription_id: str, *, endpoint: str) -> None:
    from azure.core.exceptions import HttpResponseError

    try:
        inventory.get_subscription(credential, subscription_id, endpoint=endpoint)
    except HttpResponseError as exc:
        if exc.status_code not in (403, 404):
            raise
        code = getattr(getattr(exc, "error", None), "code", None) or exc.status_code
        message = _first_line(getattr(getattr(exc, "error", None), "message", None) or str(exc))
        raise CliError(f"cannot read subscription {subscription_id}", f"{exc.status_code} {code}: {message}",
                       "check the id, and give the identity Reader on the subscription") from exc
    except InvalidScope as exc:
        raise CliError(f"cannot judge subscription {subscription_id}", str(exc),
                       "leave it out of the scope") from exc


def _read_one(engine: Any, resource_id: str) -> inventory.InventoryItem:
    """One resource from ARM (not Graph, which lags), through the engine's own read."""
    from azure.core.exceptions import ResourceNotFoundError

    from . import registry
    from .resource_id import ResourceId

    try:
        state = engine.read(resource_id)
    except LookupError as exc:
        raise CliError("not a handled resource", str(exc),
                       "give the id of a Key Vault, storage account, SQL server, Cosmos DB account, Service Bus "
                       "or Event Hubs namespace, or App Service site or slot") from exc
    except ResourceNotFoundError as exc:
        raise CliError(f"resource not found: {resource_id}", "ARM answered 404",
                       "check the id (az resource show --ids ...) and that the identity can read it") from exc
    service = registry.service_for(ResourceId.parse(resource_id).type)
    return inventory.InventoryItem.from_state(state, resource_type=service.spec.resource_type)


def _reread(engine: Any, item: inventory.InventoryItem) -> inventory.InventoryItem:
    from azure.core.exceptions import HttpResponseError

    try:
        state = engine.read(item.id)
    except HttpResponseError as exc:  # the apply's outcome stands; the exposure stays Graph's, labelled so
        logger.warning("could not read %s after the apply: %s", item.id, exc)
        return item
    return dataclasses.replace(item, read_exposure=inventory.Exposure.from_state(state))


def _describe_scope(scope: Scope) -> str:
    parts = [f"subscription {s}" for s in scope.subscriptions]
    parts += [f"management group {g}" for g in scope.management_groups]
    if scope.resource_group:
        parts.append(f"resource group {scope.resource_group}")
    return ", ".join(parts)


def _scope_data(scope: Scope) -> dict[str, Any]:
    return {"subscriptions": list(scope.subscriptions), "managementGroups": list(scope.management_groups),
            "resourceGroup": scope.resource_group, "resourceId": scope.resource_id}


class _Progress:
    """A progress bar on stderr when it is a terminal and ``rich`` is installed; otherwise nothing."""

    def __init__(self, err: Any, label: str, total: int) -> None:
        self._progress = None
        if not (hasattr(err, "isatty") and err.isatty()):
            return
        try:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
        except ImportError:
            return
        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TimeElapsedColumn(), console=Console(file=err), transient=True)
        self._progress.start()
        self._task = self._progress.add_task(label, total=total)

    def advance(self, _finding: Any) -> None:
        if self._progress is not None:
            self._progress.advance(self._task)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()


def _confirm(count: int, stdin: Any, err: Any) -> bool:
    err.write(f"Apply these changes to {count} resource(s)? Type 'yes' to continue: ")
    err.flush()
    answer = stdin.readline().strip().lower()
    return answer in ("yes", "y")


def _write(args: argparse.Namespace, findings: list[estate.Finding], out: Any, scope: Scope, code: int) -> None:
    if args.output == "json":
        out.write(report.as_json(findings, command=args.command, scope=_scope_data(scope), exit_code=code) + "\n")
    elif args.output == "markdown":
        out.write(report.as_markdown(findings, command=args.command))
    elif args.command == "plan":
        out.write(report.plan_text(findings))
    elif hasattr(out, "isatty") and out.isatty() and _rich_available():
        from rich.console import Console

        report.print_table(findings, Console(file=out), command=args.command)
    else:
        out.write(report.as_text(findings, command=args.command))


def _rich_available() -> bool:
    try:
        import rich  # noqa: F401 - the optional `cli` extra
    except ImportError:
        return False
    return True


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
