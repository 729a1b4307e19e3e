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
    | project col, col, …
    | order by id asc
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any, Callable, Iterable, Mapping

from .errors import ArmError

PATH = "/providers/microsoft.resourcegraph/resources"
DEFAULT_TOP = 100
MAX_TOP = 1000

_STRING = r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""
_WHERE_IN = re.compile(rf"^where\s+(\w+)\s+in~\s*\((?P<values>(?:\s*(?:{_STRING})\s*,?)*)\)$", re.IGNORECASE)
_WHERE_EQ = re.compile(rf"^where\s+(\w+)\s*=~\s*(?P<value>{_STRING})$", re.IGNORECASE)
_PROJECT = re.compile(r"^project\s+(?P<cols>\w+(?:\s*,\s*\w+)*)$", re.IGNORECASE)
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
        self.columns: list[str] | None = None
        self.order: tuple[str, bool] | None = None
        for stage in stages[1:]:
            stage = " ".join(stage.split())
            if m := _WHERE_IN.match(stage):
                values = frozenset(_unquote(v).lower() for v in _STRINGS.findall(m.group("values")))
                self.filters.append((m.group(1), values))
            elif m := _WHERE_EQ.match(stage):
                self.filters.append((m.group(1), frozenset({_unquote(m.group("value")).lower()})))
            elif m := _PROJECT.match(stage):
                self.columns = [c.strip() for c in m.group("cols").split(",")]
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
            rows = [{c: r.get(c) for c in self.columns} for r in rows]
        return rows


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
    pageable = parsed.columns is None or "id" in parsed.columns
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
