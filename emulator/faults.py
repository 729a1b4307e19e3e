"""Fault injection: make matching ARM requests fail (or slow down) on purpose."""

from __future__ import annotations

import http
import threading
from dataclasses import dataclass, field
from typing import Iterator


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
        return (self.method == "*" or self.method.upper() == method.upper()) and self.path_contains.lower() in path.lower()

    @property
    def active(self) -> bool:
        return self.times is None or self.times > 0


class FaultList:
    """Thread-safe list of faults; the first active match wins and is consumed."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

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
