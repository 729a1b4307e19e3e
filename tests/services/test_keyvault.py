"""Key Vault: the remediation contract plus vault-specific checks."""
from __future__ import annotations

from typing import Any, Mapping

from localdev.landing_zone import LandingZone
from localdev.seeds.keyvault import seed_key_vault
from tests.remediation import RemediationContract, deliver


class TestKeyVault(RemediationContract):
    operation = "Microsoft.KeyVault/vaults/write"
    service_endpoint = "Microsoft.KeyVault"
    groups = ("vault",)
    zones = ("privatelink.vaultcore.azure.net",)

    def seed(self, emu, lz: LandingZone, name: str, tags: Mapping[str, str] | None) -> str:
        return seed_key_vault(emu, lz, f"kv-{name}", tags=tags)

    def check_private(self, emu, lz, rid):
        props = emu.get(rid)["properties"]
        assert props["publicNetworkAccess"] == "Disabled"
        assert props["networkAcls"]["defaultAction"] == "Deny"
        # The example's access policies survive the PATCH untouched.
        assert props["accessPolicies"][0]["permissions"]["keys"][0] == "encrypt"

    def check_service_endpoint(self, emu, lz, rid):
        acls = emu.get(rid)["properties"]["networkAcls"]
        assert acls["defaultAction"] == "Deny"
        assert [r["id"] for r in acls["virtualNetworkRules"]] == [lz.workload_subnet_id.lower()]
        assert emu.get(rid)["properties"]["publicNetworkAccess"] == "Enabled"


def test_existing_firewall_rules_are_kept(host, emulator, lz):
    rid = seed_key_vault(emulator, lz, "kv-keeprules01", tags={"harden": "service-endpoint"})
    other_subnet = lz.endpoint_subnet_id.lower()
    emulator.seed(rid, {**emulator.get(rid), "properties": {
        **emulator.get(rid)["properties"],
        "networkAcls": {"defaultAction": "Allow", "bypass": "None", "ipRules": [{"value": "203.0.113.7/32"}],
                        "virtualNetworkRules": [{"id": other_subnet, "ignoreMissingVnetServiceEndpoint": True}]}}})
    outcome = deliver(host, emulator, rid, "Microsoft.KeyVault/vaults/write")
    assert outcome["status"] == "hardened"
    acls: Mapping[str, Any] = emulator.get(rid)["properties"]["networkAcls"]
    assert acls["ipRules"] == [{"value": "203.0.113.7/32"}]
    assert {r["id"] for r in acls["virtualNetworkRules"]} == {other_subnet, lz.workload_subnet_id.lower()}
    assert acls["bypass"] == "None", "someone else's bypass choice is theirs"
