"""Seed Storage accounts shaped like Microsoft's StorageAccounts_GetProperties example."""
from __future__ import annotations

from typing import Any, Mapping

from ..landing_zone import LandingZone, seed_from_example


def seed_storage_account(emu: Any, lz: LandingZone, name: str, *, tags: Mapping[str, str] | None = None,
                         hns: bool = False, ip_rules: list[str] | None = None, kind: str = "StorageV2",
                         sku: str = "Standard_GRS", location: str | None = None) -> str:
    """A public account shaped like StorageAccounts_GetProperties (no publicNetworkAccess).

    The example is a general-purpose v1 (``Storage``) account; by default the seed is
    the StorageV2 account most estates have (kind and SKU can be chosen).
    """
    def mutate(body: dict[str, Any]) -> None:
        body["kind"] = kind
        if location:
            body["location"] = location
        body["sku"] = {"name": sku, "tier": "Premium" if sku.startswith("Premium") else "Standard"}
        props = body["properties"]
        props["isHnsEnabled"] = hns
        props["networkAcls"]["ipRules"] = [{"value": ip, "action": "Allow"} for ip in ip_rules or ()]
        for endpoints in (props["primaryEndpoints"],):
            for key in ("web", "dfs", "blob", "file", "queue", "table"):
                endpoints[key] = f"https://{name}.{key}.core.windows.net/"
    return seed_from_example(emu, lz.resource_id(f"Microsoft.Storage/storageAccounts/{name}"),
                 "StorageAccountGetProperties.json", tags, mutate)
