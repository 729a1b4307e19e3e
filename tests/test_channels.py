"""The notification channels (issue 17): email through ACS, Teams and Slack webhooks, sent once per outcome.

The product's real clients (azure-communication-email's EmailClient, azure-keyvault-secrets' SecretClient,
azure-core's pipeline) talk HTTPS to the emulator's data planes (emulator/messaging.py), with the managed
identity's tokens from the emulator's identity endpoint. Each payload the emulator received is checked
against a JSON schema derived from its documentation (below, with the source of each).
"""
from __future__ import annotations

import logging
import os

import jsonschema
import pytest
from azure.communication.email import EmailClient
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableServiceClient
from azure.identity import DefaultAzureCredential
from azure.keyvault.secrets import SecretClient

from emulator.events import write_event
from localdev.seeds import seed_key_vault
from remediators import channels, dispatch, history
from remediators.messages import DEFAULT_SKIP
from remediators.runtime import engine_for
from tests.remediation import deliver
from tests.test_messages import SLACK, TEAMS

VAULT_WRITE = "Microsoft.KeyVault/vaults/write"

# azure-rest-api-specs specification/communication/data-plane/Email/stable/2025-09-01/
# CommunicationServicesEmail.json, definitions EmailMessage / EmailContent / EmailRecipients / EmailAddress:
# required senderAddress, content{subject}, recipients{to}, EmailAddress{address}. Stricter than the spec
# (no other properties), so that a misspelt field fails here rather than being ignored by the service.
_ADDRESS = {"type": "object", "required": ["address"], "additionalProperties": False,
            "properties": {"address": {"type": "string", "pattern": "^[^@\\s]+@[^@\\s]+$"},
                           "displayName": {"type": "string"}}}
ACS_EMAIL_MESSAGE = {
    "type": "object", "required": ["senderAddress", "content", "recipients"], "additionalProperties": False,
    "properties": {
        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        "senderAddress": {"type": "string", "minLength": 3},
        "content": {"type": "object", "required": ["subject"], "additionalProperties": False,
                    "properties": {"subject": {"type": "string", "minLength": 1}, "plainText": {"type": "string"},
                                   "html": {"type": "string"}}},
        "recipients": {"type": "object", "required": ["to"], "additionalProperties": False,
                       "properties": {"to": {"type": "array", "minItems": 1, "items": _ADDRESS},
                                      "cc": {"type": "array", "items": _ADDRESS},
                                      "bcc": {"type": "array", "items": _ADDRESS}}},
        "replyTo": {"type": "array", "items": _ADDRESS},
        "userEngagementTrackingDisabled": {"type": "boolean"},
    }}
SENDER = "DoNotReply@0c1d2e3f.azurecomm.net"
WEBHOOK_TOKEN = "T0000/B0000/not-a-real-secret-9f8e7d"


@pytest.fixture
def notify(emulator, lz, host, monkeypatch):
    """Every channel on, pointed at the emulator; the webhook URLs live only in the emulator's vault."""
    secrets = {"teams-webhook": f"{emulator.url}/webhooks/teams/{WEBHOOK_TOKEN}",
               "slack-webhook": f"{emulator.url}/webhooks/slack/{WEBHOOK_TOKEN}"}
    emulator.messaging.secrets.update(secrets)
    for name, value in {"HARDEN_NOTIFY_EMAIL_ENDPOINT": emulator.url, "HARDEN_NOTIFY_EMAIL_SENDER": SENDER,
                        "HARDEN_NOTIFY_ALLOWED_DOMAINS": "contoso.com",
                        "HARDEN_NOTIFY_TEAMS_WEBHOOK_SECRET_URI": f"{emulator.url}/secrets/teams-webhook",
                        "HARDEN_NOTIFY_SLACK_WEBHOOK_SECRET_URI": f"{emulator.url}/secrets/slack-webhook"}.items():
        monkeypatch.setenv(name, value)
    dispatch._dispatcher_for.cache_clear()
    history._history_for.cache_clear()
    yield emulator.messaging
    dispatch._dispatcher_for.cache_clear()


def _restart() -> None:
    dispatch._dispatcher_for.cache_clear()
    engine_for.cache_clear()


def _posts(messaging, name: str) -> list:
    return [body for key, bodies in messaging.webhooks.items() if key.startswith(name) for body in bodies]


def test_a_hardening_reaches_the_owner_by_email_and_the_platform_channels_once_each(emulator, lz, host, notify):
    vault = seed_key_vault(emulator, lz, "kv-notify", tags={"harden": "service-endpoint",
                                                            "owner": "alice@contoso.com; mallory@evil.example"})
    # deliver() also redelivers the event and every event our writes raised: those settle, and send nothing.
    assert deliver(host, emulator, vault, VAULT_WRITE)["status"] == "hardened"

    [email] = notify.emails
    jsonschema.validate(email["message"], ACS_EMAIL_MESSAGE)
    assert [a["address"] for a in email["message"]["recipients"]["to"]] == ["alice@contoso.com"], \
        "mallory's domain is not in HARDEN_NOTIFY_ALLOWED_DOMAINS"
    assert email["message"]["senderAddress"] == SENDER
    assert email["message"]["content"]["subject"].startswith("[paas-hardener] Network access was hardened: kv-notify")
    assert "before:" in email["message"]["content"]["plainText"]
    assert email["operationId"] == channels.operation_id(_key_of(vault), "alice@contoso.com")
    [card] = _posts(notify, "teams")
    jsonschema.validate(card, TEAMS)
    [slack] = _posts(notify, "slack")
    jsonschema.validate(slack, SLACK)
    # The history row says who was told.
    service = TableServiceClient.from_connection_string(os.environ["AzureWebJobsStorage"])
    [entry] = history.History(service.get_table_client(history.TABLE)).list_for(vault)
    assert sorted((d["channel"], d["status"]) for d in entry["deliveries"]) == [
        ("email", "sent"), ("slack", "sent"), ("teams", "sent")]


def _key_of(vault: str) -> str:
    """The outcome key of the one hardened outcome of ``vault`` (its history row's trigger)."""
    from remediators.model import Caller, Change, HardenRequest, Outcome, Phase, Status

    service = TableServiceClient.from_connection_string(os.environ["AzureWebJobsStorage"])
    [entry] = history.History(service.get_table_client(history.TABLE)).list_for(vault)
    request = HardenRequest(vault, entry["trigger"]["eventId"], VAULT_WRITE, caller=Caller())
    changed = (Change(Phase.PUBLIC_ACCESS, vault, "", None, None, apply=lambda: None),)  # it wrote something
    return dispatch.outcome_key(Outcome(Status.HARDENED, vault, "hardened", "", request, changes=changed))


def test_the_same_event_delivered_again_sends_nothing_again(emulator, lz, host, notify):
    # An unknown tag value fails (and is notified) on every delivery of the event: the same outcome each time.
    vault = seed_key_vault(emulator, lz, "kv-notify-dup", tags={"harden": "maybe", "owner": "bob@contoso.com"})
    event = write_event(vault, VAULT_WRITE)
    for _ in range(3):  # Event Grid delivers at least once; the host may retry
        host.deliver(event)
        host.run_queue()
    assert [e["message"]["recipients"]["to"][0]["address"] for e in notify.emails] == ["bob@contoso.com"]
    assert "What you need to do:" in notify.emails[0]["message"]["content"]["plainText"]
    assert len(_posts(notify, "teams")) == 1 and len(_posts(notify, "slack")) == 1
    # A new process (a restart, another instance) finds the durable claims too.
    _restart()
    host.deliver(event)
    host.run_queue()
    assert len(notify.emails) == 1 and len(_posts(notify, "teams")) == 1
    # A different event reaching the same verdict, with nothing changed, is the same news that day.
    host.deliver(write_event(vault, VAULT_WRITE))
    host.run_queue()
    assert len(notify.emails) == 1


def test_nothing_is_sent_for_outcomes_the_platform_team_turned_off(emulator, lz, host, notify, monkeypatch):
    opted_out = seed_key_vault(emulator, lz, "kv-notify-off", tags={"harden": "off", "owner": "carol@contoso.com"})
    untagged = seed_key_vault(emulator, lz, "kv-notify-untagged", tags={"owner": "carol@contoso.com"})
    for vault in (opted_out, untagged):
        host.deliver(write_event(vault, VAULT_WRITE))
        host.run_queue()
    assert notify.emails == [] and notify.webhooks == {}
    # The platform team can turn a hardened outcome off too.
    monkeypatch.setenv("HARDEN_NOTIFY_SKIP", ",".join(sorted(DEFAULT_SKIP | {"hardened"})))
    _restart()  # a changed app setting restarts the app
    vault = seed_key_vault(emulator, lz, "kv-notify-quiet", tags={"harden": "private", "owner": "carol@contoso.com"})
    assert deliver(host, emulator, vault, VAULT_WRITE)["status"] == "hardened"
    assert notify.emails == [] and notify.webhooks == {}


def test_a_failed_send_never_blocks_the_hardening_and_a_redelivery_may_retry_it(emulator, lz, host, notify,
                                                                                 caplog):
    caplog.set_level(logging.DEBUG)
    failures = channels.send_failures
    notify.email_failures.extend([500, 500, 500])  # the first attempt and both retries
    notify.webhook_failures["teams/" + WEBHOOK_TOKEN.lower()] = [429, 429, 429]
    vault = seed_key_vault(emulator, lz, "kv-notify-fail", tags={"harden": "private", "owner": "dan@contoso.com"})
    assert deliver(host, emulator, vault, VAULT_WRITE)["status"] == "hardened"
    assert emulator.get(vault)["properties"]["publicNetworkAccess"] == "Disabled"
    assert channels.send_failures == failures + 2
    assert notify.emails == [] and _posts(notify, "teams") == [] and len(_posts(notify, "slack")) == 1
    service = TableServiceClient.from_connection_string(os.environ["AzureWebJobsStorage"])
    [entry] = history.History(service.get_table_client(history.TABLE)).list_for(vault)
    assert sorted((d["channel"], d["status"]) for d in entry["deliveries"]) == [
        ("email", "failed"), ("slack", "sent"), ("teams", "failed")]
    # The webhook URL is a credential: no line of ours or of the Azure SDK's names it, not even the failure's.
    # (urllib3 itself writes request lines at DEBUG; the Functions host logs Information and up.)
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(("remediators", "azure")))
    assert "Could not send" in ours and WEBHOOK_TOKEN not in ours and "/webhooks/" not in ours
    assert "the teams webhook answered 429" in caplog.text


def test_the_emulated_data_planes_answer_the_real_clients_as_documented(emulator, lz):
    credential = DefaultAzureCredential()
    # ACS Email: 202 + Operation-Location, then the operation Succeeded (the SDK's own poller follows it).
    client = EmailClient(emulator.url, credential)
    message = channels.email_message(SENDER, "erin@contoso.com",
                                     {"subject": "s", "plainText": "p", "html": "<p>p</p>"})
    result = client.begin_send(message, polling_interval=0).result()
    assert result["status"] == "Succeeded" and emulator.messaging.emails[-1]["message"] == message
    # Key Vault: the challenge, a token for the vault, the secret; a missing one is 404 SecretNotFound.
    emulator.messaging.secrets["probe"] = "value-1"
    vault = SecretClient(emulator.url, credential, verify_challenge_resource=False)
    assert vault.get_secret("probe").value == "value-1"
    with pytest.raises(ResourceNotFoundError):
        vault.get_secret("absent")


def test_settings_that_do_not_fit_are_refused_clearly(emulator, lz, monkeypatch):
    with pytest.raises(ValueError, match="not a Key Vault secret URI"):
        channels.SecretValue("https://hooks.slack.com/services/T/B/X", DefaultAzureCredential())
    with pytest.raises(ValueError, match="go together"):
        dispatch.dispatcher_from_environment(DefaultAzureCredential(),
                                             {"HARDEN_NOTIFY_EMAIL_ENDPOINT": emulator.url})
    assert dispatch.dispatcher_from_environment(DefaultAzureCredential(), {}) is None
    # In the app, a malformed setting turns the channels off with a clear log line; hardening goes on.
    assert dispatch.dispatcher_or_none(DefaultAzureCredential(), {
        "HARDEN_NOTIFY_TEAMS_WEBHOOK_SECRET_URI": "https://hooks.example/x"}) is None


def test_a_sweep_sends_one_digest_per_recipient_per_run(emulator, lz, host, notify, azurite):
    from azure.storage.blob import BlobServiceClient

    from remediators.sweep import CLAIMS_CONTAINER

    try:
        BlobServiceClient.from_connection_string(azurite).delete_container(CLAIMS_CONTAINER)
    except ResourceNotFoundError:
        pass
    alice = [seed_key_vault(emulator, lz, f"kv-digest-a{i}", tags={"harden": "private", "owner": "alice@contoso.com"})
             for i in range(3)]
    bob = seed_key_vault(emulator, lz, "kv-digest-b", tags={"harden": "maybe", "owner": "bob@contoso.com"})
    # Untagged public resources are reported only when the platform team wants them (HARDEN_NOTIFY_SKIP).
    seed_key_vault(emulator, lz, "kv-digest-untagged", tags={"owner": "bob@contoso.com"})

    host.sweep()  # queues; the worker has not run: these are the sweep's findings

    by_address = {e["message"]["recipients"]["to"][0]["address"]: e["message"] for e in notify.emails}
    assert sorted(by_address) == ["alice@contoso.com", "bob@contoso.com"], "one message per recipient"
    for message in by_address.values():
        jsonschema.validate(message, ACS_EMAIL_MESSAGE)
    assert all(vault in by_address["alice@contoso.com"]["content"]["plainText"] for vault in alice)
    assert bob not in by_address["alice@contoso.com"]["content"]["plainText"]
    assert bob in by_address["bob@contoso.com"]["content"]["plainText"]
    assert "kv-digest-untagged" not in by_address["bob@contoso.com"]["content"]["plainText"]
    [card] = _posts(notify, "teams")
    jsonschema.validate(card, TEAMS)
    [slack] = _posts(notify, "slack")
    jsonschema.validate(slack, SLACK)
    assert all(vault in slack["blocks"][1]["text"]["text"] for vault in (*alice, bob))

    host.sweep()  # within the dedupe window nothing is queued again: no digest
    assert len(notify.emails) == 2 and len(_posts(notify, "teams")) == 1


def test_a_webhook_that_refuses_its_url_is_read_again_from_the_vault(emulator, lz, host, notify):
    # The Teams channel was deleted (404): the send fails; someone rotates the secret to a new webhook;
    # the next outcome reads the secret again instead of posting to the dead URL for the cache's lifetime.
    notify.webhook_failures["teams/" + WEBHOOK_TOKEN.lower()] = [404]
    first = seed_key_vault(emulator, lz, "kv-notify-rot1", tags={"harden": "maybe"})
    host.deliver(write_event(first, VAULT_WRITE))
    host.run_queue()
    assert _posts(notify, "teams") == []
    notify.secrets["teams-webhook"] = f"{emulator.url}/webhooks/teams-rotated/{WEBHOOK_TOKEN}"
    second = seed_key_vault(emulator, lz, "kv-notify-rot2", tags={"harden": "maybe"})
    host.deliver(write_event(second, VAULT_WRITE))
    host.run_queue()
    assert sorted(notify.webhooks) == ["slack/" + WEBHOOK_TOKEN.lower(), "teams-rotated/" + WEBHOOK_TOKEN.lower()]
    assert len(notify.webhooks["teams-rotated/" + WEBHOOK_TOKEN.lower()]) == 1


def test_a_revert_reaches_the_owner_too(emulator, lz, host, notify):
    import io

    from remediators.cli import main

    vault = seed_key_vault(emulator, lz, "kv-notify-revert", tags={"harden": "private", "owner": "alice@contoso.com"})
    assert deliver(host, emulator, vault, VAULT_WRITE)["status"] == "hardened"
    _restart()
    sent = len(notify.emails)
    out, err = io.StringIO(), io.StringIO()
    person = {**os.environ, "AZURE_CLIENT_ID": "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"}  # not the app's identity
    assert main(["revert", vault, "--yes"], environ=person, stdout=out, stderr=err) == 0, err.getvalue()
    [email] = notify.emails[sent:]
    jsonschema.validate(email["message"], ACS_EMAIL_MESSAGE)
    assert [a["address"] for a in email["message"]["recipients"]["to"]] == ["alice@contoso.com"]
    assert "reverted" in email["message"]["content"]["subject"].lower()


def test_old_claims_are_pruned_and_recent_ones_kept(azurite, monkeypatch):
    """The claims table does not only grow: claims past every redelivery are deleted (by the sweep)."""
    import datetime as dt

    table = TableServiceClient.from_connection_string(azurite).get_table_client("hardennotifiedprune")
    ledger = dispatch.TableLedger(table)
    when = [dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)]
    monkeypatch.setattr(dispatch, "_now", lambda: when[0])
    assert ledger.claim("old", "email", "alice@contoso.com")
    when[0] = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
    assert ledger.claim("recent", "email", "alice@contoso.com")
    dispatcher = dispatch.Dispatcher(dispatch.RoutingPolicy.from_env({}), ledger=ledger)
    assert dispatcher.prune_claims(now=dt.datetime(2026, 3, 2, tzinfo=dt.timezone.utc)) == 1
    assert not ledger.claim("recent", "email", "alice@contoso.com"), "a recent claim still blocks a resend"
    assert ledger.claim("old", "email", "alice@contoso.com"), "the old claim is gone"


def test_the_same_verdict_without_changes_is_told_once_a_day_not_once_per_write(emulator, lz, host, notify,
                                                                               monkeypatch):
    """A bad tag value stays bad across the owner's next writes: one message a day, not one per write event."""
    import datetime as dt

    vault = seed_key_vault(emulator, lz, "kv-notify-bad", tags={"harden": "yes-please", "owner": "erin@contoso.com"})
    day = [dt.datetime(2026, 12, 5, 9, tzinfo=dt.timezone.utc)]
    monkeypatch.setattr(dispatch, "_now", lambda: day[0])
    for _ in range(3):  # three writes by the owner: three events, three outcomes with one verdict
        host.deliver(write_event(vault, VAULT_WRITE))
        host.run_queue()
    assert len(notify.emails) == 1 and "not understood" in notify.emails[0]["message"]["content"]["plainText"]
    day[0] += dt.timedelta(days=1)
    host.deliver(write_event(vault, VAULT_WRITE))
    host.run_queue()
    assert len(notify.emails) == 2, "the next day it is told again"
