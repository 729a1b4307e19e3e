"""Deterministic fault simulation (issue 13 item 8), in the manner of FoundationDB's simulation testing.

For a service and a mode, a clean *baseline* run records the plan as ARM saw it: every write, in order,
each labelled with its kind (``dns-zone``, ``vnet-link``, ``endpoint``, ``zone-group``, ``subnet``,
``resource``). A *case* then picks one of those steps and one fault class, injects the fault at exactly
that step, delivers the event through trigger → queue → worker, redelivers as the Functions host does
(up to ``maxDequeueCount``), then delivers the next event (what a sweep or the next write would bring)
until a pass writes nothing, and judges the run by the invariants below. Every fault is an ARM answer
the emulator gives (emulator/faults.py, with sources) except the crash, which is the worker raising
mid-plan (:class:`ProcessKilled`, a ``BaseException`` from the HTTP transport) before a request is
sent or after the emulator applied it.

Invariants (each check counted):
- ``public-access-last``: at the moment public access went off, every endpoint of the plan existed, was
  ``Succeeded``, ``Approved`` on its target, and registered in DNS (a zone group with its zone and the
  A record in that zone). Judged by a write observer inside the emulator, on the state at that moment.
- ``dns-registered``: at quiescence no endpoint of ours lacks its zone group and A record.
- ``nothing-failed``: at quiescence no resource the plan writes is ``provisioningState: Failed``.
- ``bounded``: no delivery stalls (no ARM request for ``stall_after_s`` while the worker still runs,
  or longer than ``deadline_s`` in all) and the run quiesces within its bounded number of passes.
- ``final-pass-writes-nothing``: the last pass sends no write; under a permanent fault (a 403 for good)
  it may only write what it undoes in the same pass (a compensation), never keep a change.
- ``converges``: under a transient fault, the faulted event itself (with the host's redeliveries) ends
  ``hardened`` (or finds the resource compliant): no second event is needed (issue 13 items 2 and 4:
  retry, re-plan in the same run). Under a permanent fault the run must end in a named outcome instead.

Timing: the emulator is instant (``timing.scale = 0``); 429s carry ``Retry-After: 0``; the stall bound
is a watchdog on a thread, not a sleep in the code under test.
"""
from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import random
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping
from urllib.parse import unquote, urlsplit

import requests.adapters
from azure.functions.queue import QueueMessage

from emulator import Emulator, Fault
from emulator import catalog
from emulator import faults as fault_classes
from emulator.events import write_event
from emulator.ids import resource_type_of
from localdev.host import LocalHost
from localdev.landing_zone import LandingZone
from localdev.seeds.cosmosdb import seed_cosmos_account
from localdev.seeds.eventhub import seed_event_hubs_namespace
from localdev.seeds.keyvault import seed_key_vault
from localdev.seeds.servicebus import seed_service_bus_namespace
from localdev.seeds.sql import seed_sql_server
from localdev.seeds.storage import seed_storage_account
from localdev.seeds.web import seed_web_app

MODES = ("private", "service-endpoint")
FAULTS = ("throttled", "server-error", "operation-failed", "forbidden", "concurrent-writer",
          "killed-before", "killed-after")
PERMANENT_FAULTS = frozenset({"forbidden"})
#: Faults at the worker's first read of the resource (the ``read`` step, before any write).
READ_FAULTS = ("throttled", "remaining-zero", "server-error", "forbidden", "killed-before", "killed-after")
INVARIANTS = ("public-access-last", "dns-registered", "nothing-failed", "bounded", "final-pass-writes-nothing",
              "converges")


@dataclass(frozen=True)
class Service:
    seed: Callable[[Emulator, LandingZone, str, Mapping[str, str]], str]
    operation: str


SERVICES: dict[str, Service] = {
    "keyvault": Service(lambda emu, lz, n, t: seed_key_vault(emu, lz, f"kv-{n}", tags=t),
                        "Microsoft.KeyVault/vaults/write"),
    "storage": Service(lambda emu, lz, n, t: seed_storage_account(emu, lz, f"st{n}"[:24], tags=t),
                       "Microsoft.Storage/storageAccounts/write"),
    "sql": Service(lambda emu, lz, n, t: seed_sql_server(emu, lz, f"sql-{n}", tags=t), "Microsoft.Sql/servers/write"),
    "cosmosdb": Service(lambda emu, lz, n, t: seed_cosmos_account(emu, lz, f"cosmos-{n}", tags=t),
                        "Microsoft.DocumentDB/databaseAccounts/write"),
    "servicebus": Service(lambda emu, lz, n, t: seed_service_bus_namespace(emu, lz, f"ns-{n}", tags=t),
                          "Microsoft.ServiceBus/namespaces/write"),
    "eventhub": Service(lambda emu, lz, n, t: seed_event_hubs_namespace(emu, lz, f"ns-{n}", tags=t),
                        "Microsoft.EventHub/namespaces/write"),
    "web": Service(lambda emu, lz, n, t: seed_web_app(emu, lz, f"app-{n}", tags=t), "Microsoft.Web/sites/write"),
}

_KINDS = {  # lower-case ARM type -> step kind
    "microsoft.network/privatednszones": "dns-zone",
    "microsoft.network/privatednszones/virtualnetworklinks": "vnet-link",
    "microsoft.network/privateendpoints": "endpoint",
    "microsoft.network/privateendpoints/privatednszonegroups": "zone-group",
    "microsoft.network/virtualnetworks/subnets": "subnet",
}


def step_kind(path: str, resource_id: str) -> str:
    """What a write is: one of the network kinds above, ``resource`` (the resource or a child), or its type."""
    if path.lower() == resource_id.lower() or path.lower().startswith(resource_id.lower() + "/"):
        return "resource"
    kind = resource_type_of(path).lower()
    return _KINDS.get(kind, kind)


@dataclass(frozen=True)
class Step:
    index: int
    method: str
    path: str
    kind: str
    lro: bool  # answered with an operation to poll (so it can end Failed)
    body: Any = None

    @property
    def label(self) -> str:
        return f"{self.index}:{self.kind}:{self.method}"


@dataclass
class Baseline:
    """The plan of one service and mode, as a clean run wrote it."""

    resource_id: str
    steps: list[Step]
    #: endpoint id (lower) -> the zone ids (lower) its zone group registers it in
    endpoints: dict[str, set[str]]

    @property
    def read(self) -> Step:
        """The worker's first read: the GET of the resource itself."""
        return Step(-1, "GET", self.resource_id, "read", False)

    def first(self, kind: str) -> Step | None:
        return next((s for s in self.steps if s.kind == kind), None)

    def kinds(self) -> list[str]:
        return list(dict.fromkeys(s.kind for s in self.steps))


class ProcessKilled(BaseException):
    """The worker's process died: raised from the HTTP transport, past every ``except Exception``."""


class StalledRun(BaseException):
    """Raised into a stalled worker's threads so they stop once the run has been judged."""


class KillSwitch:
    """Makes the worker "die" at one ARM request: before it is sent, or after ARM applied it.

    Installed around ``requests.adapters.HTTPAdapter.send`` (the transport azure-core's
    RequestsTransport sends through; nothing of azure.* is replaced). Once fired, the process counts
    as dead: every later request to the emulator (ARM, the outcome topic) from any thread raises too,
    so the dead worker neither writes nor reports, until :meth:`revive` (the driver's next delivery).
    Azurite (queues, the VNet lease) is not cut off: the simulated crash lets the lease go, where a real
    one would leave it to expire (tests/services/test_vnet_lease.py covers that).
    """

    def __init__(self, emulator_netloc: str) -> None:
        self._netloc = emulator_netloc
        self._lock = threading.Lock()
        self._target: tuple[str, str, str] | None = None  # (method, path lower, "before" | "after")
        self.dead = False
        self.fired = 0
        self._original = requests.adapters.HTTPAdapter.send

    def arm(self, method: str, path: str, when: str) -> None:
        with self._lock:
            self._target = (method.upper(), path.lower().rstrip("/"), when)

    def revive(self) -> bool:
        """Start the next delivery with a live process; returns whether the last one died."""
        with self._lock:
            died, self.dead = self.dead, False
            return died

    def disarm(self) -> None:
        with self._lock:
            self._target, self.dead = None, False

    def install(self, setattr_: Callable[[Any, str, Any], None]) -> None:
        """``setattr_`` is ``monkeypatch.setattr`` (tests) or :func:`setattr` (benchmarks, undone by :meth:`uninstall`)."""
        switch, original = self, self._original

        def send(adapter: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            when = switch._check(request)
            if when == "before":
                raise ProcessKilled(f"killed before {request.method} {request.url}")
            response = original(adapter, request, *args, **kwargs)
            if when == "after":
                raise ProcessKilled(f"killed after {request.method} {request.url} was applied")
            return response

        setattr_(requests.adapters.HTTPAdapter, "send", send)
        chained = threading.excepthook

        def excepthook(args: Any) -> None:
            # A dead process's other threads (LRO pollers, a stalled pool thread) end with our two
            # exceptions by design; anything else is reported as before.
            if not issubclass(args.exc_type, (ProcessKilled, StalledRun)):
                chained(args)

        setattr_(threading, "excepthook", excepthook)

    def uninstall(self) -> None:
        requests.adapters.HTTPAdapter.send = self._original
        threading.excepthook = threading.__excepthook__

    def _check(self, request: Any) -> str | None:
        url = urlsplit(request.url)
        if url.netloc != self._netloc:
            return None
        with self._lock:
            if self.dead:
                return "before"
            path = unquote(url.path).lower().rstrip("/")
            if self._target and self._target[:2] == (request.method.upper(), path):
                when, self._target, self.dead = self._target[2], None, True
                self.fired += 1
                return when
        return None


# -- state judgements -----------------------------------------------------------------------------

def _props(body: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return (body or {}).get("properties") or {}


def public_access_off(emu: Emulator, resource_id: str) -> bool:
    """Private mode's last step has happened: the resource (or its rule set) says publicNetworkAccess Disabled."""
    if _props(emu.get(resource_id)).get("publicNetworkAccess") == "Disabled":
        return True
    rule_set = emu.get(f"{resource_id}/networkRuleSets/default") if "/namespaces/" in resource_id.lower() else None
    return _props(rule_set).get("publicNetworkAccess") == "Disabled"


def endpoint_problems(emu: Emulator, resource_id: str, endpoint_id: str, zones: Iterable[str]) -> list[str]:
    """Why this endpoint does not (yet) give a working private path; empty when it does."""
    name = endpoint_id.rsplit("/", 1)[-1]
    endpoint = emu.get(endpoint_id)
    if endpoint is None:
        return [f"{name}: missing"]
    problems = []
    state = _props(endpoint).get("provisioningState")
    if state != "Succeeded":
        problems.append(f"{name}: provisioningState {state}")
    target = _props(emu.get(resource_id))
    if "privateEndpointConnections" in target:
        connections = [_props(c) for c in target["privateEndpointConnections"] or []
                       if str(_props(c).get("privateEndpoint", {}).get("id", "")).lower() == endpoint_id.lower()]
    else:  # the target's GET does not show its connections (App Service): the endpoint mirrors their state
        connections = [_props(c) for c in _props(endpoint).get("privateLinkServiceConnections") or []]
    status = connections[0].get("privateLinkServiceConnectionState", {}).get("status") if connections else None
    if status != "Approved":
        problems.append(f"{name}: connection {status or 'absent'} on the target")
    problems += [f"{name}: {p}" for p in dns_problems(emu, endpoint_id, zones)]
    return problems


#: Zone group names looked for on an endpoint: ALZ policy's, and whatever names our baselines wrote (added as seen).
ZONE_GROUP_NAMES = {"default", "deployedByPolicy"}


def dns_problems(emu: Emulator, endpoint_id: str, zones: Iterable[str]) -> list[str]:
    """What is missing for the endpoint's name to resolve: a zone group holding each zone, its A record."""
    registered: dict[str, list[dict]] = {}
    for group_name in sorted(ZONE_GROUP_NAMES):
        group = emu.get(f"{endpoint_id}/privateDnsZoneGroups/{group_name}")
        for config in _props(group).get("privateDnsZoneConfigs") or []:
            zone = str(_props(config).get("privateDnsZoneId", "")).lower()
            registered.setdefault(zone, []).extend(_props(config).get("recordSets") or [])
    problems = []
    for zone in zones:
        zone_name = zone.rsplit("/", 1)[-1]
        if zone not in registered:
            problems.append(f"no zone group registers it in {zone_name}")
            continue
        if not any(emu.get(f"{zone}/A/{rs.get('recordSetName')}") for rs in registered[zone]):
            problems.append(f"no A record in {zone_name}")
    return problems


# -- the concurrent writer --------------------------------------------------------------------------

def other_writer(kind: str) -> Callable[[Emulator, str, str, Any], None]:
    """What someone else writes between our read and our write, by the kind of step."""

    def change(emu: Emulator, method: str, path: str, body: Any) -> None:
        if kind == "zone-group":
            # ALZ's Deploy-Private-DNS-Zones policy: its own group, same zone, right after the endpoint.
            endpoint = path.rsplit("/privateDnsZoneGroups/", 1)[0]
            configs = _props(body).get("privateDnsZoneConfigs") or []
            emu.seed(f"{endpoint}/privateDnsZoneGroups/deployedByPolicy",
                     {"properties": {"privateDnsZoneConfigs": configs}})
            return
        current = emu.get(path)
        if current is None:
            if method == "PUT" and isinstance(body, dict):
                emu.seed(path, body)  # a duplicate delivery on another instance created it first
            return
        changed = {k: v for k, v in current.items() if k not in ("etag",)}
        if "location" in changed:  # a person tags it in the portal: a new ETag, nothing of ours changed
            changed["tags"] = {**(changed.get("tags") or {}), "touched-by": "someone-else"}
        emu.seed(path, changed)

    return change


def fault_for(fault: str, step: Step) -> Fault | None:
    """The emulator fault that makes ``step`` meet ``fault`` (None for the crash, and where it cannot apply)."""
    method, path = step.method, step.path
    if fault == "throttled":
        made = fault_classes.throttled(method, path)
    elif fault == "remaining-zero":
        made = fault_classes.remaining_zero(method, path)
    elif fault == "server-error":
        made = fault_classes.server_error(method, path)
    elif fault == "operation-failed":
        if not step.lro:
            return None
        made = fault_classes.operation_failed(method, path)
    elif fault == "forbidden":
        code = "LinkedAuthorizationFailed" if step.kind == "zone-group" else "AuthorizationFailed"
        made = fault_classes.forbidden(method, path, code=code)
    elif fault == "concurrent-writer":
        made = fault_classes.concurrent_writer(method, path, other_writer(step.kind))
    else:
        return None
    made.exact = True
    return made


def applies(fault: str, step: Step) -> bool:
    return fault != "operation-failed" or step.lro


# -- the run ------------------------------------------------------------------------------------------

@dataclass
class Verdict:
    service: str
    mode: str
    step: str
    fault: str
    checks: int = 0
    violations: list[str] = field(default_factory=list)
    deliveries: int = 0
    outcomes: list[tuple[str, str]] = field(default_factory=list)  # (status, reasonCode) of our resource
    stalled: bool = False

    @property
    def ok(self) -> bool:
        return not self.violations

    def failed(self, invariant: str) -> bool:
        return any(v.startswith(invariant + ":") for v in self.violations)

    def summary(self) -> str:
        return (f"{self.service}/{self.mode} step {self.step} {self.fault}: "
                f"{'ok' if self.ok else '; '.join(self.violations)} (outcomes {self.outcomes})")


class PublicAccessWatch:
    """Write observer: judges the state at the moment public access goes off (invariant 1)."""

    def __init__(self, verdict: Verdict, baseline: Baseline) -> None:
        self.verdict, self.baseline = verdict, baseline
        self.seen_off = False

    def __call__(self, emu: Emulator, method: str, path: str, status: int) -> None:
        rid = self.baseline.resource_id.lower()
        if status >= 400 or self.seen_off or not (path.lower() == rid or path.lower().startswith(rid + "/")):
            return
        try:
            if not public_access_off(emu, self.baseline.resource_id):
                return
            self.seen_off = True
            self.verdict.checks += 1
            problems = [p for endpoint, zones in sorted(self.baseline.endpoints.items())
                        for p in endpoint_problems(emu, self.baseline.resource_id, endpoint, zones)]
        except Exception as exc:  # noqa: BLE001 - an observer must not break the emulator's answer
            problems = [f"the observer failed: {exc!r}"]
        if problems:
            self.verdict.violations.append(f"public-access-last: off at {method} {path} while " + "; ".join(problems))


class Simulator:
    """Drives one host and emulator through baselines and faulted cases."""

    def __init__(self, host: LocalHost, emulator: Emulator, lz: LandingZone, kill: KillSwitch, *,
                 stall_after_s: float = 8.0, deadline_s: float = 90.0, repair_passes: int = 2) -> None:
        self.host, self.emu, self.lz, self.kill = host, emulator, lz, kill
        self.stall_after_s, self.deadline_s, self.repair_passes = stall_after_s, deadline_s, repair_passes
        self.runs = 0
        self.checks = 0
        self.poisoned: list[bytes] = []
        self.unstoppable = 0  # stalled workers that did not unwind when told to

    # -- delivery ---------------------------------------------------------------------------------
    def _bounded(self, fn: Callable[[], None]) -> tuple[BaseException | None, bool]:
        """Run ``fn`` on a thread under the watchdog; returns (what it raised, stalled)."""
        raised: list[BaseException] = []

        def target() -> None:
            try:
                fn()
            except BaseException as exc:  # noqa: BLE001 - the crash and every failure are the verdict's business
                raised.append(exc)

        before = {t.ident for t in threading.enumerate()}
        worker = threading.Thread(target=target, name="simulated-worker", daemon=True)
        started = last_progress = time.monotonic()
        progress = len(self.emu.requests)
        worker.start()
        while worker.is_alive():
            worker.join(timeout=0.05)
            now, seen = time.monotonic(), len(self.emu.requests)
            if seen != progress:
                progress, last_progress = seen, now
            if worker.is_alive() and (now - last_progress > self.stall_after_s or now - started > self.deadline_s):
                _stop_threads({worker.ident} | ({t.ident for t in threading.enumerate()} - before))
                worker.join(timeout=self.stall_after_s)
                if worker.is_alive():
                    self.unstoppable += 1  # later cases in this process may meet what it still holds
                return None, True
        return (raised[0] if raised else None), False

    def drain(self, verdict: Verdict) -> None:
        """Hand every queued message to the worker as the host would; a crash makes the message visible again."""
        queue = self.host._queue  # noqa: SLF001 - the harness's own queue: we replace its run loop, not its bindings
        worker = self.host._worker  # noqa: SLF001
        for _ in range(self.host.max_dequeue_count * 4):
            batch = list(queue.receive_messages(max_messages=1, visibility_timeout=30))
            if not batch:
                return
            message = batch[0]
            body = message.content if isinstance(message.content, bytes) else str(message.content).encode()
            verdict.deliveries += 1
            handed = QueueMessage(id=message.id, body=body, dequeue_count=message.dequeue_count,
                                  pop_receipt=message.pop_receipt)
            error, stalled = self._bounded(functools.partial(worker, message=handed))
            died = self.kill.revive()
            if stalled:
                verdict.stalled = True
                verdict.violations.append(f"bounded: delivery {verdict.deliveries} stalled (no ARM request for "
                                          f"{self.stall_after_s:g} s, or over {self.deadline_s:g} s)")
                return
            if error is None and not died:
                queue.delete_message(message)
            elif message.dequeue_count >= self.host.max_dequeue_count:
                self.host._poison.send_message(body)  # noqa: SLF001
                self.poisoned.append(body)
                queue.delete_message(message)
            else:
                queue.update_message(message, visibility_timeout=0)  # the visibility timeout has passed
        verdict.violations.append("bounded: the queue never emptied")

    def deliver(self, verdict: Verdict, resource_id: str, operation: str) -> None:
        """One event for the resource, plus every event our own writes raised, through the trigger."""
        for event in [write_event(resource_id, operation), *self.emu.drain_events()]:
            self.host.deliver(event)
        self.drain(verdict)

    # -- baseline and case --------------------------------------------------------------------------
    def seed(self, service: str, mode: str, name: str) -> str:
        return SERVICES[service].seed(self.emu, self.lz, name, {"harden": mode})

    def baseline(self, service: str, mode: str, name: str = "sim01") -> Baseline:
        """A clean run of the service and mode; the state is reset afterwards by the caller."""
        rid = self.seed(service, mode, name)
        self.emu.clear_requests()
        verdict = Verdict(service, mode, "-", "none")
        self.deliver(verdict, rid, SERVICES[service].operation)
        assert not verdict.violations, verdict.violations
        writes = [r for r in self.emu.writes() if r.status < 400 and not r.is_lro_poll]
        steps = []
        for r in writes:
            steps.append(Step(len(steps), r.method, r.path, step_kind(r.path, rid), _is_long_running(r), r.body))
        endpoints: dict[str, set[str]] = {}
        for step in steps:
            if step.kind == "endpoint":
                endpoints.setdefault(step.path.lower(), set())
            if step.kind == "zone-group":
                endpoint = step.path.lower().rsplit("/privatednszonegroups/", 1)[0]
                ZONE_GROUP_NAMES.add(step.path.rsplit("/", 1)[-1])
                endpoints.setdefault(endpoint, set()).update(
                    str(_props(c).get("privateDnsZoneId", "")).lower()
                    for c in _props(step.body).get("privateDnsZoneConfigs") or [])
        return Baseline(rid, steps, endpoints)

    def run_case(self, service: str, mode: str, baseline: Baseline, step: Step, fault: str,
                 name: str = "sim01") -> Verdict:
        """Inject ``fault`` at ``step`` on a fresh resource of the same name, deliver until quiet, judge."""
        verdict = Verdict(service, mode, step.label, fault)
        self.runs += 1
        rid = self.seed(service, mode, name)
        assert rid.lower() == baseline.resource_id.lower(), "a case replays its baseline's resource"
        self.emu.drain_events()
        self.emu.clear_requests()
        self.emu.faults.watch(PublicAccessWatch(verdict, baseline))
        if fault.startswith("killed-"):
            self.kill.arm(step.method, step.path, fault.removeprefix("killed-"))
        else:
            made = fault_for(fault, step)
            assert made is not None, f"{fault} does not apply to {step.label}"
            self.emu.faults.add(made)
        operation = SERVICES[service].operation
        try:
            self.deliver(verdict, rid, operation)  # the faulted pass, with the host's redeliveries
            if fault not in PERMANENT_FAULTS and not verdict.stalled:
                verdict.checks += 1
                last = self._outcomes_of(rid)[-1:]
                if last not in ([("hardened", "hardened")], [("skipped", "already-compliant")]):
                    verdict.violations.append(f"converges: the faulted event ended {last or 'with no outcome'}, "
                                              "not hardened (it took another event)")
            quiet = False
            for _ in range(self.repair_passes):  # the next event or the sweep
                if verdict.stalled:
                    break
                written = len(self.emu.writes())
                self.deliver(verdict, rid, operation)
                if not self._kept_writes(self.emu.writes()[written:], fault):
                    quiet = True
                    break
            if not verdict.stalled:
                verdict.checks += 1
                if not quiet:
                    verdict.violations.append(f"bounded: still writing after {self.repair_passes} more passes")
                written = len(self.emu.writes())
                self.deliver(verdict, rid, operation)  # the final pass
                again = self.emu.writes()[written:]
                kept = self._kept_writes(again, fault)
                if kept:
                    verdict.violations.append("final-pass-writes-nothing: " + ", ".join(kept))
        finally:
            self.kill.disarm()
        self._judge_quiescence(verdict, baseline)
        verdict.outcomes = self._outcomes_of(rid)
        self.checks += verdict.checks
        return verdict

    def _outcomes_of(self, resource_id: str) -> list[tuple[str, str]]:
        return [(n["data"]["status"], n["data"].get("reasonCode", "")) for n in self.emu.notifications
                if str(n.get("data", {}).get("resourceId", "")).lower() == resource_id.lower()]

    @staticmethod
    def _kept_writes(requests_: list[Any], fault: str) -> list[str]:
        """Writes that change something; under a permanent fault, a write undone in the same pass does not count."""
        if fault not in PERMANENT_FAULTS:
            return [f"{r.method} {r.path} -> {r.status}" for r in requests_ if not r.is_lro_poll]
        ok = [r for r in requests_ if r.status < 400 and not r.is_lro_poll]
        deleted = {r.path.lower() for r in ok if r.method == "DELETE"}
        return [f"{r.method} {r.path}" for r in ok if r.method != "DELETE" and r.path.lower() not in deleted]

    def _judge_quiescence(self, verdict: Verdict, baseline: Baseline) -> None:
        if verdict.stalled:
            return
        verdict.checks += 1
        for endpoint, zones in sorted(baseline.endpoints.items()):
            if self.emu.get(endpoint) is not None:
                problems = dns_problems(self.emu, endpoint, zones)
                if problems:
                    verdict.violations.append(f"dns-registered: {endpoint.rsplit('/', 1)[-1]}: " + "; ".join(problems))
        verdict.checks += 1
        for path in sorted({s.path.lower() for s in baseline.steps} | {baseline.resource_id.lower()}):
            if _props(self.emu.get(path)).get("provisioningState") == "Failed":
                verdict.violations.append(f"nothing-failed: {path.rsplit('/', 2)[-2]}/{path.rsplit('/', 1)[-1]} "
                                          "is Failed")
        verdict.checks += 1  # the bounded-time check, judged on the way


def _is_long_running(request: Any) -> bool:
    """Whether the emulator answers this write with an operation to poll (emulator/catalog.py's rule)."""
    rule = catalog.rule_for(request.resource_type)
    return {"PUT": rule.lro_put, "PATCH": rule.lro_patch, "DELETE": rule.lro_delete}.get(request.method, False)


def _stop_threads(idents: set[int | None]) -> None:
    """Raise :class:`StalledRun` in the product's threads among ``idents`` (a stalled worker and its pool)."""
    frames = sys._current_frames()  # noqa: SLF001 - the documented way to see another thread's stack
    names = {t.ident: t.name for t in threading.enumerate()}
    for ident in idents:
        if names.get(ident, "").startswith("vnet-lease"):
            continue  # the lease's renewal thread stops itself once the worker lets go of the lease
        frame = frames.get(ident) if ident is not None else None
        product = False
        while frame is not None:
            if "remediators" in frame.f_code.co_filename or "function_app" in frame.f_code.co_filename:
                product = True
            frame = frame.f_back
        if product and ident is not None:
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(StalledRun))


def cases(baselines: Mapping[tuple[str, str], Baseline]) -> list[tuple[str, str, Step, str]]:
    """Every (service, mode, step, fault) the full simulation runs."""
    return [(service, mode, step, fault) for (service, mode), baseline in baselines.items()
            for step in [baseline.read, *baseline.steps]
            for fault in (READ_FAULTS if step.kind == "read" else FAULTS) if applies(fault, step)]


def sample(all_cases: list[tuple[str, str, Step, str]], size: int, seed: int) -> list[tuple[str, str, Step, str]]:
    """A seeded sample that still holds every fault class."""
    rng = random.Random(seed)
    chosen = {fault: rng.choice([c for c in all_cases if c[3] == fault]) for fault in FAULTS}
    rest = [c for c in all_cases if c not in chosen.values()]
    return list(chosen.values()) + rng.sample(rest, max(0, min(len(rest), size - len(chosen))))


# -- one process, as the suite's fixtures build it (benchmarks) -----------------------------------------

REMEDIATOR_CLIENT_ID = "5f0c6a2e-7b1d-4c3e-9a8f-2d4b6c8e0a13"  # tests/conftest.py's identity


@contextlib.contextmanager
def standalone() -> Iterator[tuple[Emulator, str]]:
    """The emulator (with the roles infra deploys) and Azurite, for a script outside pytest."""
    from localdev.azurite import running_azurite
    from tests.infra.roles import deployed_assignments

    with Emulator.start() as emu, running_azurite() as connection_string:
        for scope, actions in deployed_assignments(LandingZone()):
            emu.assign_role(REMEDIATOR_CLIENT_ID, actions, scope=scope)
        yield emu, connection_string


def fresh_world(emu: Emulator, connection_string: str) -> tuple[LandingZone, LocalHost]:
    """What tests/conftest.py's ``lz`` and ``host`` fixtures do for each test, in ``os.environ``."""
    import function_app
    from localdev.landing_zone import seed_network
    from remediators.cloud import forget_clouds
    from remediators.runtime import engine_for
    from remediators.throttle import forget_budgets

    emu.reset()
    forget_clouds()
    forget_budgets()
    engine_for.cache_clear()
    lz = seed_network(emu)
    os.environ.update({**emu.env(), **lz.settings(), "AZURE_RESOURCE_MANAGER_ENDPOINT": emu.url,
                       "HARDEN_NOTIFY_TOPIC_ENDPOINT": emu.topic_endpoint, "HARDEN_POLL_INTERVAL_SECONDS": "0",
                       "AZURE_CLIENT_ID": REMEDIATOR_CLIENT_ID, "AzureWebJobsStorage": connection_string})
    for name in ("HARDEN_DRY_RUN", "HARDEN_UNTAGGED", "HARDEN_NOTIFY_TOPIC_KEY", "HARDEN_EXCLUDE_RESOURCE_IDS",
                 "WEBSITE_SITE_NAME", "AzureWebJobsStorage__accountName"):
        os.environ.pop(name, None)
    host = LocalHost(function_app.app, connection_string)
    host.clear()
    return lz, host


def print_figures(config: Any, lines: Iterable[str]) -> None:
    """Print past pytest's capture (the figures the issue asks to see on every run)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None:
        return
    with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
        reporter.write_line("")
        for line in lines:
            reporter.write_line(line)
