"""Seed Key Vaults shaped like Microsoft's Vaults_Get example."""
from __future__ import annotations

from typing import Any, Mapping

from ..landing_zone import LandingZone, seed_from_example


def seed_key_vault(emu: Any, lz: LandingZone, name: str, *, tags: Mapping[str, str] | None = None) -> str:
    """A public vault shaped like Microsoft's Vaults_Get example (no networkAcls at all)."""
    def mutate(body: dict[str, Any]) -> None:
        body["properties"]["vaultUri"] = f"https://{name}.vault.azure.net"
        body["properties"].pop("hsmPoolResourceId", None)
    return seed_from_example(emu, lz.resource_id(f"Microsoft.KeyVault/vaults/{name}"), "getVault.json", tags, mutate)
