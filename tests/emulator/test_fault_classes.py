"""The generic fault classes (emulator/faults.py) the fault simulation injects at every step."""
from __future__ import annotations

from azure.core.exceptions import HttpResponseError
from azure.mgmt.network import NetworkManagementClient

from emulator import faults

from .helpers import RG, rid, seed_vnet
from .test_protocol import arm, token

SUBNET = "Microsoft.Network/virtualNetworks/vf/subnets/snet1"


def test_throttled_answers_429_with_retry_after_and_a_remaining_budget_of_zero(emu):
    seed_vnet(emu, "vf")
    emu.faults.add(faults.throttled("PUT", rid(SUBNET), retry_after=3))
    answer = arm(emu, "PUT", rid(SUBNET), tok=token(emu), json={"properties": {"addressPrefix": "10.0.1.0/24"}})
    assert answer.status_code == 429 and answer.json()["error"]["code"] == "TooManyRequests"
    assert answer.headers["Retry-After"] == "3"
    assert answer.headers["x-ms-ratelimit-remaining-subscription-writes"] == "0"


def test_remaining_zero_serves_the_request_and_reports_an_empty_bucket(emu):
    vnet = seed_vnet(emu, "vf")
    emu.faults.add(faults.remaining_zero("GET", vnet))
    first, second = (arm(emu, "GET", vnet, tok=token(emu)) for _ in range(2))
    assert first.status_code == 200 and first.headers["x-ms-ratelimit-remaining-subscription-reads"] == "0"
    assert second.headers["x-ms-ratelimit-remaining-subscription-reads"] != "0"


def test_exact_matches_the_step_not_its_children(emu):
    vnet = seed_vnet(emu, "vf")
    fault = faults.server_error("GET", vnet)
    fault.exact = True
    emu.faults.add(fault)
    assert arm(emu, "GET", rid(SUBNET), tok=token(emu)).status_code == 200
    assert arm(emu, "GET", vnet, tok=token(emu)).status_code == 503


def test_operation_failed_accepts_then_ends_failed_and_leaves_the_resource_failed(emu, client):
    seed_vnet(emu, "vf")
    emu.faults.add(faults.operation_failed("PUT", SUBNET, code="ReferencedResourceNotProvisioned"))
    net = client(NetworkManagementClient)
    poller = net.subnets.begin_create_or_update(RG, "vf", "snet1", {"properties": {"addressPrefix": "10.0.1.0/24"}})
    try:
        poller.result()
    except HttpResponseError as error:
        assert "ReferencedResourceNotProvisioned" in str(error)
    else:
        raise AssertionError("the operation should have ended Failed")
    assert emu.get(rid(SUBNET))["properties"]["provisioningState"] == "Failed"
    # A later PUT is a new operation: it succeeds and the state with it (what a re-PUT repairs).
    net.subnets.begin_create_or_update(RG, "vf", "snet1", {"properties": {"addressPrefix": "10.0.1.0/24"}}).result()
    assert emu.get(rid(SUBNET))["properties"]["provisioningState"] == "Succeeded"


def test_forbidden_is_for_good(emu):
    vnet = seed_vnet(emu, "vf")
    emu.faults.add(faults.forbidden("GET", vnet, code="LinkedAuthorizationFailed"))
    answers = [arm(emu, "GET", vnet, tok=token(emu)) for _ in range(3)]
    assert [a.status_code for a in answers] == [403] * 3
    assert answers[0].json()["error"]["code"] == "LinkedAuthorizationFailed"


def test_concurrent_writer_lands_between_our_read_and_our_write_and_observers_see_the_moment(emu):
    vnet = seed_vnet(emu, "vf")
    etag = arm(emu, "GET", vnet, tok=token(emu)).json()["etag"]
    seen = []

    def someone_else(emulator, method, path, body):
        current = emulator.get(path)
        emulator.seed(path, {**current, "tags": {"by": "someone-else"}})

    emu.faults.add(faults.concurrent_writer("PATCH", vnet, someone_else))
    emu.faults.watch(lambda emulator, method, path, status: seen.append((method, status, emulator.get(path)["tags"])))
    answer = arm(emu, "PATCH", vnet, tok=token(emu), json={"tags": {"ours": "1"}}, headers={"If-Match": etag})
    assert answer.status_code == 412, "our If-Match read is stale: the other writer came first"
    assert seen == [("PATCH", 412, {"by": "someone-else"})]
