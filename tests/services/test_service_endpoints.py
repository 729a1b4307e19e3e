"""Service endpoints as Azure has them: regional reach, and an effect on the whole subnet.

Sources: learn.microsoft.com/azure/virtual-network/virtual-network-service-endpoints-overview
("Limitations": SQL within the VNet's region, Storage the region and its pair; "Considerations":
traffic switches to private source addresses); learn.microsoft.com/azure/app-service/overview-private-endpoint
(limitations: apps with a private endpoint get no traffic from subnets with Microsoft.Web).
"""
from __future__ import annotations

from localdev.seeds.sql import seed_sql_server
from localdev.seeds.storage import seed_storage_account
from localdev.seeds.web import seed_web_app
from remediators.network import service_endpoint_reach
from tests.remediation import deliver

SQL_WRITE = "Microsoft.Sql/servers/write"
STORAGE_WRITE = "Microsoft.Storage/storageAccounts/write"


def test_sql_server_in_another_region_fails_before_anything_is_written(host, emulator, lz):
    # The landing zone's workload subnet is in westeurope; a SQL endpoint there never reaches eastus.
    rid = seed_sql_server(emulator, lz, "sql-far-away01", tags={"harden": "service-endpoint"}, location="eastus")
    emulator.clear_requests()
    outcome = deliver(host, emulator, rid, SQL_WRITE)
    assert (outcome["status"], outcome["reasonCode"]) == ("failed", "lockout-risk"), outcome
    assert lz.workload_subnet_id in outcome["reason"] and "eastus" in outcome["reason"]
    assert "westeurope" in outcome["reason"]
    assert emulator.writes() == []
    # The "Allow Azure services" rule stays: nobody who used it is cut off.
    assert emulator.get(f"{rid}/firewallRules/AllowAllWindowsAzureIps") is not None


def _services(emulator, subnet_id: str) -> list[str]:
    return [e["service"] for e in emulator.get(subnet_id)["properties"].get("serviceEndpoints") or []]


def test_storage_account_outside_the_region_pair_gets_the_cross_region_endpoint(host, emulator, lz):
    # A Microsoft.Storage endpoint in westeurope reaches only westeurope and northeurope; Microsoft.Storage.Global
    # reaches storage in any region (storage-network-security, cross-region service endpoints). deliver() also
    # delivers again and asserts that the second pass writes nothing.
    subnet = emulator.get(lz.workload_subnet_id)["properties"]
    rid = seed_storage_account(emulator, lz, "stfaraway01", tags={"harden": "service-endpoint"}, location="westus")
    outcome = deliver(host, emulator, rid, STORAGE_WRITE)
    assert outcome["status"] == "hardened", outcome
    assert _services(emulator, lz.workload_subnet_id) == [*(e["service"] for e in subnet["serviceEndpoints"]),
                                                          "Microsoft.Storage.Global"]
    after = emulator.get(lz.workload_subnet_id)["properties"]
    # Merged, not replaced: the subnet's other settings stay as they were.
    assert after["delegations"] == subnet["delegations"]
    assert after["networkSecurityGroup"] == subnet["networkSecurityGroup"]
    assert after["routeTable"] == subnet["routeTable"]
    acls = emulator.get(rid)["properties"]["networkAcls"]
    assert acls["defaultAction"] == "Deny"
    assert [r["id"].lower() for r in acls["virtualNetworkRules"]] == [lz.workload_subnet_id.lower()]


def test_an_account_in_reach_of_a_cross_region_subnet_adds_no_local_endpoint(host, emulator, lz):
    far = seed_storage_account(emulator, lz, "stfaraway02", tags={"harden": "service-endpoint"}, location="westus")
    assert deliver(host, emulator, far, STORAGE_WRITE)["status"] == "hardened"
    near = seed_storage_account(emulator, lz, "stnearby02", tags={"harden": "service-endpoint"})
    outcome = deliver(host, emulator, near, STORAGE_WRITE)
    assert outcome["status"] == "hardened", outcome
    assert "Microsoft.Storage" not in _services(emulator, lz.workload_subnet_id)  # Global carries it


def test_a_subnet_with_the_local_storage_endpoint_fails_for_a_far_account(host, emulator, lz):
    """Microsoft.Storage and Microsoft.Storage.Global cannot coexist on one subnet; replacing the local one would
    reset every other resource's traffic on the subnet, so the far account fails before anything is written."""
    near = seed_storage_account(emulator, lz, "stnearby03", tags={"harden": "service-endpoint"})
    assert deliver(host, emulator, near, STORAGE_WRITE)["status"] == "hardened"
    far = seed_storage_account(emulator, lz, "stfaraway03", tags={"harden": "service-endpoint"}, location="westus")
    emulator.clear_requests()
    outcome = deliver(host, emulator, far, STORAGE_WRITE)
    assert (outcome["status"], outcome["reasonCode"]) == ("failed", "lockout-risk"), outcome
    assert "cannot coexist" in outcome["reason"] and "Microsoft.Storage.Global" in outcome["reason"]
    assert emulator.writes() == []
    assert "Microsoft.Storage.Global" not in _services(emulator, lz.workload_subnet_id)
    assert emulator.get(far)["properties"]["networkAcls"]["defaultAction"] == "Allow"


def test_storage_account_in_the_paired_region_is_hardened(host, emulator, lz):
    rid = seed_storage_account(emulator, lz, "stpaired01", tags={"harden": "service-endpoint"},
                               location="northeurope")
    outcome = deliver(host, emulator, rid, STORAGE_WRITE)
    assert outcome["status"] == "hardened", outcome
    acls = emulator.get(rid)["properties"]["networkAcls"]
    assert [r["id"].lower() for r in acls["virtualNetworkRules"]] == [lz.workload_subnet_id.lower()]
    # ARM reports where the new endpoint reaches; the paired region is among them.
    endpoint = next(e for e in emulator.get(lz.workload_subnet_id)["properties"]["serviceEndpoints"]
                    if e["service"] == "Microsoft.Storage")
    assert endpoint["locations"] == ["westeurope", "northeurope"]


def test_reach_is_read_from_the_locations_arm_reports():
    sql_here = [{"service": "Microsoft.Sql", "locations": ["westeurope"]}]
    assert service_endpoint_reach("Microsoft.Sql", sql_here, "westeurope", "West Europe") is None
    assert "reaches only westeurope" in service_endpoint_reach("Microsoft.Sql", sql_here, "westeurope", "northeurope")
    global_storage = [{"service": "Microsoft.Storage.Global", "locations": ["*"]}]
    assert service_endpoint_reach("Microsoft.Storage", global_storage, "westeurope", "japaneast") is None
    assert service_endpoint_reach("Microsoft.KeyVault", [], "westeurope", "japaneast") is None


def test_subnet_change_names_its_effect_on_the_whole_subnet(host, emulator, lz):
    rid = seed_storage_account(emulator, lz, "steffect01", tags={"harden": "service-endpoint"})
    outcome = deliver(host, emulator, rid, STORAGE_WRITE)
    assert outcome["status"] == "hardened", outcome
    (subnet_change,) = [c for c in outcome["changes"] if c["phase"] == "subnet_service_endpoint"]
    assert "subnet-wide" in subnet_change["change"] and "IP firewall rules" in subnet_change["change"]
    effect = subnet_change["after"]["effect"]
    assert "whole subnet" in effect and "private addresses" in effect and "IP firewall rules" in effect
    assert (subnet_change["before"]["subnetTrafficToServiceFrom"],
            subnet_change["after"]["subnetTrafficToServiceFrom"]) == ("public addresses",
                                                                     "the subnet's private addresses")
    assert subnet_change["after"]["serviceEndpoints"][-1] == "Microsoft.Storage"


def test_microsoft_web_endpoint_warns_about_apps_with_private_endpoints(host, emulator, lz, monkeypatch):
    monkeypatch.setenv("HARDEN_DRY_RUN", "true")
    rid = seed_web_app(emulator, lz, "app-effect01", tags={"harden": "service-endpoint"})
    outcome = deliver(host, emulator, rid, "Microsoft.Web/sites/write")
    assert outcome["status"] == "planned", outcome
    (subnet_change,) = [c for c in outcome["changes"] if c["phase"] == "subnet_service_endpoint"]
    assert "App Service apps with a private endpoint" in subnet_change["after"]["effect"]
