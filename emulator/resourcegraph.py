"""Azure Resource Graph's ``POST /providers/Microsoft.ResourceGraph/resources``, for the KQL we send.

Request and response shapes: azure-rest-api-specs
``specification/resourcegraph/resource-manager/Microsoft.ResourceGraph/stable/2021-03-01/resourcegraph.json``,
operation ``Resources`` (``QueryRequest {subscriptions[], managementGroups[], query, options
{$skipToken, $top (1..1000), $skip, resultFormat}}`` → ``QueryResponse {totalRecords, count,
resultTruncated ("true"|"false"), $skipToken, data, facets}``); the api-version the SDK sends.

Paging (learn.microsoft.com/azure/governance/resource-graph/concepts/work-with-data):
- a page holds ``$top`` rows, at most 1,000; without ``$top`` the service answers 100;
- ``$skipToken`` is returned when more rows remain, and only when the query projects ``id``
  (otherwise the result is cut at one page and ``resultTruncated`` is ``"true"``);
- the token is opaque; a client passes it back with the same query.

Rows are the rendered ARM GET view (``properties`` included) plus Resource Graph's own columns
``subscriptionId`` and ``resourceGroup``; ``type`` is lower-case in Resource Graph (every
starter query compares it with ``=~``: learn.microsoft.com/azure/governance/resource-graph/samples/starter).

The KQL subset (anything else answers 400 ``BadRequest`` / ``InvalidQuery``; see README "guesses")::

    Resources
    | where type in~ ('a', 'b')          | where type =~ 'a'
    | where resourceGroup =~ 'rg'        | where id =~ '/subscriptions/…'
    | project col, col, alias = properties.a.b, …   (a dotted path that is absent projects null, as in KQL)
    | order by id asc

Limits (learn.microsoft.com/azure/governance/resource-graph/concepts/guidance-for-throttled-requests,
"Understand throttling headers"; /work/shared/azure-facts.md "Resource Graph"):
- a user may send 15 queries in every 5-second window; every answer carries
  ``x-ms-user-quota-remaining`` (int) and ``x-ms-user-quota-resets-after`` (hh:mm:ss). Over the quota the
  answer is 429. Learn names no ``Retry-After`` on it, so none is sent (the stricter reading: azure-core's
  retry policy then does not retry a POST); the error code ``RateLimiting`` is a guess (README).
- an answer above 16 MB fails with 400 ``ResponsePayloadTooLarge`` (learn.microsoft.com/azure/governance/
  resource-graph/troubleshoot/general; the exact message is a guess).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from typing import Any, Callable, Iterable, Mapping

from .errors import ArmError

PATH = "/providers/microsoft.resourcegraph/resources"
DEFAULT_TOP = 100
MAX_TOP = 1000

_STRING = r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""
_WHERE_IN = re.compile(rf"^where\s+(\w+)\s+in~\s*\((?P<values>(?:\s*(?:{_STRING})\s*,?)*)\)$", re.IGNORECASE)
_WHERE_EQ = re.compile(rf"^where\s+(\w+)\s*=~\s*(?P<value>{_STRING})$", re.IGNORECASE)
_COLUMN = r"\w+(?:\s*=\s*\w+(?:\.\w+)*)?"
_PROJECT = re.compile(rf"^project\s+(?P<cols>{_COLUMN}(?:\s*,\s*{_COLUMN})*)$", re.IGNORECASE)
_ORDER = re.compile(r"^(?:order|sort)\s+by\s+(\w+)(?:\s+(asc|desc))?$", re.IGNORECASE)
_STRINGS = re.compile(_STRING)


def _invalid(message: str) -> ArmError:
    # The service answers a query it cannot parse with 400; the exact code and message here
    # are the emulator's choice (README "guesses").
    return ArmError(400, "BadRequest", f"Query is invalid: {message}")


def _unquote(text: str) -> str:
    return text[1:-1].replace("\\'", "'").replace('\\"', '"')


class _Query:
    """A parsed query: filters (column, allowed lower-cased values), projection, order."""

    def __init__(self, text: str) -> None:
        stages = [s.strip() for s in text.strip().split("|")]
        if not stages or stages[0].lower() != "resources":
            raise _invalid("only the Resources table is supported")
        self.filters: list[tuple[str, frozenset[str]]] = []
        # (output name, path into the row): ``col`` is (col, [col]); ``a = properties.x`` is (a, [properties, x]).
        self.columns: list[tuple[str, list[str]]] | None = None
        self.order: tuple[str, bool] | None = None
        for stage in stages[1:]:
            stage = " ".join(stage.split())
            if m := _WHERE_IN.match(stage):
                values = frozenset(_unquote(v).lower() for v in _STRINGS.findall(m.group("values")))
                self.filters.append((m.group(1), values))
            elif m := _WHERE_EQ.match(stage):
                self.filters.append((m.group(1), frozenset({_unquote(m.group("value")).lower()})))
            elif m := _PROJECT.match(stage):
                self.columns = []
                for col in m.group("cols").split(","):
                    name, _, path = (part.strip() for part in col.partition("="))
                    self.columns.append((name, (path or name).split(".")))
            elif m := _ORDER.match(stage):
                self.order = (m.group(1), (m.group(2) or "desc").lower() == "desc")  # KQL sorts desc by default
            else:
                raise _invalid(f"unsupported operator in {stage[:80]!r}")

    def rows(self, source: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        rows = [dict(r) for r in source
                if all(str(r.get(col, "")).lower() in allowed for col, allowed in self.filters)]
        if self.order:
            col, desc = self.order
            rows.sort(key=lambda r: str(r.get(col, "")).lower(), reverse=desc)
        if self.columns is not None:
            rows = [{name: _at(r, path) for name, path in self.columns} for r in rows]
        return rows

    @property
    def names(self) -> list[str] | None:
        return None if self.columns is None else [name for name, _ in self.columns]


def _at(row: Mapping[str, Any], path: list[str]) -> Any:
    value: Any = row
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def graph_row(body: Mapping[str, Any]) -> dict[str, Any]:
    """One Resources-table row from an ARM GET view."""
    parts = str(body["id"]).split("/")
    return {
        "id": body["id"],
        "name": body.get("name"),
        "type": str(body.get("type", "")).lower(),
        "kind": body.get("kind", ""),
        "location": body.get("location", ""),
        # Resource Graph reports the group lower-cased (ResourcesBasicQuery.json shows "resourceGroup": "…").
        "resourceGroup": parts[4].lower() if len(parts) > 4 else "",
        "subscriptionId": parts[2].lower() if len(parts) > 2 else "",
        "tags": body.get("tags") or {},
        "sku": body.get("sku"),
        "properties": body.get("properties") or {},
    }


def _token(skip: int, fingerprint: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"skip": skip, "q": fingerprint}).encode()).decode()


def _untoken(token: str, fingerprint: str) -> int:
    try:
        body = json.loads(base64.urlsafe_b64decode(token.encode()))
        skip, q = int(body["skip"]), body["q"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ArmError(400, "BadRequest", "The $skipToken is invalid.") from exc
    if q != fingerprint:
        raise ArmError(400, "BadRequest", "The $skipToken does not belong to this query.")
    return skip


def query(body: Any, *, all_resources: Callable[[], Iterable[Mapping[str, Any]]],
          management_groups: Mapping[str, Iterable[str]]) -> dict[str, Any]:
    """Answer one QueryRequest; raises :class:`ArmError` for a request the service would refuse."""
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        raise ArmError(400, "BadRequest", "The request body must be a QueryRequest with a 'query'.")
    subs = {s.lower() for s in body.get("subscriptions") or ()}
    for group in body.get("managementGroups") or ():
        if group.lower() not in management_groups:
            raise ArmError(403, "AuthorizationFailed", f"No access to management group '{group}'.")
        subs |= {s.lower() for s in management_groups[group.lower()]}
    if not body.get("subscriptions") and not body.get("managementGroups"):
        # Tenant-scope queries exist, but we always scope; refuse rather than guess the tenant.
        raise ArmError(400, "BadRequest", "Give 'subscriptions' or 'managementGroups'.")
    options = body.get("options") or {}
    fmt = options.get("resultFormat", "objectArray")
    if fmt != "objectArray":
        raise ArmError(400, "BadRequest", "Only resultFormat 'objectArray' is emulated.")
    top = int(options.get("$top") or DEFAULT_TOP)
    if not 1 <= top <= MAX_TOP:
        raise ArmError(400, "BadRequest", f"$top must be between 1 and {MAX_TOP}.")
    parsed = _Query(body["query"])
    fingerprint = hashlib.sha256(json.dumps([body["query"], sorted(subs)]).encode()).hexdigest()[:16]
    skip = int(options.get("$skip") or 0)
    if options.get("$skipToken"):
        skip = _untoken(options["$skipToken"], fingerprint)
    rows = parsed.rows(r for r in all_resources() if r["subscriptionId"] in subs)
    page = rows[skip:skip + top]
    more = skip + top < len(rows)
    pageable = parsed.names is None or "id" in parsed.names
    answer: dict[str, Any] = {
        "totalRecords": len(rows),
        "count": len(page),
        "resultTruncated": "true" if more and not pageable else "false",
        "data": page,
        "facets": [],
    }
    if more and pageable:
        answer["$skipToken"] = _token(skip + top, fingerprint)
    return answer


# Resource Graph's answer size limit (learn.microsoft.com/azure/governance/resource-graph/troubleshoot/general).
MAX_PAYLOAD_BYTES = 16 * 1024 * 1024


def payload_too_large(answer: Mapping[str, Any], limit: int) -> ArmError | None:
    """The 400 Resource Graph answers instead of a result above ``limit`` bytes, or ``None``."""
    size = len(json.dumps(answer, separators=(",", ":")).encode())
    if size <= limit:
        return None
    # Code from the troubleshooting page; the message wording is the emulator's (README "guesses").
    return ArmError(400, "ResponsePayloadTooLarge",
                    f"Response payload size is {size} bytes, which exceeds the limit of {limit} bytes. "
                    "Reduce the number of rows ($top) or the projected columns.")


class UserQuota:
    """Resource Graph's per-user query quota: ``limit`` queries per ``window_s`` window, per principal.

    A window starts at a user's first query and the count resets when it ends (Learn's example:
    remaining 10 with 00:00:03 to go; three seconds later 15 and 00:00:05). ``now`` is injectable.
    """

    def __init__(self, *, limit: int = 15, window_s: float = 5.0, now: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window_s = window_s
        self._now = now
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}  # principal -> (window start, queries used)

    def configure(self, *, limit: int = 15, window_s: float = 5.0, now: Callable[[], float] | None = None) -> None:
        """Set the quota (Learn's example by default) and, for tests, the clock; forgets every window."""
        with self._lock:
            self.limit, self.window_s = limit, window_s
            self._now = now or time.monotonic
            self._windows.clear()

    def take(self, principal: str) -> tuple[bool, dict[str, str]]:
        """Count one query: (allowed, the two quota headers)."""
        with self._lock:
            now = self._now()
            start, used = self._windows.get(principal, (now, 0))
            if now - start >= self.window_s:
                start, used = now, 0
            allowed = used < self.limit
            if allowed:
                used += 1
            self._windows[principal] = (start, used)
            left = max(0.0, self.window_s - (now - start))
        whole = int(-(-left // 1))  # hh:mm:ss has whole seconds: round up, never promise early
        return allowed, {"x-ms-user-quota-remaining": str(self.limit - used),
                         "x-ms-user-quota-resets-after": f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"}


def throttled(headers: Mapping[str, str]) -> tuple[ArmError, dict[str, str]]:
    """The 429 over the quota: the quota headers, and deliberately no Retry-After (see the module docstring)."""
    return ArmError(429, "RateLimiting", "Please provide below info when asking for support: the request was "
                                         "throttled by the user quota; see x-ms-user-quota-resets-after."), dict(headers)
