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
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Iterator, Mapping, Sequence

from azure.core.credentials import TokenCredential
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import HTTPPolicy

from . import registry
from .arm import ArmRetryPolicy
from .model import DENY, DISABLED, Mode, requested_mode
from .resource_id import InvalidResourceId, ResourceId, is_subscription_id

logger = logging.getLogger(__name__)

PAGE_SIZE = 1000  # Resource Graph's maximum $top
# Subscriptions per query. Learn (guidance-for-throttled-requests, "Grouping queries") recommends
# grouping subscriptions into batches rather than one query per subscription, and the REST API caps
# the list (troubleshoot/general, "Too many subscriptions": 1,000); azqr batches 300
# (Azure/azqr internal/graph), the figure issue 16 asks for. 300 keeps each query well inside both.
SUBSCRIPTION_BATCH = 300
# The longest one wait for the quota to reset; Learn's window is 5 s, so a longer header is suspect.
MAX_QUOTA_WAIT_SECONDS = 60.0
# Resource Graph's own columns we read (InventoryItem.from_row).
COLUMNS = ("id", "name", "type", "location", "subscriptionId", "resourceGroup", "tags")
# The resource properties anything reads from a row: the exposure column (InventoryItem.exposure)
# and the sweep's prefilter (remediators/sweep.py graph_verdict / compliance). Only these are
# projected, so 1,000 rows stay far below the 16 MB answer limit. A reader of another property
# adds it here; a property not projected reads as absent, which every reader treats as open.
PROPERTIES = ("publicNetworkAccess", "networkAcls", "virtualNetworkRules", "isVirtualNetworkFilterEnabled",
              "ipRules", "privateEndpointConnections")
_PROPERTY_PREFIX = "p_"


class GraphIncomplete(RuntimeError):
    """Resource Graph answered without every row (``resultTruncated``): nothing can be judged from it."""


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


GRAPH = "resourceGraph"
ARM = "arm"
# What a Resources-table row cannot show, by type: the state lives in child resources Graph does not
# hold (/work/shared/azure-facts.md "Resource Graph"; the sweep's docstring). Shown next to Graph's exposure.
NOT_IN_GRAPH_ROW = {
    "microsoft.web/sites": "App Service keeps private endpoint connections and access restrictions in child "
                           "resources that Resource Graph's row does not show",
    "microsoft.web/sites/slots": "A deployment slot keeps its access restrictions in a child resource and its "
                                 "private endpoint connections on its site, neither in Resource Graph's row; "
                                 "without a harden tag of its own it follows its site's",
    "microsoft.sql/servers": "SQL keeps virtual network rules in child resources that Resource Graph's row does not show",
    "microsoft.servicebus/namespaces": "Service Bus keeps its network rule set in a child resource that Resource "
                                       "Graph's row does not show",
    "microsoft.eventhub/namespaces": "Event Hubs keeps its network rule set in a child resource that Resource "
                                     "Graph's row does not show",
}


@dataclass(frozen=True)
class Exposure:
    """Public exposure, and where it was read: ``arm`` (the engine's own read) or ``resourceGraph``
    (the row as Graph last indexed it: it lags writes, and ``note`` says what it cannot show)."""

    public_network_access: str
    default_action: str | None
    vnet_rules: int
    private_endpoints: int
    source: str = GRAPH
    note: str | None = None

    def describe(self) -> dict[str, Any]:
        described = {"source": self.source, "publicNetworkAccess": self.public_network_access,
                     "defaultAction": self.default_action, "vnetRules": self.vnet_rules,
                     "privateEndpoints": self.private_endpoints}
        if self.note:
            described["note"] = self.note
        return described

    @classmethod
    def from_state(cls, state: Any) -> Exposure:
        """From the engine's read (:class:`remediators.model.ResourceState`)."""
        return cls(public_network_access=str(state.public_network_access), default_action=state.default_action,
                   vnet_rules=len(state.vnet_rule_subnet_ids), private_endpoints=len(state.private_endpoint_ids),
                   source=ARM)


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
    #: The exposure from the engine's own ARM read, when there was one (else Graph's row is shown).
    read_exposure: Exposure | None = field(default=None, compare=False)

    @classmethod
    def from_state(cls, state: Any, *, resource_type: str) -> InventoryItem:
        """An item from the engine's ARM read (:meth:`remediators.engine.Engine.read`), not from Graph."""
        rid = state.id
        return cls(id=str(rid), name=rid.name, type=resource_type, location=state.location,
                   subscription_id=rid.subscription_id.lower(), resource_group=rid.resource_group,
                   tags=dict(state.tags or {}), read_exposure=Exposure.from_state(state))

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
            properties=_properties_of(row),
        )

    @property
    def harden_tag(self) -> str | None:
        return requested_mode(self.tags)[0]

    @property
    def mode(self) -> Mode | None:
        return requested_mode(self.tags)[1]

    @property
    def exposure(self) -> Exposure:
        """The engine's read when there was one, else Graph's row (labelled so)."""
        return self.read_exposure or self.graph_exposure

    @property
    def graph_exposure(self) -> Exposure:
        p = self.properties
        acls = p.get("networkAcls") if isinstance(p.get("networkAcls"), Mapping) else {}
        rules = acls.get("virtualNetworkRules") or p.get("virtualNetworkRules") or ()
        access = p.get("publicNetworkAccess") or "Enabled"  # absent means enabled (ARM)
        action = acls.get("defaultAction")
        if action is None and p.get("isVirtualNetworkFilterEnabled") is not None:
            action = DENY if p.get("isVirtualNetworkFilterEnabled") and not p.get("ipRules") else "Allow"
        return Exposure(public_network_access=str(access), default_action=action,
                        vnet_rules=len(rules) if isinstance(rules, list) else 0,
                        private_endpoints=len(p.get("privateEndpointConnections") or ()),
                        source=GRAPH, note=NOT_IN_GRAPH_ROW.get(self.type.lower()))

    @property
    def looks_public(self) -> bool:
        """Open to public networks as far as the resource's own properties (Graph's row) tell."""
        e = self.graph_exposure
        return e.public_network_access.lower() != DISABLED.lower() and e.default_action != DENY


def _properties_of(row: Mapping[str, Any]) -> dict[str, Any]:
    """The projected properties (``p_<name>`` columns), or a whole ``properties`` column; nulls dropped,
    so a property Graph does not hold is absent, never a misleading ``None``."""
    whole = row.get("properties")
    if isinstance(whole, Mapping):
        return dict(whole)
    return {key[len(_PROPERTY_PREFIX):]: value for key, value in row.items()
            if key.startswith(_PROPERTY_PREFIX) and value is not None}


def build_query(scope: Scope, *, types: Sequence[str] | None = None) -> str:
    """The KQL we send: the handled types, optionally one group or resource, ``id`` projected for paging."""
    wanted = types or [s.spec.resource_type for s in registry.SERVICES]
    stages = ["Resources",
              "where type in~ (" + ", ".join(f"'{t.lower()}'" for t in wanted) + ")"]
    if scope.resource_group:
        stages.append(f"where resourceGroup =~ '{_quote(scope.resource_group)}'")
    if scope.resource_id:
        stages.append(f"where id =~ '{_quote(scope.resource_id)}'")
    stages.append("project " + ", ".join(
        [*COLUMNS, *(f"{_PROPERTY_PREFIX}{name} = properties.{name}" for name in PROPERTIES)]))
    stages.append("order by id asc")  # a stable order, so pages neither overlap nor skip rows
    return "\n| ".join(stages)


def _quote(value: str) -> str:
    if any(c in value for c in "'\"\\|\n"):
        raise InvalidScope(f"{value!r} contains characters a resource group or id cannot hold")
    return value


def resource_graph_client(credential: TokenCredential, *, endpoint: str, quota: GraphQuota | None = None) -> Any:
    """A ``ResourceGraphClient`` on the configured ARM endpoint, paced by Resource Graph's user quota.

    :keyword quota: The caller's :class:`GraphQuota` (default: one per endpoint, shared by every
        client this process builds for it, since the quota is per user).
    """
    from azure.mgmt.resourcegraph import ResourceGraphClient

    endpoint = endpoint.rstrip("/")
    quota = quota or quota_for(endpoint)
    return ResourceGraphClient(credential, base_url=endpoint, credential_scopes=[endpoint + "/.default"],
                               retry_policy=GraphRetryPolicy(quota), per_retry_policies=[GraphQuotaPolicy(quota)])


def list_resources(client: Any, scope: Scope, *, page_size: int = PAGE_SIZE,
                   on_page: Callable[[int, int], None] | None = None,
                   on_query: Callable[[Mapping[str, Any]], None] | None = None) -> Iterator[InventoryItem]:
    """Every handled resource in ``scope``: one query per page per batch of ≤ 300 subscriptions.

    :param client: A ``ResourceGraphClient`` (:func:`resource_graph_client`).
    :keyword page_size: Rows per query, 1 to 1,000. Halved and retried when Resource Graph answers
        ``ResponsePayloadTooLarge`` (an answer above 16 MB).
    :keyword on_page: Called with (rows so far, total rows) after each page, e.g. for a progress bar.
    :keyword on_query: Called with a summary of every query sent (scope size, ``$top``, page), for logs and tests.
    :raises GraphIncomplete: Resource Graph cut the result short (``resultTruncated``).
    """
    batches: list[tuple[list[str] | None, list[str] | None]] = [
        (list(scope.subscriptions[i:i + SUBSCRIPTION_BATCH]), None)
        for i in range(0, len(scope.subscriptions), SUBSCRIPTION_BATCH)]
    if scope.management_groups:
        batches.append((None, list(scope.management_groups)))
    query = build_query(scope)
    seen = 0
    total = 0
    yielded: set[str] = set()
    for number, (subscriptions, groups) in enumerate(batches, 1):
        token: str | None = None
        tokens: set[str] = set()
        top = page_size
        batch_total: int | None = None
        while True:
            response = _query(client, query, subscriptions=subscriptions, groups=groups, top=top, token=token)
            if response is None:  # ResponsePayloadTooLarge: the same page in smaller pieces
                if top == 1:
                    raise GraphIncomplete("Resource Graph refused even a one-row page as too large (16 MB)")
                top = max(1, top // 2)
                logger.warning("Resource Graph answer too large; asking for %d rows per page", top)
                continue
            rows = response.data or []
            if on_query:
                on_query({"batch": number, "batches": len(batches), "subscriptions": len(subscriptions or ()),
                          "managementGroups": len(groups or ()), "top": top, "skipToken": bool(token),
                          "rows": len(rows), "totalRecords": response.total_records})
            if batch_total is None:
                batch_total = response.total_records or 0
                total += batch_total
            seen += len(rows)
            logger.debug("Resource Graph page: %d rows (%d of %d)", len(rows), seen, total)
            if on_page:
                on_page(seen, total)
            if str(response.result_truncated).lower() == "true":
                raise GraphIncomplete(f"Resource Graph truncated the result at {seen} of {total} rows "
                                      "(resultTruncated); the inventory would be incomplete")
            for row in rows:
                # A resource in a listed subscription and in a listed management group comes twice.
                if len(batches) > 1:
                    key = str(row.get("id", "")).lower()
                    if key in yielded:
                        continue
                    yielded.add(key)
                yield InventoryItem.from_row(row)
            token = response.skip_token
            if not token or not rows:
                break
            if token in tokens:  # a page token that does not advance would page forever: no wait is unbounded
                raise GraphIncomplete(f"Resource Graph returned the same $skipToken twice after {seen} of {total} "
                                      "rows; the inventory would be incomplete")
            tokens.add(token)


def _query(client: Any, query: str, *, subscriptions: list[str] | None, groups: list[str] | None, top: int,
           token: str | None) -> Any:
    """One POST; ``None`` when Resource Graph answers that the page is too large."""
    from azure.core.exceptions import HttpResponseError
    from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

    request = QueryRequest(subscriptions=subscriptions, management_groups=groups, query=query,
                           options=QueryRequestOptions(top=top, skip_token=token, result_format="objectArray"))
    try:
        return client.resources(request)
    except HttpResponseError as exc:
        code = getattr(getattr(exc, "error", None), "code", None) or ""
        if exc.status_code == 400 and code.lower() == "responsepayloadtoolarge":
            return None
        raise


class GraphQuota:
    """What Resource Graph last said about the caller's quota, and the wait it implies.

    Every answer carries ``x-ms-user-quota-remaining`` and ``x-ms-user-quota-resets-after`` (hh:mm:ss);
    at 0 remaining the next query waits for the reset instead of drawing a 429
    (learn.microsoft.com/azure/governance/resource-graph/concepts/guidance-for-throttled-requests).
    ``clock`` and ``sleep`` are injectable.
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._remaining: int | None = None
        self._resets_at = 0.0
        self.waited_seconds = 0.0
        self.throttled = 0

    def acquire(self) -> None:
        """Wait, if the quota is spent, until it resets; then count this query against it."""
        with self._lock:
            wait = self._resets_at - self._clock() if self._remaining is not None and self._remaining <= 0 else 0.0
            if self._remaining is not None:
                self._remaining -= 1  # answers may overtake each other: spend before sending
        if wait > 0:
            logger.info("Resource Graph quota spent; waiting %.1f s for it to reset", wait)
            self.wait(min(wait, MAX_QUOTA_WAIT_SECONDS))

    def update(self, headers: Mapping[str, str], *, throttled: bool = False) -> None:
        remaining, resets_after = headers.get("x-ms-user-quota-remaining"), headers.get("x-ms-user-quota-resets-after")
        with self._lock:
            if throttled:
                self.throttled += 1
            if remaining is not None:
                try:
                    self._remaining = int(remaining)
                except ValueError:
                    pass
            seconds = _hms(resets_after)
            if seconds is not None:
                self._resets_at = self._clock() + seconds
            if throttled:
                self._remaining = 0

    def seconds_to_reset(self) -> float:
        with self._lock:
            return max(0.0, self._resets_at - self._clock())

    def wait(self, seconds: float) -> None:
        self.waited_seconds += seconds
        self._sleep(seconds)


def _hms(text: str | None) -> float | None:
    if not text:
        return None
    try:
        h, m, s = text.split(":")
        return int(h) * 3600 + int(m) * 60 + float(s)
    except ValueError:
        return None


@lru_cache(maxsize=8)
def quota_for(endpoint: str) -> GraphQuota:
    """One quota per ARM endpoint in this process (the quota belongs to the user, not the client)."""
    return GraphQuota()


class GraphQuotaPolicy(HTTPPolicy):
    """Per attempt: wait for the quota before sending, and read the quota headers from every answer."""

    def __init__(self, quota: GraphQuota) -> None:
        super().__init__()
        self._quota = quota

    def send(self, request: PipelineRequest) -> PipelineResponse:
        self._quota.acquire()
        response = self.next.send(request)
        self._quota.update(response.http_response.headers, throttled=response.http_response.status_code == 429)
        return response


class GraphRetryPolicy(ArmRetryPolicy):
    """ARM's retry policy, plus Resource Graph's 429: retried even without ``Retry-After``.

    azure-core retries a 429 on a POST only when it carries ``Retry-After``; Resource Graph's throttled
    answers are documented with the quota headers instead. A query is a read, so sending it again is safe;
    the wait is the quota's reset time (else the backoff).
    """

    def __init__(self, quota: GraphQuota, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._quota = quota

    def is_retry(self, settings: dict[str, Any], response: PipelineResponse) -> bool:
        if response.http_response.status_code == 429 and settings["total"]:
            return True
        return super().is_retry(settings, response)

    def sleep(self, settings: dict[str, Any], transport: Any, response: PipelineResponse | None = None) -> None:
        if response is not None and response.http_response.status_code == 429 \
                and "retry-after" not in {k.lower() for k in response.http_response.headers}:
            wait = self._quota.seconds_to_reset() or self.get_backoff_time(settings)
            self._quota.wait(min(max(wait, 0.1), MAX_QUOTA_WAIT_SECONDS))
            return
        super().sleep(settings, transport, response)


SUBSCRIPTIONS_API_VERSION = "2022-12-01"


def get_subscription(credential: TokenCredential, subscription_id: str, *, endpoint: str) -> dict[str, Any]:
    """Subscriptions – Get (``GET /subscriptions/{id}``): proves the scope exists and the caller can read it
    before anything is judged, so an unreadable subscription is an error, never an empty, compliant table.

    Spec: azure-rest-api-specs ``specification/resources/resource-manager/Microsoft.Resources/stable/2022-12-01/
    subscriptions.json`` (``Subscriptions_Get``); RBAC ``Microsoft.Resources/subscriptions/read`` (in Reader).

    :raises ~azure.core.exceptions.HttpResponseError: ARM's answer (404 ``SubscriptionNotFound``, 403, ...).
    :raises InvalidScope: The subscription exists but is not ``Enabled``/``PastDue``/``Warned`` (cannot be judged).
    """
    from azure.core.exceptions import HttpResponseError, map_error
    from azure.core.pipeline.policies import RetryPolicy, UserAgentPolicy
    from azure.core.rest import HttpRequest
    from azure.mgmt.core import ARMPipelineClient
    from azure.mgmt.core.exceptions import ARMErrorFormat
    from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy

    endpoint = endpoint.rstrip("/")
    # A first call: few, short connection retries, so "ARM unreachable" is said in seconds.
    client = ARMPipelineClient(base_url=endpoint, policies=[
        UserAgentPolicy(sdk_moniker="paas-hardener"),
        RetryPolicy(retry_connect=2, retry_backoff_factor=0.2),
        ARMChallengeAuthenticationPolicy(credential, endpoint + "/.default"),
    ])
    with client:
        request = HttpRequest("GET", f"{endpoint}/subscriptions/{subscription_id}",
                              params={"api-version": SUBSCRIPTIONS_API_VERSION})
        response = client.send_request(request)
        if response.status_code != 200:
            map_error(response.status_code, response, {})
            raise HttpResponseError(response=response, error_format=ARMErrorFormat)
        body = response.json()
    state = str(body.get("state") or "")
    if state and state not in ("Enabled", "PastDue", "Warned"):
        raise InvalidScope(f"subscription {subscription_id} is {state}: its resources cannot be judged")
    return body
