"""Constants and seed helpers shared by the emulator tests."""

from __future__ import annotations

from emulator import Emulator

SUB = "00000000-0000-4000-8000-000000000001"
RG = "rg-test"
RG_ID = f"/subscriptions/{SUB}/resourceGroups/{RG}"


def rid(provider_path: str) -> str:
    """Resource id under the test resource group: rid("Microsoft.KeyVault/vaults/kv1")."""
    return f"{RG_ID}/providers/{provider_path}"


# -- seeds shaped like the real GET bodies (see /work/shared/fixtures/arm-examples) ------------

def seed_vnet(emu: Emulator, name: str = "vnet1", subnets: dict[str, dict] | None = None) -> str:
    vnet_id = rid(f"Microsoft.Network/virtualNetworks/{name}")
    subnets = subnets if subnets is not None else {"snet1": {"addressPrefix": "10.0.1.0/24"}}
    emu.seed(vnet_id, {
        "location": "westeurope",
        "properties": {
            "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
            "subnets": [{"name": n, "properties": p} for n, p in subnets.items()],
        },
    })
    return vnet_id
