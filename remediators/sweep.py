"""The scheduled sweep: find what events missed, and queue it for the worker.

Runs the CLI's Resource Graph query (:mod:`remediators.inventory`) over ``HARDEN_SUBSCRIPTION_IDS``
and enqueues a request for every tagged resource that Resource Graph does not show as compliant,
and for every untagged public one (the worker reports it, never changes it). It never writes to
ARM: the queue worker stays the one writer, so a sweep and an event cannot race. A resource
queued by a sweep in the last ``HARDEN_SWEEP_DEDUPE_MINUTES`` is not queued again (a claim blob
per resource on ``AzureWebJobsStorage``). Each sweep is reported as one notification.

Why Resource Graph decides "not compliant" here, and how: the sweep must stay one POST per
1,000 resources, so it judges from the resource's own properties as Resource Graph returns them
(the same body a GET returns) and queues whatever those properties do not *prove* compliant.
A resource wrongly queued costs the worker one read (its compliant check) and no write; a
resource wrongly skipped would stay open until its next event, so every doubt queues:
- ``private``: compliant only with ``publicNetworkAccess`` Disabled, a firewall default (if
  any) of Deny, and at least one approved private endpoint connection listed on the resource.
  App Service lists its connections only as a child collection, so sites are always queued.
- ``service-endpoint``: compliant with public access Disabled (stricter than asked), or with a
  Deny default and every configured subnet in the resource's own ``virtualNetworkRules``. SQL,
  Service Bus, Event Hubs and App Service keep those rules in child resources that the Resources
  table does not hold (``servers/virtualNetworkRules``, ``namespaces/networkRuleSets``,
  ``sites/config``), so they are always queued.
Drift outside the resource (a deleted zone group, a subnet's service endpoint removed) is not
in its row either; the worker's check covers what it covers.
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
from .model import DENY, DISABLED, SECURED_BY_PERIMETER, Caller, HardenRequest, Mode
from .services.common import approved_private_endpoints, public_access
from .settings import Settings

logger = logging.getLogger(__name__)

SWEEP_OPERATION = "PaasHardener/sweep"
SWEEP_EVENT_TYPE = "PaasHardener.Sweep.Completed"
CLAIMS_CONTAINER = "harden-sweep-claims"

# Verdicts that put a request on the queue.
QUEUED_VERDICTS = frozenset({"not-compliant", "untagged-public", "unknown-tag"})
# Types whose firewall rules Resource Graph's Resources table does not show (child resources).
_RULES_IN_CHILDREN = frozenset({"microsoft.sql/servers", "microsoft.servicebus/namespaces",
                                "microsoft.eventhub/namespaces", "microsoft.web/sites"})
# Types that list private endpoint connections only as a child collection.
_CONNECTIONS_IN_CHILDREN = frozenset({"microsoft.web/sites"})


def graph_verdict(item: InventoryItem, settings: Settings) -> str:
    """``compliant``, ``not-compliant``, ``untagged-public``, ``untagged``, ``opted-out``,
    ``unknown-tag``, ``excluded`` or ``perimeter``, from the Resource Graph row alone."""
    kind = item.type.lower()
    if item.id.lower() in settings.excluded_resource_ids or (
            kind == "microsoft.storage/storageaccounts" and item.name.lower() in settings.excluded_storage_account_names):
        return "excluded"
    p = item.properties
    access = public_access(p.get("publicNetworkAccess"))
    if access == SECURED_BY_PERIMETER:
        return "perimeter"
    tag, mode = item.harden_tag, item.mode
    if tag is None:
        return "untagged-public" if item.looks_public else "untagged"
    if mode is None:
        return "unknown-tag"
    if mode is Mode.OFF:
        return "opted-out"
    closed = access == DISABLED and item.exposure.default_action in (None, DENY)
    if mode is Mode.PRIVATE:
        if kind in _CONNECTIONS_IN_CHILDREN:
            return "not-compliant"
        endpoints = approved_private_endpoints(p.get("privateEndpointConnections"))
        return "compliant" if closed and endpoints else "not-compliant"
    if access == DISABLED:
        return "compliant"
    if kind in _RULES_IN_CHILDREN:
        return "not-compliant"
    acls = p.get("networkAcls") if isinstance(p.get("networkAcls"), Mapping) else {}
    rules = acls.get("virtualNetworkRules") or p.get("virtualNetworkRules") or ()
    present = {str(r.get("id", "")).lower() for r in rules if isinstance(r, Mapping)}
    wanted = {s.lower() for s in settings.service_endpoint_subnet_ids}
    deny = item.exposure.default_action == DENY
    return "compliant" if wanted and deny and wanted <= present else "not-compliant"


class Claims(Protocol):
    def claim(self, resource_id: str) -> bool:
        """True if this sweep may queue the resource (nobody queued it within the window)."""


class BlobClaims:
    """A claim blob per resource: created or refreshed when queued; younger than the window blocks.

    Conditional writes make concurrent sweeps agree: create-if-absent (``If-None-Match: *``), or
    replace-if-unchanged (``If-Match``) when the old claim has expired.

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

    def claim(self, resource_id: str) -> bool:
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceExistsError, ResourceModifiedError

        name = hashlib.sha256(resource_id.lower().encode()).hexdigest()
        blob = self._container.get_blob_client(name)
        try:
            blob.upload_blob(resource_id.encode(), overwrite=False)
            return True
        except ResourceExistsError:
            pass
        props = blob.get_blob_properties()
        if self._now() - props.last_modified < self._window:
            return False
        try:
            blob.upload_blob(resource_id.encode(), overwrite=True, etag=props.etag,
                             match_condition=MatchConditions.IfNotModified)
            return True
        except (ResourceModifiedError, ResourceExistsError):
            return False  # another sweep refreshed it first


@dataclass
class SweepReport:
    """What one sweep saw and did."""

    sweep_id: str
    started: str
    verdicts: Counter[str] = field(default_factory=Counter)
    by_subscription: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    queued: list[str] = field(default_factory=list)
    deduplicated: list[str] = field(default_factory=list)

    def data(self) -> dict[str, Any]:
        return {
            "sweepId": self.sweep_id, "started": self.started, "total": sum(self.verdicts.values()),
            "byVerdict": dict(sorted(self.verdicts.items())),
            "bySubscription": {s: dict(sorted(c.items())) for s, c in sorted(self.by_subscription.items())},
            "queued": len(self.queued), "alreadyQueued": len(self.deduplicated),
        }


def sweep(items: Iterable[InventoryItem], settings: Settings, *, claims: Claims,
          enqueue: Callable[[str], None]) -> SweepReport:
    """Judge every row, and queue (once per window) those that need the worker's look."""
    started = dt.datetime.now(dt.timezone.utc)
    report = SweepReport(sweep_id=str(uuid.uuid4()), started=started.isoformat())
    for item in items:
        verdict = graph_verdict(item, settings)
        report.verdicts[verdict] += 1
        report.by_subscription[item.subscription_id][verdict] += 1
        if verdict not in QUEUED_VERDICTS or (verdict == "untagged-public" and not settings.report_untagged):
            continue
        if not claims.claim(item.id):
            report.deduplicated.append(item.id)
            continue
        enqueue(encode_request(HardenRequest(
            resource_id=item.id, event_id=f"sweep-{report.sweep_id}", operation_name=SWEEP_OPERATION,
            event_time=started.isoformat(), caller=Caller(name=f"paas-hardener sweep ({verdict})"))))
        report.queued.append(item.id)
    logger.info("Sweep %s: %d resources, %d queued, %d already queued", report.sweep_id,
                sum(report.verdicts.values()), len(report.queued), len(report.deduplicated))
    return report


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


def run_scheduled_sweep(settings: Settings, environ: Mapping[str, str]) -> list[str]:
    """One sweep with the app's identity: the queue messages to send (the caller's output binding sends them)."""
    from .inventory import Scope, list_resources, resource_graph_client
    from .notify import Notifier
    from .runtime import credential_for

    credential = credential_for(settings.client_id)
    graph = resource_graph_client(credential, endpoint=settings.arm_endpoint)
    claims = BlobClaims(claims_container(environ, credential_for), window_minutes=settings.sweep_dedupe_minutes)
    messages: list[str] = []
    scope = Scope(subscriptions=tuple(sorted(settings.subscription_ids)))
    report = sweep(list_resources(graph, scope), settings, claims=claims, enqueue=messages.append)
    notifier = Notifier.for_topic(settings.notify_topic_endpoint, key=settings.notify_topic_key, credential=credential)
    notifier.publish_event(SWEEP_EVENT_TYPE, f"/paas-hardener/sweeps/{report.sweep_id}", report.data())
    return messages
