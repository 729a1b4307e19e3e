"""Per-resource-type behaviour: the rule record and the helpers rules share.

A :class:`Rule` is data: protocol knobs (LRO or not, which status codes the
initial response uses), which properties are read-only, and small hooks for
defaults / normalisation / validation / side effects / rendering.  The generic
engine (``engine.py``) runs them; the concrete table lives in ``catalog.py``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from . import ids
from .errors import ArmError, bad_request, invalid_enum
from .store import Record, Store


@dataclass
class Write:
    """One write being applied (PUT, PATCH-as-PUT, or seed)."""

    store: Store
    path: ids.ArmPath
    id: str
    body: dict[str, Any]  # the new body (mutable; hooks fill it in)
    existing: dict[str, Any] | None  # stored body before the write (a copy)
    method: str  # "PUT", "PATCH" or "SEED"

    @property
    def props(self) -> dict[str, Any]:
        return self.body.setdefault("properties", {})

    @property
    def old_props(self) -> dict[str, Any]:
        return (self.existing or {}).get("properties") or {}

    @property
    def created(self) -> bool:
        return self.existing is None


#: ``Record.meta`` key a hook sets (to an ARM error dict) when the accepted write's long-running
#: operation is to end ``Failed`` with that error, leaving the resource in provisioningState Failed.
FAILED_OPERATION = "failedOperation"

BodyHook = Callable[[Write], None]
Validator = Callable[[Write], "ArmError | None"]
AfterDelete = Callable[[Store, Record], None]
DeleteValidator = Callable[[Store, Record], "ArmError | None"]
Renderer = Callable[[Store, Record, dict], None]
Implicit = Callable[[Store, ids.ArmPath], "dict | None"]


@dataclass(frozen=True)
class Embed:
    """A child collection ARM also shows inside the parent's ``properties``."""

    prop: str  # property name in the parent, e.g. "subnets"
    child: str  # child type segment, e.g. "subnets"
    always: bool = False  # render an empty list when there are no children
    writable: bool = False  # False: clients echoing it back in a PUT are ignored


@dataclass(frozen=True)
class Rule:
    type: str
    tracked: bool = False  # top-level tracked resource: PUT needs "location"
    lro_put: bool = False
    put_status: tuple[int, int] = (201, 200)  # initial status for (create, update)
    lro_patch: bool = False
    patch_status: int = 200
    lro_delete: bool = False
    delete_status: int = 200
    async_validation: bool = False  # LRO validation failures surface through the operation status
    read_only: tuple[str, ...] = ()  # names under "properties" a client cannot set (kept from stored state)
    write_only: tuple[str, ...] = ()  # accepted but never returned (passwords)
    embeds: tuple[Embed, ...] = ()
    defaults: Sequence[BodyHook] = ()  # fill defaults / read-only fields (runs after read-only fields are restored)
    normalize: Sequence[BodyHook] = ()  # service-side normalisation of user input
    validate: Sequence[Validator] = ()
    after_write: Sequence[BodyHook] = ()  # side effects once stored
    validate_delete: Sequence[DeleteValidator] = ()
    after_delete: Sequence[AfterDelete] = ()
    renderers: Sequence[Renderer] = ()
    provisioning_state: bool = True  # the RP reports properties.provisioningState
    if_match_enforced: bool = True  # False: If-Match is ignored on PUT (subnets: azure-rest-api-specs#6789)
    exclusive_while_updating: bool = False  # a write while its own LRO runs: 412 "exclusive lock" (Cosmos DB)
    implicit: Implicit | None = None  # body of a resource that exists without being stored
    list_implicit: tuple[str, ...] = ()  # names of implicit children a collection GET includes
    actions: dict[str, Callable[[Store, Record, Any], tuple[int, Any]]] = field(default_factory=dict)

    # -- helpers the engine calls ------------------------------------------
    def implicit_body(self, store: Store, path: ids.ArmPath) -> dict | None:
        if self.implicit is None or (path.namespace is not None and not store.exists(path.parent_id)):
            return None
        body = self.implicit(store, path)
        if body is None:
            return None
        body = copy.deepcopy(body)
        body.update(id=path.raw, name=path.name, type=self.type)
        return body

    def render(self, store: Store, rec: Record, body: dict) -> None:
        for emb in self.embeds:
            kids = [store.render(k.id) for k in store.children(rec.id, emb.child)]
            if kids or emb.always:
                body.setdefault("properties", {})[emb.prop] = kids
        for r in self.renderers:
            r(store, rec, body)


# -- the write pipeline (used by the engine, and by rules that write children) ---

TOP_READ_ONLY = ("id", "name", "type", "etag", "systemData")


def prepare(store: Store, rule: Rule, p: ids.ArmPath, body: Any, existing: dict | None, method: str) -> Write:
    """Build the new body of a PUT (PATCH arrives here already merged): user-settable state from
    ``body``, read-only state kept from ``existing`` or recomputed by the rule's hooks."""
    if not isinstance(body, dict):
        raise bad_request("InvalidRequestContent", "The request content was invalid and could not be deserialized.")
    new = {k: copy.deepcopy(v) for k, v in body.items() if k not in TOP_READ_ONLY}
    props = new.get("properties")
    if props is None:
        props = new["properties"] = {}
    if not isinstance(props, dict):
        raise bad_request("InvalidRequestContent", "The 'properties' member must be an object.")
    old_props = (existing or {}).get("properties") or {}
    if method != "SEED":
        # Read-only state belongs to the service: ignore what the client sent, keep what we have.
        for name in (*rule.read_only, "provisioningState"):
            props.pop(name, None)
            if name in old_props:
                props[name] = copy.deepcopy(old_props[name])
        for emb in rule.embeds:
            if not emb.writable:
                props.pop(emb.prop, None)
    w = Write(store, p, p.raw, new, copy.deepcopy(existing) if existing else None, method)
    for hook in (*rule.normalize, *rule.defaults):
        hook(w)
    if rule.provisioning_state:
        if method == "SEED":
            w.props.setdefault("provisioningState", "Succeeded")
        else:
            w.props["provisioningState"] = "Succeeded"
    return w


def validate(rule: Rule, w: Write) -> ArmError | None:
    for validator in rule.validate:
        err = validator(w)
        if err is not None:
            return err
    return None


def commit(rule: Rule, w: Write) -> Record:
    """Store the new body (children folded into it are stored by the rule's own hooks)."""
    stored = copy.deepcopy(w.body)
    props = stored.setdefault("properties", {})
    for name in rule.write_only:
        props.pop(name, None)
    for emb in rule.embeds:
        props.pop(emb.prop, None)
    rec = w.store.put(w.id, rule.type, stored, keep_etag=w.method == "SEED")
    w.body["etag"] = rec.body["etag"]
    for hook in rule.after_write:
        hook(w)
    return rec


def delete_cascade(store: Store, resource_id: str) -> list[Record]:
    """Delete a resource and its descendants, running each one's after_delete hooks."""
    removed = store.delete(resource_id)
    for rec in removed:
        for hook in store.rule_for(rec.type).after_delete:
            hook(store, rec)
    return removed


# -- shared helpers -----------------------------------------------------------

def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, null deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            result.pop(k, None)
        else:
            result[k] = merge_patch(result.get(k), v)
    return result



def get_in(obj: Any, *path: str | int, default: Any = None) -> Any:
    for p in path:
        if isinstance(obj, dict) and isinstance(p, str):
            obj = obj.get(p)
        elif isinstance(obj, list) and isinstance(p, int) and -len(obj) <= p < len(obj):
            obj = obj[p]
        else:
            return default
        if obj is None:
            return default
    return obj


def ieq(a: Any, b: Any) -> bool:
    return isinstance(a, str) and isinstance(b, str) and a.lower() == b.lower()


def check_enum(prop: str, *allowed: str, where: tuple[str, ...] = ("properties",)) -> Validator:
    """Validator: an optional property, when present, must be one of ``allowed`` (case-insensitive)."""

    def validate(w: Write) -> ArmError | None:
        value = get_in(w.body, *where, prop)
        if value is None or any(ieq(value, a) for a in allowed):
            return None
        return invalid_enum(prop, value, allowed)

    return validate


def default_props(**values: Any) -> BodyHook:
    """Defaults hook: set properties that are absent (for user-settable properties with service defaults)."""

    def hook(w: Write) -> None:
        for k, v in values.items():
            if w.props.get(k) is None:
                w.props[k] = v(w) if callable(v) else copy.deepcopy(v)

    return hook


def created_props(**values: Any) -> BodyHook:
    """Defaults hook for read-only properties computed once at creation (vaultUri, endpoints...)."""

    def hook(w: Write) -> None:
        for k, v in values.items():
            if k not in w.props:
                w.props[k] = v(w) if callable(v) else copy.deepcopy(v)

    return hook


def subnet_endpoint_error(
    store: Store, subnet_id: str | None, service: str, make_error: Callable[[str, str], ArmError]
) -> ArmError | None:
    """None when ``subnet_id`` exists and has service endpoint ``service``; else the service's error.

    ``make_error(subnet_id, reason)`` builds the RP-specific error; reason is "missing" or "no-endpoint".
    """
    sub = store.get(subnet_id)
    if sub is None:
        return make_error(subnet_id or "", "missing")
    endpoints = sub.props.get("serviceEndpoints") or []
    if any(ieq(e.get("service"), service) for e in endpoints if isinstance(e, dict)):
        return None
    return make_error(subnet_id or "", "no-endpoint")


def no_endpoint_message(subnet_id: str, service: str) -> str:
    """The wording Storage/Key Vault use for a VNet rule on a subnet without the service endpoint.

    Verbatim shape from real responses quoted in hashicorp/terraform-provider-azurerm#16547 (Storage)
    and Azure/avdaccelerator#818 (Key Vault).
    """
    vnet, _, subnet = subnet_id.rpartition("/subnets/")
    return (
        f"Subnets {subnet} of virtual network {vnet} do not have ServiceEndpoints for {service} resources "
        f"configured. Add {service} to subnet's ServiceEndpoints collection before trying to ACL {service} "
        "resources to these subnets."
    )


def require(cond: bool, code: str, message: str) -> ArmError | None:
    return None if cond else bad_request(code, message)
