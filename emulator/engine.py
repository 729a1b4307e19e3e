"""The generic ARM engine: one code path for every resource type, driven by ``catalog.RULES``.

Protocol behaviour modelled here (sources in README.md):
- PUT replaces the user-settable state; read-only properties are kept / recomputed.
- PATCH is a JSON merge patch (RFC 7386) over the current GET view, then treated as that PUT.
- If-Match / If-None-Match on writes; 412 PreconditionFailed.
- Long-running writes answer with ``Azure-AsyncOperation`` + ``Retry-After: 0``; the status
  resource answers ``{"status": "Succeeded"}`` (or ``Failed`` + error for async validation).
- Tags via the ``Microsoft.Resources/tags/default`` extension resource.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from . import catalog, ids, rules
from .errors import ArmError, bad_request, not_found, parent_not_found, precondition_failed
from .rules import Rule, Write, get_in, merge_patch
from .store import Store
from .timing import Timing

log = logging.getLogger(__name__)

# Each provider answers long-running writes with its own status URL, and polling
# it needs that URL's read action (e.g. Microsoft.Network/locations/operations/read),
# so the emulator hands out the same shapes real responses carry.
_STATUS_PATHS = (  # (type prefix, template), longest prefix first
    ("microsoft.network/privatednszones",
     "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/privateDnsOperationStatuses/{op}"),
    ("microsoft.sql/servers/virtualnetworkrules",
     "/subscriptions/{sub}/providers/Microsoft.Sql/locations/{loc}/virtualNetworkRulesAzureAsyncOperation/{op}"),
    ("microsoft.sql/servers",
     "/subscriptions/{sub}/providers/Microsoft.Sql/locations/{loc}/serverAzureAsyncOperation/{op}"),
    ("microsoft.documentdb/databaseaccounts",
     "/subscriptions/{sub}/providers/Microsoft.DocumentDB/locations/{loc}/operationsStatus/{op}"),
)
_DEFAULT_STATUS_PATH = "/subscriptions/{sub}/providers/{ns}/locations/{loc}/operations/{op}"
OPERATION_RE = re.compile(
    r"^/subscriptions/[^/]+/(?:providers/[^/]+/locations/[^/]+/"
    r"(?:operations|serverAzureAsyncOperation|virtualNetworkRulesAzureAsyncOperation|operationsStatus)"
    r"|resourceGroups/[^/]+/providers/Microsoft\.Network/privateDnsOperationStatuses)/(?P<op>[^/]+)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Caller:
    client_id: str
    principal_id: str


@dataclass
class ArmRequest:
    method: str
    path: str  # no query, original casing
    query: Mapping[str, str]
    headers: Mapping[str, str]  # case-insensitive mapping
    body: Any
    caller: Caller
    base_url: str


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    #: ``time.monotonic()`` at which a long-running write's operation finishes.
    completes_at: float | None = None


@dataclass
class Operation:
    id: str
    status: str  # the final status, reported once done_at has passed
    error: dict | None = None
    done_at: float = 0.0


EventSink = Callable[[str, str, Caller], None]  # (subject, operationName, caller)


def _retry_after(seconds: float) -> dict[str, str]:
    """ARM's Retry-After is whole seconds; scaled-down durations also send ``retry-after-ms``,
    which azure-core's pollers read first (``azure.core.pipeline.policies._utils.get_retry_after``)."""
    if seconds <= 0:
        return {"Retry-After": "0"}
    return {"Retry-After": str(int(seconds)), "retry-after-ms": str(max(1, round(seconds * 1000)))}


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


class Arm:
    """ARM request handling over a :class:`Store`. Not thread-safe: the server serialises calls."""

    def __init__(self, raise_event: EventSink) -> None:
        self.store = Store(catalog.rule_for)
        self.operations: dict[str, Operation] = {}
        self.timing = Timing()
        self._raise_event = raise_event
        # Set to model an RP that does enforce If-Match where real Azure does not reliably (subnets).
        self.enforce_lax_if_match = False
        # Resources whose provider locks them while an update runs (Rule.exclusive_while_updating): key -> done_at.
        self._busy_until: dict[str, float] = {}

    def reset(self) -> None:
        self.store.clear()
        self.operations.clear()
        self._busy_until.clear()
        self.timing.reset()

    # -- entry points --------------------------------------------------------
    @staticmethod
    def is_operation_poll(path: str) -> bool:
        return OPERATION_RE.match(path.rstrip("/")) is not None

    def handle(self, req: ArmRequest) -> Response:
        try:
            resp = self._dispatch(req)
        except ArmError as err:
            resp = Response(err.status, err.body())
        log.debug("%s %s -> %s", req.method, req.path, resp.status)
        return resp

    def seed(self, resource_id: str, body: dict) -> dict:
        path = ids.parse(resource_id)
        if path is None or path.is_collection:
            raise ValueError(f"not an ARM resource id: {resource_id!r}")
        rule = catalog.rule_for(path.type)
        existing = self.store.get(resource_id)
        w = rules.prepare(self.store, rule, path, copy.deepcopy(body), existing.body if existing else None, "SEED")
        self._explode_embeds(rule, w)
        rules.commit(rule, w)
        return self.store.render(resource_id) or {}

    # -- dispatch --------------------------------------------------------------
    def _dispatch(self, req: ArmRequest) -> Response:
        path = req.path.rstrip("/")
        if "api-version" not in req.query:
            raise bad_request(
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        op = OPERATION_RE.match(path)
        if op and req.method == "GET":
            return self._operation_status(op.group("op"))
        tags = ids.TAGS_SUFFIX_RE.match(path)
        if tags:
            return self._tags(req, tags.group("target"))
        p = ids.parse(path)
        if p is None:
            raise ArmError(404, "NotFound", f"No route matches '{path}'.")
        if req.method == "POST":
            return self._action(req, p)
        rule = catalog.rule_for(p.type)
        if req.method in ("GET", "HEAD"):
            resp = self._list(p, rule) if p.is_collection else self._get(p)
            if req.method == "HEAD":
                return Response(204 if resp.status == 200 else resp.status)
            return resp
        if p.is_collection:
            raise ArmError(405, "MethodNotAllowed", f"{req.method} is not supported on a collection.")
        if req.method == "PUT":
            return self._put(req, p, rule)
        if req.method == "PATCH":
            return self._patch(req, p, rule)
        if req.method == "DELETE":
            return self._delete(req, p, rule)
        raise ArmError(405, "MethodNotAllowed", f"{req.method} is not supported.")

    # -- reads -------------------------------------------------------------------
    def _check_parent(self, p: ids.ArmPath) -> None:
        if p.is_child and not self.store.exists(p.parent_id):
            raise parent_not_found(p.parent_id)

    def _get(self, p: ids.ArmPath) -> Response:
        self._check_parent(p)
        body = self.store.render(p.raw)
        if body is None:
            raise not_found(catalog.canonical_type(p.type), p.name, p.resource_group)
        headers = {"ETag": body["etag"]} if isinstance(body.get("etag"), str) else {}
        return Response(200, body, headers)

    def _list(self, p: ids.ArmPath, rule: Rule) -> Response:
        self._check_parent(p)
        if p.is_child:
            recs = self.store.children(p.parent_id, p.types[-1])
            values = [self.store.render(r.id) for r in recs]
            for name in rule.list_implicit:
                if not any(r.id.rsplit("/", 1)[-1].lower() == name for r in recs):
                    implicit = self.store.render(ids.child_id(p.parent_id, p.types[-1], name))
                    if implicit is not None:
                        values.append(implicit)
        else:
            prefix = ids.key(p.parent_id) + "/"
            values = [self.store.render(r.id) for r in self.store.by_type(p.type) if ids.key(r.id).startswith(prefix)]
        return Response(200, {"value": values})

    def _operation_status(self, op_id: str) -> Response:
        op = self.operations.get(op_id)
        if op is None:
            raise ArmError(404, "OperationNotFound", f"The operation '{op_id}' was not found.")
        remaining = op.done_at - time.monotonic()
        if remaining > 0:
            # Still running: ARM answers 200 with "InProgress" and a Retry-After (async-operations doc).
            return Response(200, {"id": op.id, "name": op_id, "status": "InProgress", "startTime": _now()},
                            _retry_after(remaining))
        body: dict[str, Any] = {"id": op.id, "name": op_id, "status": op.status, "startTime": _now(), "endTime": _now()}
        if op.error:
            body["error"] = op.error
        return Response(200, body)

    # -- writes ------------------------------------------------------------------
    def _preconditions(self, req: ArmRequest, current_etag: str | None, exists: bool, *, if_match: bool = True) -> None:
        if_match_header = req.headers.get("If-Match") if if_match else None
        if if_match_header is not None:
            wanted = {t.strip() for t in if_match_header.split(",")}
            if not exists or ("*" not in wanted and current_etag not in wanted):
                raise precondition_failed()
        if_none = req.headers.get("If-None-Match")
        if if_none is not None and exists and (if_none.strip() == "*" or current_etag in {t.strip() for t in if_none.split(",")}):
            raise precondition_failed()

    def _explode_embeds(self, rule: Rule, w: Write) -> None:
        """Seeded bodies may carry children inline (foreign privateEndpointConnections, subnets)."""
        for emb in rule.embeds:
            items = w.props.get(emb.prop)
            if emb.writable or not isinstance(items, list):
                continue  # writable embeds are synced by the rule's own after_write hook
            child_type = f"{rule.type}/{emb.child}"
            for item in items:
                if not isinstance(item, dict):
                    continue
                name = item.get("name") or str(item.get("id") or uuid.uuid4()).rstrip("/").rsplit("/", 1)[-1]
                cid = ids.child_id(w.id, emb.child, name)
                child = {k: v for k, v in item.items() if k not in ("id", "name", "type")}
                self.store.put(cid, catalog.canonical_type(child_type), child, keep_etag=True)

    def _location_of(self, resource_id: str, body: dict | None) -> str:
        loc = (body or {}).get("location")
        rid = resource_id
        while not loc and rid.count("/") > 4:
            rid = rid.rsplit("/", 2)[0]
            rec = self.store.get(rid)
            loc = rec.body.get("location") if rec else None
        return str(loc or "global").replace(" ", "").lower()

    def _lro_headers(self, req: ArmRequest, p: ids.ArmPath, status: str, error: dict | None, location: str) -> dict[str, str]:
        op_id = str(uuid.uuid4())
        ns = p.namespace or "Microsoft.Resources"
        kind = (p.type or "").lower()
        template = next((t for prefix, t in _STATUS_PATHS if kind.startswith(prefix)), _DEFAULT_STATUS_PATH)
        op_path = template.format(sub=p.subscription, rg=p.resource_group, ns=ns, loc=location, op=op_id)
        duration = self.timing.lro(p.type or "")
        self.operations[op_id] = Operation(op_path, status, error, time.monotonic() + duration)
        if catalog.rule_for(p.type or "").exclusive_while_updating:
            self._busy_until[ids.key(p.raw)] = time.monotonic() + duration
        url = f"{req.base_url}{op_path}?api-version={req.query.get('api-version')}"
        return {"Azure-AsyncOperation": url, **_retry_after(duration)}

    def _respond_write(
        self, req: ArmRequest, p: ids.ArmPath, rule: Rule, status: int, lro: bool, operation: str
    ) -> Response:
        body = self.store.render(p.raw)
        headers: dict[str, str] = {}
        record = self.store.get(p.raw)
        # A hook may decide the accepted write's operation ends Failed (rules.FAILED_OPERATION): the
        # resource stays, in provisioningState Failed, and the status resource carries the error.
        failure = record.meta.pop(rules.FAILED_OPERATION, None) if record is not None else None
        if failure and record is not None and rule.provisioning_state:
            record.props["provisioningState"] = "Failed"
        if lro:
            headers = self._lro_headers(req, p, "Failed" if failure else "Succeeded", failure,
                                        self._location_of(p.raw, body))
            if body is not None and rule.provisioning_state:
                body["properties"]["provisioningState"] = "Updating"  # the initial LRO response, like the RPs
        self._raise_event(p.raw, operation, req.caller)
        return Response(status, None if status == 202 else body, headers)

    def _reject(self, req: ArmRequest, p: ids.ArmPath, rule: Rule, lro: bool, err: ArmError, status: int) -> Response:
        """Validation failed: synchronously, or through the operation status for async RPs."""
        if not (lro and rule.async_validation):
            raise err
        headers = self._lro_headers(req, p, "Failed", err.body()["error"], self._location_of(p.raw, req.body))
        return Response(status, None, headers)

    def _exclusive(self, rule: Rule, p: ids.ArmPath) -> None:
        """Cosmos DB refuses a write while another update of the account runs (Rule.exclusive_while_updating)."""
        if rule.exclusive_while_updating and self._busy_until.get(ids.key(p.raw), 0.0) > time.monotonic():
            raise ArmError(412, "PreconditionFailed",
                           f"There is another user operation in progress which requires an exclusive lock on "
                           f"[{p.name}]. Please retry after sometime.\r\nActivityId: {uuid.uuid4()}, "
                           "Microsoft.Azure.Documents.Common/2.14.0")

    def _put(self, req: ArmRequest, p: ids.ArmPath, rule: Rule) -> Response:
        self._check_parent(p)
        self._exclusive(rule, p)
        existing = self.store.get(p.raw)
        current = existing.body if existing else self.store.render(p.raw)  # implicit singletons count as existing
        self._preconditions(req, (current or {}).get("etag"), current is not None,
                            if_match=rule.if_match_enforced or self.enforce_lax_if_match)
        if rule.tracked and isinstance(req.body, dict) and not req.body.get("location"):
            raise bad_request("LocationRequired", "The location property is required for this definition.")
        w = rules.prepare(self.store, rule, p, req.body, existing.body if existing else None, "PUT")
        status = rule.put_status[0 if existing is None else 1]
        err = rules.validate(rule, w)
        if err:
            return self._reject(req, p, rule, rule.lro_put, err, status)
        rules.commit(rule, w)
        return self._respond_write(req, p, rule, status, rule.lro_put, f"{rule.type}/write")

    def _patch(self, req: ArmRequest, p: ids.ArmPath, rule: Rule) -> Response:
        self._check_parent(p)
        self._exclusive(rule, p)
        current = self.store.render(p.raw)
        if current is None:
            raise not_found(rule.type, p.name, p.resource_group)
        self._preconditions(req, current.get("etag"), True)
        if not isinstance(req.body, dict):
            raise bad_request("InvalidRequestContent", "The request content was invalid and could not be deserialized.")
        existing = self.store.get(p.raw)
        merged = merge_patch(current, req.body)
        w = rules.prepare(self.store, rule, p, merged, existing.body if existing else None, "PATCH")
        err = rules.validate(rule, w)
        if err:
            return self._reject(req, p, rule, rule.lro_patch, err, rule.patch_status)
        rules.commit(rule, w)
        return self._respond_write(req, p, rule, rule.patch_status, rule.lro_patch, f"{rule.type}/write")

    def _delete(self, req: ArmRequest, p: ids.ArmPath, rule: Rule) -> Response:
        rec = self.store.get(p.raw)
        if rec is None:
            self._check_parent(p)
            self._preconditions(req, None, False)
            return Response(204)  # ARM answers 204 for an absent resource
        self._preconditions(req, rec.body.get("etag"), True)
        for validator in rule.validate_delete:
            err = validator(self.store, rec)
            if err:
                raise err
        location = self._location_of(rec.id, rec.body)
        rules.delete_cascade(self.store, rec.id)
        self._raise_event(p.raw, f"{rule.type}/delete", req.caller)
        headers = self._lro_headers(req, p, "Succeeded", None, location) if rule.lro_delete else {}
        return Response(rule.delete_status, None, headers)

    def _action(self, req: ArmRequest, p: ids.ArmPath) -> Response:
        action = p.types[-1] if p.is_collection else ""
        target = self.store.get(p.parent_id) if action else None
        if target is None:
            raise ArmError(404, "ResourceNotFound", f"The resource for action '{p.raw}' was not found.")
        handler = catalog.rule_for(target.type).actions.get(action.lower())
        if handler is None:
            raise ArmError(404, "NotFound", f"Action '{action}' is not supported on '{target.type}'.")
        status, body = handler(self.store, target, req.body)
        self._raise_event(p.raw, f"{target.type}/{action}/action", req.caller)
        return Response(status, body)

    # -- tags extension resource ------------------------------------------------------
    def _tags(self, req: ArmRequest, target_id: str) -> Response:
        tags_path = req.path.rstrip("/")
        rec = self.store.get(target_id)
        if rec is None:
            implicit = self.store.render(target_id)
            p = ids.parse(target_id)
            if implicit is None or p is None:
                name = target_id.rstrip("/").rsplit("/", 1)[-1]
                raise not_found(p.type if p else "resource", name, p.resource_group if p else None)
            rec = self.store.put(target_id, catalog.canonical_type(p.type), implicit)  # materialise e.g. a resource group
        tags = dict(rec.body.get("tags") or {})
        if req.method in ("PUT", "PATCH", "DELETE"):
            body = req.body if isinstance(req.body, dict) else {}
            given = get_in(body, "properties", "tags", default={}) or {}
            if not isinstance(given, dict):
                raise bad_request("InvalidRequestContent", "properties.tags must be an object.")
            if req.method == "PUT":
                tags = dict(given)
            elif req.method == "DELETE":
                tags = {}
            else:
                operation = str(body.get("operation", "")).lower()
                if operation == "merge":
                    tags.update(given)
                elif operation == "replace":
                    tags = dict(given)
                elif operation == "delete":
                    # Deletes the named tags; a given value must match (documented name/value-pair semantics).
                    tags = {k: v for k, v in tags.items() if not (k in given and given[k] in ("", None, v))}
                else:
                    raise bad_request("InvalidRequestContent", "'operation' must be one of Merge, Replace, Delete.")
            rec.body["tags"] = tags
            self.store.put(rec.id, rec.type, rec.body)
            verb = "delete" if req.method == "DELETE" else "write"
            self._raise_event(tags_path, f"Microsoft.Resources/tags/{verb}", req.caller)
        body = {"id": tags_path, "name": "default", "type": "Microsoft.Resources/tags", "properties": {"tags": tags}}
        return Response(200, body)
