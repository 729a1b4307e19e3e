"""Storage accounts: the remediation contract plus storage-specific checks."""
from __future__ import annotations

from typing import Mapping

import pytest

from localdev.landing_zone import LandingZone
from localdev.seeds.storage import seed_storage_account
from tests.remediation import RemediationContract, deliver, settle


class TestStorage(RemediationContract):
    operation = "Microsoft.Storage/storageAccounts/write"
    service_endpoint = "Microsoft.Storage"
    # StorageV2, Standard_GRS: web for a static website ARM cannot show us; no read-access secondary.
    groups = ("blob", "file", "queue", "table", "web")
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


ALL_GROUPS = [g + s for s in ("", "_secondary") for g in ("blob", "file", "queue", "table", "web", "dfs")]


def _endpoint_groups(emulator, lz, name: str) -> set[str]:
    found = set()
    for group in ALL_GROUPS:
        pe = emulator.get(f"{lz.rg_id(lz.network_rg)}/providers/Microsoft.Network/privateEndpoints/pe-{name}-{group}")
        if pe is not None:
            assert pe["properties"]["privateLinkServiceConnections"][0]["properties"]["groupIds"] == [group]
            found.add(group)
    return found


def _zone(emulator, lz, zone: str):
    return emulator.get(f"{lz.rg_id(lz.dns_rg)}/providers/Microsoft.Network/privateDnsZones/{zone}")


@pytest.mark.parametrize(("kind", "sku", "hns", "expected"), [
    # storage/common/storage-private-endpoints: one endpoint per sub-resource the account offers.
    ("BlockBlobStorage", "Premium_LRS", False, {"blob"}),
    ("BlockBlobStorage", "Premium_ZRS", True, {"blob", "dfs"}),
    ("FileStorage", "Premium_LRS", False, {"file"}),
    ("BlobStorage", "Standard_LRS", False, {"blob"}),
    ("StorageV2", "Premium_LRS", False, {"blob"}),  # premium page blobs
    # RA-GRS / RA-GZRS: secondary reads need <group>_secondary endpoints too (not for Azure Files).
    ("StorageV2", "Standard_RAGRS", False,
     {"blob", "file", "queue", "table", "web", "blob_secondary", "queue_secondary", "table_secondary",
      "web_secondary"}),
    ("StorageV2", "Standard_RAGZRS", True,
     {"blob", "file", "queue", "table", "web", "dfs", "blob_secondary", "queue_secondary", "table_secondary",
      "web_secondary", "dfs_secondary"}),
])
def test_endpoints_follow_kind_and_sku(host, emulator, lz, kind, sku, hns, expected):
    name = f"st{kind[:5].lower()}{sku[-5:].lower().strip('_')}{int(hns)}"[:24]
    rid = seed_storage_account(emulator, lz, name, tags={"harden": "private"}, kind=kind, sku=sku, hns=hns)
    outcome = deliver(host, emulator, rid, "Microsoft.Storage/storageAccounts/write")
    assert outcome["status"] == "hardened", outcome
    assert _endpoint_groups(emulator, lz, name) == expected
    # A secondary is served by its primary's zone (private-link/private-endpoint-dns).
    for group in expected:
        assert _zone(emulator, lz, f"privatelink.{group.removesuffix('_secondary')}.core.windows.net") is not None
        assert _zone(emulator, lz, f"privatelink.{group}.core.windows.net") is None or "_" not in group
    assert emulator.get(rid)["properties"]["publicNetworkAccess"] == "Disabled"


def test_general_purpose_v1_private_is_unsupported_and_left_open(host, emulator, lz):
    rid = seed_storage_account(emulator, lz, "stgpv1priv01", tags={"harden": "private"}, kind="Storage",
                               sku="Standard_GRS")
    emulator.clear_requests()
    outcome = deliver(host, emulator, rid, "Microsoft.Storage/storageAccounts/write")
    assert (outcome["status"], outcome["reasonCode"]) == ("unsupported", "unsupported"), outcome
    assert "general-purpose v1" in outcome["reason"] and "StorageV2" in outcome["reason"]
    assert emulator.writes() == []
    assert "publicNetworkAccess" not in emulator.get(rid)["properties"]


def test_general_purpose_v1_service_endpoint_still_works(host, emulator, lz):
    rid = seed_storage_account(emulator, lz, "stgpv1se01", tags={"harden": "service-endpoint"}, kind="Storage",
                               sku="Standard_LRS")
    outcome = deliver(host, emulator, rid, "Microsoft.Storage/storageAccounts/write")
    assert outcome["status"] == "hardened", outcome
    assert emulator.get(rid)["properties"]["networkAcls"]["defaultAction"] == "Deny"
