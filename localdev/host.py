"""Plays the Functions host's part for our two functions, below the real host.

Core Tools cannot be installed here, so this does what the host does with our
bindings, on Azurite: the Event Grid trigger's queue output binding enqueues
(base64, like the Queues extension), the queue triggers dequeue, retry a
failing message up to ``maxDequeueCount`` times, then move it to the
``<queue>-poison`` queue. Events Event Grid delivers to a Storage queue are
written to that queue as Event Grid does (the event's JSON, base64) and handed
to the queue-triggered event function, which triages and then hardens (one hop). The user functions are called exactly
as written.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import azure.functions as func
from azure.functions.queue import QueueMessage  # what the worker builds for a queue trigger
from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import (BinaryBase64DecodePolicy, BinaryBase64EncodePolicy, QueueClient,
                                 QueueServiceClient)

logger = logging.getLogger(__name__)
HOST_JSON = Path(__file__).resolve().parent.parent / "host.json"


class Out(func.Out[str]):
    """The value an output binding would write."""

    def __init__(self) -> None:
        self.value: str | None = None

    def set(self, val: str) -> None:
        self.value = val

    def get(self) -> str | None:
        return self.value


@dataclass
class Delivery:
    """What happened to one queue message."""

    message: str
    dequeue_count: int
    error: BaseException | None = None
    poisoned: bool = False


@dataclass
class LocalHost:
    """Our function app's bindings on Azurite.

    :param app: The ``func.FunctionApp`` from ``function_app.py``.
    :param connection_string: Azurite's connection string (``AzureWebJobsStorage``).
    """

    app: func.FunctionApp
    connection_string: str
    deliveries: list[Delivery] = field(default_factory=list)

    def __post_init__(self) -> None:
        functions = _functions_of(self.app)
        self._on_event = functions["on_resource_event"].get_user_function()
        self._worker = functions["harden_resource"].get_user_function()
        self._on_queued_event = functions["on_queued_resource_event"].get_user_function()
        events_binding = next(b for b in functions["on_queued_resource_event"].get_bindings()
                              if b.type == "queueTrigger")
        self.events_queue_name: str = events_binding.queue_name
        queue_binding = next(b for b in functions["harden_resource"].get_bindings() if b.type == "queueTrigger")
        self.queue_name: str = queue_binding.queue_name
        host = json.loads(HOST_JSON.read_text())
        self.max_dequeue_count: int = host["extensions"]["queues"]["maxDequeueCount"]
        service = QueueServiceClient.from_connection_string(self.connection_string)
        self._queue = self._client(self.queue_name)
        self._poison = self._client(self.queue_name + "-poison")
        self._events = self._client(self.events_queue_name)
        self._events_poison = self._client(self.events_queue_name + "-poison")
        for queue in (self.queue_name, self.queue_name + "-poison", self.events_queue_name,
                      self.events_queue_name + "-poison"):
            try:
                service.create_queue(queue)
            except ResourceExistsError:
                pass

    def _client(self, name: str) -> QueueClient:
        return QueueClient.from_connection_string(
            self.connection_string, name, message_encode_policy=BinaryBase64EncodePolicy(),
            message_decode_policy=BinaryBase64DecodePolicy())

    def deliver(self, event: Mapping[str, Any]) -> str | None:
        """Deliver one Event Grid schema event to the trigger; returns what it enqueued."""
        out = Out()
        self._on_event(event=to_function_event(event), requests=out)
        if out.value is not None:
            self._queue.send_message(out.value.encode("utf-8"))
        return out.value

    def deliver_via_queue(self, event: Mapping[str, Any] | bytes) -> list[Delivery]:
        """Deliver one event as Event Grid's Storage queue handler does, then run the event function.

        ``event`` is an Event Grid schema dict (written as its JSON) or raw message bytes (to test
        what is not an event). With queue delivery the event function is the worker (one hop:
        triage, then the ARM work), so this returns what happened to the message.
        """
        body = event if isinstance(event, bytes) else json.dumps(event).encode("utf-8")
        self._events.send_message(body)
        return self.run_event_queue()

    def run_event_queue(self, *, max_messages: int = 1000) -> list[Delivery]:
        """Hand every message on the events queue to the event function, as the host would."""
        return self._drain(self._events, self._events_poison, self._on_queued_event, max_messages)

    def run_queue(self, *, max_messages: int = 1000) -> list[Delivery]:
        """Process queued messages until the queue is empty, as the host would."""
        return self._drain(self._queue, self._poison, self._worker, max_messages)

    def _drain(self, queue: QueueClient, poison: QueueClient, function: Any, max_messages: int) -> list[Delivery]:
        """The host's queue trigger: call the function per message; retry a failure until
        ``maxDequeueCount``, then move the message to the ``-poison`` queue."""
        handled: list[Delivery] = []
        for _ in range(max_messages):
            batch = list(queue.receive_messages(max_messages=1, visibility_timeout=30))
            if not batch:
                break
            message = batch[0]
            # Azurite hands back an empty body as "" rather than b"".
            body = message.content if isinstance(message.content, bytes) else str(message.content).encode()
            delivery = Delivery(body.decode("utf-8", errors="replace"), message.dequeue_count)
            try:
                function(message=QueueMessage(id=message.id, body=body, dequeue_count=message.dequeue_count,
                                              pop_receipt=message.pop_receipt))
            except Exception as exc:  # noqa: BLE001 - the host catches every function failure
                delivery.error = exc
                if message.dequeue_count >= self.max_dequeue_count:
                    poison.send_message(body)
                    queue.delete_message(message)
                    delivery.poisoned = True
                else:
                    queue.update_message(message, visibility_timeout=0)
            else:
                queue.delete_message(message)
            handled.append(delivery)
        self.deliveries += handled
        return handled

    def sweep(self) -> list[str]:
        """Fire the timer-triggered sweep once; it sends to the work queue itself. Returns the messages
        it added (peeked from the queue, so at most 32 of them)."""
        from azure.functions.timer import TimerRequest  # what the worker builds for a timer trigger

        sweep = _functions_of(self.app)["sweep_estate"].get_user_function()
        before = len(self._peek())
        sweep(timer=TimerRequest(past_due=False))
        return self._peek()[before:]

    def _peek(self) -> list[str]:
        return [m.content.decode("utf-8") for m in self._queue.peek_messages(max_messages=32)]

    def poison_messages(self) -> list[str]:
        return [m.content.decode("utf-8") for m in self._poison.peek_messages(max_messages=32)]

    def clear(self) -> None:
        self._events.clear_messages()
        self._events_poison.clear_messages()
        self._queue.clear_messages()
        self._poison.clear_messages()


@lru_cache(maxsize=None)
def _functions_of(app: func.FunctionApp) -> dict[str, Any]:
    # FunctionApp.get_functions() indexes once; a second call reports duplicate names.
    return {f.get_function_name(): f for f in app.get_functions()}


def to_function_event(event: Mapping[str, Any]) -> func.EventGridEvent:
    """An Event Grid schema dict as the worker hands it to a Python function."""
    when = event.get("eventTime")
    try:
        event_time = dt.datetime.fromisoformat(str(when).replace("Z", "+00:00")[:26]) if when else None
    except ValueError:
        event_time = None
    return func.EventGridEvent(
        id=event.get("id"), data=event.get("data"), topic=event.get("topic"), subject=event.get("subject"),
        event_type=event.get("eventType"), event_time=event_time, data_version=event.get("dataVersion"))

