"""ARM resource-id parsing.

ARM paths look like
``/subscriptions/{sub}/resourceGroups/{rg}/providers/{Namespace}/{type}/{name}[/{childType}/{childName}...]``;
a path ending in a type segment is a collection.  Ids are case-insensitive
(https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules),
so comparisons go through :func:`key`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TAGS_SUFFIX_RE = re.compile(r"^(?P<target>/.+)/providers/microsoft\.resources/tags/default$", re.IGNORECASE)


def key(resource_id: str) -> str:
    """Store key of an id: lower-cased, no trailing slash."""
    return resource_id.rstrip("/").lower()


def same_id(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and key(a) == key(b)


@dataclass(frozen=True)
class ArmPath:
    """A parsed ARM path: a single resource or a collection of them."""

    raw: str  # original casing, no trailing slash, no query
    subscription: str | None
    resource_group: str | None
    namespace: str | None  # "Microsoft.Network"; None for subscription/resource-group level paths
    types: tuple[str, ...]  # ("virtualNetworks", "subnets")
    names: tuple[str, ...]  # ("vnet1", "s1"); one fewer than types for a collection

    @property
    def is_collection(self) -> bool:
        return len(self.names) < len(self.types)

    @property
    def type(self) -> str:
        """Resource type, e.g. ``Microsoft.Network/virtualNetworks/subnets`` (child type for collections)."""
        if self.namespace is None:
            return "Microsoft.Resources/" + (self.types[-1] if self.types else "subscriptions")
        return "/".join((self.namespace, *self.types))

    @property
    def name(self) -> str:
        return self.names[-1] if self.names and not self.is_collection else ""

    @property
    def parent_id(self) -> str:
        """Id of the containing resource (resource group / subscription for top-level resources)."""
        segments = self.raw.split("/")
        # A collection drops its type segment; a resource drops "type/name".
        cut = 1 if self.is_collection else 2
        parent = "/".join(segments[:-cut])
        if parent.lower().endswith("/providers/" + (self.namespace or "").lower()):
            parent = parent[: -len("/providers/" + (self.namespace or ""))]
        return parent

    @property
    def is_child(self) -> bool:
        """True for nested resources (subnets, firewallRules...): their parent is another resource."""
        return len(self.types) > 1


def parse(path: str) -> ArmPath | None:
    """Parse an ARM path (no query string). Returns None when it is not under /subscriptions/."""
    raw = path.split("?", 1)[0].rstrip("/")
    segs = raw.split("/")[1:] if raw.startswith("/") else raw.split("/")
    if len(segs) < 1 or segs[0].lower() != "subscriptions":
        return None
    sub = segs[1] if len(segs) > 1 else None
    rg: str | None = None
    rest = segs[2:]
    if rest and rest[0].lower() == "resourcegroups":
        rg = rest[1] if len(rest) > 1 else None
        if len(rest) <= 2:  # .../resourceGroups or .../resourceGroups/{rg}
            names = (rg,) if rg else ()
            return ArmPath(raw, sub, rg, None, ("resourceGroups",), names)
        rest = rest[2:]
    if not rest:
        return ArmPath(raw, sub, None, None, ("subscriptions",), (sub,) if sub else ())
    # Extension resources (".../providers/X/.../providers/Y/...") are typed by the last provider.
    lowered = [s.lower() for s in rest]
    if "providers" not in lowered:
        return ArmPath(raw, sub, rg, None, tuple(rest[0::2]), tuple(rest[1::2]))
    last = len(lowered) - 1 - lowered[::-1].index("providers")
    after = rest[last + 1 :]
    if not after:
        return None
    namespace, typed = after[0], after[1:]
    return ArmPath(raw, sub, rg, namespace, tuple(typed[0::2]), tuple(typed[1::2]))


def resource_type_of(path: str) -> str:
    """Resource type addressed by an ARM path ("" when the path is not an ARM path).

    >>> resource_type_of("/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/virtualNetworks/v/subnets")
    'Microsoft.Network/virtualNetworks/subnets'
    """
    from .catalog import canonical_type  # local import: the catalog imports this module

    if TAGS_SUFFIX_RE.match(path.split("?", 1)[0].rstrip("/")):
        return "Microsoft.Resources/tags"
    parsed = parse(path)
    return canonical_type(parsed.type) if parsed else ""


def child_id(parent_id: str, child_type: str, name: str) -> str:
    return f"{parent_id.rstrip('/')}/{child_type}/{name}"
