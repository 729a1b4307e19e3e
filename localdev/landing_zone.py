"""A small landing zone seeded straight into the local emulator's store.

Resource bodies start from Microsoft's own example responses
(``arm_examples/``, see SOURCES.md there), so they carry the same missing
fields and foreign private endpoint connections real ones do.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

EXAMPLES = Path(__file__).resolve().parent / "arm_examples"

SUBSCRIPTION_ID = "8f3c2a71-5b6d-4e0f-9a1b-2c3d4e5f6a7b"
LOCATION = "westeurope"


def example_body(name: str) -> dict[str, Any]:
    """The 200 response body of one of Microsoft's examples."""
    return copy.deepcopy(json.loads((EXAMPLES / name).read_text())["responses"]["200"]["body"])


@dataclass(frozen=True)
class LandingZone:
    """Ids of the seeded network; ``settings()`` are the app settings that point at it."""

    subscription_id: str = SUBSCRIPTION_ID
    network_rg: str = "rg-lz-network"
    dns_rg: str = "rg-lz-dns"
    app_rg: str = "rg-workload"
    vnet_name: str = "vnet-lz-weu"

    def rg_id(self, group: str) -> str:
        return f"/subscriptions/{self.subscription_id}/resourceGroups/{group}"

    def id(self, group: str, provider_path: str) -> str:
        return f"{self.rg_id(group)}/providers/{provider_path}"

    @property
    def vnet_id(self) -> str:
        return self.id(self.network_rg, f"Microsoft.Network/virtualNetworks/{self.vnet_name}")

    @property
    def endpoint_subnet_id(self) -> str:
        return f"{self.vnet_id}/subnets/snet-private-endpoints"

    @property
    def workload_subnet_id(self) -> str:
        return f"{self.vnet_id}/subnets/snet-workload"

    @property
    def nsg_id(self) -> str:
        return self.id(self.network_rg, "Microsoft.Network/networkSecurityGroups/nsg-workload")

    @property
    def route_table_id(self) -> str:
        return self.id(self.network_rg, "Microsoft.Network/routeTables/rt-workload")

    def resource_id(self, provider_path: str) -> str:
        return self.id(self.app_rg, provider_path)

    def settings(self) -> dict[str, str]:
        return {
            "HARDEN_SUBSCRIPTION_IDS": self.subscription_id,
            "HARDEN_PRIVATE_ENDPOINT_SUBNET_ID": self.endpoint_subnet_id,
            "HARDEN_SERVICE_ENDPOINT_SUBNET_IDS": self.workload_subnet_id,
            "HARDEN_DNS_ZONES_RESOURCE_GROUP_ID": self.rg_id(self.dns_rg),
        }


def seed_network(emu: Any, lz: LandingZone = LandingZone()) -> LandingZone:
    """VNet with an endpoint subnet and a workload subnet that has an NSG, a route
    table, a delegation and an existing service endpoint: everything a careless
    subnet PUT would wipe."""
    emu.seed(lz.nsg_id, {"location": LOCATION, "properties": {"securityRules": []}})
    emu.seed(lz.route_table_id, {"location": LOCATION, "properties": {"routes": []}})
    emu.seed(lz.vnet_id, {
        "location": LOCATION,
        "properties": {
            "addressSpace": {"addressPrefixes": ["10.10.0.0/16"]},
            "subnets": [
                {"name": "snet-private-endpoints", "properties": {
                    "addressPrefix": "10.10.1.0/24",
                    "privateEndpointNetworkPolicies": "Disabled",
                    "privateLinkServiceNetworkPolicies": "Enabled"}},
                {"name": "snet-workload", "properties": {
                    "addressPrefix": "10.10.2.0/24",
                    "networkSecurityGroup": {"id": lz.nsg_id},
                    "routeTable": {"id": lz.route_table_id},
                    "serviceEndpoints": [{"service": "Microsoft.Sql", "locations": [LOCATION]}],
                    "delegations": [{"name": "web", "properties": {"serviceName": "Microsoft.Web/serverFarms"}}],
                    "privateEndpointNetworkPolicies": "Enabled",
                    "privateLinkServiceNetworkPolicies": "Enabled"}},
            ],
        },
    })
    return lz


def seed_from_example(emu: Any, resource_id: str, example: str, tags: Mapping[str, str] | None,
                      mutate: Callable[[dict[str, Any]], None] | None = None) -> str:
    body = example_body(example)
    body["location"] = LOCATION
    body["tags"] = dict(tags or {})
    if mutate:
        mutate(body)
    emu.seed(resource_id, body)
    return resource_id
