"""The Event Grid custom topic, driven by the real azure-eventgrid publisher."""

from __future__ import annotations

import datetime as dt

import pytest
import requests
from azure.core.credentials import AzureKeyCredential, AzureSasCredential
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.core.messaging import CloudEvent
from azure.eventgrid import EventGridEvent, EventGridPublisherClient, generate_sas


def test_publish_cloud_events_with_key(emu):
    with EventGridPublisherClient(emu.topic_endpoint, AzureKeyCredential(emu.topic_key)) as publisher:
        publisher.send([CloudEvent(source="/harden", type="Harden.Outcome", data={"resource": "x", "result": "private"})])
    (event,) = emu.notifications
    assert event["type"] == "Harden.Outcome" and event["source"] == "/harden" and event["specversion"] == "1.0"
    assert event["data"] == {"resource": "x", "result": "private"}
    assert emu.requests == []  # the topic is not ARM


def test_publish_with_managed_identity(emu, credential):
    with EventGridPublisherClient(emu.topic_endpoint, credential) as publisher:
        publisher.send(CloudEvent(source="/harden", type="Harden.Outcome", data={"n": 1}))
        publisher.send(CloudEvent(source="/harden", type="Harden.Outcome", data={"n": 2}))
    assert [e["data"]["n"] for e in emu.notifications] == [1, 2]


def test_publish_with_sas_token_and_event_grid_schema(emu):
    expiry = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)
    sas = generate_sas(emu.topic_endpoint, emu.topic_key, expiry)
    with EventGridPublisherClient(emu.topic_endpoint, AzureSasCredential(sas)) as publisher:
        publisher.send(EventGridEvent(subject="s", event_type="t", data={"a": 1}, data_version="1"))
    assert emu.notifications[0]["eventType"] == "t"


def test_wrong_key_is_rejected(emu):
    with EventGridPublisherClient(emu.topic_endpoint, AzureKeyCredential("d3Jvbmc=")) as publisher:
        with pytest.raises((ClientAuthenticationError, HttpResponseError)) as err:
            publisher.send(CloudEvent(source="/s", type="t", data={}))
    assert err.value.status_code == 401
    assert emu.notifications == []


def test_raw_post_without_credentials(emu):
    r = requests.post(emu.topic_endpoint, params={"api-version": "2018-01-01"}, json=[{"id": "1"}],
                      verify=emu.ca_bundle_path, timeout=10)
    assert r.status_code == 401
