"""The scheduled sweep: find what events missed, and queue it for the worker.

Runs the CLI's Resource Graph query (:mod:`remediators.inventory`) over ``HARDEN_SUBSCRIPTION_IDS``
and enqueues a request for every tagged resource that Resource Graph does not show as compliant,
and for every untagged public one (the worker reports it, never changes it). It never writes to
ARM: the queue worker stays the one writer, so a sweep and an event cannot race. A resource
queued by a sweep in the last ``HARDEN_SWEEP_DEDUPE_MINUTES`` is not queued again (a claim blob
per resource on ``AzureWebJobsStorage``). Each sweep is reported as one notification, a failed one too.

Claims follow the queue, never lead it: each message is sent to the queue itself (not through an
output binding, which sends only after the function returns) and the resource's claim is written
only once its message is accepted. A sweep that fails on page 3 has queued and claimed pages 1–2
and nothing else, publishes ``PaasHardener.Sweep.Failed`` with what it did, and re-raises so the
invocation is recorded as failed. Two sweeps at once may both queue a resource (no lock between
the check and the claim): a duplicate message costs the worker one read and no write.

Why Resource Graph decides "not compliant" here, and how: the sweep must stay one POST per
1,000 resources, so it judges from the resource's own properties as Resource Graph returns them
(the same body a GET returns) and queues whatever those properties do not *prove* compliant, by
the engine's own definition (remediators/compliance.py ``graph_verdict_compliant``: the service's
own parser, then ``is_compliant``). A resource wrongly queued costs the worker one read (its
compliant check) and no write; a resource wrongly skipped would stay open until its next event, so
every doubt queues: rules or connections in child resources (SQL, Service Bus, Event Hubs, App
Service), and Storage's and Cosmos DB's private-link groups (they follow kind, SKU and
capabilities). Drift outside the resource (a deleted zone group, a subnet's service endpoint
removed) is not in its row either; the worker's check covers what it covers.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Protocol

from .events import encode_request
from .inventory import InventoryItem
from .compliance import graph_verdict_compliant
from .dispatch import Finding
from .model import SECURED_BY_PERIMETER, Caller, HardenRequest, Mode
from .placement import all_subnets
from .resource_id import InvalidResourceId, ResourceId
from .services.common import public_access
from .settings import Settings

logger = logging.getLogger(__name__)

SWEEP_OPERATION = "PaasHardener/sweep"
SWEEP_EVENT_TYPE = "PaasHardener.Sweep.Completed"
SWEEP_FAILED_EVENT_TYPE = "PaasHardener.Sweep.Failed"
CLAIMS_CONTAINER = "harden-sweep-claims"

# Verdicts that put a request on the queue.
QUEUED_VERDICTS = frozenset({"not-compliant", "untagged-public", "unknown-tag", "inherits-tag"})
# An App Service slot without a harden tag of its own follows its site's (remediators/services/web_slots.py);
# the row does not show the site's tag, so every such slot is queued: the worker reads both.
_INHERITING_TYPES = frozenset({"microsoft.web/sites/slots"})

def graph_verdict(item: InventoryItem, settings: Settings) -> str:
    """``compliant``, ``not-compliant``, ``untagged-public``, ``untagged``, ``opted-out``,
    ``unknown-tag``, ``inherits-tag`` (a slot without its own tag), ``excluded`` or ``perimeter``, from the
    Resource Graph row alone."""
    kind = item.type.lower()
    try:
        excluded = settings.excludes(ResourceId.parse(item.id))
    except InvalidResourceId:
        excluded = False  # the worker says so, with the id
    if excluded:
        return "excluded"
    p = item.properties
    access = public_access(p.get("publicNetworkAccess"))
    if access == SECURED_BY_PERIMETER:
        return "perimeter"
    tag, mode = item.harden_tag, item.mode
    if tag is None and kind in _INHERITING_TYPES:
        return "inherits-tag"
    if tag is None:
        return "untagged-public" if item.looks_public else "untagged"
    if mode is None:
        return "unknown-tag"
    if mode is Mode.OFF:
        return "opted-out"
    row = {"id": item.id, "type": item.type, "location": item.location, "tags": dict(item.tags),
           "properties": p}
    proven = graph_verdict_compliant(
        row, mode, endpoint_subnets_configured=bool(all_subnets(settings.private_endpoint_subnet_id,
                                                                settings.private_endpoint_subnet_ids)),
        service_endpoint_subnets=settings.service_endpoint_subnet_ids, allowed_ip_ranges=settings.allowed_ip_ranges)
    return "compliant" if proven else "not-compliant"


class Claims(Protocol):
    def is_claimed(self, resource_id: str) -> bool:
        """True if a sweep queued the resource within the window (then it is not queued again)."""

    def claim(self, resource_id: str) -> None:
        """Record that the resource's message was queued just now."""


class BlobClaims:
    """A claim blob per resource, written (or refreshed) after its message is queued; a claim younger
    than the window means "already queued".

    :param container: An ``azure.storage.blob.ContainerClient`` (created if missing).
    :param window_minutes: How long a claim blocks another.
    """

    def __init__(self, container: Any, *, window_minutes: float,
                 now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)) -> None:
        from azure.core.exceptions import ResourceExistsError

        self._container = container
        self._window = dt.timedelta(minutes=window_minutes)
        self._now = now
        try:
            container.create_container()
        except ResourceExistsError:
            pass

    def _blob(self, resource_id: str) -> Any:
        return self._container.get_blob_client(hashlib.sha256(resource_id.lower().encode()).hexdigest())

    def is_claimed(self, resource_id: str) -> bool:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            props = self._blob(resource_id).get_blob_properties()
        except ResourceNotFoundError:
            return False
        return self._now() - props.last_modified < self._window

    def claim(self, resource_id: str) -> None:
        self._blob(resource_id).upload_blob(resource_id.encode(), overwrite=True)


@dataclass
class SweepReport:
    """What one sweep saw and did."""

    sweep_id: str
    started: str
    verdicts: Counter[str] = field(default_factory=Counter)
    by_subscription: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    queued: list[str] = field(default_factory=list)
    deduplicated: list[str] = field(default_factory=list)
    error: str | None = None
    #: What was queued, with its verdict and tags: the digest people get (remediators/dispatch.py).
    findings: list[Finding] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.error is not None

    @property
    def event_type(self) -> str:
        return SWEEP_FAILED_EVENT_TYPE if self.failed else SWEEP_EVENT_TYPE

    def data(self) -> dict[str, Any]:
        data = {
            "sweepId": self.sweep_id, "started": self.started, "status": "failed" if self.failed else "completed",
            "total": sum(self.verdicts.values()),
            "byVerdict": dict(sorted(self.verdicts.items())),
            "bySubscription": {s: dict(sorted(c.items())) for s, c in sorted(self.by_subscription.items())},
            "queued": len(self.queued), "alreadyQueued": len(self.deduplicated),
        }
        if self.failed:
            data["error"] = self.error
            data["reason"] = (f"the sweep failed after {data['total']} resources ({len(self.queued)} queued); "
                              "the rest were not judged and the next sweep retries them")
        return data


def sweep(items: Iterable[InventoryItem], settings: Settings, *, claims: Claims,
          enqueue: Callable[[str], None], report: SweepReport | None = None) -> SweepReport:
    """Judge every row, and queue (once per window) those that need the worker's look.

    Each claim is written after its message is queued. On any failure (Resource Graph, the queue, the
    claims) ``report.error`` says what, and the exception propagates: pass ``report`` to keep what was done.
    """
    started = dt.datetime.now(dt.timezone.utc)
    report = report or new_report(started)
    try:
        for item in items:
            verdict = graph_verdict(item, settings)
            report.verdicts[verdict] += 1
            report.by_subscription[item.subscription_id][verdict] += 1
            if verdict not in QUEUED_VERDICTS or (verdict == "untagged-public" and not settings.report_untagged):
                continue
            if claims.is_claimed(item.id):
                report.deduplicated.append(item.id)
                continue
            enqueue(encode_request(HardenRequest(
                resource_id=item.id, event_id=f"sweep-{report.sweep_id}", operation_name=SWEEP_OPERATION,
                event_time=report.started, caller=Caller(name=f"paas-hardener sweep ({verdict})"))))
            report.queued.append(item.id)
            report.findings.append(Finding(item.id, item.type, verdict, dict(item.tags)))
            claims.claim(item.id)  # only now: a claim always means "its message is on the queue"
    except BaseException as exc:
        report.error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        logger.info("Sweep %s: %d resources, %d queued, %d already queued%s", report.sweep_id,
                    sum(report.verdicts.values()), len(report.queued), len(report.deduplicated),
                    f"; FAILED: {report.error}" if report.error else "")
    return report


def new_report(started: dt.datetime | None = None) -> SweepReport:
    started = started or dt.datetime.now(dt.timezone.utc)
    return SweepReport(sweep_id=str(uuid.uuid4()), started=started.isoformat())


def claims_container(environ: Mapping[str, str], credential_for: Callable[[str | None], Any]) -> Any:
    """The claims container on ``AzureWebJobsStorage``: a connection string locally (Azurite), the
    identity-based ``AzureWebJobsStorage__blobServiceUri`` / ``__accountName`` (+ ``__clientId``) in Azure
    (learn.microsoft.com/azure/azure-functions/functions-reference#connecting-to-host-storage-with-an-identity)."""
    from azure.storage.blob import BlobServiceClient

    connection = environ.get("AzureWebJobsStorage")
    if connection:
        service = BlobServiceClient.from_connection_string(connection)
    else:
        uri = environ.get("AzureWebJobsStorage__blobServiceUri") or (
            f"https://{environ['AzureWebJobsStorage__accountName']}.blob.core.windows.net")
        service = BlobServiceClient(uri, credential=credential_for(environ.get("AzureWebJobsStorage__clientId")))
    return service.get_container_client(CLAIMS_CONTAINER)


def work_queue(environ: Mapping[str, str], queue_name: str, credential_for: Callable[[str | None], Any]) -> Any:
    """The work queue on ``AzureWebJobsStorage``, encoded as the queue trigger reads it (base64, the
    Queues extension's default ``messageEncoding``): a connection string locally, identity-based
    ``AzureWebJobsStorage__queueServiceUri`` / ``__accountName`` (+ ``__clientId``) in Azure. Sending needs
    Storage Queue Data Contributor (or Message Sender) on it; the app's identity has Contributor (infra/)."""
    from azure.storage.queue import BinaryBase64EncodePolicy, QueueClient

    encode = BinaryBase64EncodePolicy()
    connection = environ.get("AzureWebJobsStorage")
    if connection:
        return QueueClient.from_connection_string(connection, queue_name, message_encode_policy=encode)
    uri = environ.get("AzureWebJobsStorage__queueServiceUri") or (
        f"https://{environ['AzureWebJobsStorage__accountName']}.queue.core.windows.net")
    return QueueClient(uri, queue_name, credential=credential_for(environ.get("AzureWebJobsStorage__clientId")),
                       message_encode_policy=encode)


def run_scheduled_sweep(settings: Settings, environ: Mapping[str, str], *, queue_name: str) -> list[str]:
    """One sweep with the app's identity; sends each request to ``queue_name`` itself, then claims it.

    Publishes the summary whatever happens (``PaasHardener.Sweep.Failed`` when it failed, then re-raises).
    Returns the messages sent.
    """
    from .dispatch import dispatcher_or_none
    from .inventory import Scope, list_resources, resource_graph_client
    from .notify import Notifier
    from .runtime import credential_for

    credential = credential_for(settings.client_id)
    notifier = Notifier.for_topic(settings.notify_topic_endpoint, key=settings.notify_topic_key, credential=credential)
    report = new_report()
    messages: list[str] = []

    def enqueue(message: str) -> None:
        queue.send_message(message.encode("utf-8"))
        messages.append(message)

    try:
        graph = resource_graph_client(credential, endpoint=settings.arm_endpoint)
        claims = BlobClaims(claims_container(environ, credential_for), window_minutes=settings.sweep_dedupe_minutes)
        queue = work_queue(environ, queue_name, credential_for)
        scope = Scope(subscriptions=tuple(sorted(settings.subscription_ids)))
        sweep(list_resources(graph, scope), settings, claims=claims, enqueue=enqueue, report=report)
    except BaseException as exc:
        if report.error is None:
            report.error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        notifier.publish_event(report.event_type, f"/paas-hardener/sweeps/{report.sweep_id}", report.data())
        # One digest per recipient per run, of what was queued (a failed sweep's too): never raises.
        dispatcher = dispatcher_or_none(credential)
        if dispatcher is not None:
            dispatcher.deliver_digest(report.sweep_id, report.started, report.findings)
    return messages
