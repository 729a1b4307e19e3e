"""Every outcome becomes a CloudEvents 1.0 event on the notification topic.

``subject`` is the resource id; ``data`` says what changed (before → after),
which tag asked for it, which event and caller triggered it, and how to opt
out. Without a topic, outcomes are only logged.
"""
from __future__ import annotations

import json
import logging
from typing import Any, Protocol

from azure.core.credentials import AzureKeyCredential, TokenCredential
from azure.core.exceptions import AzureError

from .model import Outcome, Status

logger = logging.getLogger(__name__)

SOURCE = "/paas-hardener"
EVENT_TYPE_PREFIX = "PaasHardener.Resource."
OPT_OUT = "Set the tag harden=off on the resource; it will never be touched again."


def event_type(status: Status) -> str:
    return EVENT_TYPE_PREFIX + status.value.capitalize()


def outcome_data(outcome: Outcome) -> dict[str, Any]:
    """The notification's ``data``: everything a person needs to understand the outcome."""
    request = outcome.request
    data: dict[str, Any] = {
        "status": outcome.status.value,
        "resourceId": outcome.resource_id,
        "resourceType": outcome.resource_type,
        "reasonCode": outcome.reason_code,
        "reason": outcome.reason,
        "tag": {"harden": outcome.tag} if outcome.tag is not None else None,
        "changes": [_timed(c.describe(), outcome.seconds.get(c.key)) for c in outcome.changes],
        "trigger": {
            "eventId": request.event_id,
            "operationName": request.operation_name,
            "eventTime": request.event_time,
            "caller": request.caller.describe(),
        } if request else None,
        "optOut": OPT_OUT,
    }
    if outcome.not_done:
        data["notDone"] = [{**change.describe(), "why": why} for change, why in outcome.not_done]
    if outcome.error:
        data["error"] = dict(outcome.error)
    if outcome.deliveries:  # who was told, and what failed (remediators/dispatch.py)
        data["deliveries"] = [d.describe() for d in outcome.deliveries]
    return data


def _timed(described: dict[str, Any], seconds: float | None) -> dict[str, Any]:
    return {**described, "seconds": round(seconds, 3)} if seconds is not None else described


class Publisher(Protocol):
    def send(self, events: Any) -> None: ...


class Notifier:
    """Publishes outcomes with azure-eventgrid, or only logs them.

    :param publisher: An ``EventGridPublisherClient`` (or ``None`` to log only).
    """

    def __init__(self, publisher: Publisher | None) -> None:
        self._publisher = publisher

    @classmethod
    def for_topic(cls, endpoint: str | None, *, key: str | None,
                  credential: TokenCredential | None) -> Notifier:
        if not endpoint:
            return cls(None)
        from azure.eventgrid import EventGridPublisherClient

        auth: Any = AzureKeyCredential(key) if key else credential
        return cls(EventGridPublisherClient(endpoint, auth))

    def publish_event(self, type_: str, subject: str, data: dict[str, Any]) -> None:
        """Publish one event that is not a resource outcome (e.g. a sweep's summary)."""
        logger.info("%s %s: %s", type_, subject, json.dumps(data, default=str))
        if self._publisher is None:
            return
        from azure.core.messaging import CloudEvent

        try:
            self._publisher.send([CloudEvent(source=SOURCE, type=type_, subject=subject, data=data)])
        except AzureError:
            logger.exception("Could not publish %s for %s", type_, subject)

    def publish(self, outcome: Outcome) -> None:
        data = outcome_data(outcome)
        level = logging.WARNING if outcome.status in (Status.FAILED, Status.UNSUPPORTED) else logging.INFO
        logger.log(level, "Outcome %s for %s: %s", outcome.status.value, outcome.resource_id, outcome.reason)
        if self._publisher is None:
            logger.info("No HARDEN_NOTIFY_TOPIC_ENDPOINT; outcome: %s", json.dumps(data, default=str))
            return
        from azure.core.messaging import CloudEvent

        event = CloudEvent(source=SOURCE, type=event_type(outcome.status), subject=outcome.resource_id,
                           data=data)
        try:
            self._publisher.send([event])
        except AzureError:
            # The ARM work is done; losing the message must not redo or undo it.
            # The full outcome goes to the log so that it is not lost.
            logger.exception("Could not publish the outcome for %s; outcome: %s",
                             outcome.resource_id, json.dumps(data, default=str))
