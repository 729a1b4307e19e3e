"""Outcomes (and sweep digests) to people: route, render, send once (issue 17 items 2-4).

For each outcome the engine handles, :meth:`Dispatcher.deliver` asks ``messages.recipients`` who gets
it (the resource's ``harden-notify``/``owner``/``OwnerContact`` tag, else the subscription's default,
only allowed domains; nothing for outcomes in ``HARDEN_NOTIFY_SKIP``), renders it per channel with
``messages.render`` and sends it through the configured channels (remediators/channels.py). The Teams and
Slack webhooks are the platform team's channels: they get every outcome that is notified at all.

**At most once per recipient per outcome.** The outcome's identity is :func:`outcome_key`: the SHA-256 of
the lower-cased resource id, the triggering event's id, the status and the reason code. A redelivered
event (the host retries a message after a failure; Event Grid delivers at least once) that reaches the
same verdict has the same key; a later, different verdict (failed, then hardened) is a new outcome.
Before each send, a claim row ``(key, channel+recipient)`` is inserted into the table
``hardennotified`` of the app's own storage account (``AzureWebJobsStorage``, like the history): the
insert is atomic, so a second delivery, in this process or another instance, finds the row and sends
nothing. A send that fails deletes its claim, so a redelivery may try again. A crash between the claim
and the send loses that one message (at most once, by design). Without a table (no
``AzureWebJobsStorage``), claims live in this process only, and the log says so.

A sweep's findings go out as one digest per recipient per run (:meth:`Dispatcher.deliver_digest`), keyed by
the sweep's id.

Nothing here raises into the hardening: every failure is a :class:`~remediators.channels.Delivery` with
``status="failed"``, logged and counted (``channels.send_failures``).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import threading
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Iterable, Mapping, Protocol

from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from jinja2 import TemplateError

from .channels import ChannelError, Delivery, EmailChannel, SecretValue, WebhookChannel, count_failure
from .host_storage import ensure_table, service_client
from .messages import RoutingPolicy, recipients, render, render_digest
from .model import Outcome
from .notify import outcome_data

logger = logging.getLogger(__name__)

LEDGER_TABLE = "hardennotified"
#: Claims older than this are deleted by the sweep: longer than any redelivery of their event.
CLAIM_RETENTION_DAYS = 30
_STORAGE_SETTINGS = ("AzureWebJobsStorage", "AzureWebJobsStorage__tableServiceUri", "AzureWebJobsStorage__accountName",
                     "AzureWebJobsStorage__clientId", "AZURE_CLIENT_ID")
CHANNEL_SETTINGS = ("HARDEN_NOTIFY_EMAIL_ENDPOINT", "HARDEN_NOTIFY_EMAIL_SENDER",
                    "HARDEN_NOTIFY_TEAMS_WEBHOOK_SECRET_URI", "HARDEN_NOTIFY_SLACK_WEBHOOK_SECRET_URI")
ROUTING_SETTINGS = ("HARDEN_NOTIFY_TAG", "HARDEN_NOTIFY_DEFAULTS", "HARDEN_NOTIFY_ALLOWED_DOMAINS", "HARDEN_NOTIFY_SKIP")
# A sweep verdict, as the reason code the worker would give it (so HARDEN_NOTIFY_SKIP applies to digests too).
_VERDICT_REASON = {"untagged-public": "untagged-public", "unknown-tag": "unknown-tag-value",
                   "not-compliant": "not-compliant"}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def outcome_key(outcome: Outcome) -> str:
    """The outcome's identity: the same for a redelivery of the same event reaching the same verdict, and
    for an outcome that changed nothing, the same for every event of the day that reaches it again."""
    request = outcome.request
    if not outcome.changes:
        # Nothing was written: the same verdict raised again by the resource's next write event (a bad tag
        # value, a pending approval, an unsupported tier) is the same news, told once a day, not per write.
        trigger = f"{_now():%Y-%m-%d}|{outcome.reason}"
    else:
        trigger = request.event_id if request and request.event_id else json.dumps(
            {k: v for k, v in outcome_data(outcome).items() if k != "changes"}, sort_keys=True, default=str)
    text = "|".join((outcome.resource_id.lower(), trigger, outcome.status.value, outcome.reason_code))
    return hashlib.sha256(text.encode()).hexdigest()


class Ledger(Protocol):
    def claim(self, key: str, channel: str, recipient: str) -> bool:
        """True if this (key, channel, recipient) was not claimed before (then the caller sends)."""

    def release(self, key: str, channel: str, recipient: str) -> None:
        """Undo a claim whose send failed."""


def _row(channel: str, recipient: str) -> str:
    return hashlib.sha256(f"{channel}|{recipient.lower()}".encode()).hexdigest()[:40]


class MemoryLedger:
    """Claims in this process only (no host storage)."""

    def __init__(self) -> None:
        self._claimed: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def claim(self, key: str, channel: str, recipient: str) -> bool:
        with self._lock:
            if (key, _row(channel, recipient)) in self._claimed:
                return False
            self._claimed.add((key, _row(channel, recipient)))
            return True

    def release(self, key: str, channel: str, recipient: str) -> None:
        with self._lock:
            self._claimed.discard((key, _row(channel, recipient)))


class TableLedger:
    """Claims as rows of the table ``hardennotified``: an insert either creates the row or finds it.

    :param table: An ``azure.data.tables.TableClient``.
    """

    def __init__(self, table: Any) -> None:
        self._table = table
        self._ready = False

    def claim(self, key: str, channel: str, recipient: str) -> bool:
        if not self._ready:
            ensure_table(self._table)
            self._ready = True
        try:
            self._table.create_entity({"PartitionKey": key, "RowKey": _row(channel, recipient), "channel": channel,
                                       "claimedAt": _now().isoformat()})
        except ResourceExistsError:
            return False
        return True

    def release(self, key: str, channel: str, recipient: str) -> None:
        try:
            self._table.delete_entity(key, _row(channel, recipient))
        except ResourceNotFoundError:
            pass

    def prune(self, *, older_than: dt.datetime, limit: int = 500) -> int:
        """Delete up to ``limit`` claims made before ``older_than``; the number deleted."""
        if not self._ready:
            return 0
        old = self._table.query_entities("claimedAt lt @cutoff", parameters={"cutoff": older_than.isoformat()},
                                         select=["PartitionKey", "RowKey"], results_per_page=limit)
        deleted = 0
        for row in old:
            if deleted >= limit:
                break
            self.release_row(row["PartitionKey"], row["RowKey"])
            deleted += 1
        return deleted

    def release_row(self, partition: str, row: str) -> None:
        try:
            self._table.delete_entity(partition, row)
        except ResourceNotFoundError:
            pass


@dataclass(frozen=True)
class Finding:
    """One resource a sweep queued, as a digest lists it."""

    resource_id: str
    resource_type: str
    verdict: str
    tags: Mapping[str, str]


class Dispatcher:
    """Routes, renders and sends; every channel optional.

    :param policy: Who gets what (``messages.RoutingPolicy``).
    :keyword email: An :class:`~remediators.channels.EmailChannel`, or ``None``.
    :keyword webhooks: :class:`~remediators.channels.WebhookChannel` s (Teams, Slack).
    :keyword ledger: Where claims are kept (:class:`TableLedger`; :class:`MemoryLedger` without storage).
    """

    def __init__(self, policy: RoutingPolicy, *, email: EmailChannel | None = None,
                 webhooks: Iterable[WebhookChannel] = (), ledger: Ledger | None = None) -> None:
        self.policy = policy
        self._email = email
        self._webhooks = tuple(webhooks)
        self._ledger: Ledger = ledger or MemoryLedger()

    @property
    def channels(self) -> tuple[str, ...]:
        return (("email",) if self._email else ()) + tuple(w.name for w in self._webhooks)

    def deliver(self, outcome: Outcome) -> tuple[Delivery, ...]:
        """Send ``outcome`` to its recipients, each at most once; never raises for a channel's failure."""
        data = outcome_data(outcome)
        if data.get("reasonCode") in self.policy.skip:
            return ()
        addresses = recipients(data, outcome.tags, self.policy) if self._email else []
        key = outcome_key(outcome)
        return self._send(key, addresses, lambda channel: render(data, channel=channel),
                          what=f"the {outcome.status.value} outcome of {outcome.resource_id}")

    def deliver_digest(self, sweep_id: str, started: str, findings: Iterable[Finding]) -> tuple[Delivery, ...]:
        """One message per recipient for a whole sweep run (email: only that recipient's resources)."""
        notified = [f for f in findings if _VERDICT_REASON.get(f.verdict, f.verdict) not in self.policy.skip]
        if not notified:
            return ()
        by_address: dict[str, list[Finding]] = defaultdict(list)
        if self._email:
            for finding in notified:
                data = {"resourceId": finding.resource_id, "reasonCode": _VERDICT_REASON.get(finding.verdict)}
                for address in recipients(data, finding.tags, self.policy):
                    by_address[address].append(finding)
        key = hashlib.sha256(f"sweep|{sweep_id}".encode()).hexdigest()
        deliveries: list[Delivery] = []

        def digest(items: list[Finding]) -> dict[str, Any]:
            return {"sweepId": sweep_id, "started": started, "findings": [
                {"resourceId": f.resource_id, "resourceType": f.resource_type, "verdict": f.verdict}
                for f in sorted(items, key=lambda f: (f.verdict, f.resource_id.lower()))]}

        for address, items in sorted(by_address.items()):
            deliveries += self._send(key, [address], lambda channel, items=items: render_digest(digest(items),
                                                                                                 channel=channel),
                                     what=f"the digest of sweep {sweep_id}", webhooks=False)
        deliveries += self._send(key, [], lambda channel: render_digest(digest(notified), channel=channel),
                                 what=f"the digest of sweep {sweep_id}")
        self.prune_claims()
        return tuple(deliveries)

    def prune_claims(self, *, now: dt.datetime | None = None) -> int:
        """Forget claims older than :data:`CLAIM_RETENTION_DAYS` (each sweep run, a bounded number at a time).

        A claim only has to outlive every redelivery of its event: Event Grid retries for at most 24 hours
        (learn.microsoft.com/azure/event-grid/delivery-and-retry) and a queue message lives 7 days by default
        (learn.microsoft.com/rest/api/storageservices/put-message, ``messagettl``).
        """
        prune = getattr(self._ledger, "prune", None)
        if prune is None:
            return 0
        try:
            return prune(older_than=(now or _now()) - dt.timedelta(days=CLAIM_RETENTION_DAYS))
        except AzureError as exc:
            logger.warning("Could not prune old notification claims (%s); they are retried at the next sweep",
                           type(exc).__name__)
            return 0

    def _send(self, key: str, addresses: list[str], rendered: Callable[[str], dict[str, Any]], *, what: str,
              webhooks: bool = True) -> tuple[Delivery, ...]:
        deliveries: list[Delivery] = []
        targets: list[tuple[str, str, Callable[[dict[str, Any]], Any]]] = []
        if self._email is not None:
            email = self._email
            targets += [("email", a, lambda message, a=a: email.send(a, message, key=key)) for a in addresses]
        if webhooks:
            targets += [(w.name, w.name, w.send) for w in self._webhooks]
        bodies: dict[str, dict[str, Any]] = {}  # rendered once per channel, sent to each recipient
        for channel, recipient, send in targets:
            try:
                if not self._ledger.claim(key, channel, recipient):
                    deliveries.append(Delivery(channel, recipient, "duplicate"))
                    continue
            except AzureError as exc:
                # No durable claim, no send: a duplicate is worse than a message the next outcome repeats.
                failures = count_failure()
                logger.warning("Not sending %s to %s %s: the claim could not be written (%s); %d send(s) failed "
                               "in this process", what, channel, recipient, type(exc).__name__, failures)
                deliveries.append(Delivery(channel, recipient, "failed", f"claim not written: {type(exc).__name__}"))
                continue
            try:
                if channel not in bodies:
                    bodies[channel] = rendered(channel)
                detail = send(bodies[channel])
            except (ChannelError, TemplateError) as exc:
                failures = count_failure()
                logger.warning("Could not send %s to %s %s: %s; the outcome stands, %d send(s) failed in this "
                               "process", what, channel, recipient, exc, failures)
                self._release(key, channel, recipient)
                deliveries.append(Delivery(channel, recipient, "failed", str(exc)))
                continue
            logger.info("Sent %s to %s %s", what, channel, recipient)
            deliveries.append(Delivery(channel, recipient, "sent", str(detail or "")))
        return tuple(deliveries)

    def _release(self, key: str, channel: str, recipient: str) -> None:
        try:
            self._ledger.release(key, channel, recipient)
        except AzureError as exc:
            logger.warning("Could not release the claim of %s %s (%s): a redelivery will not retry it",
                           channel, recipient, type(exc).__name__)


def dispatcher_from_environment(credential: Any, environ: Mapping[str, str] | None = None) -> Dispatcher | None:
    """The dispatcher the app settings describe, or ``None`` when no channel is configured.

    :raises ValueError: a setting is malformed (a secret URI that is not one, half of the email settings).
    """
    env = os.environ if environ is None else environ
    return _dispatcher_for(credential, tuple(env.get(k) or "" for k in CHANNEL_SETTINGS),
                           tuple(env.get(k) or "" for k in ROUTING_SETTINGS),
                           tuple(env.get(k) or "" for k in _STORAGE_SETTINGS))


def dispatcher_or_none(credential: Any, environ: Mapping[str, str] | None = None) -> Dispatcher | None:
    """:func:`dispatcher_from_environment`, with a malformed setting logged (every time) instead of raised:
    a bad notification setting must not fail every hardening and send the queue into a retry loop."""
    try:
        return dispatcher_from_environment(credential, environ)
    except ValueError as exc:
        logger.error("Notification channels are off: %s", exc)
        return None


@lru_cache(maxsize=4)
def _dispatcher_for(credential: Any, channels: tuple[str, ...], routing: tuple[str, ...],
                    storage: tuple[str, ...]) -> Dispatcher | None:
    endpoint, sender, teams_uri, slack_uri = channels
    if bool(endpoint) != bool(sender):
        raise ValueError("HARDEN_NOTIFY_EMAIL_ENDPOINT and HARDEN_NOTIFY_EMAIL_SENDER go together: set both or neither")
    email = EmailChannel.for_endpoint(endpoint, sender, credential) if endpoint else None
    webhooks = [WebhookChannel(name, SecretValue(uri, credential))
                for name, uri in (("teams", teams_uri), ("slack", slack_uri)) if uri]
    if email is None and not webhooks:
        return None
    policy = RoutingPolicy.from_env({k: v for k, v in zip(ROUTING_SETTINGS, routing) if v})
    return Dispatcher(policy, email=email, webhooks=webhooks, ledger=_ledger_for(storage))


def _ledger_for(storage: tuple[str, ...]) -> Ledger:
    connection_string, table_uri, account, storage_client_id, client_id = storage
    from azure.data.tables import TableServiceClient

    if "devstoreaccount1" in connection_string and "tableendpoint=" not in connection_string.lower():
        connection_string = ""
    service = service_client(TableServiceClient, "table", connection_string=connection_string, service_uri=table_uri,
                             account=account, storage_client_id=storage_client_id, client_id=client_id)
    if service is None:
        logger.warning("No table storage (AzureWebJobsStorage): notifications are de-duplicated in this process "
                       "only; a redelivery on another instance may send a message twice")
        return MemoryLedger()
    return TableLedger(service.get_table_client(LEDGER_TABLE))
