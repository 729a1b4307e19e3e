"""Seed Service Bus namespaces shaped like Microsoft's SBNameSpaceGet example."""
from __future__ import annotations

from typing import Any, Mapping

from ..landing_zone import LandingZone
from .messaging import seed_namespace


def seed_service_bus_namespace(emu: Any, lz: LandingZone, name: str, *, tags: Mapping[str, str] | None = None,
                               tier: str = "Premium", rule_set: Mapping[str, Any] | None = None) -> str:
    """A public namespace; Premium ones carry a foreign approved private endpoint connection."""
    extra = {"platformCapabilities": {"confidentialCompute": {"mode": "Disabled"}}}
    return seed_namespace(emu, lz, "Microsoft.ServiceBus", name, tier=tier, tags=tags, extra=extra,
                          private_link=tier.lower() == "premium", rule_set=rule_set)
