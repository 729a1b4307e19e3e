"""Seed Cosmos DB accounts shaped like Microsoft's DatabaseAccounts_Get example."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..landing_zone import LandingZone, seed_from_example

AZURE_DATACENTERS = "0.0.0.0"
# The addresses the portal adds for "Allow access from Azure portal"
# (learn.microsoft.com/azure/cosmos-db/how-to-configure-firewall).
AZURE_PORTAL_IPS = ("13.91.105.215", "4.210.172.107", "13.88.56.148", "40.91.218.243")


def seed_cosmos_account(emu: Any, lz: LandingZone, name: str, *, tags: Mapping[str, str] | None = None,
                        kind: str = "GlobalDocumentDB", capabilities: Sequence[str] = (),
                        ip_rules: Sequence[str] = (AZURE_DATACENTERS, *AZURE_PORTAL_IPS),
                        vnet_subnet_ids: Sequence[str] = (), vnet_filter: bool = False) -> str:
    """A public account shaped like DatabaseAccounts_Get (no publicNetworkAccess, a foreign
    private endpoint connection), by default with the portal's "Accept connections from
    within public Azure datacenters" (0.0.0.0) and "Azure portal" IP rules."""
    def mutate(body: dict[str, Any]) -> None:
        body["kind"] = kind
        props = body["properties"]
        props["documentEndpoint"] = f"https://{name}.documents.azure.com:443/"
        props["capabilities"] = [{"name": c} for c in capabilities]
        props["ipRules"] = [{"ipAddressOrRange": ip} for ip in ip_rules]
        props["isVirtualNetworkFilterEnabled"] = vnet_filter
        props["virtualNetworkRules"] = [{"id": s, "ignoreMissingVNetServiceEndpoint": True} for s in vnet_subnet_ids]
        props["locations"] = [
            {"locationName": "West Europe", "failoverPriority": 0, "isZoneRedundant": True},
            {"locationName": "North Europe", "failoverPriority": 1, "isZoneRedundant": False},
        ]
        props["consistencyPolicy"] = {"defaultConsistencyLevel": "BoundedStaleness",
                                      "maxIntervalInSeconds": 300, "maxStalenessPrefix": 100000}
        if kind == "MongoDB":
            props["apiProperties"] = {"serverVersion": "4.2"}
    return seed_from_example(emu, lz.resource_id(f"Microsoft.DocumentDB/databaseAccounts/{name}"),
                             "CosmosDBDatabaseAccountGet.json", tags, mutate)
