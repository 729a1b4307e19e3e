"""Human messages from outcomes, and who should get them (issue 17).

:func:`render` turns an outcome's notification data (``notify.outcome_data``, the same dict every
subscriber of the topic gets) into one message per channel, from Jinja2 templates in
``remediators/templates/``: what was found, what changed (before → after), why, what it may break,
what the owner must do when it is pending or failed, how to opt out, and the command that shows the
before-states. Email has a text and an HTML part; Teams gets an Adaptive Card in a message
attachment (learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/
connectors-using, "Send Adaptive Cards using an Incoming Webhook"); Slack gets ``text`` plus a
``section`` block of mrkdwn (api.slack.com/messaging/webhooks; api.slack.com/reference/block-kit/blocks).

:func:`recipients` routes by the resource's tags: the ``harden-notify`` tag (``HARDEN_NOTIFY_TAG``),
then ``owner``, then ``OwnerContact``; else the subscription's default (``HARDEN_NOTIFY_DEFAULTS``,
``<subscription id>=<address>`` pairs). Email goes only to domains listed in
``HARDEN_NOTIFY_ALLOWED_DOMAINS``: whoever can write a tag must not be able to make us mail anyone.
Outcomes the platform team turned off (``HARDEN_NOTIFY_SKIP``, default the untagged reports and the
settle events) get no message.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable, Mapping

_HEADLINES = {
    "hardened": "Network access was hardened",
    "pending": "Hardening is waiting for you",
    "failed": "Hardening failed; nothing unsafe was left behind",
    "unsupported": "This resource cannot be hardened as tagged",
    "planned": "Hardening planned (dry run): nothing was changed",
    "skipped": "Nothing was changed",
    "reverted": "The hardening was reverted: the settings are as they were",
}
DEFAULT_SKIP = frozenset({"already-compliant", "untagged", "untagged-public", "resource-gone", "opted-out"})
DEFAULT_TAGS = ("harden-notify", "owner", "OwnerContact")
_ADDRESS = re.compile(r"^[^@\s,;]+@([A-Za-z0-9.-]+\.[A-Za-z]{2,})$")


@lru_cache(maxsize=1)
def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, select_autoescape

    return Environment(loader=PackageLoader("remediators", "templates"),
                       autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
                       keep_trailing_newline=True)


def _breaks(data: Mapping[str, Any]) -> list[str]:
    """What the outcome's changes may break, in words, from the changes themselves."""
    found: list[str] = []
    for change in data.get("changes") or ():
        after = change.get("after") if isinstance(change.get("after"), Mapping) else {}
        if after.get("effect"):
            found.append(str(after["effect"]))
        if "publicNetworkAccess" in after and str(after["publicNetworkAccess"]).lower() == "disabled":
            found.append("clients on public networks can no longer reach it; only clients that resolve its "
                         "privatelink name through a VNet linked to the zone (or on-premises through the hub) can")
    if str(data.get("resourceType") or "").lower().startswith("microsoft.web/sites") and any(
            str(c.get("change", "")).lower().find("private endpoint") >= 0 for c in data.get("changes") or ()):
        found.append("the SCM (Kudu) site and FTP close with it: deploy from inside the VNet (a self-hosted agent) "
                     "or through the private endpoint")
    return list(dict.fromkeys(found))


def _todo(data: Mapping[str, Any]) -> str | None:
    if data.get("status") in ("pending", "failed", "unsupported"):
        return str(data.get("reason"))
    return None


def render(data: Mapping[str, Any], *, channel: str) -> dict[str, Any]:
    """The message for one channel: ``email`` → subject/plainText/html; ``teams``/``slack`` → the webhook body."""
    status = str(data.get("status"))
    headline = f"{_HEADLINES.get(status, status)}: {str(data.get('resourceId', '')).rsplit('/', 1)[-1]}"
    context = {"d": data, "headline": headline, "breaks": _breaks(data), "todo": _todo(data),
               "cmd": f"paas-hardener history {data.get('resourceId')}"}
    env = _environment()
    if channel == "email":
        return {"subject": f"[paas-hardener] {headline}",
                "plainText": env.get_template("email.txt.j2").render(context),
                "html": env.get_template("email.html.j2").render(context)}
    if channel == "teams":
        return _webhook_body("teams", headline, env.get_template("teams.md.j2").render(context))
    if channel == "slack":
        return _webhook_body("slack", headline, env.get_template("slack.mrkdwn.j2").render(context))
    raise ValueError(f"unknown channel {channel!r}: email, teams or slack")


_VERDICTS = {"not-compliant": "not hardened as its tag asks (queued)",
             "untagged-public": "open to public networks, no harden tag (reported only)",
             "unknown-tag": "its harden tag has a value we do not understand (queued, will be reported)"}
DIGEST_WEBHOOK_LIMIT = 25  # a card or a Slack section is for reading, not for a thousand lines


def render_digest(data: Mapping[str, Any], *, channel: str) -> dict[str, Any]:
    """A sweep's findings as one message (``data``: ``sweepId``, ``started``, ``findings`` [{resourceId,
    resourceType, verdict}]): the same channels and shapes as :func:`render`."""
    count = len(data.get("findings") or ())
    headline = f"Sweep found {count} resource(s) that need a look"
    context = {"d": data, "headline": headline, "verdicts": _VERDICTS, "limit": DIGEST_WEBHOOK_LIMIT}
    env = _environment()
    if channel == "email":
        return {"subject": f"[paas-hardener] {headline}",
                "plainText": env.get_template("digest.txt.j2").render(context),
                "html": env.get_template("digest.html.j2").render(context)}
    if channel in ("teams", "slack"):
        return _webhook_body(channel, headline, env.get_template("digest.md.j2").render(context))
    raise ValueError(f"unknown channel {channel!r}: email, teams or slack")


def _webhook_body(channel: str, headline: str, text: str) -> dict[str, Any]:
    if channel == "teams":
        card = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
                "version": "1.4",
                "body": [{"type": "TextBlock", "text": headline, "weight": "Bolder", "size": "Medium", "wrap": True},
                         # A Teams webhook message is at most 28 KB (the connectors-using page above); the
                         # history keeps the whole outcome.
                         {"type": "TextBlock", "text": _clip(text, 20_000), "wrap": True}]}
        return {"type": "message", "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}]}
    # Slack: a section's text is at most 3,000 characters (api.slack.com/reference/block-kit/blocks#section).
    return {"text": headline, "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": headline[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, 3000)}}]}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


@dataclass(frozen=True)
class RoutingPolicy:
    """Who gets what; platform settings, never tags (a tag writer must not choose where mail goes)."""

    tag_names: tuple[str, ...] = DEFAULT_TAGS
    defaults: Mapping[str, str] = field(default_factory=dict)  # subscription id (lower) -> address
    allowed_domains: frozenset[str] = frozenset()
    skip: frozenset[str] = DEFAULT_SKIP

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> RoutingPolicy:
        tag = environ.get("HARDEN_NOTIFY_TAG", "").strip()
        defaults = {}
        for pair in filter(None, (p.strip() for p in environ.get("HARDEN_NOTIFY_DEFAULTS", "").split(","))):
            sub, _, address = pair.partition("=")
            if not address:
                raise ValueError(f"HARDEN_NOTIFY_DEFAULTS: {pair!r} is not <subscription id>=<address>")
            defaults[sub.strip().lower()] = address.strip()
        # Empty means the default (infra passes every setting, empty when not given); "none" skips nothing.
        skip = environ.get("HARDEN_NOTIFY_SKIP", "").strip()
        skipped = DEFAULT_SKIP if not skip else frozenset() if skip.lower() == "none" else frozenset(
            s.strip() for s in skip.split(",") if s.strip())
        return cls(tag_names=(tag, *DEFAULT_TAGS[1:]) if tag else DEFAULT_TAGS, defaults=defaults,
                   allowed_domains=frozenset(d.strip().lower().lstrip("@") for d in
                                             environ.get("HARDEN_NOTIFY_ALLOWED_DOMAINS", "").split(",") if d.strip()),
                   skip=skipped)


def recipients(data: Mapping[str, Any], tags: Mapping[str, str], policy: RoutingPolicy) -> list[str]:
    """The email addresses for one outcome, each once; empty when the outcome is not notified."""
    if data.get("reasonCode") in policy.skip:
        return []
    by_name = {k.lower(): v for k, v in tags.items()}
    chosen: Iterable[str] = ()
    for name in policy.tag_names:
        if by_name.get(name.lower(), "").strip():
            chosen = re.split(r"[;,\s]+", by_name[name.lower()].strip())
            break
    else:
        sub = str(data.get("resourceId", "")).split("/")[2].lower() if "/" in str(data.get("resourceId", "")) else ""
        chosen = [policy.defaults[sub]] if sub in policy.defaults else []
    allowed = []
    for address in chosen:
        match = _ADDRESS.match(address)
        if match and match.group(1).lower() in policy.allowed_domains:
            allowed.append(address)
    return list(dict.fromkeys(allowed))
