"""The HTTPS server and the public :class:`Emulator` handle.

Three surfaces on one port:
- ``/msi/token``: the App Service managed-identity endpoint (IDENTITY_ENDPOINT / IDENTITY_HEADER),
  as MSAL's ``_obtain_token_on_app_service`` calls it (api-version 2019-08-01, X-IDENTITY-HEADER).
- ``/eventgrid/api/events``: an Event Grid custom topic (what ``EventGridPublisherClient`` posts to).
- everything under ``/subscriptions/``: ARM, handled by :class:`emulator.engine.Arm`.
- ``/emails:send``, ``/secrets/``, ``/webhooks/``: the notification channels' data planes
  (ACS Email, Key Vault secrets, Teams/Slack webhooks): :mod:`emulator.messaging`.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import shutil
import socket
import ssl
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import trustme

from . import clouds
from . import events as ev
from . import messaging, rbac_reads, resourcegraph, subscriptions
from .authz import Authorizer
from .engine import Arm, ArmRequest, Caller, Response
from .errors import ArmError
from .faults import FaultList
from .ids import resource_type_of
from .throttle import Throttle, kind_of

log = logging.getLogger(__name__)

MSI_PATH = "/msi/token"
TOPIC_PATH = "/eventgrid/api/events"
WRITE_METHODS = ("PUT", "PATCH", "DELETE", "POST")


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # no query, original casing
    api_version: str | None
    status: int  # the final status returned
    resource_type: str
    body: Any  # parsed JSON request body, or None
    is_lro_poll: bool = False
    #: ``time.monotonic()`` when the request arrived, and when what it asked for was done:
    #: the answer for a synchronous call, the operation's end for a long-running write.
    started_at: float = 0.0
    completed_at: float = 0.0


@dataclass(frozen=True)
class _Token:
    client_id: str
    principal_id: str
    resource: str


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, emulator: "Emulator", ssl_context: ssl.SSLContext) -> None:
        self.emulator = emulator
        self.ssl_context = ssl_context
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:  # noqa: D401 - keep tracebacks out of test output
        log.debug("connection error from %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the SDKs reuse connections
    server: _Server

    def setup(self) -> None:
        # TLS handshake here, in the connection's own thread, not in the accept loop.
        self.request.settimeout(30)
        # Headers and body go out in separate writes: without NODELAY, Nagle + delayed ACK add ~40 ms per call.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.request = self.server.ssl_context.wrap_socket(self.request, server_side=True)
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._serve()

    do_PUT = do_PATCH = do_DELETE = do_POST = do_HEAD = do_GET

    def _serve(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = unquote(url.path)  # ids are compared decoded; the SDKs percent-encode names
        resp = self.server.emulator._dispatch(self.command, path, dict(parse_qsl(url.query)), self.headers, raw)
        text = isinstance(resp.body, bytes)  # a webhook's plain-text answer (emulator/messaging.py)
        payload = b"" if resp.body is None else resp.body if text else json.dumps(resp.body).encode()
        self.send_response(resp.status)
        headers = {"x-ms-request-id": str(uuid.uuid4()), **resp.headers}
        if payload:
            headers["Content-Type"] = "text/plain; charset=utf-8" if text else "application/json; charset=utf-8"
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)


class Emulator:
    """An in-process ARM + managed identity + Event Grid topic emulator on https://127.0.0.1:<port>."""

    def __init__(self) -> None:
        self.tenant_id = ev.DEFAULT_TENANT_ID
        self.client_id = str(uuid.uuid4())  # the system-assigned identity's application id
        self.principal_id = str(uuid.uuid4())  # ... and its object id (shows up in raised events)
        self.identity_header = secrets.token_urlsafe(24)
        self.topic_key = base64.b64encode(secrets.token_bytes(32)).decode()  # Event Grid keys are base64
        self.faults = FaultList()
        self.throttle = Throttle()  # ARM's token buckets; off until throttle.enable()
        # Management group name (lower-case) -> subscription ids, for Resource Graph scopes.
        self.management_groups: dict[str, list[str]] = {}
        # Resource Graph's per-user quota and answer size limit (emulator/resourcegraph.py).
        self.graph_quota = resourcegraph.UserQuota()
        # Subscriptions that exist besides those holding a resource (emulator/subscriptions.py).
        self.subscriptions: set[str] = set()
        self.graph_payload_limit = resourcegraph.MAX_PAYLOAD_BYTES
        # A fault, not Resource Graph's documented behaviour: the next-page token does not advance (seen on
        # Microsoft Graph's paging, microsoftgraph/microsoft-graph-docs-contrib#6059 and #1239; a guess for
        # Resource Graph, listed in emulator/README.md). A client must not page forever.
        self.graph_stuck_paging = False
        # Role assignments per client id (emulator/authz.py); none = unrestricted. Survive reset().
        self.authz = Authorizer()
        self._lock = threading.RLock()
        self._tokens: dict[str, _Token] = {}
        self._requests: list[RecordedRequest] = []
        # Every (caller client id, method, resource type) answered with success since
        # start, LRO polls included (they need RBAC too); never cleared, so a test can
        # check that the custom role covers all that one identity did.
        self._operations: set[tuple[str, str, str]] = set()
        self._events: list[dict] = []
        self._notifications: list[dict] = []
        # ACS Email, Key Vault secrets and webhooks (emulator/messaging.py); cleared by reset().
        self.messaging = messaging.Messaging()
        self._arm = Arm(self._raise_event)
        # The cloud GET /metadata/endpoints describes: a name in clouds.CLOUD_NAMES, or a whole
        # document (an unknown cloud). Public by default; metadata_requests counts the fetches.
        self.cloud: str | dict = "AzureCloud"
        self.metadata_requests = 0
        self._dir = Path(tempfile.mkdtemp(prefix="azure-emulator-"))
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self.ca_bundle_path = str(self._dir / "ca.pem")
        ca.cert_pem.write_to_path(self.ca_bundle_path)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(ctx)
        self._server = _Server(self, ctx)
        self.url = f"https://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="azure-emulator", daemon=True)

    # -- lifecycle -------------------------------------------------------------
    @classmethod
    def start(cls) -> "Emulator":
        emu = cls()
        emu._thread.start()
        log.info("Azure emulator listening on %s", emu.url)
        return emu

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> "Emulator":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget all resources, operations, requests, events, notifications and faults (tokens stay valid)."""
        with self._lock:
            self._arm.reset()
            self._arm.enforce_lax_if_match = False
            self._requests.clear()
            self._events.clear()
            self._notifications.clear()
            self.messaging.reset()
            self.cloud = "AzureCloud"
            self.metadata_requests = 0
            self.management_groups.clear()
            self.throttle.disable()
            self.graph_quota.configure()
            self.graph_payload_limit = resourcegraph.MAX_PAYLOAD_BYTES
            self.graph_stuck_paging = False
            self.subscriptions.clear()
        self.faults.clear()

    @property
    def enforce_subnet_if_match(self) -> bool:
        """Off by default: like the Network RP, subnet PUTs ignore If-Match (azure-rest-api-specs#6789)."""
        return self._arm.enforce_lax_if_match

    @enforce_subnet_if_match.setter
    def enforce_subnet_if_match(self, value: bool) -> None:
        with self._lock:
            self._arm.enforce_lax_if_match = value

    def assign_role(self, client_id: str, actions: Any, *, scope: str = "", not_actions: Any = ()) -> None:
        """Give ``client_id`` a role holding ``actions`` at ``scope`` ("" = everywhere); from then on ARM
        requests of that client are authorized as Azure RBAC does (emulator/authz.py)."""
        self.authz.assign(client_id, actions, scope=scope, not_actions=not_actions)

    def unassign_roles(self, client_id: str) -> None:
        """Remove every role of ``client_id``: its requests are unrestricted again."""
        self.authz.unassign(client_id)

    # -- addresses -------------------------------------------------------------
    @property
    def identity_endpoint(self) -> str:
        return self.url + MSI_PATH

    @property
    def topic_endpoint(self) -> str:
        return self.url + TOPIC_PATH

    def env(self) -> dict[str, str]:
        """Environment for DefaultAzureCredential (App Service managed identity) and the SDKs' TLS."""
        return {
            "IDENTITY_ENDPOINT": self.identity_endpoint,
            "IDENTITY_HEADER": self.identity_header,
            "REQUESTS_CA_BUNDLE": self.ca_bundle_path,
            "AZURE_RESOURCE_MANAGER_ENDPOINT": self.url,
        }

    # -- state -----------------------------------------------------------------
    def seed(self, resource_id: str, body: dict) -> dict:
        """Insert/replace a resource directly: no validation, no request log entry, no event."""
        with self._lock:
            return self._arm.seed(resource_id, body)

    @property
    def timing(self) -> Any:
        """How long writes take (:class:`emulator.timing.Timing`); instant until a test sets ``scale``."""
        return self._arm.timing

    def require_manual_approval(self, target_id: str) -> None:
        """Private endpoint connections to this resource start ``Pending`` until someone approves them."""
        from .privatelink import MANUAL_APPROVAL

        with self._lock:
            record = self._arm.store.get(target_id)
            if record is None:
                raise KeyError(target_id)
            record.meta[MANUAL_APPROVAL] = True

    def fail_endpoint_operations(self, target_id: str, kind: str, *, times: int = 1) -> None:
        """The next ``times`` private endpoint writes against ``target_id`` are accepted, then their
        operation ends ``Failed`` (``kind``: see :func:`emulator.privatelink.endpoint_operation_failure`)."""
        from .privatelink import ENDPOINT_FAILURES, endpoint_operation_failure

        endpoint_operation_failure(kind, "", "")  # an unknown kind fails here, not in a request
        with self._lock:
            record = self._arm.store.get(target_id)
            if record is None:
                raise KeyError(target_id)
            record.meta.setdefault(ENDPOINT_FAILURES, []).extend([kind] * times)

    def assign_dns_zone_policy(self, subnet_id: str, group_id: str, zone_id: str) -> None:
        """Azure Landing Zones' Deploy-Private-DNS-Zones policy over ``subnet_id``: new endpoints of
        ``group_id`` get a ``deployedByPolicy`` zone group naming ``zone_id`` (emulator/privatelink.py)."""
        from .privatelink import POLICY_ZONES

        with self._lock:
            record = self._arm.store.get(subnet_id)
            if record is None:
                raise KeyError(subnet_id)
            record.meta.setdefault(POLICY_ZONES, {})[group_id.lower()] = zone_id

    def get(self, resource_id: str) -> dict | None:
        with self._lock:
            return self._arm.store.render(resource_id)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def arm_calls(self) -> list[RecordedRequest]:
        return [r for r in self.requests if not r.is_lro_poll]

    def writes(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method in WRITE_METHODS]

    def observed_operations(self, client_id: str) -> set[tuple[str, str]]:
        """Successful (method, resource type) pairs this identity made since start.

        Survives :meth:`reset` and :meth:`clear_requests`; includes LRO status polls.
        """
        with self._lock:
            return {(method, kind) for who, method, kind in self._operations if who == client_id}

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    @property
    def notifications(self) -> list[dict]:
        with self._lock:
            return copy.deepcopy(self._notifications)

    @property
    def events(self) -> list[dict]:
        """Raised events not yet drained (a copy; does not drain)."""
        with self._lock:
            return copy.deepcopy(self._events)

    def drain_notifications(self) -> list[dict]:
        """Published notifications so far, forgotten here (a long soak keeps the emulator's memory flat)."""
        with self._lock:
            out, self._notifications = self._notifications, []
            return out

    def drain_events(self) -> list[dict]:
        with self._lock:
            out, self._events = self._events, []
            return out

    def _raise_event(self, subject: str, operation: str, caller: Caller) -> None:
        self._events.append(ev.write_event(subject, operation, principal_id=caller.principal_id,
                                           app_id=caller.client_id, tenant_id=self.tenant_id))

    # -- request handling ----------------------------------------------------------
    def _dispatch(self, method: str, path: str, query: dict[str, str], headers: Any, raw: bytes) -> Response:
        if path == MSI_PATH:
            return self._token(method, query, headers)
        if path.lower() == TOPIC_PATH:
            return self._publish(method, query, headers, raw)
        if path.lower().rstrip("/") == resourcegraph.PATH:
            return self._resource_graph(method, headers, raw)
        if rbac_reads.matches(path) and method == "GET":  # `paas-hardener doctor` reads the roles (issue 15)
            if self._caller(headers) is None:
                return self._unauthorized(headers)
            status, body = rbac_reads.handle(self.authz, path, query)
            return Response(status, body)
        if path.lower() == clouds.PATH:
            return self._cloud_metadata(method, query)
        if messaging.matches(path):
            return self._messaging(method, path, query, headers, raw)
        return self._arm_call(method, path, query, headers, raw)

    def _token(self, method: str, query: dict[str, str], headers: Any) -> Response:
        # Error bodies are JSON: MSAL json-decodes whatever comes back.
        given = headers.get("X-IDENTITY-HEADER") or ""
        if not hmac.compare_digest(given.encode(), self.identity_header.encode()):
            return Response(401, {"statusCode": 401, "message": "Unauthorized: missing or wrong X-IDENTITY-HEADER."})
        if method != "GET" or "api-version" not in query or not query.get("resource"):
            return Response(400, {"statusCode": 400, "message": "api-version and resource are required."})
        client_id = query.get("client_id") or query.get("mi_res_id") or query.get("object_id")
        principal = str(uuid.uuid5(uuid.NAMESPACE_URL, client_id)) if client_id else self.principal_id
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = _Token(client_id or self.client_id, principal, query["resource"])
        return Response(200, {
            "access_token": token,
            "expires_on": str(int(time.time()) + 24 * 3600),
            "resource": query["resource"],
            "token_type": "Bearer",
            "client_id": client_id or self.client_id,
        })

    def _cloud_metadata(self, method: str, query: dict[str, str]) -> Response:
        # Anonymous, like ARM's (azure-cli and go-azure-sdk send no token); see emulator/clouds.py.
        with self._lock:
            self.metadata_requests += 1
        if method != "GET":
            return Response(405, {"error": {"code": "MethodNotAllowed", "message": "Use GET."}})
        if query.get("api-version") != clouds.API_VERSION:  # the emulator serves the one version we read
            return Response(400, ArmError(400, "InvalidApiVersionParameter",
                                          f"The api-version '{query.get('api-version')}' is invalid. "
                                          f"The supported versions are '{clouds.API_VERSION}'.").body())
        return Response(200, clouds.metadata_document(self.cloud, self.url))

    def _messaging(self, method: str, path: str, query: dict[str, str], headers: Any, raw: bytes) -> Response:
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return Response(400, b"invalid_payload") if path.lower().startswith(messaging.WEBHOOKS_PREFIX) else \
                Response(400, {"error": {"code": "BadRequest", "message": "The request body is not valid JSON."}})

        def token_resource() -> str | None:
            caller = self._caller(headers)
            return caller.resource if caller else None

        return self.messaging.handle(method, path, query, body, self.url, token_resource, self.tenant_id,
                                     operation_id=headers.get("Operation-Id"))

    def _caller(self, headers: Any) -> _Token | None:
        auth = headers.get("Authorization") or ""
        scheme, _, token = auth.partition(" ")
        with self._lock:
            return self._tokens.get(token.strip()) if scheme.lower() == "bearer" else None

    def _publish(self, method: str, query: dict[str, str], headers: Any, raw: bytes) -> Response:
        if method != "POST":
            return Response(405, {"error": {"code": "MethodNotAllowed", "message": "Use POST."}})
        if not (self._sas_key_ok(headers) or self._sas_token_ok(headers) or self._caller(headers)):
            return Response(401, {"error": {"code": "Unauthorized",
                                            "message": "The request authorization key is not authorized."}})
        if "api-version" not in query:
            return Response(400, {"error": {"code": "BadRequest", "message": "api-version is required."}})
        try:
            payload = json.loads(raw or b"null")
        except ValueError:
            return Response(400, {"error": {"code": "BadRequest", "message": "The request body is not valid JSON."}})
        batch = payload if isinstance(payload, list) else [payload]
        if not all(isinstance(e, dict) for e in batch):
            return Response(400, {"error": {"code": "BadRequest", "message": "Events must be JSON objects."}})
        with self._lock:
            self._notifications.extend(batch)
        return Response(200)

    def _sas_key_ok(self, headers: Any) -> bool:
        key = headers.get("aeg-sas-key")
        return bool(key) and hmac.compare_digest(key.encode(), self.topic_key.encode())

    def _sas_token_ok(self, headers: Any) -> bool:
        # "r=<resource>&e=<expiry>&s=<signature>", signed with HMAC-SHA256 over "r=...&e=..." (azure-eventgrid's generate_sas).
        token = headers.get("aeg-sas-token") or ""
        unsigned, sep, sig = token.rpartition("&s=")
        if not sep:
            return False
        expected = base64.b64encode(hmac.new(base64.b64decode(self.topic_key), unsigned.encode(), hashlib.sha256).digest())
        fields = dict(parse_qsl(unsigned))
        try:
            fresh = dt_parse_expiry(fields.get("e", "")) > time.time()
        except ValueError:
            return False
        return fresh and hmac.compare_digest(unquote(sig).encode(), expected)

    def _arm_call(self, method: str, path: str, query: dict[str, str], headers: Any, raw: bytes) -> Response:
        started = time.monotonic()
        is_poll = Arm.is_operation_poll(path)
        body: Any = None
        resp: Response | None = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                resp = Response(400, ArmError(400, "InvalidRequestContent",
                                              "The request content was invalid and could not be deserialized.").body())
        caller = self._caller(headers)
        if resp is None and caller is None:
            resp = self._unauthorized(headers)
        if resp is None and caller is not None:
            # ARM authorizes before the resource provider (or a fault) sees the request.
            denied = self.authz.check(client_id=caller.client_id, principal_id=caller.principal_id,
                                      method=method, path=path, body=body)
            if denied is not None:
                resp = Response(denied.status, denied.body())
        fault = self.faults.take(method, path) if resp is None else None
        if fault and fault.latency_s:
            time.sleep(fault.latency_s)
        budget = self._spend(method, path, caller) if resp is None and caller is not None else None
        if budget is not None and budget[0] is not None:
            resp = budget[0]
        if resp is None and fault and fault.status is not None and not fault.accepts:
            resp = Response(fault.status, {"error": {"code": fault.code, "message": fault.message}},
                            {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {})
            resp.headers.update(fault.headers)
        with self._lock:
            if resp is None:
                assert caller is not None
                if fault and fault.before_serving:
                    fault.before_serving(self, method, path, body)  # another writer's change lands first
                existing = self._arm.store.get(path) if fault and fault.operation_error else None
                before = copy.deepcopy(existing.body) if existing is not None else None
                req = ArmRequest(method, path, query, headers, body, Caller(caller.client_id, caller.principal_id), self.url)
                resp = self._subscription(method, path) or self._arm.handle(req)
                if fault and fault.accepts and resp.status < 400:
                    resp = Response(fault.status, None, {})
                if fault and fault.operation_error and resp.status < 400:
                    self._fail_operation(resp, path, before, fault.operation_error)
                if fault and fault.headers:
                    resp.headers.update(fault.headers)
            operation = self._operation_of(resp)
            sync_delay = 0.0 if operation or method not in WRITE_METHODS or resp.status >= 400 else self._arm.timing.sync()
        if sync_delay:
            time.sleep(sync_delay)  # outside the lock: other callers go on meanwhile
        completed = operation.done_at if operation else time.monotonic()
        with self._lock:
            self._requests.append(RecordedRequest(method, path.rstrip("/") or path, query.get("api-version"), resp.status,
                                                  resource_type_of(path), body, is_poll, started, completed))
            if caller is not None and resp.status < 400:
                self._operations.add((caller.client_id, method, resource_type_of(path)))
            if method in WRITE_METHODS and not is_poll:
                self.faults.observe(self, method, path, resp.status)
        if budget is not None:
            resp.headers[f"x-ms-ratelimit-remaining-subscription-{kind_of(method)}"] = str(budget[1])
        reads = method in ("GET", "HEAD")
        resp.headers.setdefault(f"x-ms-ratelimit-remaining-subscription-{'reads' if reads else 'writes'}",
                                "11999" if reads else "1199")
        return resp

    def _spend(self, method: str, path: str, caller: _Token) -> tuple[Response | None, int] | None:
        """Take a token from ARM's bucket (emulator/throttle.py); a 429 when it is empty."""
        parts = path.split("/", 3)
        if not self.throttle.enabled or len(parts) < 3 or parts[1].lower() != "subscriptions":
            return None
        allowed, remaining, retry_after = self.throttle.take(parts[2], caller.principal_id, method)
        if allowed:
            return None, remaining
        # 429 + Retry-After (request-limits-and-throttling); the code and message are our guess.
        return Response(429, {"error": {"code": "TooManyRequests",
                                        "message": "The request is being throttled as the limit has been reached "
                                                   f"for operation type - {kind_of(method).capitalize()}."}},
                        {"Retry-After": str(retry_after)}), 0

    def _resource_graph(self, method: str, headers: Any, raw: bytes) -> Response:
        """Resource Graph's Resources operation over every stored resource (emulator/resourcegraph.py)."""
        caller = self._caller(headers)
        if caller is None:
            return self._unauthorized(headers)
        # Injected faults (emulator/faults.py) apply to Resource Graph's path as to ARM's.
        fault = self.faults.take(method, resourcegraph.PATH)
        if fault and fault.status is not None and not fault.accepts:
            return Response(fault.status, {"error": {"code": fault.code, "message": fault.message}},
                            {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {})
        allowed, quota = self.graph_quota.take(caller.principal_id)
        if not allowed:
            err, quota_headers = resourcegraph.throttled(quota)
            with self._lock:
                self._requests.append(RecordedRequest("POST", resourcegraph.PATH, None, 429,
                                                      "Microsoft.ResourceGraph/resources", None))
            return Response(429, err.body(), quota_headers)
        if method != "POST":
            return Response(405, {"error": {"code": "MethodNotAllowed", "message": "Use POST."}})
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            return Response(400, ArmError(400, "InvalidRequestContent", "The request body is not valid JSON.").body())

        def rows() -> list[dict]:
            out = []
            for record in self._arm.store.all_tracked():
                rendered = self._arm.store.render(record.id)
                if rendered is not None:
                    out.append(resourcegraph.graph_row(rendered))
            return out

        with self._lock:
            try:
                answer = resourcegraph.query(body, all_resources=rows, management_groups=self.management_groups)
                given = ((body or {}).get("options") or {}).get("$skipToken") if isinstance(body, dict) else None
                if self.graph_stuck_paging and given and answer.get("$skipToken"):
                    answer["$skipToken"] = given
                too_large = resourcegraph.payload_too_large(answer, self.graph_payload_limit)
                if too_large:
                    raise too_large
            except ArmError as err:
                resp = Response(err.status, err.body(), dict(quota))
            else:
                resp = Response(200, answer, dict(quota))
            self._requests.append(RecordedRequest("POST", resourcegraph.PATH, None, resp.status,
                                                  "Microsoft.ResourceGraph/resources", body))
        return resp
    def _subscription(self, method: str, path: str) -> Response | None:
        """Subscriptions – Get (emulator/subscriptions.py); ``None`` for any other request."""
        match = subscriptions.PATH_RE.match(path.rstrip("/"))
        if not match or method != "GET":
            return None
        known = self.subscriptions | {r.id.split("/")[2] for r in self._arm.store.all_tracked()}
        try:
            return Response(200, subscriptions.get(match.group("sub"), known=known, tenant_id=self.tenant_id))
        except ArmError as err:
            return Response(err.status, err.body())

    def _fail_operation(self, resp: Response, path: str, before: dict | None, error: dict) -> None:
        """End the write's operation ``Failed`` (emulator/faults.py ``operation_failed``)."""
        operation = self._operation_of(resp)
        if operation is None:
            return  # a synchronous write cannot end Failed later
        operation.status, operation.error = "Failed", dict(error)
        record = self._arm.store.get(path)
        if record is not None and "provisioningState" in record.props:
            record.props["provisioningState"] = "Failed"
        elif record is not None and before is not None:
            self._arm.store.put(record.id, record.type, before, keep_etag=True)  # rolled back
        elif record is not None:
            self._arm.store.delete(record.id)

    def _operation_of(self, resp: Response) -> Any:
        url = resp.headers.get("Azure-AsyncOperation")
        return self._arm.operations.get(urlsplit(url).path.rsplit("/", 1)[-1]) if url else None

    @staticmethod
    def _unauthorized(headers: Any) -> Response:
        # ARM's two flavours: no header at all vs a token it did not issue.
        if not headers.get("Authorization"):
            err = ArmError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
        else:
            err = ArmError(401, "InvalidAuthenticationToken", "The access token is invalid.")
        return Response(401, err.body(), {"WWW-Authenticate": 'Bearer authorization_uri="https://login.microsoftonline.com/", '
                                                               'error="invalid_token", error_description="The access token is invalid."'})


def dt_parse_expiry(value: str) -> float:
    """Expiry in an Event Grid SAS token: ``str(datetime)`` as azure-eventgrid's generate_sas writes it."""
    text = unquote(value)
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        parsed = dt.datetime.strptime(text, "%m/%d/%Y %I:%M:%S %p")  # the service's documented format
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.timestamp()
