"""Storage accounts: the remediation contract plus storage-specific checks."""
from __future__ import annotations

from typing import Mapping

from localdev.landing_zone import LandingZone
from localdev.seeds.storage import seed_storage_account
from tests.remediation import RemediationContract, deliver, settle


class TestStorage(RemediationContract):
    operation = "Microsoft.Storage/storageAccounts/write"
    service_endpoint = "Microsoft.Storage"
    groups = ("blob", "file", "queue", "table")
    zones = tuple(f"privatelink.{g}.core.windows.net" for g in groups)

    def seed(self, emu, lz: LandingZone, name: str, tags: Mapping[str, str] | None) -> str:
        return seed_storage_account(emu, lz, f"st{name}"[:24], tags=tags)

    def check_private(self, emu, lz, rid):
        props = emu.get(rid)["properties"]
        assert props["publicNetworkAccess"] == "Disabled"
        assert props["networkAcls"]["defaultAction"] == "Deny"
        # The example's resource-instance rule (a Synapse workspace) is someone else's: kept.
        assert props["networkAcls"]["resourceAccessRules"][0]["resourceId"].endswith("/testworkspace")

    def check_service_endpoint(self, emu, lz, rid):
        props = emu.get(rid)["properties"]
        acls = props["networkAcls"]
        assert acls["defaultAction"] == "Deny"
        assert [r["id"].lower() for r in acls["virtualNetworkRules"]] == [lz.workload_subnet_id.lower()]
        assert props.get("publicNetworkAccess", "Enabled") == "Enabled"


def test_hierarchical_namespace_adds_a_dfs_endpoint(host, emulator, lz):
    rid = seed_storage_account(emulator, lz, "stlakehouse01", tags={"harden": "private"}, hns=True)
    outcome = deliver(host, emulator, rid, "Microsoft.Storage/storageAccounts/write")
    assert outcome["status"] == "hardened", outcome
    pe = emulator.get(f"{lz.rg_id(lz.network_rg)}/providers/Microsoft.Network/privateEndpoints/pe-stlakehouse01-dfs")
    assert pe["properties"]["privateLinkServiceConnections"][0]["properties"]["groupIds"] == ["dfs"]
    assert emulator.get(f"{lz.rg_id(lz.dns_rg)}/providers/Microsoft.Network/privateDnsZones/"
                        "privatelink.dfs.core.windows.net") is not None
    settle(host, emulator, rid, "Microsoft.Storage/storageAccounts/write")


def test_ip_rules_are_kept_when_vnet_rules_are_added(host, emulator, lz):
    rid = seed_storage_account(emulator, lz, "stkeepips01", tags={"harden": "service-endpoint"},
                               ip_rules=["198.51.100.0/24"])
    deliver(host, emulator, rid, "Microsoft.Storage/storageAccounts/write")
    assert emulator.get(rid)["properties"]["networkAcls"]["ipRules"] == [
        {"value": "198.51.100.0/24", "action": "Allow"}]
