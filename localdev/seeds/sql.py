"""Seed Azure SQL logical servers shaped like Microsoft's Servers_Get example (ServerGet.json)."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..landing_zone import LandingZone, seed_from_example

ALLOW_AZURE_SERVICES = "AllowAllWindowsAzureIps"
# An Entra ID admin, shaped like Servers_Get with $expand=administrators/activedirectory.
AAD_ADMIN = {
    "administratorType": "ActiveDirectory",
    "principalType": "Group",
    "login": "sql-admins",
    "sid": "4f6a7a3e-2c1d-4b6e-9f0a-1d2c3b4a5e6f",
    "tenantId": "7b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e",
    "azureADOnlyAuthentication": False,
}


def seed_sql_server(emu: Any, lz: LandingZone, name: str, *, tags: Mapping[str, str] | None = None,
                    allow_azure_services: bool = True,
                    ip_ranges: Sequence[tuple[str, str, str]] = (("office", "203.0.113.0", "203.0.113.255"),),
                    vnet_subnet_ids: Sequence[str] = (), location: str | None = None) -> str:
    """A public server with the example's foreign private endpoint, an Entra ID admin,
    and firewall rules: the portal's "Allow Azure services" rule (0.0.0.0) unless
    ``allow_azure_services`` is false, plus ``ip_ranges`` (name, start, end) and
    VNet rules for ``vnet_subnet_ids`` (rule names ``existing-<n>``)."""
    def mutate(body: dict[str, Any]) -> None:
        props = body["properties"]
        props["fullyQualifiedDomainName"] = f"{name}.database.windows.net"
        props["administrators"] = dict(AAD_ADMIN)
        props["minimalTlsVersion"] = "1.2"
        if location:
            body["location"] = location
    rid = seed_from_example(emu, lz.resource_id(f"Microsoft.Sql/servers/{name}"), "ServerGet.json", tags, mutate)
    rules = [(ALLOW_AZURE_SERVICES, "0.0.0.0", "0.0.0.0")] if allow_azure_services else []
    for rule_name, start, end in [*rules, *ip_ranges]:
        emu.seed(f"{rid}/firewallRules/{rule_name}", {"properties": {"startIpAddress": start, "endIpAddress": end}})
    for i, subnet_id in enumerate(vnet_subnet_ids):
        emu.seed(f"{rid}/virtualNetworkRules/existing-{i}", {"properties": {
            "virtualNetworkSubnetId": subnet_id, "ignoreMissingVnetServiceEndpoint": True}})
    return rid
