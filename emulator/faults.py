"""Fault injection: make matching ARM requests fail (or slow down) on purpose."""

from __future__ import annotations

import http
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator


@dataclass
class Fault:
    """Answer matching requests with an ARM error instead of serving them.

    ``method`` is an HTTP method or "*"; ``path_contains`` a case-insensitive substring of the
    path (query excluded). ``times`` is how many requests it hits (None: every one).
    ``status=None`` with ``latency_s`` only delays the request, which is then served normally.
    A success ``status`` (below 400, e.g. 202) serves the request, then answers with that
    status and no body: ARM's "accepted" shape that some non-LRO operations document.
    """

    method: str = "*"
    path_contains: str = ""
    status: int | None = None
    code: str = ""
    message: str = ""
    retry_after: int | None = None
    times: int | None = 1
    latency_s: float = 0.0
    #: Match the whole path (case-insensitive) instead of a substring: one step of a plan, not its children.
    exact: bool = False
    #: Extra headers on the fault's answer (e.g. a remaining-budget header of 0 on a 429).
    headers: dict[str, str] = field(default_factory=dict)
    #: Serve the request, then end its long-running operation ``Failed`` with this ``error``
    #: object (``{"code", "message"}``); see :func:`operation_failed`. No effect on a synchronous write.
    operation_error: dict[str, str] | None = None
    #: Called with the emulator, the method, the path and the parsed body just before the request
    #: is served (under the emulator's lock): another writer's change lands between our read and
    #: our write. See :func:`concurrent_writer`.
    before_serving: Callable[[Any, str, str, Any], None] | None = None
    hits: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if not self.code and self.status is not None:
            self.code = http.HTTPStatus(self.status).phrase.replace(" ", "") if self.status in http.HTTPStatus._value2member_map_ else "Error"
        if not self.message and self.status is not None:
            self.message = f"Injected fault ({self.code})."

    @property
    def accepts(self) -> bool:
        """Serve the request, but answer ``status`` with an empty body."""
        return self.status is not None and self.status < 400

    def matches(self, method: str, path: str) -> bool:
        if not (self.method == "*" or self.method.upper() == method.upper()):
            return False
        if self.exact:
            return self.path_contains.lower().rstrip("/") == path.lower().rstrip("/")
        return self.path_contains.lower() in path.lower()

    @property
    def active(self) -> bool:
        return self.times is None or self.times > 0


#: ``observer(emulator, method, path, status)``, called after every ARM write is served (under the lock).
WriteObserver = Callable[[Any, str, str, int], None]


class FaultList:
    """Thread-safe list of faults; the first active match wins and is consumed.

    Also holds write observers (:meth:`watch`): a test that must judge the state *at the moment*
    of a write (e.g. "public access went off only once every endpoint was ready") registers one.
    """

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._observers: list[WriteObserver] = []
        self._lock = threading.Lock()

    def watch(self, observer: WriteObserver) -> None:
        """Call ``observer`` after every ARM write (PUT, PATCH, DELETE, POST) is answered; cleared by :meth:`clear`."""
        with self._lock:
            self._observers.append(observer)

    def observe(self, emulator: Any, method: str, path: str, status: int) -> None:
        with self._lock:
            observers = list(self._observers)
        for observer in observers:
            observer(emulator, method, path, status)

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self._observers.clear()

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.active and fault.matches(method, path):
                    if fault.times is not None:
                        fault.times -= 1
                    fault.hits += 1
                    return fault
        return None

    def __iter__(self) -> Iterator[Fault]:
        with self._lock:
            return iter(list(self._faults))

    def __len__(self) -> int:
        with self._lock:
            return len(self._faults)


def cosmos_exclusive_lock(account_name: str, *, method: str = "PATCH", times: int | None = 1) -> Fault:
    """Cosmos DB's answer to a write while another update of the account runs.

    Status, code and wording from real responses (hashicorp/terraform-provider-azurerm#15842,
    #17233): 412 ``PreconditionFailed`` "There is another user operation in progress which
    requires an exclusive lock on [<account>]. Please retry after sometime." The emulator applies
    writes at once, so a concurrent update is modelled by injecting this answer.
    """
    return Fault(method=method, path_contains=f"/Microsoft.DocumentDB/databaseAccounts/{account_name}", status=412,
                 code="PreconditionFailed",
                 message=(f"There is another user operation in progress which requires an exclusive lock on "
                          f"[{account_name}]. Please retry after sometime.\r\nActivityId: "
                          "838da911-2724-4636-a27a-3da6527c29b7, Microsoft.Azure.Documents.Common/2.14.0"),
                 times=times)


def slow_subnet_put(seconds: float) -> Fault:
    """Every subnet PUT waits ``seconds`` between the request body arriving and its commit.

    Widens the read-merge-write window so that a lost update between two writers of one
    subnet (the Network RP ignores If-Match on subnets, azure-rest-api-specs#6789) becomes
    observable. The wait happens outside the emulator's lock, so other requests (the other
    writer's GET) are served meanwhile.
    """
    return Fault(method="PUT", path_contains="/subnets/", latency_s=seconds, times=None)


# -- generic fault classes (the deterministic simulation, tests/test_simulation.py, injects each at every step) --

def remaining_header(method: str) -> str:
    """ARM's remaining-budget header for a request's kind (reads, writes, deletes)."""
    kind = "reads" if method.upper() in ("GET", "HEAD") else "deletes" if method.upper() == "DELETE" else "writes"
    return f"x-ms-ratelimit-remaining-subscription-{kind}"


def throttled(method: str, path_contains: str, *, retry_after: int = 0, times: int | None = 1) -> Fault:
    """A 429 with ``Retry-After`` and a remaining budget of 0, as ARM answers past its token bucket.

    learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling: "When you
    reach the limit, you receive the HTTP status code 429 Too many requests", with ``Retry-After`` (seconds)
    and the ``x-ms-ratelimit-remaining-subscription-<kind>`` headers. The error code ``TooManyRequests``
    is the one the throttle (emulator/throttle.py) uses, a guess. ``retry_after=0`` keeps a test off the wall
    clock (an answer of Retry-After: 0 is allowed by RFC 9110 §10.2.3: "delay-seconds", a non-negative integer).
    """
    return Fault(method=method, path_contains=path_contains, status=429, code="TooManyRequests",
                 message="The request is being throttled as the limit has been reached for this operation type.",
                 retry_after=retry_after, times=times, headers={remaining_header(method): "0"})


def remaining_zero(method: str, path_contains: str, *, times: int | None = 1) -> Fault:
    """Serve the request, but report a remaining budget of 0 for its kind: the bucket's floor.

    learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling: every response
    carries ``x-ms-ratelimit-remaining-subscription-<kind>``, the requests left in the bucket; another client
    of the same identity can have drained it, so our very first answer may say 0 (issue 13).
    """
    return Fault(method=method, path_contains=path_contains, times=times, headers={remaining_header(method): "0"})


def server_error(method: str, path_contains: str, *, status: int = 503, times: int | None = 1) -> Fault:
    """A transient 5xx from the front door or the resource provider.

    ARM's guidance: 500, 502, 503 and 504 are transient and a client retries them
    (learn.microsoft.com/azure/architecture/best-practices/retry-service-specific, "Azure Resource
    Manager"; azure-core's RetryPolicy retries exactly these by default). The codes are the HTTP phrases.
    """
    return Fault(method=method, path_contains=path_contains, status=status, times=times)


# Codes a private endpoint's (or its target's) operation ends ``Failed`` with, from the sources issue 13 quotes:
# StorageAccountOperationInProgress (Azure/bicep-registry-modules#6001), ReferencedResourceNotProvisioned and
# RetryableError (hashicorp/terraform-provider-azurerm#21293, #30197).
OPERATION_FAILED_CODES = ("RetryableError", "ReferencedResourceNotProvisioned", "StorageAccountOperationInProgress")


def operation_failed(method: str, path_contains: str, *, code: str = "RetryableError",
                     message: str = "", times: int | None = 1) -> Fault:
    """Accept a long-running write, then end its operation ``Failed``.

    learn.microsoft.com/azure/azure-resource-manager/management/async-operations: the status resource
    reports ``"status": "Failed"`` with an ``error`` object once the operation ends; the resource itself
    keeps ``provisioningState: Failed`` (Network RP resources: a private endpoint "in Failed state", as the
    terraform issues above show). For a type without ``provisioningState`` the write is rolled back: the
    operation failed, nothing changed (our guess, emulator/README.md).
    """
    return Fault(method=method, path_contains=path_contains, times=times,
                 operation_error={"code": code, "message": message or f"Injected operation failure ({code})."})


def forbidden(method: str, path_contains: str, *, code: str = "AuthorizationFailed", message: str = "") -> Fault:
    """A permanent 403: the identity lacks an action (every matching request, for good).

    learn.microsoft.com/azure/azure-resource-manager/troubleshooting/error-register-resource-provider and
    .../troubleshooting/common-deployment-errors list ``AuthorizationFailed`` (the caller's own action) and
    ``LinkedAuthorizationFailed`` (an action on a linked resource, e.g. ``privateDnsZones/join/action`` for
    a zone group; MicrosoftDocs/azure-docs#96892), both 403.
    """
    return Fault(method=method, path_contains=path_contains, status=403, code=code, times=None,
                 message=message or f"The client does not have authorization to perform this action ({code}).")


def concurrent_writer(method: str, path_contains: str, change: Callable[[Any, str, str, Any], None], *,
                      times: int | None = 1) -> Fault:
    """Someone else changes the resource between our read and our write; our write is then served as ARM would.

    ``change(emulator, method, path, body)`` runs just before our request is served. The common writers
    are Azure Policy (ALZ's Deploy-Private-DNS-Zones DeployIfNotExists writes a ``deployedByPolicy`` zone group
    on every new endpoint: github.com/Azure/Enterprise-Scale wiki "ALZ-Policies", policy definition
    Deploy-Private-DNS-Zones), a second instance of ourselves handling a duplicate event (Event Grid delivers
    at least once: learn.microsoft.com/azure/event-grid/delivery-and-retry), and a person in the portal.
    """
    return Fault(method=method, path_contains=path_contains, times=times, before_serving=change)
