"""Cosmos DB accounts: the remediation contract plus Cosmos-specific checks."""
from __future__ import annotations

from typing import Mapping

import pytest

from localdev.landing_zone import LandingZone
from localdev.seeds.cosmosdb import AZURE_PORTAL_IPS, seed_cosmos_account
from tests.remediation import RemediationContract, deliver, settle

ACCOUNT_WRITE = "Microsoft.DocumentDB/databaseAccounts/write"
PORTAL_RULES = [{"ipAddressOrRange": ip} for ip in AZURE_PORTAL_IPS]


def check_settings_kept(emu, rid: str) -> None:
    """Only network properties were PATCHed: locations, consistency, kind, identity survive."""
    account = emu.get(rid)
    props = account["properties"]
    assert [(l["locationName"], l["failoverPriority"], l["isZoneRedundant"]) for l in props["locations"]] == [
        ("West Europe", 0, True), ("North Europe", 1, False)]
    assert props["consistencyPolicy"] == {"defaultConsistencyLevel": "BoundedStaleness",
                                          "maxIntervalInSeconds": 300, "maxStalenessPrefix": 100000}
    assert props["backupPolicy"]["type"] == "Periodic"
    assert props["networkAclBypass"] == "None"
    assert account["identity"]["type"] == "SystemAssigned,UserAssigned"


def own_patches(emu) -> list[dict]:
    return [r.body for r in emu.writes() if r.resource_type == "Microsoft.DocumentDB/databaseAccounts"]


def gets(emu) -> list[str]:
    return [r.path for r in emu.arm_calls() if r.method == "GET"]


class TestCosmosDb(RemediationContract):
    operation = ACCOUNT_WRITE
    service_endpoint = "Microsoft.AzureCosmosDB"
    groups = ("Sql",)
    zones = ("privatelink.documents.azure.com",)

    def seed(self, emu, lz: LandingZone, name: str, tags: Mapping[str, str] | None) -> str:
        return seed_cosmos_account(emu, lz, f"cosmos-{name}", tags=tags)

    def check_private(self, emu, lz, rid):
        props = emu.get(rid)["properties"]
        assert props["publicNetworkAccess"] == "Disabled"
        # The Azure-datacenters rule goes in the same PATCH; the portal's addresses stay.
        assert props["ipRules"] == PORTAL_RULES
        assert props["isVirtualNetworkFilterEnabled"] is False, "private mode does not touch the VNet filter"
        check_settings_kept(emu, rid)
        assert own_patches(emu) == [{"properties": {"publicNetworkAccess": "Disabled", "ipRules": PORTAL_RULES}}]

    def check_service_endpoint(self, emu, lz, rid):
        props = emu.get(rid)["properties"]
        assert props.get("publicNetworkAccess", "Enabled") == "Enabled"
        assert props["isVirtualNetworkFilterEnabled"] is True
        assert [(r["id"].lower(), r["ignoreMissingVNetServiceEndpoint"]) for r in props["virtualNetworkRules"]] == [
            (lz.workload_subnet_id.lower(), False)]
        assert props["ipRules"] == PORTAL_RULES
        check_settings_kept(emu, rid)
        (patch,) = own_patches(emu)
        assert set(patch["properties"]) == {"isVirtualNetworkFilterEnabled", "virtualNetworkRules", "ipRules"}


def test_mongodb_account_gets_a_mongodb_endpoint_and_zone(host, emulator, lz):
    rid = seed_cosmos_account(emulator, lz, "cosmos-mongo01", tags={"harden": "private"}, kind="MongoDB",
                              capabilities=("EnableMongo",))
    outcome = deliver(host, emulator, rid, ACCOUNT_WRITE)
    assert outcome["status"] == "hardened", outcome
    pe = emulator.get(f"{lz.rg_id(lz.network_rg)}/providers/Microsoft.Network/privateEndpoints/pe-cosmos-mongo01-mongodb")
    assert pe["properties"]["privateLinkServiceConnections"][0]["properties"]["groupIds"] == ["MongoDB"]
    zone_id = f"{lz.rg_id(lz.dns_rg)}/providers/Microsoft.Network/privateDnsZones/privatelink.mongo.cosmos.azure.com"
    assert emulator.get(zone_id) is not None
    group = emulator.get(f"{pe['id']}/privateDnsZoneGroups/default")
    assert [c["properties"]["privateDnsZoneId"].lower() for c in group["properties"]["privateDnsZoneConfigs"]] == [
        zone_id.lower()]
    assert emulator.get(f"{lz.rg_id(lz.dns_rg)}/providers/Microsoft.Network/privateDnsZones/"
                        "privatelink.documents.azure.com") is None
    assert emulator.get(rid)["properties"]["apiProperties"] == {"serverVersion": "4.2"}
    settle(host, emulator, rid, ACCOUNT_WRITE)


@pytest.mark.parametrize("capability, group, zone", [
    ("EnableCassandra", "Cassandra", "privatelink.cassandra.cosmos.azure.com"),
    ("EnableGremlin", "Gremlin", "privatelink.gremlin.cosmos.azure.com"),
    ("EnableTable", "Table", "privatelink.table.cosmos.azure.com"),
])
def test_api_capability_picks_the_group_and_zone(host, emulator, lz, capability, group, zone):
    name = f"cosmos-{group.lower()}01"
    rid = seed_cosmos_account(emulator, lz, name, tags={"harden": "private"}, capabilities=(capability,))
    assert deliver(host, emulator, rid, ACCOUNT_WRITE)["status"] == "hardened"
    pe = emulator.get(f"{lz.rg_id(lz.network_rg)}/providers/Microsoft.Network/privateEndpoints/pe-{name}-{group.lower()}")
    assert pe["properties"]["privateLinkServiceConnections"][0]["properties"]["groupIds"] == [group]
    assert emulator.get(f"{lz.rg_id(lz.dns_rg)}/providers/Microsoft.Network/privateDnsZones/{zone}") is not None
    # Gremlin and Table accounts are reachable through the NoSQL endpoint too: a second endpoint, group Sql
    # (cosmos-db/how-to-configure-private-endpoints); Cassandra is not.
    sql_pe = emulator.get(f"{lz.rg_id(lz.network_rg)}/providers/Microsoft.Network/privateEndpoints/pe-{name}-sql")
    sql_zone = emulator.get(f"{lz.rg_id(lz.dns_rg)}/providers/Microsoft.Network/privateDnsZones/"
                            "privatelink.documents.azure.com")
    if group == "Cassandra":
        assert sql_pe is None and sql_zone is None
    else:
        assert sql_pe["properties"]["privateLinkServiceConnections"][0]["properties"]["groupIds"] == ["Sql"]
        zone_group = emulator.get(f"{sql_pe['id']}/privateDnsZoneGroups/default")
        assert [c["properties"]["privateDnsZoneId"].lower() for c in zone_group["properties"]["privateDnsZoneConfigs"]
                ] == [sql_zone["id"].lower()]
    assert emulator.get(rid)["properties"]["publicNetworkAccess"] == "Disabled"


def test_existing_vnet_and_ip_rules_are_kept_and_sent_whole(host, emulator, lz):
    rid = seed_cosmos_account(emulator, lz, "cosmos-keeprules01", tags={"harden": "service-endpoint"},
                              ip_rules=("0.0.0.0", "198.51.100.0/24", *AZURE_PORTAL_IPS),
                              vnet_subnet_ids=(lz.endpoint_subnet_id,), vnet_filter=True)
    assert deliver(host, emulator, rid, ACCOUNT_WRITE)["status"] == "hardened"
    props = emulator.get(rid)["properties"]
    assert [r["ipAddressOrRange"] for r in props["ipRules"]] == ["198.51.100.0/24", *AZURE_PORTAL_IPS]
    assert [(r["id"].lower(), r["ignoreMissingVNetServiceEndpoint"]) for r in props["virtualNetworkRules"]] == [
        (lz.endpoint_subnet_id.lower(), True), (lz.workload_subnet_id.lower(), False)]
    settle(host, emulator, rid, ACCOUNT_WRITE)


def test_rules_listed_while_the_filter_is_off_do_not_count(host, emulator, lz):
    """With isVirtualNetworkFilterEnabled false, VNet rules do nothing: turn the filter on, no duplicate rule."""
    rid = seed_cosmos_account(emulator, lz, "cosmos-filteroff01", tags={"harden": "service-endpoint"},
                              ip_rules=("198.51.100.7",), vnet_subnet_ids=(lz.workload_subnet_id,))
    assert deliver(host, emulator, rid, ACCOUNT_WRITE)["status"] == "hardened"
    props = emulator.get(rid)["properties"]
    assert props["isVirtualNetworkFilterEnabled"] is True
    assert [r["id"].lower() for r in props["virtualNetworkRules"]] == [lz.workload_subnet_id.lower()]
    settle(host, emulator, rid, ACCOUNT_WRITE)


def test_compliant_checks_cost_one_get_in_both_modes(host, emulator, lz):
    for mode in ("private", "service-endpoint"):
        rid = seed_cosmos_account(emulator, lz, f"cosmos-gets-{mode}", tags={"harden": mode})
        assert deliver(host, emulator, rid, ACCOUNT_WRITE)["status"] == "hardened"
        emulator.drain_events()
        emulator.clear_requests()
        assert deliver(host, emulator, rid, ACCOUNT_WRITE)["reasonCode"] == "already-compliant"
        assert gets(emulator) == [rid], gets(emulator)


def test_untagged_account_behind_a_firewall_is_not_reported_as_public(host, emulator, lz):
    rid = seed_cosmos_account(emulator, lz, "cosmos-fenced01", tags=None, ip_rules=("198.51.100.7",))
    outcome = deliver(host, emulator, rid, ACCOUNT_WRITE)
    assert (outcome["status"], outcome["reasonCode"]) == ("skipped", "untagged")


def test_private_account_without_ip_rules_patches_public_access_only(host, emulator, lz):
    rid = seed_cosmos_account(emulator, lz, "cosmos-noips01", tags={"harden": "private"}, ip_rules=())
    assert deliver(host, emulator, rid, ACCOUNT_WRITE)["status"] == "hardened"
    assert own_patches(emulator) == [{"properties": {"publicNetworkAccess": "Disabled"}}]
    settle(host, emulator, rid, ACCOUNT_WRITE)


def test_exclusive_lock_412_while_another_update_runs_is_retried(host, emulator, lz):
    """Cosmos DB's 412 "operation in progress which requires an exclusive lock" is transient."""
    from emulator.faults import cosmos_exclusive_lock

    rid = seed_cosmos_account(emulator, lz, "cosmos-busy01", tags={"harden": "service-endpoint"})
    published_before = len(emulator.notifications)
    delivered_before = len(host.deliveries)
    fault = emulator.faults.add(cosmos_exclusive_lock("cosmos-busy01"))
    try:
        outcome = deliver(host, emulator, rid, ACCOUNT_WRITE)
    finally:
        emulator.faults.clear()
    assert fault.hits == 1
    assert outcome["status"] == "hardened", outcome
    assert [r.status for r in emulator.writes() if r.resource_type == "Microsoft.DocumentDB/databaseAccounts"
            ][:2] == [412, 200]
    # Retried inside the one attempt: no failed outcome, no failed delivery (no message redelivery).
    statuses = [n["data"]["status"] for n in emulator.notifications[published_before:]
                if n["data"]["resourceId"].lower() == rid.lower()]
    assert "failed" not in statuses, statuses
    assert [d.error for d in host.deliveries[delivered_before:]][0] is None
    assert emulator.get(rid)["properties"]["isVirtualNetworkFilterEnabled"] is True


def test_hardening_while_the_owner_updates_the_account_waits_for_the_exclusive_lock(host, emulator, lz):
    """Modelled, not injected: the owner's update holds the account; our PATCH gets 412 and is retried."""
    from azure.identity import DefaultAzureCredential
    from azure.mgmt.cosmosdb import CosmosDBManagementClient

    rid = seed_cosmos_account(emulator, lz, "cosmos-owner01", tags={"harden": "service-endpoint"})
    owner = CosmosDBManagementClient(DefaultAzureCredential(), lz.subscription_id, base_url=emulator.url,
                                     credential_scopes=[emulator.url + "/.default"], polling_interval=0)
    # Only Cosmos DB operations take time, and long ones (100 Azure seconds, 2 s here), so that our
    # PATCH lands inside the owner's update even on a loaded machine.
    emulator.timing.lro_seconds = {"microsoft.documentdb/databaseaccounts": 100.0, "microsoft.network": 0.0}
    emulator.timing.sync_seconds = 0.0
    emulator.timing.scale = 0.02
    published_before = len(emulator.notifications)
    try:
        owner.database_accounts.begin_update(lz.app_rg, "cosmos-owner01",
                                             {"properties": {"consistencyPolicy": {
                                                 "defaultConsistencyLevel": "Session"}}})  # still running
        outcome = deliver(host, emulator, rid, ACCOUNT_WRITE)
    finally:
        emulator.timing.scale = 0.0
    assert outcome["status"] == "hardened", outcome
    ours = [r.status for r in emulator.writes() if r.resource_type == "Microsoft.DocumentDB/databaseAccounts"][1:]
    assert ours[0] == 412 and ours[-1] == 200, ours
    statuses = [n["data"]["status"] for n in emulator.notifications[published_before:]
                if n["data"]["resourceId"].lower() == rid.lower()]
    assert "failed" not in statuses, statuses
    props = emulator.get(rid)["properties"]
    assert props["isVirtualNetworkFilterEnabled"] is True
    assert props["consistencyPolicy"]["defaultConsistencyLevel"] == "Session"  # the owner's change survives
