"""Event triage: Microsoft's sample events, tag writes, child writes, and fuzzed garbage.

No emulator here: triage must decide without ARM, and must never raise.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from remediators.events import decode_request, encode_request, triage, InvalidRequest

FIXTURES = Path(__file__).parent / "fixtures" / "eventgrid"
SUB = "8f3c2a71-5b6d-4e0f-9a1b-2c3d4e5f6a7b"
SETTINGS = frozenset({SUB})


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())[0]


def with_ids(event: dict, sub: str = SUB) -> dict:
    text = json.dumps(event).replace("{subscription-id}", sub).replace("{resource-group}", "rg-app")
    text = text.replace("{storage-name}", "stapp01").replace("{namespace}", "ehns01")
    return json.loads(text)


def test_published_write_sample_is_accepted_once_placeholders_are_filled():
    event = with_ids(load("eventgrid-schema.ResourceWriteSuccess.json"))
    verdict = triage(event, SETTINGS)
    assert verdict.request is not None, verdict.reason
    # The sample's lower-case "resourcegroups" is normalised; the request names the account.
    assert verdict.request.resource_id == (
        f"/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Storage/storageAccounts/stapp01")
    assert verdict.request.event_id == "4db48cba-50a2-455a-93b4-de41a3b5b7f6"
    assert verdict.request.operation_name == "Microsoft.Storage/storageAccounts/write"


def test_published_sample_with_placeholders_is_dropped():
    verdict = triage(load("eventgrid-schema.ResourceWriteSuccess.json"), SETTINGS)
    assert verdict.request is None and "{subscription-id}" in verdict.reason


@pytest.mark.parametrize("name, reason", [
    ("eventgrid-schema.ResourceDeleteSuccess.json", "not Microsoft.Resources.ResourceWriteSuccess"),
    ("eventgrid-schema.ResourceActionSuccess.json", "not Microsoft.Resources.ResourceWriteSuccess"),
    # CloudEvents-shaped payloads have no eventType: we subscribe with the Event Grid schema.
    ("cloudevents-schema.ResourceWriteSuccess.AS-PUBLISHED.json", "not Microsoft.Resources.ResourceWriteSuccess"),
    ("cloudevents-schema.ResourceDeleteSuccess.json", "not Microsoft.Resources.ResourceWriteSuccess"),
])
def test_other_samples_are_dropped_with_a_reason(name, reason):
    verdict = triage(with_ids(load(name)), SETTINGS)
    assert verdict.request is None
    assert reason in verdict.reason


def write_event(subject: str, operation: str, **data) -> dict:
    return {"id": "e1", "subject": subject, "eventType": "Microsoft.Resources.ResourceWriteSuccess",
            "eventTime": "2026-11-28T10:00:00Z",
            "data": {"operationName": operation, "status": "Succeeded", **data}}


VAULT = f"/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.KeyVault/vaults/kv1"


def test_tag_write_maps_to_the_tagged_resource():
    event = write_event(VAULT + "/providers/Microsoft.Resources/tags/default", "Microsoft.Resources/tags/write")
    assert triage(event, SETTINGS).request.resource_id == VAULT


def test_tag_write_on_a_resource_group_is_dropped():
    event = write_event(f"/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Resources/tags/default",
                        "Microsoft.Resources/tags/write")
    assert triage(event, SETTINGS).request is None


def test_child_write_maps_to_the_parent_server():
    server = f"/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Sql/servers/sql1"
    event = write_event(server + "/firewallRules/AllowAllWindowsAzureIps", "Microsoft.Sql/servers/firewallRules/write")
    assert triage(event, SETTINGS).request.resource_id == server


def test_caller_is_carried_to_the_request():
    event = write_event(VAULT, "Microsoft.KeyVault/vaults/write",
                        authorization={"evidence": {"principalId": "p-1"}}, claims={"appid": "a-1", "name": "Ada"})
    caller = triage(event, SETTINGS).request.caller
    assert (caller.principal_id, caller.app_id, caller.name) == ("p-1", "a-1", "Ada")


@pytest.mark.parametrize("event, reason", [
    (write_event(VAULT, "Microsoft.Compute/virtualMachines/write"), "not one we handle"),
    (write_event(VAULT.replace(SUB, "00000000-0000-0000-0000-000000000000"), "Microsoft.KeyVault/vaults/write"),
     "not in HARDEN_SUBSCRIPTION_IDS"),
    (write_event(VAULT.replace("Microsoft.KeyVault/vaults", "Microsoft.Compute/disks"),
                 "Microsoft.KeyVault/vaults/write"), "resource type Microsoft.Compute/disks"),
    (write_event(VAULT + "/../../x", "Microsoft.KeyVault/vaults/write"), "malformed"),
    (write_event(VAULT + "/a b", "Microsoft.KeyVault/vaults/write"), "malformed"),
    (write_event("x" * 5000, "Microsoft.KeyVault/vaults/write"), "longer than"),
    (write_event(None, "Microsoft.KeyVault/vaults/write"), "subject is missing"),
    (write_event(7, "Microsoft.KeyVault/vaults/write"), "subject is missing"),
    ({**write_event(VAULT, "x"), "data": "text"}, "data is not an object"),
    ({**write_event(VAULT, "Microsoft.KeyVault/vaults/write"), "id": 12}, "id is missing"),
    (write_event(VAULT, ["Microsoft.KeyVault/vaults/write"]), "not one we handle"),
])
def test_out_of_scope_and_malformed_events_are_dropped_with_a_specific_reason(event, reason):
    verdict = triage(event, SETTINGS)
    assert verdict.request is None
    assert reason in verdict.reason


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12)


@hsettings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["id", "subject", "eventType", "data", "eventTime", "topic"]),
                       json_values, max_size=6))
def test_fuzzed_events_never_raise(event):
    assert triage(event, SETTINGS).reason


@hsettings(max_examples=300, deadline=None)
@given(subject=st.text(max_size=300), operation=st.sampled_from(
    ["Microsoft.KeyVault/vaults/write", "Microsoft.Resources/tags/write", "Microsoft.Sql/servers/firewallRules/write"]))
def test_fuzzed_subjects_are_dropped_or_name_a_handled_resource(subject, operation):
    verdict = triage(write_event(f"/subscriptions/{SUB}/resourceGroups/{subject}", operation), SETTINGS)
    if verdict.request is not None:
        assert ".." not in verdict.request.resource_id
        assert verdict.request.resource_id.startswith(f"/subscriptions/{SUB}/resourceGroups/")


def test_request_round_trips_through_the_queue_text():
    request = triage(write_event(VAULT, "Microsoft.KeyVault/vaults/write", claims={"appid": "a"}), SETTINGS).request
    assert decode_request(encode_request(request)) == request


@pytest.mark.parametrize("text", ["", "[]", "{", '{"resourceId": 1}', '{"resourceId": "x"}'])
def test_unreadable_queue_messages_raise_invalid_request(text):
    with pytest.raises(InvalidRequest):
        decode_request(text)
