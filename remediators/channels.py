"""The notification channels that reach a person: email, Teams and Slack (issue 17), each optional.

- **Email** through Azure Communication Services Email with the app's managed identity
  (``azure-communication-email``'s ``EmailClient(endpoint, credential)``; never a connection string or
  key). Settings: ``HARDEN_NOTIFY_EMAIL_ENDPOINT`` (``https://<name>.<geo>.communication.azure.com``) and
  ``HARDEN_NOTIFY_EMAIL_SENDER`` (an address of a domain linked to the Communication Service, e.g.
  ``DoNotReply@<guid>.azurecomm.net`` for the Azure-managed domain). The request body is the REST
  ``EmailMessage`` (azure-rest-api-specs ``specification/communication/data-plane/Email/stable/2025-09-01/
  CommunicationServicesEmail.json``): ``senderAddress``, ``content`` {``subject``, ``plainText``, ``html``},
  ``recipients`` {``to``: [{``address``, ``displayName``}]}. The send is a long-running operation; the
  ``202 Accepted`` (the message is queued by ACS) counts as sent: waiting for ``Succeeded`` would hold the
  worker for ACS's ``retry-after`` and add nothing the owner needs. The ``Operation-Id`` is derived from the
  outcome and the address (:func:`operation_id`), so ACS's own logs match ours.
- **Teams / Slack** incoming webhooks. The webhook URL is a credential, so it lives in Key Vault:
  ``HARDEN_NOTIFY_TEAMS_WEBHOOK_SECRET_URI`` / ``HARDEN_NOTIFY_SLACK_WEBHOOK_SECRET_URI`` hold the secret's
  URI (``https://<vault>.vault.azure.net/secrets/<name>[/<version>]``), read with the identity
  (``azure-keyvault-secrets``' ``SecretClient``; Key Vault Secrets User) and cached for
  :data:`SECRET_TTL_SECONDS`, then read again (a rotated URL is picked up). The URL is never logged: the
  post goes through an azure-core pipeline without the HTTP logging policies, and an error names the
  channel and the status, never the URL. Bodies: Teams, a ``message`` with one Adaptive Card attachment
  (learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using, "Send
  Adaptive Cards using an Incoming Webhook"; Workflows' "When a Teams webhook request is received" takes
  the same body); Slack, ``{"text", "blocks"}`` (api.slack.com/messaging/webhooks).

Every post is bounded: connect/read timeouts, two retries, ``Retry-After`` capped at
:data:`MAX_RETRY_AFTER_SECONDS`. A failed send is logged, counted (:data:`send_failures`) and returned as
a :class:`Delivery` with ``status="failed"``; it never raises into the hardening, which stands.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

from azure.core import PipelineClient
from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError
from azure.core.pipeline.policies import HeadersPolicy, RetryPolicy, UserAgentPolicy
from azure.core.rest import HttpRequest

logger = logging.getLogger(__name__)

SECRET_TTL_SECONDS = 900.0
MAX_RETRY_AFTER_SECONDS = 10.0
CONNECT_TIMEOUT_SECONDS = 10
READ_TIMEOUT_SECONDS = 20
_NAMESPACE = uuid.UUID("0b5c3f52-6a43-4b43-9a55-1f1d0c0de717")

_lock = threading.Lock()
#: Sends that failed in this process (logged each time; never raised).
send_failures = 0


class ChannelError(Exception):
    """One send failed; the message says why without the webhook's URL."""


@dataclass(frozen=True)
class Delivery:
    """One message to one recipient on one channel, and what became of it."""

    channel: str  # email | teams | slack
    recipient: str  # an address, or the webhook's channel name (never its URL)
    status: str  # sent | failed | duplicate
    detail: str = ""

    def describe(self) -> dict[str, str]:
        return {"channel": self.channel, "recipient": self.recipient, "status": self.status,
                **({"detail": self.detail} if self.detail else {})}


def count_failure() -> int:
    global send_failures
    with _lock:
        send_failures += 1
        return send_failures


def operation_id(key: str, recipient: str) -> str:
    """A deterministic UUID for one message (ACS's ``Operation-Id`` header is a UUID)."""
    return str(uuid.uuid5(_NAMESPACE, f"{key}|{recipient.lower()}"))


def email_message(sender: str, address: str, rendered: Mapping[str, str]) -> dict[str, Any]:
    """The ACS ``EmailMessage`` for one recipient (CommunicationServicesEmail.json, 2025-09-01)."""
    return {"senderAddress": sender,
            "content": {"subject": rendered["subject"], "plainText": rendered["plainText"], "html": rendered["html"]},
            "recipients": {"to": [{"address": address, "displayName": address.split("@", 1)[0]}]},
            # A notification about a network change: no open/click tracking pixels in it.
            "userEngagementTrackingDisabled": True}


class EmailChannel:
    """ACS Email with a token credential (the app's managed identity).

    :param client: An ``azure.communication.email.EmailClient``.
    :param sender: ``HARDEN_NOTIFY_EMAIL_SENDER``.
    """

    name = "email"

    def __init__(self, client: Any, sender: str) -> None:
        self._client = client
        self._sender = sender

    @classmethod
    def for_endpoint(cls, endpoint: str, sender: str, credential: TokenCredential) -> EmailChannel:
        from azure.communication.email import EmailClient

        # Bounded: two retries, and each attempt's connection/read time is capped.
        client = EmailClient(endpoint, credential, retry_total=2, retry_backoff_max=MAX_RETRY_AFTER_SECONDS,
                             connection_timeout=CONNECT_TIMEOUT_SECONDS, read_timeout=READ_TIMEOUT_SECONDS)
        return cls(client, sender)

    def send(self, recipient: str, rendered: Mapping[str, str], *, key: str) -> str:
        """Queue one email; returns the ACS operation id. :raises ChannelError: not accepted."""
        op = operation_id(key, recipient)
        try:
            # polling=False: the 202 (queued by ACS) is the answer we wait for; see the module docstring.
            poller = self._client.begin_send(email_message(self._sender, recipient, rendered), operation_id=op,
                                             polling=False)
            result = poller.result()
        except AzureError as exc:
            raise ChannelError(f"ACS Email did not accept the message: {type(exc).__name__}: "
                               f"{str(exc).splitlines()[0][:200]}") from exc
        return str((result or {}).get("id") or op)


def _parse_secret_uri(uri: str) -> tuple[str, str, str | None]:
    """``https://<vault>/secrets/<name>[/<version>]`` → (vault URL, name, version or None)."""
    parts = urlsplit(uri.strip())
    segments = [s for s in parts.path.split("/") if s]
    if parts.scheme != "https" or len(segments) not in (2, 3) or segments[0].lower() != "secrets":
        raise ValueError(f"{uri!r} is not a Key Vault secret URI (https://<vault>.vault.azure.net/secrets/<name>)")
    return f"{parts.scheme}://{parts.netloc}", segments[1], segments[2] if len(segments) == 3 else None


class SecretValue:
    """A Key Vault secret's value, read with the identity and cached for ``ttl`` seconds.

    :param secret_uri: The secret's URI (the app setting); its value is the webhook URL.
    """

    def __init__(self, secret_uri: str, credential: TokenCredential, *, ttl: float = SECRET_TTL_SECONDS,
                 now: Callable[[], float] = time.monotonic) -> None:
        from azure.keyvault.secrets import SecretClient

        vault_url, self._name, self._version = _parse_secret_uri(secret_uri)
        self.uri = secret_uri
        self._client = SecretClient(vault_url, credential, retry_total=2,
                                    connection_timeout=CONNECT_TIMEOUT_SECONDS, read_timeout=READ_TIMEOUT_SECONDS)
        self._ttl, self._now = ttl, now
        self._value: str | None = None
        self._read_at = 0.0
        self._lock = threading.Lock()

    def get(self) -> str:
        """:raises ChannelError: the secret could not be read (no access, not found, vault unreachable)."""
        with self._lock:
            if self._value is None or self._now() - self._read_at > self._ttl:
                try:
                    value = self._client.get_secret(self._name, self._version).value
                except AzureError as exc:
                    raise ChannelError(f"could not read the secret {self.uri}: {type(exc).__name__}: "
                                       f"{str(exc).splitlines()[0][:200]}") from exc
                if not value:
                    raise ChannelError(f"the secret {self.uri} is empty")
                self._value, self._read_at = value, self._now()
            return self._value

    def forget(self) -> None:
        """Read it again next time (after the webhook refused the cached URL: it may have been rotated)."""
        with self._lock:
            self._value = None


class _BoundedRetry(RetryPolicy):
    """azure-core's retries, with a server's ``Retry-After`` capped: no wait is unbounded."""

    def get_retry_after(self, response: Any) -> float | None:
        value = super().get_retry_after(response)
        return None if value is None else min(value, MAX_RETRY_AFTER_SECONDS)


class WebhookChannel:
    """Posts JSON to an incoming webhook whose URL comes from ``url`` (a :class:`SecretValue`).

    :param name: ``teams`` or ``slack`` (also the channel ``messages.render`` renders for).
    """

    def __init__(self, name: str, url: SecretValue, *, transport: Any = None) -> None:
        self.name = name
        self._url = url
        # No HttpLoggingPolicy / NetworkTraceLoggingPolicy: they would log the URL, which is the credential.
        policies = [HeadersPolicy(), UserAgentPolicy(sdk_moniker="paas-hardener"),
                    _BoundedRetry(retry_total=2, retry_backoff_factor=0.5, retry_backoff_max=MAX_RETRY_AFTER_SECONDS,
                                  timeout=60)]
        self._client: PipelineClient = PipelineClient("https://webhook.invalid", policies=policies,
                                                      transport=transport)

    def send(self, body: Mapping[str, Any]) -> None:
        """:raises ChannelError: the URL could not be read or the webhook did not take the message."""
        url = self._url.get()
        request = HttpRequest("POST", url, json=dict(body), headers={"Content-Type": "application/json"})
        try:
            response = self._client.send_request(request, connection_timeout=CONNECT_TIMEOUT_SECONDS,
                                                 read_timeout=READ_TIMEOUT_SECONDS)
            status, text = response.status_code, response.text()[:100]
        except AzureError as exc:
            # str(exc) of a connection error names the URL: only the type goes out.
            raise ChannelError(f"the {self.name} webhook could not be reached ({type(exc).__name__})") from None
        if status in (403, 404, 410):
            self._url.forget()  # revoked or rotated: read the secret again next time
        if not 200 <= status < 300:
            raise ChannelError(f"the {self.name} webhook answered {status}: {text}")
