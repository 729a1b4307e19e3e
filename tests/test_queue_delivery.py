"""Events Event Grid delivers to a Storage queue (infra/'s default: no inbound access to the app).

Event Grid writes each event, Event Grid schema, as one base64 message (MicrosoftDocs/azure-docs#102923);
the Functions Queues extension decodes it. ``LocalHost.deliver_via_queue`` writes the message as Event
Grid does and calls the queue-triggered event function as the host would.
"""
from __future__ import annotations

import dataclasses
import json

from hypothesis import HealthCheck, given, settings, strategies as st

from emulator.events import write_event
from localdev.host import _functions_of
from localdev.seeds.keyvault import seed_key_vault
from remediators.events import decode_request

KV_WRITE = "Microsoft.KeyVault/vaults/write"


def _bindings(name):
    import function_app

    return {b.type: b for b in _functions_of(function_app.app)[name].get_bindings()}


def test_queued_event_function_reads_the_events_queue_and_feeds_the_worker():
    bindings = _bindings("on_queued_resource_event")
    assert bindings["queueTrigger"].queue_name == "resource-events"
    assert bindings["queueTrigger"].connection == "AzureWebJobsStorage"
    assert bindings["queue"].queue_name == _bindings("harden_resource")["queueTrigger"].queue_name


def test_queue_delivery_enqueues_exactly_what_push_delivery_enqueues(host, emulator, lz):
    rid = seed_key_vault(emulator, lz, "kv-queued01", tags={"harden": "private"})
    event = write_event(rid, KV_WRITE)
    emulator.clear_requests()
    (queued,) = host.deliver_via_queue(event)
    pushed = decode_request(host.deliver(event))
    # The push path goes through the worker's datetime (microseconds); the queue keeps Event Grid's string.
    assert decode_request(queued) == dataclasses.replace(pushed, event_time=event["eventTime"])
    assert decode_request(queued).resource_id.lower() == rid.lower()
    assert emulator.requests == [], "the event function makes no ARM call"


def test_queue_delivered_event_is_hardened_end_to_end(host, emulator, lz):
    rid = seed_key_vault(emulator, lz, "kv-queued02", tags={"harden": "private"})
    host.deliver_via_queue(write_event(rid, KV_WRITE))
    host.run_queue()
    (outcome,) = [n for n in emulator.notifications if n["subject"].lower() == rid.lower()]
    assert outcome["data"]["status"] == "hardened", outcome
    # Our own writes raised events; delivered the same way, they plan nothing and write nothing.
    emulator.clear_requests()
    for raised in emulator.drain_events():
        host.deliver_via_queue(raised)
    host.run_queue()
    assert not emulator.writes()


def test_messages_that_are_not_events_are_dropped_without_a_retry(host, emulator, lz):
    rid = seed_key_vault(emulator, lz, "kv-queued03", tags={"harden": "private"})
    emulator.clear_requests()
    for body in (b"not json", b"\xff\xfe", json.dumps([write_event(rid, KV_WRITE)]).encode(), b"null", b"",
                 json.dumps({**write_event(rid, KV_WRITE), "eventType": "Microsoft.Resources.ResourceDeleteSuccess"})
                 .encode(), b"[" * 5000):
        assert host.deliver_via_queue(body) == []
    assert host.run_queue() == []
    assert emulator.requests == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode),
                      st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                                   lambda inner: st.lists(inner, max_size=3)
                                   | st.dictionaries(st.text(max_size=10), inner, max_size=3),
                                   max_leaves=8).map(lambda v: json.dumps(v).encode())))
def test_fuzzed_queue_messages_never_raise_and_never_reach_arm(body, lz, emulator):
    import function_app
    from localdev.host import Out
    from azure.functions.queue import QueueMessage

    function = _functions_of(function_app.app)["on_queued_resource_event"].get_user_function()
    emulator.clear_requests()
    out = Out()
    function(message=QueueMessage(id="m", body=body, dequeue_count=1, pop_receipt="p"), requests=out)
    assert out.value is None or decode_request(out.value)
    assert emulator.requests == []
