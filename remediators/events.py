"""Event Grid event → queued :class:`HardenRequest`, with no ARM calls.

This runs inside the Event Grid trigger, which must answer within 30 s and
must never raise on bad input (Event Grid would redeliver it for 24 hours).
Everything here is a cheap, pure check; the event is only a hint, and the
worker re-reads the resource from ARM.
Source: learn.microsoft.com/azure/event-grid/event-schema-subscriptions.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

from . import registry
from .model import Caller, HardenRequest
from .resource_id import MAX_ID_LENGTH, InvalidResourceId, ResourceId

WRITE_SUCCESS = "Microsoft.Resources.ResourceWriteSuccess"
_TAGS_SUFFIX = "/providers/microsoft.resources/tags/default"
_MAX_FIELD = 512


@dataclass(frozen=True)
class Triage:
    """The trigger's verdict: a request to enqueue, or why the event was dropped."""

    reason: str
    request: HardenRequest | None = None


def triage(event: Mapping[str, Any], subscription_ids: frozenset[str]) -> Triage:
    """Decide whether an Event Grid event (Event Grid schema, as a dict) needs a look.

    Accepts ``eventType``/``subject``/``id``/``data`` as Event Grid delivers them;
    ``subscription_ids`` are the lower-cased subscriptions in scope. Cheapest
    checks first: most events are dropped before any parsing.
    """
    event_type = event.get("eventType")
    if event_type != WRITE_SUCCESS:
        return Triage(f"event type {_show(event_type)} is not {WRITE_SUCCESS}")
    data = event.get("data")
    if not isinstance(data, Mapping):
        return Triage("malformed event: data is not an object")
    operation = data.get("operationName")
    if not isinstance(operation, str) or operation.lower() not in registry.HANDLED_OPERATIONS:
        return Triage(f"operation {_show(operation)} is not one we handle")
    subject = event.get("subject")
    if not isinstance(subject, str) or not subject:
        return Triage("malformed event: subject is missing or not a string")
    if len(subject) > MAX_ID_LENGTH + len(_TAGS_SUFFIX):
        return Triage(f"malformed event: subject is longer than {MAX_ID_LENGTH} characters")
    if subject.lower().endswith(_TAGS_SUFFIX):
        subject = subject[: -len(_TAGS_SUFFIX)]
    parts = subject.split("/", 3)
    if len(parts) > 2 and parts[2].lower() not in subscription_ids:
        return Triage(f"subscription {_show(parts[2])} is not in HARDEN_SUBSCRIPTION_IDS")
    try:
        rid = ResourceId.parse(subject)
    except InvalidResourceId as exc:
        return Triage(f"malformed event: {exc}")
    target = _handled_ancestor(rid)
    if target is None:
        return Triage(f"resource type {rid.type} is not one we handle")
    event_id = event.get("id")
    if not isinstance(event_id, str) or not event_id or len(event_id) > _MAX_FIELD:
        return Triage("malformed event: id is missing or not a string")
    event_time = event.get("eventTime")
    request = HardenRequest(
        resource_id=str(target),
        event_id=event_id,
        operation_name=operation,
        event_time=event_time if isinstance(event_time, str) and len(event_time) <= 64 else None,
        caller=_caller(data),
    )
    return Triage(f"queued {target.type} for evaluation", request)


def _handled_ancestor(rid: ResourceId) -> ResourceId | None:
    """Writes to a child (a SQL firewall rule, a site's config) re-evaluate the parent.

    The deepest handled type wins: a slot (``sites/{site}/slots/{slot}``, and its ``config/web``) is a
    handled resource of its own, not a child of its site.
    """
    for depth in range(len(rid.types), 0, -1):
        candidate = rid.ancestor(depth)
        if registry.service_for(candidate.type) is not None:
            return candidate
    return None


def _caller(data: Mapping[str, Any]) -> Caller:
    authorization = data.get("authorization")
    evidence = authorization.get("evidence") if isinstance(authorization, Mapping) else None
    claims = data.get("claims")
    claims = claims if isinstance(claims, Mapping) else {}
    return Caller(
        principal_id=_text(evidence.get("principalId") if isinstance(evidence, Mapping) else None),
        app_id=_text(claims.get("appid")),
        name=_text(claims.get("name") or claims.get(
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn")),
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= _MAX_FIELD else None


def _show(value: Any) -> str:
    return repr(value[:80]) if isinstance(value, str) else f"<{type(value).__name__}>"


class InvalidEvent(ValueError):
    """A queue message that is not an Event Grid schema event."""


# Event Grid's Storage queue handler writes each event, in the subscription's delivery schema
# (EventGridSchema here), as one message; the Functions Queues extension base64-decodes it
# (the default messageEncoding) before the function sees it. Sources: learn.microsoft.com/azure/
# event-grid/handler-storage-queues; MicrosoftDocs/azure-docs#102923 (messages are base64);
# learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue (host.json messageEncoding).
_MAX_EVENT_BYTES = 1024 * 1024  # Event Grid's own per-event limit (1 MB); anything larger is not its.


def parse_queued_event(body: bytes | str) -> Mapping[str, Any]:
    """The Event Grid schema event in a queue message, as :func:`triage` reads it.

    Raises :class:`InvalidEvent` with the reason when the message is not one JSON object.
    """
    if len(body) > _MAX_EVENT_BYTES:
        raise InvalidEvent(f"message is larger than {_MAX_EVENT_BYTES} bytes")
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        event = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidEvent(f"message is not JSON: {str(exc)[:120]}") from exc
    if not isinstance(event, dict):
        raise InvalidEvent(f"message is a JSON {type(event).__name__}, not an event object")
    return event


class InvalidRequest(ValueError):
    """A queue message that is not a request this app wrote."""


def encode_request(request: HardenRequest) -> str:
    return json.dumps({
        "resourceId": request.resource_id,
        "eventId": request.event_id,
        "operationName": request.operation_name,
        "eventTime": request.event_time,
        "caller": request.caller.describe(),
    }, separators=(",", ":"))


def decode_request(text: str) -> HardenRequest:
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise InvalidRequest(f"queue message is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise InvalidRequest("queue message is not a JSON object")
    resource_id, event_id = body.get("resourceId"), body.get("eventId")
    operation = body.get("operationName")
    if not all(isinstance(v, str) and v for v in (resource_id, event_id, operation)):
        raise InvalidRequest("queue message lacks resourceId, eventId or operationName")
    caller = body.get("caller") if isinstance(body.get("caller"), dict) else {}
    return HardenRequest(
        resource_id=resource_id,
        event_id=event_id,
        operation_name=operation,
        event_time=_text(body.get("eventTime")),
        caller=Caller(principal_id=_text(caller.get("principalId")), app_id=_text(caller.get("appId")),
                      name=_text(caller.get("name"))),
    )
