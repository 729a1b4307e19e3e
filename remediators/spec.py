"""What the engine needs to know about a service: facts, not behaviour.

Every fact here comes from ARM's REST specs or Microsoft Learn; the source is
noted next to each service's spec in ``remediators/services/``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_ACTION_LINE = re.compile(r"^\s*-?\s*(Microsoft\.[A-Za-z]+/[A-Za-z0-9/.*]+)\s*$")


@dataclass(frozen=True)
class PrivateLinkGroup:
    """One private endpoint sub-resource and the private DNS zone that serves it."""

    group_id: str
    dns_zone: str


@dataclass(frozen=True)
class ServiceSpec:
    """The facts about one handled resource type.

    :param resource_type: ARM type, e.g. ``Microsoft.KeyVault/vaults``.
    :param display_name: What people call it.
    :param service_endpoint: The subnet service endpoint name, e.g. ``Microsoft.KeyVault``.
    :param private_link_groups: Every group id the service offers with its zone;
        a service picks the ones a given resource needs (Storage's ``dfs`` only
        with the hierarchical namespace, Cosmos DB's by API).
    :param operations: Event ``operationName`` values that make us re-evaluate
        the resource (its own write, plus child writes that can reopen it).
    :param rbac_actions: Exactly the actions the service's remediator needs,
        read from its docstring so that the documentation cannot drift.
    :param connection_events: Whether the event filter takes ``<type>/privateEndpointConnections/write``.
        False where our endpoints' connections live on another resource (an App Service slot's on its
        site, whose connection writes the filter already takes).
    """

    resource_type: str
    display_name: str
    service_endpoint: str
    private_link_groups: tuple[PrivateLinkGroup, ...]
    operations: tuple[str, ...]
    rbac_actions: frozenset[str]
    connection_events: bool = True

    def group(self, group_id: str) -> PrivateLinkGroup:
        for group in self.private_link_groups:
            if group.group_id.lower() == group_id.lower():
                return group
        raise KeyError(f"{self.resource_type} has no private link group {group_id!r}")


def rbac_actions_from_docstring(doc: str | None) -> frozenset[str]:
    """Read the actions listed under an ``RBAC actions:`` heading in a docstring."""
    if not doc or "RBAC actions:" not in doc:
        raise ValueError("a remediator's docstring must list its 'RBAC actions:'")
    actions: set[str] = set()
    for line in doc.split("RBAC actions:", 1)[1].splitlines()[1:]:
        if not line.strip():
            if actions:
                break
            continue
        match = _ACTION_LINE.match(line)
        if not match:
            break
        actions.add(match.group(1))
    if not actions:
        raise ValueError("the 'RBAC actions:' list in the docstring is empty")
    return frozenset(actions)
