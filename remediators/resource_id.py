"""ARM resource ids: strict parsing, case-insensitive identity."""
from __future__ import annotations

import re
from dataclasses import dataclass

MAX_ID_LENGTH = 1024
# Resource and group names allow word characters, '.', '-', '_' and '()'
# (learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules).
_SEGMENT = re.compile(r"^[\w().-]{1,260}$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


class InvalidResourceId(ValueError):
    """The text is not a well-formed ARM resource id."""


@dataclass(frozen=True)
class ResourceId:
    """A parsed ``/subscriptions/{s}/resourceGroups/{g}/providers/{ns}/{type}/{name}/...`` id.

    ``types`` and ``names`` hold the type chain below the provider namespace,
    e.g. ``("servers", "firewallRules")`` and ``("sql1", "AllowAll")``.
    """

    subscription_id: str
    resource_group: str
    namespace: str
    types: tuple[str, ...]
    names: tuple[str, ...]

    @classmethod
    def parse(cls, text: object) -> ResourceId:
        if not isinstance(text, str):
            raise InvalidResourceId(f"resource id must be a string, got {type(text).__name__}")
        if len(text) > MAX_ID_LENGTH:
            raise InvalidResourceId(f"resource id is longer than {MAX_ID_LENGTH} characters")
        if ".." in text:
            # No ARM name holds two dots in a row; such an id is a traversal attempt or garbage.
            raise InvalidResourceId(f"resource id contains '..': {text[:200]!r}")
        parts = text.split("/")
        if len(parts) < 9 or parts[0] != "" or len(parts) % 2 == 0:
            raise InvalidResourceId(f"not an ARM resource id: {text[:200]!r}")
        if (parts[1].lower(), parts[3].lower(), parts[5].lower()) != ("subscriptions", "resourcegroups", "providers"):
            raise InvalidResourceId(f"not a resource-group scoped ARM id: {text[:200]!r}")
        for part in parts[1:]:
            if part in ("", ".", "..") or not _SEGMENT.match(part):
                raise InvalidResourceId(f"resource id has an empty or invalid segment: {text[:200]!r}")
        if not _GUID.match(parts[2]):
            raise InvalidResourceId(f"subscription id is not a GUID: {parts[2][:64]!r}")
        rest = parts[7:]
        return cls(
            subscription_id=parts[2].lower(),
            resource_group=parts[4],
            namespace=parts[6],
            types=tuple(rest[0::2]),
            names=tuple(rest[1::2]),
        )

    @property
    def type(self) -> str:
        """Full type, e.g. ``Microsoft.Sql/servers/firewallRules``."""
        return "/".join((self.namespace, *self.types))

    @property
    def name(self) -> str:
        return self.names[-1]

    def ancestor(self, depth: int) -> ResourceId:
        """The resource ``depth`` types deep (1 = the top-level resource)."""
        return ResourceId(self.subscription_id, self.resource_group, self.namespace,
                          self.types[:depth], self.names[:depth])

    def child(self, type_: str, name: str) -> ResourceId:
        return ResourceId(self.subscription_id, self.resource_group, self.namespace,
                          (*self.types, type_), (*self.names, name))

    def __str__(self) -> str:
        tail = "/".join(f"{t}/{n}" for t, n in zip(self.types, self.names))
        return (f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
                f"/providers/{self.namespace}/{tail}")

    @property
    def key(self) -> str:
        """Case-insensitive identity: ARM ids compare without case."""
        return str(self).lower()


def same_id(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.lower() == b.lower()


def is_subscription_id(text: str) -> bool:
    return bool(_GUID.match(text))
