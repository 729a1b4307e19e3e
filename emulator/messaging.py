"""The data planes the notification channels talk to (remediators/channels.py), on the emulator's port.

Three surfaces, each on its real path (the hosts differ in Azure; here one host serves them all):

- **Azure Communication Services Email** (``azure-communication-email``'s ``EmailClient``):
  ``POST {endpoint}/emails:send?api-version=...`` → ``202`` with ``Operation-Location`` and an
  ``EmailSendResult`` body ``{"id", "status": "Running"}``; ``GET {endpoint}/emails/operations/{id}``
  → ``200 {"id", "status": "Succeeded"}``. Source: azure-rest-api-specs
  ``specification/communication/data-plane/Email/stable/2025-09-01/CommunicationServicesEmail.json``
  (``Email_Send``, ``Email_GetSendResult``, ``EmailMessage`` with required ``senderAddress``, ``content``
  {required ``subject``}, ``recipients`` {required ``to``: [``EmailAddress`` {required ``address``}]}) and
  its examples ``SendEmail.json`` / ``GetOperationStatusReturnsSuccessTerminalStatus.json``. A token for
  ``https://communication.azure.com`` is required (the SDK's scope, ``_shared/auth_policy_utils.py``).
- **Key Vault secrets** (``azure-keyvault-secrets``' ``SecretClient``): ``GET {vault}/secrets/{name}/{version}``
  (version empty = the latest) → ``SecretBundle`` ``{"value", "id", "attributes"}``; ``404 SecretNotFound``.
  Source: azure-rest-api-specs ``specification/keyvault/data-plane/Microsoft.KeyVault/stable/7.5/secrets.json``
  (``GetSecret``). A request without a token gets Key Vault's challenge, ``401`` with
  ``WWW-Authenticate: Bearer authorization="https://login.microsoftonline.com/{tenant}", resource="https://vault.azure.net"``
  (learn.microsoft.com/azure/key-vault/general/authentication-requests-and-responses, "Authentication");
  a token for another resource is ``401`` too.
- **Teams and Slack incoming webhooks**: ``POST /webhooks/{name}`` records the JSON body. Teams answers
  ``200`` (learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using);
  Slack answers ``200`` with the text ``ok`` and ``400 invalid_payload`` / ``no_text`` for a body it cannot
  post (api.slack.com/messaging/webhooks, "Handling errors"). The URL is the only credential: no token.

What is a guess (emulator/README.md): Key Vault's data-plane RBAC is not modelled (any token for the vault
reads any secret); a repeated ``Operation-Id`` is accepted as a new send (the spec says nothing about reuse).
"""
from __future__ import annotations

from urllib.parse import urlsplit

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from .engine import Response

EMAIL_SEND_PATH = "/emails:send"
EMAIL_OPERATIONS_PREFIX = "/emails/operations/"
SECRETS_PREFIX = "/secrets/"
WEBHOOKS_PREFIX = "/webhooks/"
COMMUNICATION_RESOURCE = "https://communication.azure.com"
VAULT_RESOURCE = "https://vault.azure.net"


def matches(path: str) -> bool:
    lower = path.lower()
    return (lower == EMAIL_SEND_PATH or lower.startswith(EMAIL_OPERATIONS_PREFIX)
            or lower.startswith(SECRETS_PREFIX) or lower.startswith(WEBHOOKS_PREFIX))


@dataclass
class Messaging:
    """What the notification channels sent, and the secrets they read."""

    secrets: dict[str, str] = field(default_factory=dict)
    #: Accepted ``emails:send`` requests: ``{"operationId", "apiVersion", "message"}`` (the JSON body as sent).
    emails: list[dict[str, Any]] = field(default_factory=list)
    #: Webhook name → the JSON bodies posted to it, in order.
    webhooks: dict[str, list[Any]] = field(default_factory=dict)
    #: Webhook name → status codes to answer next (a 429/500 each, then 200 again).
    webhook_failures: dict[str, list[int]] = field(default_factory=dict)
    #: Status codes the next ``emails:send`` requests answer with (then 202 again).
    email_failures: list[int] = field(default_factory=list)
    secret_reads: int = 0
    _operations: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self._lock:
            self.secrets.clear()
            self.emails.clear()
            self.webhooks.clear()
            self.webhook_failures.clear()
            self.email_failures.clear()
            self._operations.clear()
            self.secret_reads = 0

    def handle(self, method: str, path: str, query: dict[str, str], body: Any, base_url: str,
               token_resource: Callable[[], str | None], tenant_id: str, operation_id: str | None = None) -> Response:
        lower = path.lower()
        if lower.startswith(WEBHOOKS_PREFIX):
            return self._webhook(method, path[len(WEBHOOKS_PREFIX):], body)
        resource = token_resource()
        if lower.startswith(SECRETS_PREFIX):
            return self._secret(method, path, query, resource, base_url, tenant_id)
        if resource is None or not resource.rstrip("/").lower().startswith(COMMUNICATION_RESOURCE):
            # ACS answers an unauthenticated call 401 (the spec's ``default`` ErrorResponse); the code is our guess.
            return Response(401, {"error": {"code": "Unauthorized", "message": "Denied by the resource provider."}})
        if "api-version" not in query:
            return Response(400, {"error": {"code": "MissingApiVersionParameter",
                                            "message": "The api-version query parameter is required."}})
        if lower == EMAIL_SEND_PATH:
            return self._send(method, query, body, base_url, operation_id)
        return self._operation(method, path[len(EMAIL_OPERATIONS_PREFIX):])

    # -- ACS Email ---------------------------------------------------------------
    def _send(self, method: str, query: dict[str, str], body: Any, base_url: str,
              operation_id: str | None = None) -> Response:
        if method != "POST":
            return Response(405, {"error": {"code": "MethodNotAllowed", "message": "Use POST."}})
        problem = _email_message_problem(body)
        if problem:
            return Response(400, {"error": {"code": "BadRequest", "message": problem}})
        with self._lock:
            if self.email_failures:
                status = self.email_failures.pop(0)
                return Response(status, {"error": {"code": "TooManyRequests" if status == 429 else "InternalError",
                                                   "message": "injected"}},
                                {"Retry-After": "0"} if status == 429 else {})
            op = operation_id or str(uuid.uuid4())
            self.emails.append({"operationId": op, "apiVersion": query["api-version"], "message": body})
            self._operations[op.lower()] = "Succeeded"
        # The spec's example returns "Running" with a retry-after; we finish at once (Retry-After 0).
        location = f"{base_url}/emails/operations/{op}?api-version={query['api-version']}"
        return Response(202, {"id": op, "status": "Running"}, {"Operation-Location": location, "retry-after": "0"})

    def _operation(self, method: str, op: str) -> Response:
        if method != "GET":
            return Response(405, {"error": {"code": "MethodNotAllowed", "message": "Use GET."}})
        with self._lock:
            status = self._operations.get(op.lower())
        if status is None:
            return Response(404, {"error": {"code": "NotFound", "message": f"Operation {op} was not found."}})
        return Response(200, {"id": op, "status": status})

    # -- Key Vault secrets ---------------------------------------------------------
    def _secret(self, method: str, path: str, query: dict[str, str], resource: str | None, base_url: str,
                tenant_id: str) -> Response:
        # The challenge names the vault's DNS suffix: the host less its first label, as Azure's
        # "https://vault.azure.net" is for "<name>.vault.azure.net" (learn.microsoft.com/azure/key-vault/general/
        # authentication-requests-and-responses). The SDK checks that the vault's host ends with it
        # (azure-keyvault-secrets, verify_challenge_resource), so the emulator's loopback host gets its own
        # suffix ("0.0.1:<port>" for "127.0.0.1:<port>") and the product never turns that check off.
        audience = "https://" + urlsplit(base_url).netloc.split(".", 1)[-1]
        if resource is None or resource.rstrip("/").lower() not in (audience.lower(), VAULT_RESOURCE):
            challenge = (f'Bearer authorization="https://login.microsoftonline.com/{tenant_id}", '
                         f'resource="{audience}"')
            return Response(401, {"error": {"code": "Unauthorized",
                                            "message": "AKV10000: Request is missing a Bearer or PoP token."}},
                            {"WWW-Authenticate": challenge})
        if method != "GET":
            return Response(405, {"error": {"code": "MethodNotAllowed", "message": "Use GET."}})
        if "api-version" not in query:
            return Response(400, {"error": {"code": "BadParameter", "message": "api-version is required."}})
        name, _, version = path[len(SECRETS_PREFIX):].partition("/")
        with self._lock:
            self.secret_reads += 1
            value = self.secrets.get(name.lower())
        if value is None:
            return Response(404, {"error": {"code": "SecretNotFound",
                                            "message": f"A secret with (name/id) {name} was not found in this key vault."}})
        version = version.strip("/") or "0" * 32
        now = int(time.time())
        return Response(200, {"value": value, "id": f"{base_url}/secrets/{name}/{version}",
                              "attributes": {"enabled": True, "created": now, "updated": now,
                                             "recoveryLevel": "Recoverable+Purgeable"}})

    # -- webhooks ----------------------------------------------------------------
    def _webhook(self, method: str, name: str, body: Any) -> Response:
        if method != "POST":
            return Response(405, b"invalid_method")
        key = name.strip("/").lower()
        with self._lock:
            failures = self.webhook_failures.get(key)
            if failures:
                status = failures.pop(0)
                return Response(status, b"rate_limited" if status == 429 else b"internal_error",
                                {"Retry-After": "0"} if status == 429 else {})
            if not isinstance(body, dict):
                return Response(400, b"invalid_payload")
            if key.startswith("slack") and not (body.get("text") or body.get("blocks")):
                return Response(400, b"no_text")
            self.webhooks.setdefault(key, []).append(body)
        return Response(200, b"ok" if key.startswith("slack") else b"1")


def _email_message_problem(body: Any) -> str | None:
    """The first way ``body`` breaks the spec's ``EmailMessage`` (required fields and their types)."""
    if not isinstance(body, dict):
        return "The request body must be an EmailMessage object."
    for name in ("senderAddress", "content", "recipients"):
        if name not in body:
            return f"The EmailMessage field '{name}' is required."
    content, recipients = body["content"], body["recipients"]
    if not isinstance(content, dict) or not isinstance(content.get("subject"), str):
        return "content.subject is required."
    if not (content.get("plainText") or content.get("html")):
        return "content needs plainText or html."  # Learn's send-email quickstart: one of the two bodies
    to = recipients.get("to") if isinstance(recipients, dict) else None
    if not isinstance(to, list) or not to or not all(isinstance(a, dict) and a.get("address") for a in to):
        return "recipients.to needs at least one EmailAddress with an address."
    return None
