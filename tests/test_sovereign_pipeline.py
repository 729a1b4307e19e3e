"""End to end in a sovereign cloud: the zones the planner creates come from ARM's cloud metadata.

"""
from __future__ import annotations

from typing import Iterator

import pytest

from localdev.seeds.keyvault import seed_key_vault
from localdev.seeds.web import seed_web_app
from remediators.cloud import forget_clouds
from tests.remediation import deliver

@pytest.fixture
def cloud(emulator) -> Iterator[None]:
    forget_clouds()
    yield
    emulator.cloud = "AzureCloud"
    forget_clouds()  # the next test's endpoint is the same emulator URL


def zones(emulator, lz) -> set[str]:
    prefix = f"{lz.rg_id(lz.dns_rg)}/providers/Microsoft.Network/privateDnsZones/".lower()
    return {r.path.rsplit("/", 1)[-1].lower() for r in emulator.writes()
            if r.method == "PUT" and r.path.lower().startswith(prefix) and r.path.count("/") == prefix.count("/")}


@pytest.mark.parametrize("cloud_name, seed, operation, zone", [
    ("AzureUSGovernment", seed_key_vault, "Microsoft.KeyVault/vaults/write", "privatelink.vaultcore.usgovcloudapi.net"),
    ("AzureUSGovernment", seed_web_app, "Microsoft.Web/sites/write", "privatelink.azurewebsites.us"),
    ("AzureChinaCloud", seed_key_vault, "Microsoft.KeyVault/vaults/write", "privatelink.vaultcore.azure.cn"),
])
def test_private_endpoints_use_the_clouds_zone(host, emulator, lz, cloud, cloud_name, seed, operation, zone):
    emulator.cloud = cloud_name
    rid = seed(emulator, lz, "sovereign01", tags={"harden": "private"})
    outcome = deliver(host, emulator, rid, operation)
    assert outcome["status"] == "hardened", outcome
    assert zones(emulator, lz) == {zone}


def test_an_unknown_cloud_leaves_public_access_on_and_says_why(host, emulator, lz, cloud):
    emulator.cloud = {"name": "AzureStackCloud", "suffixes": {"keyVaultDns": "vault.local.azurestack.external"}}
    rid = seed_key_vault(emulator, lz, "kv-stack01", tags={"harden": "private"})
    outcome = deliver(host, emulator, rid, "Microsoft.KeyVault/vaults/write")
    assert outcome["status"] in ("failed", "unsupported"), outcome
    assert "AzureStackCloud" in outcome["reason"]
    assert emulator.writes() == []
    assert emulator.get(rid)["properties"].get("publicNetworkAccess", "Enabled") == "Enabled"
