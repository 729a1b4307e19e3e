"""Where a request becomes a plan, and a plan becomes ARM writes.

``Engine.evaluate`` reads the resource, decides from its ``harden`` tag and
current state, plans the changes (reading more state as needed), links them
into a graph (``plan.link``) and, unless this is a dry run, runs the graph
(``executor.execute``: every ready change at once, bounded). ``Engine.preview``
stops before the writes; the CLI and the sweep use it. A compliant resource
costs one read and plans nothing, which is what makes the events raised by our
own writes settle.
"""
from __future__ import annotations

import dataclasses
import logging
import uuid
from typing import Any, Callable

from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError

from . import registry, revert
from .arm import ArmClients, error_code_of
from .cloud import CloudMetadataError, ZoneNotOffered
from .compliance import is_compliant
from .dispatch import Dispatcher
from .executor import Execution, execute
from .model import DENY, TAG_NAME, Caller, Change, HardenRequest, Mode, Outcome, Phase, ResourceState, Status, requested_mode
from .network import LockoutRisk, NetworkPlanner
from .notify import Notifier
from .placement import SubnetPlacement, all_subnets
from .plan import link
from .private_link import DnsConflict, DnsRefused, PrivateLinkPlanner, ZoneMissing
from .resource_id import InvalidResourceId, ResourceId
from .services.base import ServiceRemediator
from .settings import Settings, SettingsError
from .vnet_lease import LeaseLost, VnetBusy

logger = logging.getLogger(__name__)

ALLOWED_VALUES = ", ".join(m.value for m in Mode)
# Errors ARM returns for a request that can never succeed on this resource;
# retrying them would only loop. Everything else is retried by the host.
_REJECTED_STATUSES = (400, 422)
_UNTAGGED = ("untagged", "untagged-public")
# Failures the host retries (the message is raised again, then parked in the poison queue).
_RETRIED_FAILURES = ("arm-error", "permission-denied", "denied-by-policy")
_UNSUPPORTED_HINTS = ("sku", "tier", "premium", "notsupported", "not supported")


class HardeningFailed(RuntimeError):
    """A hardening failed in a way a later attempt may fix; the host retries the message."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(f"{outcome.resource_id}: {outcome.reason}")
        self.outcome = outcome


class Engine:
    """Evaluates one request at a time; collaborators are injected.

    :param settings: Validated app settings.
    :param clients_for: ARM clients for a subscription id.
    :param notifier: Publishes every outcome.
    """

    def __init__(self, settings: Settings, *, clients_for: Callable[[str], ArmClients],
                 notifier: Notifier, dispatcher: Dispatcher | None = None) -> None:
        self._settings = settings
        self._clients_for = clients_for
        self._notifier = notifier
        self._dispatcher = dispatcher  # email/Teams/Slack (remediators/dispatch.py); None = topic only
        self._network = NetworkPlanner(clients_for, settings)
        # Zone names are this cloud's (ARM's metadata document), fetched at the first private plan.
        self._private_link = PrivateLinkPlanner(clients_for, settings,
                                                zone_name=lambda zone: settings.get_cloud().zone_name(zone))
        # Per-spoke subnets (several subscriptions and regions): remediators/placement.py.
        self._placement = SubnetPlacement(lambda vnet: clients_for(vnet.subscription_id).network.virtual_networks.get(
            vnet.resource_group, vnet.name)["location"])

    def handle(self, request: HardenRequest) -> Outcome:
        """Evaluate, publish the outcome, and raise :class:`HardeningFailed` if a retry may help."""
        try:
            outcome = self.evaluate(request)
        except HardeningFailed as failure:
            self._notifier.publish(failure.outcome)
            failure.outcome = self._deliver(failure.outcome)
            _record(failure.outcome)
            raise
        if outcome.reason_code in _UNTAGGED and not self._settings.report_untagged:
            logger.info("Untagged, not reported (HARDEN_UNTAGGED=ignore): %s", outcome.resource_id)
        else:
            self._notifier.publish(outcome)
            outcome = self._deliver(outcome)
        _record(outcome)
        return outcome

    def _deliver(self, outcome: Outcome) -> Outcome:
        """Send the outcome to people (each at most once); the deliveries go into its history row."""
        if self._dispatcher is None:
            return outcome
        deliveries = self._dispatcher.deliver(outcome)
        return dataclasses.replace(outcome, deliveries=deliveries) if deliveries else outcome

    def evaluate(self, request: HardenRequest) -> Outcome:
        """Read the resource, decide, plan and (unless ``HARDEN_DRY_RUN``) apply the plan."""
        return self._evaluate(request, apply=not self._settings.dry_run)

    def preview(self, request: HardenRequest) -> Outcome:
        """Read, decide and plan exactly as :meth:`evaluate` does, and write nothing.

        A resource that needs work comes back ``planned`` with the linked plan in
        ``changes``; every other verdict is the one :meth:`evaluate` would reach.
        """
        return self._evaluate(request, apply=False)

    def read(self, resource_id: str) -> ResourceState:
        """The resource as the engine reads it: one ARM GET through its service, nothing decided.

        For callers that must show or check the resource's state from ARM rather than Resource Graph
        (Graph lags writes with no upper bound, Azure/azure-dev#540): the CLI's ``plan``/``apply <id>``.

        :raises InvalidResourceId: Not a resource id.
        :raises LookupError: Not a type this app handles.
        :raises ~azure.core.exceptions.HttpResponseError: ARM's answer (404 ``ResourceNotFoundError``, 403, ...).
        """
        rid = ResourceId.parse(resource_id)
        service = registry.service_for(rid.type)
        if service is None:
            raise LookupError(f"{rid.type} is not a resource type paas-hardener handles")
        arm = self._clients_for(rid.subscription_id)
        return service.with_settings(arm, service.read(arm, rid), self._settings)

    def revert(self, resource_id: str, *, history: Any, apply: bool, remove_created: bool = False,
               caller: Caller | None = None) -> Outcome:
        """Undo what this tool recorded for one resource (remediators/revert.py): ``harden=off`` first,
        then the resource's own settings as they were, then (``remove_created``) the endpoints we made.

        ``apply=False`` plans and writes nothing (``planned``, not recorded); an applied revert is
        published and recorded like any outcome.

        :param history: The change history (:class:`remediators.history.History`).
        :raises InvalidResourceId: Not a resource id.
        :raises LookupError: Not a type this app handles.
        :raises ~azure.core.exceptions.HttpResponseError: ARM's answer to the reads (404, 403, ...).
        """
        rid = ResourceId.parse(resource_id)
        service = registry.service_for(rid.type)
        if service is None:
            raise LookupError(f"{rid.type} is not a resource type paas-hardener handles")
        request = HardenRequest(resource_id, f"revert-{uuid.uuid4()}", "paas-hardener revert",
                                caller=caller or Caller(name="paas-hardener revert"))
        kind = service.spec.resource_type
        recorded = revert.recorded_changes(resource_id, history.list_for(resource_id, limit=1000))
        arm = self._clients_for(rid.subscription_id)
        state = service.read(arm, rid)
        tag, _ = requested_mode(state.tags)
        changes: list[Change] = []
        dns_in_use: list[str] = []
        if not recorded.empty:
            changes = [c for c in [revert.tag_off_change(arm, str(rid), state.tags)] if c is not None]
            changes += service.plan_restore(arm, rid, recorded)
            if remove_created:
                removals = revert.endpoint_delete_changes(self._clients_for, recorded)
                cleanup, dns_in_use = revert.dns_cleanup_changes(self._clients_for, recorded, removals)
                changes += removals + cleanup
        if not changes:
            why = "no change of this tool's is recorded since the last revert" if recorded.empty else \
                "its settings are already as they were before this tool changed them"
            return Outcome(Status.SKIPPED, resource_id, "nothing-to-revert", f"nothing to revert: {why}", request,
                           kind, tag)
        plan = [dataclasses.replace(c, step=i, after_steps=(i - 1,) if i > 1 else ())
                for i, c in enumerate(changes, 1)]
        kept = revert.describe_kept(recorded, endpoints_removed=remove_created, dns_in_use=dns_in_use)
        if not apply:
            return Outcome(Status.PLANNED, resource_id, "revert-planned",
                           f"{len(plan)} change(s) planned to undo {recorded.outcomes} recorded hardening(s), none "
                           f"made{kept}", request, kind, tag, tuple(plan))
        done: list[Change] = []
        outcome = None
        for change in plan:  # one at a time, in order: public access returns before any endpoint goes
            try:
                change.apply()
            except (AzureError, ValueError) as exc:
                not_done = tuple((c, "failed: " + _error_text(exc) if c is change else f"needs step {change.step}")
                                 for c in plan[len(done):])
                outcome = Outcome(Status.FAILED, resource_id, "revert-failed",
                                  f"step {change.step} ({change.summary}) failed after {len(done)} change(s): "
                                  f"{_error_text(exc)}; run the revert again", request, kind, tag, tuple(done),
                                  not_done=not_done)
                break
            done.append(change)
        if outcome is None:
            outcome = Outcome(Status.REVERTED, resource_id, revert.REVERTED,
                              f"{len(done)} change(s) made: the settings are as they were before this tool "
                              f"changed them, and harden=off keeps them so{kept}", request, kind, "off", tuple(done))
        # The owner hears about it like any outcome (the tags as read before harden=off went on).
        outcome = dataclasses.replace(outcome, tags=dict(state.tags or {}))
        self._notifier.publish(outcome)
        outcome = self._deliver(outcome)
        history.record(outcome)
        return outcome

    def _evaluate(self, request: HardenRequest, *, apply: bool, replanned: bool = False) -> Outcome:
        def result(status: Status, code: str, reason: str, *, resource_type: str | None = None) -> Outcome:
            return Outcome(status, request.resource_id, code, reason, request, resource_type)

        try:
            rid = ResourceId.parse(request.resource_id)
        except InvalidResourceId as exc:
            return result(Status.FAILED, "invalid-request", str(exc))
        service = registry.service_for(rid.type)
        if service is None:
            return result(Status.SKIPPED, "unhandled-type", f"{rid.type} is not a handled resource type")
        if self._excluded(rid):
            return result(Status.SKIPPED, "excluded",
                          "this resource is excluded (HARDEN_EXCLUDE_RESOURCE_IDS or the app's own resources)",
                          resource_type=service.spec.resource_type)
        arm = self._clients_for(rid.subscription_id)
        try:
            state = service.with_settings(arm, service.read(arm, rid), self._settings)
        except ResourceNotFoundError:
            return result(Status.SKIPPED, "resource-gone", "the resource no longer exists",
                          resource_type=service.spec.resource_type)
        except HttpResponseError as exc:
            raise HardeningFailed(self._failure(request, service, None, exc)) from exc
        try:
            outcome = self._decide(request, service, arm, state, apply=apply, replanned=replanned)
        except HardeningFailed as failure:
            failure.outcome = dataclasses.replace(failure.outcome, tags=dict(state.tags or {}))
            raise
        if state.notes and outcome.reason_code not in _UNTAGGED:
            # What the read decided (e.g. no Storage web endpoint, and why): remediators/static_website.py.
            outcome = dataclasses.replace(outcome, reason=f"{outcome.reason}; {'; '.join(state.notes)}")
        # The tags as read route the notification (remediators/dispatch.py): no second read for them.
        return dataclasses.replace(outcome, tags=dict(state.tags or {}))

    def _decide(self, request: HardenRequest, service: ServiceRemediator, arm: ArmClients,
                state: ResourceState, *, apply: bool, replanned: bool = False) -> Outcome:
        kind = service.spec.resource_type
        tag, mode = requested_mode(state.tags)

        def result(status: Status, code: str, reason: str, changes: tuple[Change, ...] = ()) -> Outcome:
            return Outcome(status, request.resource_id, code, reason, request, kind, tag, changes)

        if state.governed_by_perimeter:
            # A Network Security Perimeter decides who gets in; writing publicNetworkAccess would
            # take the resource out of it (learn.microsoft.com/azure/private-link/network-security-perimeter-concepts).
            return result(Status.SKIPPED, "governed-by-perimeter",
                          f"{service.spec.display_name} has publicNetworkAccess={state.public_network_access}: "
                          "its network security perimeter governs access; not changed")
        if tag is None:
            if state.public and (state.default_action != DENY or state.also_open):
                # also_open: another way in the firewall does not cover (App Service's SCM site) is open.
                where = f" through its {', '.join(state.also_open)}" if state.default_action == DENY else ""
                return result(Status.SKIPPED, "untagged-public",
                              f"{service.spec.display_name} is open to public networks{where} and has no "
                              f"'{TAG_NAME}' tag; add {TAG_NAME}=private or {TAG_NAME}=service-endpoint "
                              f"to harden it, or {TAG_NAME}=off to silence this")
            return result(Status.SKIPPED, "untagged", "no harden tag, and not open to public networks")
        if mode is None:
            return result(Status.FAILED, "unknown-tag-value",
                          f"tag {TAG_NAME}={tag!r} is not understood; allowed values: {ALLOWED_VALUES}")
        if mode is Mode.OFF:
            return result(Status.SKIPPED, "opted-out", f"tag {TAG_NAME}=off: never touched")
        if state.unsupported:
            return result(Status.UNSUPPORTED, "unsupported", state.unsupported)
        if self.compliant(state, mode):
            return result(Status.SKIPPED, "already-compliant", f"already hardened as {TAG_NAME}={mode.value} asks")

        try:
            changes, holds = self._plan(service, arm, state, mode)
            plan = link(changes)
        except SettingsError as exc:
            return result(Status.FAILED, "setting-missing", str(exc))
        except DnsConflict as exc:
            return result(Status.FAILED, "dns-conflict", str(exc))
        except ZoneMissing as exc:
            return result(Status.FAILED, "zone-missing", str(exc))
        except ZoneNotOffered as exc:
            return result(Status.UNSUPPORTED, "zone-not-offered", f"{exc}; public access was left on")
        except CloudMetadataError as exc:
            failure = result(Status.FAILED, "cloud-metadata-unavailable", f"{exc}; the message will be retried")
            raise HardeningFailed(failure) from exc
        except LockoutRisk as exc:
            return result(Status.FAILED, "lockout-risk", str(exc))
        except HttpResponseError as exc:
            raise HardeningFailed(self._failure(request, service, tag, exc)) from exc
        if not plan:
            if holds:
                return result(Status.PENDING, "endpoint-not-approved", "; ".join(holds))
            return result(Status.SKIPPED, "already-compliant", "nothing to change")
        if not apply:
            held = f"; public access will stay on: {'; '.join(holds)}" if holds else ""
            return result(Status.PLANNED, "dry-run",
                          f"{len(plan)} change(s) planned, none made"
                          f"{' (HARDEN_DRY_RUN is on)' if self._settings.dry_run else ''}{held}", tuple(plan))
        return self._apply(request, service, tag, plan, holds, replanned=replanned)

    def _plan(self, service: ServiceRemediator, arm: ArmClients, state: ResourceState,
              mode: Mode) -> tuple[list[Change], list[str]]:
        """The changes (edges not yet linked) and the holds that keep public access on."""
        if mode is Mode.PRIVATE:
            changes, holds = self._private_link.plan(state, subnet_id=self._endpoint_subnet(state))
            # Only a resource still open is locked down: one already closed whose groups someone else's
            # endpoints serve in our zone (private_link.served_by_others) plans nothing (compliance.py's terms).
            if not holds and (state.public or state.default_action not in (None, DENY) or state.own_write_failed):
                changes += service.plan_lockdown(arm, state)
            return changes, holds
        subnets = self._allowed_subnets(state)
        ip_ranges = self._settings.allowed_ip_ranges
        if not subnets and not ip_ranges:
            raise SettingsError("neither HARDEN_SERVICE_ENDPOINT_SUBNET_IDS nor HARDEN_ALLOWED_IP_RANGES is set; "
                                "harden=service-endpoint needs subnets or IP ranges to allow in")
        changes = self._network.plan_service_endpoints(service.spec.service_endpoint, subnets,
                                                       location=state.location)
        changes += service.plan_vnet_rules(arm, state, subnets, ip_ranges=ip_ranges)
        return changes, []

    def _apply(self, request: HardenRequest, service: ServiceRemediator, tag: str, plan: list[Change],
               holds: list[str], *, replanned: bool = False) -> Outcome:
        execution = execute(plan, max_parallel=self._settings.max_parallel_changes)
        conflict = None if replanned else _concurrent_change(execution)
        if conflict is not None:
            # Someone else wrote between our read and our write (ALZ's policy added its zone group, a
            # name got taken, an ETag moved): read again and plan from what is there now, once.
            logger.info("%s: %s; reading again and re-planning once", request.resource_id, conflict)
            again = self._evaluate(request, apply=True, replanned=True)
            return dataclasses.replace(
                again, changes=tuple(execution.done) + tuple(again.changes),
                reason=f"{again.reason} (re-planned once after a concurrent change: {conflict})")
        outcome = self._outcome_of(request, service, tag, execution, holds)
        return dataclasses.replace(outcome, seconds=dict(execution.seconds))

    def _outcome_of(self, request: HardenRequest, service: ServiceRemediator, tag: str, execution: Execution,
                    holds: list[str]) -> Outcome:
        done = tuple(execution.done)
        kind = service.spec.resource_type
        if execution.complete:
            if holds:
                return Outcome(Status.PENDING, request.resource_id, "endpoint-not-approved",
                               f"{len(done)} change(s) made; " + "; ".join(holds), request, kind, tag, done)
            _, mode = requested_mode({TAG_NAME: tag})
            note = service.outcome_note(mode) if mode is not None else ""
            return Outcome(Status.HARDENED, request.resource_id, "hardened",
                           f"{len(done)} change(s) made as {TAG_NAME}={tag} asks{note}", request, kind, tag, done)
        not_done = tuple((change, f"failed: {_error_text(error)}") for change, error in execution.failed) \
            + tuple(execution.not_run)
        if not execution.failed:  # every change made or skipped behind a hold: waiting on someone else
            reasons = [str(error) for _, error in execution.held] + holds
            return Outcome(Status.PENDING, request.resource_id, "endpoint-not-approved",
                           f"{len(done)} change(s) made; " + "; ".join(reasons), request, kind, tag, done,
                           not_done=not_done)
        change, error = execution.failed[0]
        where = f"step {change.step} ({change.summary}, {change.target})"
        if isinstance(error, DnsRefused):  # compensated: the endpoint made in this run is gone again
            return Outcome(Status.FAILED, request.resource_id, "dns-refused", f"{where}: {error}", request, kind,
                           tag, done, error.arm_error, not_done)
        if isinstance(error, LockoutRisk):
            return Outcome(Status.FAILED, request.resource_id, "lockout-risk", f"{where}: {error}", request, kind,
                           tag, done, not_done=not_done)
        if isinstance(error, HttpResponseError):
            failure = self._failure(request, service, tag, error, done=done, not_done=not_done, where=where)
            if failure.reason_code in _RETRIED_FAILURES:
                raise HardeningFailed(failure) from error
            return failure
        if isinstance(error, (AzureError, VnetBusy, LeaseLost)):
            # No answer from ARM (a connection or timeout), or another instance holds the VNet: retry.
            failure = Outcome(Status.FAILED, request.resource_id, "transient-error",
                              f"{where}: {error}; the message will be retried", request, kind, tag, done,
                              not_done=not_done)
            raise HardeningFailed(failure) from error
        # A bug, not Azure's answer: report what was done, then let the host retry.
        failure = Outcome(Status.FAILED, request.resource_id, "internal-error",
                          f"{where}: {type(error).__name__}: {error}", request, kind, tag, done, not_done=not_done)
        raise HardeningFailed(failure) from error

    @staticmethod
    def _failure(request: HardenRequest, service: ServiceRemediator, tag: str | None, exc: HttpResponseError, *,
                 done: tuple[Change, ...] = (), not_done: tuple[tuple[Change, str], ...] = (),
                 where: str | None = None) -> Outcome:
        code, message, status_code = _error_parts(exc)
        error = {"code": code, "message": message, "status": str(status_code)}
        applied = f" after {len(done)} change(s)" if done else ""
        at = f" at {where}" if where else ""
        skipped = f"; {len(not_done)} planned change(s) not made" if not_done else ""
        kind = service.spec.resource_type
        if status_code in _REJECTED_STATUSES:
            hint = f"{code} {message}".lower()
            unsupported = any(h in hint for h in _UNSUPPORTED_HINTS)
            return Outcome(Status.UNSUPPORTED if unsupported else Status.FAILED, request.resource_id,
                           "rejected-by-arm",
                           f"ARM rejected the change{at}{applied} ({code}): {message}; not retried{skipped}",
                           request, kind, tag, done, error, not_done)
        if status_code == 403:
            # Refused permissions (or a Deny policy) are reported as such, with the fix. Still retried: a
            # role assignment "can take up to 30 minutes" to take effect (learn.microsoft.com/azure/
            # role-based-access-control/troubleshooting, "Symptom - Role assignment changes are not being
            # detected"), then the message is parked in the poison queue and the next sweep asks again.
            # Public access stays on: nothing after the refused step runs.
            if code == "RequestDisallowedByPolicy":
                return Outcome(Status.FAILED, request.resource_id, "denied-by-policy",
                               f"an Azure Policy assignment denied the change{at}{applied}: {message}; exempt this "
                               "resource or its resource group from that assignment, or tag the resource harden=off; "
                               f"the message will be retried{skipped}", request, kind, tag, done, error, not_done)
            return Outcome(Status.FAILED, request.resource_id, "permission-denied",
                           f"ARM refused the app's identity{at}{applied} ({code}): {message}; grant the action it "
                           "names to the app's role (infra/remediator-role-actions.json) at that scope, or tag the "
                           f"resource harden=off; the message will be retried{skipped}",
                           request, kind, tag, done, error, not_done)
        return Outcome(Status.FAILED, request.resource_id, "arm-error",
                       f"ARM error{at}{applied} ({status_code} {code}): {message}; the message will be "
                       f"retried{skipped}", request, kind, tag, done, error, not_done)

    def _excluded(self, rid: ResourceId) -> bool:
        return self._settings.excludes(rid)

    def compliant(self, state: ResourceState, mode: Mode) -> bool:
        """The one definition (remediators/compliance.py), with this engine's settings; no I/O."""
        return is_compliant(
            state, mode,
            endpoint_subnets_configured=bool(all_subnets(self._settings.private_endpoint_subnet_id,
                                                         self._settings.private_endpoint_subnet_ids)),
            service_endpoint_subnets=self._settings.service_endpoint_subnet_ids,
            allowed_ip_ranges=self._settings.allowed_ip_ranges)

    def _endpoint_subnet(self, state: ResourceState) -> str | None:
        """The private endpoint subnet for this resource: its spoke's, else its region's (one configured: that one)."""
        subnets = all_subnets(self._settings.private_endpoint_subnet_id, self._settings.private_endpoint_subnet_ids)
        if not subnets:
            return None
        setting = "HARDEN_PRIVATE_ENDPOINT_SUBNET_IDS" if self._settings.private_endpoint_subnet_ids \
            else "HARDEN_PRIVATE_ENDPOINT_SUBNET_ID"
        return self._placement.private_endpoint_subnet(subnets, subscription_id=state.id.subscription_id,
                                                       location=state.location, setting=setting)

    def _allowed_subnets(self, state: ResourceState) -> list[str]:
        """The service-endpoint subnets for this resource: every configured one (reach is checked per service)."""
        return self._placement.service_endpoint_subnets(self._settings.service_endpoint_subnet_ids,
                                                        subscription_id=state.id.subscription_id,
                                                        location=state.location)


def _concurrent_change(execution: Execution) -> str | None:
    """Why a failed write looks like another writer's change (worth one fresh read), or ``None``.

    409 (a name taken, a conflicting operation) and 412 (an ETag moved) say so themselves; a 400 on a
    zone group is Azure's "one zone group per endpoint" (learn.microsoft.com/azure/private-link/
    private-endpoint-dns#private-dns-zone-group), i.e. someone else's group appeared since our read.
    """
    for change, error in execution.failed:
        if not isinstance(error, HttpResponseError):
            continue
        if error.status_code in (409, 412) or (
                error.status_code == 400 and change.phase is Phase.PRIVATE_DNS_ZONE_GROUP):
            code, message, status = _error_parts(error)
            return f"step {change.step} ({change.target}) got {status} {code}: {message}"
    return None


def _record(outcome: Outcome) -> None:
    """Write the outcome to the change history (remediators/history.py); never raises for Azure."""
    from .history import history_from_environment

    history = history_from_environment()
    if history is not None:
        history.record(outcome)


def _error_parts(exc: HttpResponseError) -> tuple[str, str, int]:
    code = (exc.error.code if exc.error and exc.error.code else None) or (
        error_code_of(exc.response) if exc.response is not None else None) or "Unknown"
    message = (exc.error.message if exc.error and exc.error.message else None) or str(exc.message or exc)
    return code, message, exc.status_code or 0


def _error_text(error: BaseException) -> str:
    if isinstance(error, HttpResponseError):
        code, message, status = _error_parts(error)
        return f"{status} {code}: {message}"
    return str(error)
