"""The contract every per-service remediator fulfils.

A service knows how to read its slice of ARM state and how to write its own
firewall and public-access settings. Everything shared (tags, modes,
compliance, private endpoints, DNS, subnet service endpoints, ordering,
dry run, notifications) lives in the engine.
"""
from __future__ import annotations

import abc
from typing import TYPE_CHECKING, ClassVar, Sequence

from ..arm import ArmClients
from ..model import Change, Mode, ResourceState
from ..resource_id import ResourceId
from ..settings import Settings
from ..spec import ServiceSpec

if TYPE_CHECKING:
    from ..revert import Recorded


class ServiceRemediator(abc.ABC):
    """One subclass per handled resource type; its docstring lists its RBAC actions."""

    spec: ClassVar[ServiceSpec]

    @abc.abstractmethod
    def read(self, arm: ArmClients, resource_id: ResourceId) -> ResourceState:
        """Read the resource (and the children that hold its rules) from ARM.

        Raises ``azure.core.exceptions.ResourceNotFoundError`` when it is gone.
        """

    def with_settings(self, arm: ArmClients, state: ResourceState, settings: Settings) -> ResourceState:
        """``state`` as the platform's settings shape it (e.g. which private-link groups are required).

        The engine calls it after every :meth:`read`, so that compliance and planning see the same
        groups. Most services need nothing more than the read.
        """
        return state

    @abc.abstractmethod
    def plan_lockdown(self, arm: ArmClients, state: ResourceState) -> list[Change]:
        """``harden=private``'s last step: public network access off, firewall deny.

        The engine runs these only after the private endpoints and DNS exist.
        """

    @abc.abstractmethod
    def plan_vnet_rules(self, arm: ArmClients, state: ResourceState,
                        subnet_ids: Sequence[str], *, ip_ranges: Sequence[str] = ()) -> list[Change]:
        """``harden=service-endpoint``: allow these subnets and IP ranges, deny everything else.

        ``ip_ranges`` are canonical (``remediators.ip_ranges``, validated for every service at start-up).
        Existing rules are kept; public network access stays enabled.
        """

    @abc.abstractmethod
    def plan_restore(self, arm: ArmClients, resource_id: ResourceId, recorded: Recorded) -> list[Change]:
        """A revert (remediators/revert.py): this resource's own settings back as ``recorded`` says.

        Public access and the default as they were before our first change, the rules we added
        taken out, the rules we removed put back; every rule anyone else made is kept. Reads the
        resource as it is now; a setting already as recorded plans nothing.
        """

    def outcome_note(self, mode: Mode) -> str:
        """Words a ``hardened`` outcome's reason ends with (what else the mode closes, what to do next); none by default."""
        return ""
