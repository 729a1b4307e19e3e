"""What the functions do, kept apart from the Functions decorators.

``accept_event`` runs in the Event Grid trigger (push delivery): validate, filter,
enqueue, with zero ARM calls. ``process_message`` runs in the work-queue trigger and
does the ARM work through the engine. ``handle_queued_event`` runs in the queue
trigger Event Grid delivers to (queue delivery): the same triage first, then the
same work in place, so an event crosses one queue, not two.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Mapping

from .engine import Engine
from .events import InvalidEvent, InvalidRequest, decode_request, encode_request, parse_queued_event, triage
from .model import Outcome, Status

logger = logging.getLogger(__name__)


def event_as_dict(event: Any) -> dict[str, Any]:
    """An ``azure.functions.EventGridEvent`` as the Event Grid schema dict ``triage`` reads."""
    try:
        data = event.get_json()
    except ValueError:
        data = None
    return {"id": event.id, "subject": event.subject, "eventType": event.event_type,
            "eventTime": event.event_time.isoformat() if event.event_time else None, "data": data}


def accept_event(event: Mapping[str, Any], subscription_ids: frozenset[str]) -> str | None:
    """The queue message to send for this event, or ``None`` when it needs no look.

    Never raises on a bad event: Event Grid would redeliver it for a day.
    """
    verdict = triage(event, subscription_ids)
    if verdict.request is None:
        logger.info("Dropped event %.64r: %s", event.get("id"), verdict.reason)
        return None
    logger.info("Queued %s (event %s, %s)", verdict.request.resource_id, verdict.request.event_id,
                verdict.request.operation_name)
    return encode_request(verdict.request)


def accept_queued_event(body: bytes | str, subscription_ids: frozenset[str]) -> str | None:
    """:func:`accept_event` for an event Event Grid delivered to a Storage queue.

    A message that is not an event is logged and dropped, never raised: the host
    would retry it five times and then poison it, and it can never succeed.
    """
    try:
        event = parse_queued_event(body)
    except InvalidEvent as exc:
        logger.warning("Dropped a queued message that is not an Event Grid event: %s", exc)
        return None
    return accept_event(event, subscription_ids)


def process_message(text: str, engine: Engine) -> Outcome | None:
    """Evaluate one queued request.

    A message we cannot read is logged and dropped (it can never succeed);
    :class:`~remediators.engine.HardeningFailed` propagates so the host retries
    and finally moves the message to the poison queue.
    """
    try:
        request = decode_request(text)
    except InvalidRequest as exc:
        logger.error("Dropped an unreadable queue message: %s", exc)
        return None
    outcome = engine.handle(request)
    if outcome.status is Status.FAILED:
        logger.warning("Failed, not retried: %s: %s", outcome.resource_id, outcome.reason)
    return outcome


def handle_queued_event(body: bytes | str, subscription_ids: frozenset[str],
                        engine_for: Callable[[], Engine]) -> Outcome | None:
    """One hop for queue delivery: :func:`accept_queued_event`'s triage, then :func:`process_message`.

    The engine (and with it every setting but the subscriptions) is only built for an event the
    triage keeps, so an event out of scope costs no ARM call and no settings parse. A failure the
    host should retry propagates, as in the work-queue trigger; a message that is not an event or
    not in scope is dropped without one.
    """
    request = accept_queued_event(body, subscription_ids)
    if request is None:
        return None
    return process_message(request, engine_for())
