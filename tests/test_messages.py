"""Human messages and routing (issue 17): rendered from a real outcome, each channel's documented shape."""
from __future__ import annotations

import jsonschema

from localdev.seeds import seed_key_vault
from remediators.messages import RoutingPolicy, recipients, render
from tests.remediation import deliver

# The parts of each documented body we rely on. Teams: an Adaptive Card in a message attachment
# (learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using,
# "Send Adaptive Cards using an Incoming Webhook"; adaptivecards.io schema: type, version, body).
TEAMS = {"type": "object", "required": ["type", "attachments"], "properties": {
    "type": {"const": "message"},
    "attachments": {"type": "array", "minItems": 1, "items": {
        "type": "object", "required": ["contentType", "content"], "properties": {
            "contentType": {"const": "application/vnd.microsoft.card.adaptive"},
            "content": {"type": "object", "required": ["type", "version", "body"], "properties": {
                "type": {"const": "AdaptiveCard"}, "version": {"type": "string"},
                "body": {"type": "array", "items": {"type": "object", "required": ["type"]}}}}}}}}}
# Slack incoming webhooks: `text` (the notification fallback) and `blocks`; a section's text is mrkdwn,
# at most 3,000 characters (api.slack.com/messaging/webhooks; api.slack.com/reference/block-kit/blocks).
SLACK = {"type": "object", "required": ["text", "blocks"], "properties": {
    "text": {"type": "string", "minLength": 1},
    "blocks": {"type": "array", "items": {"type": "object", "required": ["type"], "properties": {
        "type": {"enum": ["header", "section", "divider", "context"]},
        "text": {"type": "object", "required": ["type", "text"], "properties": {
            "type": {"enum": ["plain_text", "mrkdwn"]}, "text": {"type": "string", "maxLength": 3000}}}}}}}}


def _outcome(emulator, lz, host, name: str, tag: str) -> dict:
    vault = seed_key_vault(emulator, lz, name, tags={"harden": tag})
    [event] = [n for n in [deliver(host, emulator, vault, "Microsoft.KeyVault/vaults/write")]]
    return event


def test_a_hardening_renders_what_changed_why_what_may_break_and_how_to_opt_out(emulator, lz, host):
    data = _outcome(emulator, lz, host, "kv-message", "service-endpoint")
    email = render(data, channel="email")
    assert email["subject"].startswith("[paas-hardener] Network access was hardened: kv-message")
    text = email["plainText"]
    for expected in ("Found: Microsoft.KeyVault/vaults", "Why:", "What changed:", "before:", "after:",
                     "What it may break:", "whole subnet", "Opt out: Set the tag harden=off",
                     f"paas-hardener history {data['resourceId']}"):
        assert expected in text, expected
    assert "<code>" in email["html"] and "&lt;" not in data["reason"]
    jsonschema.validate(render(data, channel="teams"), TEAMS)
    jsonschema.validate(render(data, channel="slack"), SLACK)


def test_a_failed_outcome_says_what_the_owner_must_do(emulator, lz, host):
    data = _outcome(emulator, lz, host, "kv-message-odd", "maybe")
    assert data["status"] == "failed"
    text = render(data, channel="email")["plainText"]
    assert "What you need to do:" in text and "allowed values" in text


def test_routing_honours_the_tags_the_defaults_and_the_domain_allow_list():
    data = {"resourceId": "/subscriptions/S1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv",
            "reasonCode": "hardened"}
    policy = RoutingPolicy.from_env({"HARDEN_NOTIFY_ALLOWED_DOMAINS": "contoso.com",
                                     "HARDEN_NOTIFY_DEFAULTS": "s1=platform@contoso.com"})
    assert recipients(data, {"harden-notify": "a@contoso.com; b@evil.example, a@contoso.com"}, policy) == \
        ["a@contoso.com"]
    assert recipients(data, {"Owner": "owner@contoso.com"}, policy) == ["owner@contoso.com"]
    assert recipients(data, {}, policy) == ["platform@contoso.com"]
    assert recipients(data, {"owner": "someone@elsewhere.example"}, policy) == []
    assert recipients({**data, "reasonCode": "untagged-public"}, {"owner": "o@contoso.com"}, policy) == []
    custom = RoutingPolicy.from_env({"HARDEN_NOTIFY_TAG": "team-mail", "HARDEN_NOTIFY_ALLOWED_DOMAINS": "contoso.com"})
    assert recipients(data, {"team-mail": "t@contoso.com", "owner": "o@contoso.com"}, custom) == ["t@contoso.com"]


def test_an_empty_skip_setting_means_the_default_and_none_means_nothing_skipped():
    """Infra passes every setting, empty when not given: empty must not turn every settle event into a message."""
    from remediators.messages import DEFAULT_SKIP, RoutingPolicy

    assert RoutingPolicy.from_env({"HARDEN_NOTIFY_SKIP": ""}).skip == DEFAULT_SKIP
    assert RoutingPolicy.from_env({}).skip == DEFAULT_SKIP
    assert RoutingPolicy.from_env({"HARDEN_NOTIFY_SKIP": "none"}).skip == frozenset()
    assert RoutingPolicy.from_env({"HARDEN_NOTIFY_SKIP": "dry-run, opted-out"}).skip == {"dry-run", "opted-out"}
