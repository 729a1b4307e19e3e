"""One generic, case-insensitive resource store.

Every ARM resource (top-level or nested) is one :class:`Record` keyed by its
lower-cased id.  Nested resources that ARM also shows inside their parent
(subnets in a VNet, private endpoint connections in a vault...) are stored once,
as children, and folded into the parent's body when rendered; that keeps the two
views consistent by construction.
"""

from __future__ import annotations

import bisect
import copy
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from . import ids

if TYPE_CHECKING:
    from .rules import Rule


def new_etag() -> str:
    return f'W/"{uuid.uuid4()}"'


# Child resource types that are rows of Resource Graph's Resources table: App Service deployment slots are
# tracked resources of their own (location, tags; azure-rest-api-specs WebApps.json WebApps_GetSlot returns
# a ``Site``) and are queried there as ``type =~ 'microsoft.web/sites/slots'``. Child settings such as SQL
# firewall rules are not (/work/shared/azure-facts.md "Resource Graph"). The slot row: a guess (README).
GRAPH_CHILD_TYPES = frozenset({"microsoft.web/sites/slots"})


@dataclass
class Record:
    id: str  # original casing of the first create
    type: str  # canonical type, e.g. Microsoft.Network/virtualNetworks/subnets
    body: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)  # emulator bookkeeping, never rendered

    @property
    def props(self) -> dict[str, Any]:
        return self.body.setdefault("properties", {})


class Store:
    def __init__(self, rule_for: Callable[[str], "Rule"]) -> None:
        self._records: dict[str, Record] = {}
        self.rule_for = rule_for
        # Sorted keys for children(): built when first needed after a put/delete, so rendering N resources
        # is N log N, not N² (Resource Graph renders every resource per query; issue 16's 5,000-row test).
        self._sorted_keys: list[str] | None = None

    # -- raw access -------------------------------------------------------
    def get(self, resource_id: str | None) -> Record | None:
        return self._records.get(ids.key(resource_id)) if resource_id else None

    def put(self, resource_id: str, rtype: str, body: dict[str, Any], *, keep_etag: bool = False) -> Record:
        """Insert or replace; keeps the id casing of the first create and assigns a fresh etag."""
        k = ids.key(resource_id)
        old = self._records.get(k)
        rid = old.id if old else resource_id.rstrip("/")
        body = dict(body)
        body["id"] = rid
        body["name"] = rid.rsplit("/", 1)[-1]
        body["type"] = rtype
        if not (keep_etag and body.get("etag")):
            body["etag"] = new_etag()
        rec = Record(rid, rtype, body, old.meta if old else {})
        if old is None:
            self._sorted_keys = None
        self._records[k] = rec
        return rec

    def delete(self, resource_id: str) -> list[Record]:
        """Remove a resource and everything nested under it; returns what was removed (parent first)."""
        k = ids.key(resource_id)
        doomed = sorted((r for kk, r in self._records.items() if kk == k or kk.startswith(k + "/")), key=lambda r: len(r.id))
        for rec in doomed:
            del self._records[ids.key(rec.id)]
        self._sorted_keys = None
        return doomed

    def clear(self) -> None:
        self._records.clear()
        self._sorted_keys = None

    def children(self, parent_id: str, child_type: str | None = None) -> list[Record]:
        """Direct children of a resource, optionally of one child type segment (e.g. "subnets")."""
        prefix = ids.key(parent_id) + "/"
        if self._sorted_keys is None:
            self._sorted_keys = sorted(self._records)
        keys = self._sorted_keys
        out = []
        for k in keys[bisect.bisect_left(keys, prefix):]:
            if not k.startswith(prefix):
                break
            rec = self._records[k]
            tail = k[len(prefix):].split("/")
            if len(tail) == 2 and (child_type is None or tail[0] == child_type.lower()):
                out.append(rec)
        return sorted(out, key=lambda r: r.id.lower())

    def all_tracked(self) -> list[Record]:
        """Every top-level resource (``…/providers/{ns}/{type}/{name}``), and the child types Resource Graph's
        ``Resources`` table holds too (:data:`GRAPH_CHILD_TYPES`), for Resource Graph."""
        return sorted((r for r in self._records.values()
                       if r.id.count("/") == 8 or r.type.lower() in GRAPH_CHILD_TYPES), key=lambda r: r.id.lower())

    def by_type(self, rtype: str) -> list[Record]:
        t = rtype.lower()
        return sorted((r for r in self._records.values() if r.type.lower() == t), key=lambda r: r.id.lower())

    # -- ARM views --------------------------------------------------------
    def exists(self, resource_id: str | None) -> bool:
        """Stored, or implicitly present (resource groups, singleton children like networkRuleSets/default)."""
        if not resource_id:
            return False
        if self.get(resource_id):
            return True
        path = ids.parse(resource_id)
        if path is None or path.is_collection:
            return False
        return self.rule_for(path.type).implicit_body(self, path) is not None

    def render(self, resource_id: str) -> dict[str, Any] | None:
        """The body a GET returns: a deep copy plus computed fields and folded-in children."""
        rec = self.get(resource_id)
        if rec is None:
            path = ids.parse(resource_id)
            if path is None or path.is_collection:
                return None
            implicit = self.rule_for(path.type).implicit_body(self, path)
            if implicit is None:
                return None
            rec = Record(path.raw, self.rule_for(path.type).type, implicit)
        body = copy.deepcopy(rec.body)
        self.rule_for(rec.type).render(self, rec, body)
        return body
