"""Events Event Grid delivers to a Storage queue (infra/'s default: no inbound access to the app).

Event Grid writes each event, Event Grid schema, as one base64 message (MicrosoftDocs/azure-docs#102923);
the Functions Queues extension decodes it. ``LocalHost.deliver_via_queue`` writes the message as Event
Grid does and calls the queue-triggered event function as the host would; that function triages and then
hardens in place (one hop).
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from emulator.events import write_event
from localdev.host import _functions_of
from localdev.seeds.keyvault import seed_key_vault
from remediators.events import decode_request
from remediators.handlers import accept_queued_event

KV_WRITE = "Microsoft.KeyVault/vaults/write"


def _bindings(name):
    import function_app

    return {b.type: b for b in _functions_of(function_app.app)[name].get_bindings()}


def test_queued_event_function_reads_the_events_queue_and_is_the_worker():
    bindings = _bindings("on_queued_resource_event")
    assert bindings["queueTrigger"].queue_name == "resource-events"
    assert bindings["queueTrigger"].connection == "AzureWebJobsStorage"
    assert "queue" not in bindings, "one hop: the event function does the work, it enqueues nothing"


def test_the_queue_listener_backs_off_to_seconds_not_a_minute():
    # learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue#host-json (default 1 minute);
    # benchmarks/bench_latency.py has what it is worth and what it costs.
    queues = json.loads((Path(__file__).resolve().parent.parent / "host.json").read_text())["extensions"]["queues"]
    assert queues["maxPollingInterval"] == "00:00:02"


def test_queue_delivery_triages_exactly_as_push_delivery(host, emulator, lz):
    rid = seed_key_vault(emulator, lz, "kv-queued01", tags={"harden": "private"})
    event = write_event(rid, KV_WRITE)
    emulator.clear_requests()
    queued = accept_queued_event(json.dumps(event).encode(), frozenset({lz.subscription_id}))
    pushed = decode_request(host.deliver(event))
    # The push path goes through the worker's datetime (microseconds); the queue keeps Event Grid's string.
    assert decode_request(queued) == dataclasses.replace(pushed, event_time=event["eventTime"])
    assert decode_request(queued).resource_id.lower() == rid.lower()
    assert emulator.requests == [], "the triage makes no ARM call"


def test_queue_delivered_event_is_hardened_in_one_hop(host, emulator, lz):
    rid = seed_key_vault(emulator, lz, "kv-queued02", tags={"harden": "private"})
    (delivery,) = host.deliver_via_queue(write_event(rid, KV_WRITE))
    assert delivery.error is None, delivery.error
    (outcome,) = [n for n in emulator.notifications if n["subject"].lower() == rid.lower()]
    assert outcome["data"]["status"] == "hardened", outcome
    assert host.run_queue() == [], "nothing crossed a second queue"
    # Our own writes raised events; delivered the same way, they plan nothing and write nothing.
    emulator.clear_requests()
    for raised in emulator.drain_events():
        host.deliver_via_queue(raised)
    assert not emulator.writes()


def test_events_out_of_scope_cost_no_arm_call_and_no_settings_parse(host, emulator, lz, monkeypatch):
    rid = seed_key_vault(emulator, lz, "kv-queued04", tags={"harden": "private"})
    monkeypatch.setenv("HARDEN_DRY_RUN", "perhaps")  # any setting the engine needs is broken
    emulator.clear_requests()
    other_subscription = rid.replace(lz.subscription_id, "22222222-2222-2222-2222-222222222222")
    for event in (write_event(other_subscription, KV_WRITE),
                  write_event(rid.replace("KeyVault/vaults", "Compute/virtualMachines"), "Microsoft.Compute/virtualMachines/write")):
        (delivery,) = host.deliver_via_queue(event)
        assert delivery.error is None and not delivery.poisoned
    assert emulator.requests == []
    # An event in scope does reach the engine, which names the broken setting; the host retries it, then
    # moves it to resource-events-poison (the poison alert watches it: infra/modules/monitor/delivery-alerts.bicep).
    deliveries = host.deliver_via_queue(write_event(rid, KV_WRITE))
    assert all("HARDEN_DRY_RUN" in str(d.error) for d in deliveries)
    assert [d.dequeue_count for d in deliveries] == [1, 2, 3, 4, 5] and deliveries[-1].poisoned


def test_messages_that_are_not_events_are_dropped_without_a_retry(host, emulator, lz):
    rid = seed_key_vault(emulator, lz, "kv-queued03", tags={"harden": "private"})
    emulator.clear_requests()
    for body in (b"not json", b"\xff\xfe", json.dumps([write_event(rid, KV_WRITE)]).encode(), b"null", b"",
                 json.dumps({**write_event(rid, KV_WRITE), "eventType": "Microsoft.Resources.ResourceDeleteSuccess"})
                 .encode(), b"[" * 5000):
        (delivery,) = host.deliver_via_queue(body)
        assert delivery.error is None and delivery.dequeue_count == 1
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
    from azure.functions.queue import QueueMessage

    function = _functions_of(function_app.app)["on_queued_resource_event"].get_user_function()
    emulator.clear_requests()
    function(message=QueueMessage(id="m", body=body, dequeue_count=1, pop_receipt="p"))
    assert emulator.requests == []
