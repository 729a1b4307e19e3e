"""Seed Event Hubs namespaces shaped like Microsoft's EHNameSpaceGet example."""
from __future__ import annotations

from typing import Any, Mapping

from ..landing_zone import LandingZone
from .messaging import seed_namespace


def seed_event_hubs_namespace(emu: Any, lz: LandingZone, name: str, *, tags: Mapping[str, str] | None = None,
                              tier: str = "Standard", rule_set: Mapping[str, Any] | None = None) -> str:
    """A public namespace; Standard and above carry a foreign approved private endpoint connection."""
    extra = {"isAutoInflateEnabled": False, "maximumThroughputUnits": 0, "kafkaEnabled": tier.lower() != "basic",
             "zoneRedundant": False}
    return seed_namespace(emu, lz, "Microsoft.EventHub", name, tier=tier, tags=tags, extra=extra,
                          private_link=tier.lower() != "basic", rule_set=rule_set)
