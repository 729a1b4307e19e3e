"""The typed slice of ARM state we read, the changes we plan, and the outcomes we report."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from .resource_id import ResourceId
from .spec import PrivateLinkGroup

ENABLED = "Enabled"
DISABLED = "Disabled"
# publicNetworkAccess when a Network Security Perimeter governs access (the PublicNetworkAccess
# enums of azure-mgmt-storage / sql / cosmosdb / servicebus / eventhub; learn.microsoft.com/azure/
# private-link/network-security-perimeter-concepts). Neither public nor ours to change.
SECURED_BY_PERIMETER = "SecuredByPerimeter"
ALLOW = "Allow"
DENY = "Deny"


class Mode(str, enum.Enum):
    """Values of the ``harden`` tag."""

    PRIVATE = "private"
    SERVICE_ENDPOINT = "service-endpoint"
    OFF = "off"


TAG_NAME = "harden"


def requested_mode(tags: Mapping[str, str]) -> tuple[str | None, Mode | None]:
    """The raw ``harden`` tag value and the mode it names (tag name and value ignore case)."""
    for name, value in tags.items():
        if name.lower() == TAG_NAME:
            try:
                return value, Mode(value.strip().lower())
            except ValueError:
                return value, None
    return None, None


class Phase(enum.IntEnum):
    """What kind of step a change is; the plan graph's safety edges derive from it.

    The values give the order of a one-at-a-time run and the order steps are
    numbered in. Which change waits for which is decided by
    :func:`remediators.plan.link`: a private DNS zone and its VNet link exist
    before the endpoint (App Service and Cosmos DB go private-only the moment an
    endpoint exists), the endpoint before its zone group, a subnet's service
    endpoint before a firewall rule names it, and public access goes last.
    """

    #: A revert's first step: harden=off (remediators/revert.py).
    TAG = 5
    SUBNET_SERVICE_ENDPOINT = 10
    PRIVATE_DNS_ZONE = 20
    PRIVATE_DNS_LINK = 21
    PRIVATE_ENDPOINT = 30
    PRIVATE_DNS_ZONE_GROUP = 32
    FIREWALL_RULES = 40
    #: Removing an allow-everything rule (SQL's 0.0.0.0): after the rules that replace it.
    FIREWALL_CLEANUP = 45
    PUBLIC_ACCESS = 50
    #: A revert's last steps, with --remove-created: the endpoints, links and zones this tool made.
    REMOVE_CREATED = 60


@dataclass(frozen=True)
class ResourceState:
    """What a service reads about one resource, normalised for comparison.

    :param public_network_access: ``Enabled``, ``Disabled`` or ``SecuredByPerimeter``;
        an absent value reads as ``Enabled`` because that is what ARM does with it.
    :param default_action: The firewall's *effective* default (``Allow``/``Deny``):
        what happens to traffic no rule names, as the service computes it (SQL's
        and Cosmos DB's "Allow Azure" 0.0.0.0 rules read as ``Allow``; public
        access Disabled reads as ``Deny`` where the service has no switch of its
        own). ``None`` when there is nothing to judge.
    :param vnet_rule_subnet_ids: Lower-cased subnet ids already allowed.
    :param private_endpoint_ids: Lower-cased ids of connected private endpoints.
    :param private_link_groups: The groups this resource needs endpoints for.
    :param unsupported: Why this resource cannot be hardened (SKU, feature), if so.
    :param raw: The SDK models read, for services that must write them back whole.
    :param ip_rules: The public addresses and ranges an allow rule already lets in, normalised
        (``remediators.ip_ranges.canonical``: ``1.2.3.4/32`` reads as ``1.2.3.4``).
    :param private_link_target: The resource our private endpoints point at, when not this one: an App
        Service slot's endpoints target its site, with group ``sites-<slot>`` (remediators/services/web_slots.py).
        Endpoint names derive from the target's name.
    :param also_open: Other ways in, open to every network, that the firewall above does not cover
        (App Service's SCM/Kudu site with its own unrestricted rules): ``service-endpoint`` closes them too.
    """

    id: ResourceId
    location: str
    tags: Mapping[str, str]
    public_network_access: str
    default_action: str | None
    vnet_rule_subnet_ids: frozenset[str]
    private_endpoint_ids: frozenset[str]
    private_link_groups: tuple[PrivateLinkGroup, ...]
    unsupported: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    #: The resource's own ``provisioningState`` is ``Failed``: its last write (ours, perhaps) did not
    #: finish, whatever its properties say; it is written again (async-operations: a failed operation
    #: leaves the resource Failed).
    own_write_failed: bool = False
    ip_rules: frozenset[str] = frozenset()
    #: What the read decided that the outcome should say (e.g. why no Storage ``web`` endpoint is made).
    notes: tuple[str, ...] = field(default=(), compare=False)
    private_link_target: ResourceId | None = None
    also_open: tuple[str, ...] = ()

    @property
    def link_target(self) -> ResourceId:
        """What our private endpoints' ``privateLinkServiceId`` names (this resource, or its parent)."""
        return self.private_link_target or self.id

    @property
    def public(self) -> bool:
        return self.public_network_access.lower() not in (DISABLED.lower(), SECURED_BY_PERIMETER.lower())

    @property
    def governed_by_perimeter(self) -> bool:
        return self.public_network_access.lower() == SECURED_BY_PERIMETER.lower()


@dataclass(frozen=True)
class Change:
    """One write in a plan: what, where, before and after, and how to make it.

    ``apply`` performs exactly one ARM write (waiting for it if it is
    long-running); the benchmark holds every plan to that.

    :param key: Identifies the change within its plan (default: phase and target).
    :param needs: Keys of the changes that must have succeeded before this one
        runs (the plan graph's edges). Planners set the edges only they know
        (a zone group needs its endpoint); :func:`remediators.plan.link` adds
        the ones that follow from the phases.
    :param step: Position in the linked plan, from 1 (0 until linked).
    :param after_steps: The steps of ``needs`` (set when linked).
    """

    phase: Phase
    target: str
    summary: str
    before: Any
    after: Any
    apply: Callable[[], Any] = field(repr=False, compare=False)
    key: str = ""
    needs: frozenset[str] = frozenset()
    step: int = 0
    after_steps: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(self, "key", f"{self.phase.name.lower()}:{self.target.lower()}")

    def describe(self) -> dict[str, Any]:
        described = {"phase": self.phase.name.lower(), "target": self.target, "change": self.summary,
                     "before": self.before, "after": self.after}
        if self.step:
            described = {"step": self.step, "runsAfter": list(self.after_steps), **described}
        return described


class Status(str, enum.Enum):
    HARDENED = "hardened"
    PLANNED = "planned"
    #: Waiting on someone else (e.g. a private endpoint's manual approval); public access kept.
    PENDING = "pending"
    SKIPPED = "skipped"
    UNSUPPORTED = "unsupported"
    FAILED = "failed"
    #: A revert (remediators/revert.py) put the resource's settings back.
    REVERTED = "reverted"


@dataclass(frozen=True)
class Caller:
    """Who made the write that triggered us, as the event tells it."""

    principal_id: str | None = None
    app_id: str | None = None
    name: str | None = None

    def describe(self) -> dict[str, str]:
        return {k: v for k, v in (("principalId", self.principal_id), ("appId", self.app_id),
                                   ("name", self.name)) if v}


@dataclass(frozen=True)
class HardenRequest:
    """The queue message: a resource to re-evaluate, and the event that hinted at it."""

    resource_id: str
    event_id: str
    operation_name: str
    event_time: str | None = None
    caller: Caller = field(default_factory=Caller)


@dataclass(frozen=True)
class Outcome:
    """What happened to one resource, as published in the notification."""

    status: Status
    resource_id: str
    reason_code: str
    reason: str
    request: HardenRequest | None = None
    resource_type: str | None = None
    tag: str | None = None
    changes: tuple[Change, ...] = ()
    error: Mapping[str, str] | None = None
    #: Planned changes that were not made, each with why (a failure, or a step it needed failed).
    not_done: tuple[tuple[Change, str], ...] = ()
    #: Seconds each change that ran took, by ``Change.key``.
    seconds: Mapping[str, float] = field(default_factory=dict)
    #: The resource's tags as read (routing: remediators/dispatch.py); empty when it was not read.
    tags: Mapping[str, str] = field(default_factory=dict)
    #: What the notification channels did with it (``channels.Delivery``), once sent.
    deliveries: tuple[Any, ...] = ()
