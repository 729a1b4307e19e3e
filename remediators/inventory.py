"""Every handled resource in a scope, from Azure Resource Graph: one query per page, not one GET per resource.

Used by the CLI (``scan``/``plan``/``apply``) and by the scheduled sweep, so both see the estate
the same way. Sources: azure-rest-api-specs
``specification/resourcegraph/resource-manager/Microsoft.ResourceGraph/stable/2021-03-01/resourcegraph.json``
(operation ``Resources``: ``QueryRequest``/``QueryResponse``, ``options.$top`` at most 1,000,
``$skipToken``); learn.microsoft.com/azure/governance/resource-graph/concepts/work-with-data
(paging needs ``id`` in the projection; pass the returned ``$skipToken`` back with the same query).

RBAC: Resource Graph returns only what the caller may read (learn.microsoft.com/azure/governance/resource-graph/overview,
"Permissions in Azure Resource Graph": at least read access to the resources queried), so
the remediator role's read actions of the seven types should be enough; the role holds no
``Microsoft.ResourceGraph/*`` action (not verified against a live tenant).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

from azure.core.credentials import TokenCredential

from . import registry
from .arm import ArmRetryPolicy
from .model import DENY, DISABLED, Mode, requested_mode
from .resource_id import InvalidResourceId, ResourceId, is_subscription_id

logger = logging.getLogger(__name__)

PAGE_SIZE = 1000  # Resource Graph's maximum $top
COLUMNS = ("id", "name", "type", "location", "subscriptionId", "resourceGroup", "tags", "properties")


class InvalidScope(ValueError):
    """The scope given to a scan cannot be queried; the message says why."""


@dataclass(frozen=True)
class Scope:
    """Where to look: subscriptions and/or management groups, optionally one resource group or resource."""

    subscriptions: tuple[str, ...] = ()
    management_groups: tuple[str, ...] = ()
    resource_group: str | None = None
    resource_id: str | None = None

    def __post_init__(self) -> None:
        for sub in self.subscriptions:
            if not is_subscription_id(sub):
                raise InvalidScope(f"{sub!r} is not a subscription id (a GUID)")
        if not self.subscriptions and not self.management_groups:
            raise InvalidScope("give at least one --subscription or --management-group")

    @classmethod
    def for_resource(cls, resource_id: str) -> Scope:
        try:
            rid = ResourceId.parse(resource_id)
        except InvalidResourceId as exc:
            raise InvalidScope(str(exc)) from exc
        return cls(subscriptions=(rid.subscription_id,), resource_id=resource_id)


@dataclass(frozen=True)
class Exposure:
    """Public exposure as Resource Graph shows the resource's own properties (children not included)."""

    public_network_access: str
    default_action: str | None
    vnet_rules: int
    private_endpoints: int

    def describe(self) -> dict[str, Any]:
        return {"publicNetworkAccess": self.public_network_access, "defaultAction": self.default_action,
                "vnetRules": self.vnet_rules, "privateEndpoints": self.private_endpoints}


@dataclass(frozen=True)
class InventoryItem:
    """One row of the query."""

    id: str
    name: str
    type: str
    location: str
    subscription_id: str
    resource_group: str
    tags: Mapping[str, str] = field(default_factory=dict)
    properties: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> InventoryItem:
        service = registry.service_for(str(row.get("type", "")))
        return cls(
            id=str(row["id"]), name=str(row.get("name") or ""),
            # Resource Graph reports types lower-case; show the registry's spelling.
            type=service.spec.resource_type if service else str(row.get("type", "")),
            location=str(row.get("location") or ""),
            subscription_id=str(row.get("subscriptionId") or "").lower(),
            resource_group=str(row.get("resourceGroup") or ""),
            tags={str(k): str(v) for k, v in (row.get("tags") or {}).items()},
            properties=row.get("properties") or {},
        )

    @property
    def harden_tag(self) -> str | None:
        return requested_mode(self.tags)[0]

    @property
    def mode(self) -> Mode | None:
        return requested_mode(self.tags)[1]

    @property
    def exposure(self) -> Exposure:
        p = self.properties
        acls = p.get("networkAcls") if isinstance(p.get("networkAcls"), Mapping) else {}
        rules = acls.get("virtualNetworkRules") or p.get("virtualNetworkRules") or ()
        access = p.get("publicNetworkAccess") or "Enabled"  # absent means enabled (ARM)
        action = acls.get("defaultAction")
        if action is None and p.get("isVirtualNetworkFilterEnabled") is not None:
            action = DENY if p.get("isVirtualNetworkFilterEnabled") and not p.get("ipRules") else "Allow"
        return Exposure(public_network_access=str(access), default_action=action,
                        vnet_rules=len(rules) if isinstance(rules, list) else 0,
                        private_endpoints=len(p.get("privateEndpointConnections") or ()))

    @property
    def looks_public(self) -> bool:
        """Open to public networks as far as the resource's own properties tell."""
        e = self.exposure
        return e.public_network_access.lower() != DISABLED.lower() and e.default_action != DENY


def build_query(scope: Scope, *, types: Sequence[str] | None = None) -> str:
    """The KQL we send: the handled types, optionally one group or resource, ``id`` projected for paging."""
    wanted = types or [s.spec.resource_type for s in registry.SERVICES]
    stages = ["Resources",
              "where type in~ (" + ", ".join(f"'{t.lower()}'" for t in wanted) + ")"]
    if scope.resource_group:
        stages.append(f"where resourceGroup =~ '{_quote(scope.resource_group)}'")
    if scope.resource_id:
        stages.append(f"where id =~ '{_quote(scope.resource_id)}'")
    stages.append("project " + ", ".join(COLUMNS))
    stages.append("order by id asc")  # a stable order, so pages neither overlap nor skip rows
    return "\n| ".join(stages)


def _quote(value: str) -> str:
    if any(c in value for c in "'\"\\|\n"):
        raise InvalidScope(f"{value!r} contains characters a resource group or id cannot hold")
    return value


def resource_graph_client(credential: TokenCredential, *, endpoint: str) -> Any:
    """A ``ResourceGraphClient`` on the configured ARM endpoint, with our retry policy."""
    from azure.mgmt.resourcegraph import ResourceGraphClient

    endpoint = endpoint.rstrip("/")
    return ResourceGraphClient(credential, base_url=endpoint, credential_scopes=[endpoint + "/.default"],
                               retry_policy=ArmRetryPolicy())


def list_resources(client: Any, scope: Scope, *, page_size: int = PAGE_SIZE,
                   on_page: Callable[[int, int], None] | None = None) -> Iterator[InventoryItem]:
    """Every handled resource in ``scope``, page by page (one POST each).

    :param client: A ``ResourceGraphClient``.
    :keyword page_size: Rows per query, 1 to 1,000.
    :keyword on_page: Called with (rows so far, total rows) after each page, e.g. for a progress bar.
    """
    from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

    query = build_query(scope)
    token: str | None = None
    seen = 0
    while True:
        request = QueryRequest(
            subscriptions=list(scope.subscriptions) or None,
            management_groups=list(scope.management_groups) or None,
            query=query,
            options=QueryRequestOptions(top=page_size, skip_token=token, result_format="objectArray"),
        )
        response = client.resources(request)
        rows = response.data or []
        seen += len(rows)
        logger.debug("Resource Graph page: %d rows (%d of %d)", len(rows), seen, response.total_records)
        if on_page:
            on_page(seen, response.total_records)
        for row in rows:
            yield InventoryItem.from_row(row)
        token = response.skip_token
        if str(response.result_truncated).lower() == "true":
            logger.warning("Resource Graph truncated the result at %d of %d rows", seen, response.total_records)
        if not token or not rows:
            return

