"""The Event Grid trigger, called as the Python worker calls it: fuzzed events never raise,
never enqueue garbage and never reach ARM."""
from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings, strategies as st

from emulator.events import write_event
from localdev.host import Out, _functions_of, to_function_event
from remediators.events import decode_request

OPERATIONS = ["Microsoft.KeyVault/vaults/write", "Microsoft.Resources/tags/write",
              "Microsoft.Sql/servers/firewallRules/write", "Microsoft.Web/sites/config/write", "x"]
texts = st.one_of(st.text(max_size=60), st.sampled_from(["..", "/", "%2e%2e", "\x00", "a b", "é"]))
values = st.recursive(st.none() | st.booleans() | st.integers() | texts,
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
                      max_leaves=8)


def trigger():
    import function_app

    return _functions_of(function_app.app)["on_resource_event"].get_user_function()


@st.composite
def events(draw, subscription_id: str):
    base = write_event(f"/subscriptions/{subscription_id}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv",
                       draw(st.sampled_from(OPERATIONS)))
    subject = draw(st.one_of(
        st.just(base["subject"]),
        st.builds(lambda tail: base["subject"] + tail, texts),
        st.builds(lambda head: f"/subscriptions/{subscription_id}/resourceGroups/{head}", texts),
        values))
    data = draw(st.one_of(st.just(base["data"]), values,
                          st.builds(lambda op: {**base["data"], "operationName": op}, values)))
    event = {**base, "subject": subject, "data": data}
    for key in draw(st.sets(st.sampled_from(["id", "eventType", "eventTime", "dataVersion"]))):
        event[key] = draw(values)
    return event


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_events_never_raise_and_never_reach_arm(data, emulator, lz):
    event = data.draw(events(lz.subscription_id))
    emulator.clear_requests()
    out = Out()
    try:
        function_event = to_function_event(event)
    except (TypeError, ValueError, AttributeError):
        return  # the worker itself would refuse to build such an event; it never reaches us
    trigger()(event=function_event, requests=out)
    assert emulator.requests == [], "the trigger must never call ARM"
    if out.value is not None:
        request = decode_request(out.value)
        assert ".." not in request.resource_id and " " not in request.resource_id
        assert request.resource_id.lower().startswith(f"/subscriptions/{lz.subscription_id}/resourcegroups/")
        json.loads(out.value)


def test_a_setting_error_in_the_trigger_names_the_setting(lz, monkeypatch):
    # Fails loudly (Event Grid retries it) rather than silently dropping every event.
    import pytest

    from remediators.settings import SettingsError

    monkeypatch.setenv("HARDEN_SUBSCRIPTION_IDS", "not-a-guid")
    with pytest.raises(SettingsError, match="HARDEN_SUBSCRIPTION_IDS"):
        trigger()(event=to_function_event(write_event(
            f"/subscriptions/{lz.subscription_id}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv",
            "Microsoft.KeyVault/vaults/write")), requests=Out())
