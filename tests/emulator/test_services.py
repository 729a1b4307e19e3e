"""The seven PaaS services: shapes, normalisation and the services' own validation, via their real SDKs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.cosmosdb import CosmosDBManagementClient
from azure.mgmt.eventhub import EventHubManagementClient
from azure.mgmt.keyvault import KeyVaultManagementClient
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.servicebus import ServiceBusManagementClient
from azure.mgmt.sql import SqlManagementClient
from azure.mgmt.storage import StorageManagementClient
from azure.mgmt.web import WebSiteManagementClient

from emulator import Emulator

from .helpers import RG, rid, seed_vnet

EXAMPLES = Path("/work/shared/fixtures/arm-examples")


def example(name: str) -> dict:
    """A Microsoft example GET body, if the shared fixtures are present."""
    path = EXAMPLES / name
    if not path.exists():
        pytest.skip(f"{path} not available")
    return json.loads(path.read_text())["responses"]["200"]["body"]


def subnets(emu: Emulator, *endpoints: str) -> tuple[str, str]:
    """(subnet with the given service endpoints, subnet without any)."""
    vnet_id = seed_vnet(emu, "v", {
        "with": {"addressPrefix": "10.0.1.0/24", "serviceEndpoints": [{"service": e} for e in endpoints]},
        "without": {"addressPrefix": "10.0.2.0/24"},
    })
    return f"{vnet_id}/subnets/with", f"{vnet_id}/subnets/without"


class TestKeyVault:
    def test_example_body_round_trips_without_network_acls(self, emu, client):
        body = example("getVault.json")
        vault_id = rid("Microsoft.KeyVault/vaults/sample-vault")
        emu.seed(vault_id, body)
        got = client(KeyVaultManagementClient).vaults.get(RG, "sample-vault")
        assert "networkAcls" not in got["properties"] and got["properties"]["publicNetworkAccess"] == "Enabled"

    def test_normalisation_and_patch(self, emu, client):
        with_se, _ = subnets(emu, "Microsoft.KeyVault")
        emu.seed(rid("Microsoft.KeyVault/vaults/kv1"), example("getVault.json"))
        kv = client(KeyVaultManagementClient)
        got = kv.vaults.update(RG, "kv1", {"properties": {"publicNetworkAccess": "Disabled", "networkAcls": {
            "defaultAction": "Deny", "bypass": "AzureServices", "ipRules": [{"value": "203.0.113.7"}, {"value": "198.51.100.0/24"}],
            "virtualNetworkRules": [{"id": with_se.upper()}]}}})
        acls = got["properties"]["networkAcls"]
        assert acls["virtualNetworkRules"] == [{"id": with_se.lower()}]
        assert acls["ipRules"] == [{"value": "203.0.113.7/32"}, {"value": "198.51.100.0/24"}]
        assert got["properties"]["publicNetworkAccess"] == "Disabled"
        assert got["properties"]["accessPolicies"]  # untouched by the PATCH
        assert [(r.method, r.status) for r in emu.requests] == [("PATCH", 200)]

    def test_vnet_rule_needs_service_endpoint(self, emu, client):
        _, without = subnets(emu)
        emu.seed(rid("Microsoft.KeyVault/vaults/kv1"), example("getVault.json"))
        kv = client(KeyVaultManagementClient)
        with pytest.raises(HttpResponseError) as err:
            kv.vaults.update(RG, "kv1", {"properties": {"networkAcls": {"virtualNetworkRules": [{"id": without}]}}})
        assert err.value.status_code == 400 and err.value.error.code == "SubnetsHaveNoServiceEndpointsConfigured"
        kv.vaults.update(RG, "kv1", {"properties": {"networkAcls": {"virtualNetworkRules": [
            {"id": without, "ignoreMissingVnetServiceEndpoint": True}]}}})

    def test_public_network_access_values(self, emu, client):
        emu.seed(rid("Microsoft.KeyVault/vaults/kv1"), example("getVault.json"))
        with pytest.raises(HttpResponseError) as err:
            client(KeyVaultManagementClient).vaults.update(RG, "kv1", {"properties": {"publicNetworkAccess": "Off"}})
        assert err.value.status_code == 400

    def test_connections_listed_on_the_vault(self, emu, client):
        vault_id = rid("Microsoft.KeyVault/vaults/kv1")
        emu.seed(vault_id, {"location": "westeurope", "properties": {"privateEndpointConnections": [{
            "id": f"{vault_id}/privateEndpointConnections/foreign", "properties": {
                "privateEndpoint": {"id": "/subscriptions/x/resourceGroups/y/providers/Microsoft.Network/privateEndpoints/z"},
                "privateLinkServiceConnectionState": {"status": "Approved"}}}]}})
        conns = list(client(KeyVaultManagementClient).private_endpoint_connections.list_by_resource(RG, "kv1"))
        assert [c["name"] for c in conns] == ["foreign"]


class TestStorage:
    def test_example_keeps_public_network_access_absent(self, emu, client):
        emu.seed(rid("Microsoft.Storage/storageAccounts/sto1"), example("StorageAccountGetProperties.json"))
        st = client(StorageManagementClient)
        got = st.storage_accounts.update(RG, "sto1", {"properties": {"networkAcls": {"defaultAction": "Deny", "bypass": "AzureServices"}}})
        assert "publicNetworkAccess" not in got["properties"]
        assert got["properties"]["networkAcls"]["resourceAccessRules"]  # arrays not in the patch survive
        assert got["properties"]["isHnsEnabled"] is True

    def test_create_is_lro_and_acls_default(self, emu, client):
        st = client(StorageManagementClient)
        got = st.storage_accounts.begin_create(RG, "sto2", {"location": "westeurope", "kind": "StorageV2",
                                                            "sku": {"name": "Standard_LRS"}}).result()
        assert got["properties"]["networkAcls"] == {"bypass": "AzureServices", "defaultAction": "Allow", "ipRules": [], "virtualNetworkRules": []}
        assert got["properties"]["primaryEndpoints"]["blob"] == "https://sto2.blob.core.windows.net/"
        assert [(r.method, r.status, r.is_lro_poll) for r in emu.requests][:2] == [("PUT", 202, False), ("GET", 200, True)]

    def test_vnet_rule_validation_sync_on_update_async_on_create(self, emu, client):
        with_se, without = subnets(emu, "Microsoft.Storage")
        emu.seed(rid("Microsoft.Storage/storageAccounts/sto1"), example("StorageAccountGetProperties.json"))
        st = client(StorageManagementClient)
        got = st.storage_accounts.update(RG, "sto1", {"properties": {"networkAcls": {"virtualNetworkRules": [{"id": with_se}]}}})
        assert got["properties"]["networkAcls"]["virtualNetworkRules"] == [{"id": with_se, "action": "Allow", "state": "Succeeded"}]
        with pytest.raises(HttpResponseError) as err:
            st.storage_accounts.update(RG, "sto1", {"properties": {"networkAcls": {"virtualNetworkRules": [{"id": without}]}}})
        assert err.value.error.code == "NetworkAclsValidationFailure"
        assert "SubnetsHaveNoServiceEndpointsConfigured" in err.value.error.message
        poller = st.storage_accounts.begin_create(RG, "sto3", {"location": "westeurope", "kind": "StorageV2", "sku": {"name": "Standard_LRS"},
                                                               "properties": {"networkAcls": {"defaultAction": "Deny", "virtualNetworkRules": [{"id": without}]}}})
        with pytest.raises(HttpResponseError) as err:
            poller.result()
        assert err.value.error.code == "NetworkAclsValidationFailure"
        assert emu.get(rid("Microsoft.Storage/storageAccounts/sto3")) is None

    def test_list_keys_action(self, emu, client):
        emu.seed(rid("Microsoft.Storage/storageAccounts/sto1"), example("StorageAccountGetProperties.json"))
        keys = client(StorageManagementClient).storage_accounts.list_keys(RG, "sto1")
        assert [k["keyName"] for k in keys["keys"]] == ["key1", "key2"]
        (event,) = emu.drain_events()
        assert event["eventType"] == "Microsoft.Resources.ResourceActionSuccess"
        assert event["data"]["operationName"] == "Microsoft.Storage/storageAccounts/listKeys/action"


class TestSql:
    def test_server_patch_is_lro_and_keeps_admin_fields(self, emu, client):
        emu.seed(rid("Microsoft.Sql/servers/sql1"), example("ServerGet.json"))
        sql = client(SqlManagementClient)
        got = sql.servers.begin_update(RG, "sql1", {"properties": {"publicNetworkAccess": "Disabled"}}).result()
        assert got["properties"]["publicNetworkAccess"] == "Disabled"
        assert got["properties"]["administratorLogin"] == "dummylogin"
        assert len(got["properties"]["privateEndpointConnections"]) == 1  # the example's foreign connection
        assert [(r.method, r.status) for r in emu.arm_calls()] == [("PATCH", 202), ("GET", 200)]

    def test_password_is_write_only(self, emu, client):
        sql = client(SqlManagementClient)
        got = sql.servers.begin_create_or_update(RG, "sql2", {"location": "westeurope", "properties": {
            "administratorLogin": "admin1", "administratorLoginPassword": "P@ssw0rd!"}}).result()
        assert "administratorLoginPassword" not in got["properties"]
        assert got["properties"]["fullyQualifiedDomainName"] == "sql2.database.windows.net"
        assert got["properties"]["publicNetworkAccess"] == "Enabled" and got["properties"]["privateEndpointConnections"] == []

    def test_firewall_rules(self, emu, client):
        emu.seed(rid("Microsoft.Sql/servers/sql1"), example("ServerGet.json"))
        sql = client(SqlManagementClient)
        rule = {"properties": {"startIpAddress": "0.0.0.0", "endIpAddress": "0.0.0.0"}}
        sql.firewall_rules.create_or_update(RG, "sql1", "AllowAllWindowsAzureIps", rule)
        sql.firewall_rules.create_or_update(RG, "sql1", "AllowAllWindowsAzureIps", rule)
        assert [r["name"] for r in sql.firewall_rules.list_by_server(RG, "sql1")] == ["AllowAllWindowsAzureIps"]
        sql.firewall_rules.delete(RG, "sql1", "AllowAllWindowsAzureIps")
        assert list(sql.firewall_rules.list_by_server(RG, "sql1")) == []
        assert [(r.method, r.status, r.resource_type) for r in emu.writes()] == [
            ("PUT", 201, "Microsoft.Sql/servers/firewallRules"), ("PUT", 200, "Microsoft.Sql/servers/firewallRules"),
            ("DELETE", 200, "Microsoft.Sql/servers/firewallRules")]
        assert "firewallRules" not in json.dumps(emu.get(rid("Microsoft.Sql/servers/sql1")))

    def test_vnet_rule_lro_and_async_failure(self, emu, client):
        with_se, without = subnets(emu, "Microsoft.Sql")
        emu.seed(rid("Microsoft.Sql/servers/sql1"), example("ServerGet.json") | {"location": "westeurope"})
        sql = client(SqlManagementClient)
        got = sql.virtual_network_rules.begin_create_or_update(RG, "sql1", "ok", {"properties": {"virtualNetworkSubnetId": with_se}}).result()
        assert got["properties"]["state"] == "Ready" and got["properties"]["ignoreMissingVnetServiceEndpoint"] is False
        with pytest.raises(HttpResponseError) as err:
            sql.virtual_network_rules.begin_create_or_update(RG, "sql1", "bad", {"properties": {"virtualNetworkSubnetId": without}}).result()
        assert err.value.error.code == "VirtualNetworkRuleBadRequest"
        assert [r["name"] for r in sql.virtual_network_rules.list_by_server(RG, "sql1")] == ["ok"]

    def test_vnet_rule_for_a_subnet_in_another_region_is_refused(self, emu, client):
        # SQL service endpoints apply only within the VNet's region (virtual-network-service-endpoints-overview,
        # "Limitations"); the Network RP's refusal as relayed in Azure/azure-service-operator#1006.
        with_se, _ = subnets(emu, "Microsoft.Sql")  # VNet in westeurope
        emu.seed(rid("Microsoft.Sql/servers/sqlfar"), example("ServerGet.json") | {"location": "japaneast"})
        sql = client(SqlManagementClient)
        with pytest.raises(HttpResponseError) as err:
            sql.virtual_network_rules.begin_create_or_update(
                RG, "sqlfar", "far", {"properties": {"virtualNetworkSubnetId": with_se}}).result()
        assert err.value.error.code == "VirtualNetworkRuleBadRequest"
        assert "Only resources in westeurope can be ACL-ed" in err.value.error.message

    def test_service_endpoint_locations_follow_the_service(self, emu, client):
        # ARM reports where each endpoint reaches: Sql the VNet's region, Storage the region and its pair,
        # others "*" (virtual-network-service-endpoints-overview, "Limitations").
        seed_vnet(emu, "vloc", {"s": {"addressPrefix": "10.0.9.0/24"}})
        net = client(NetworkManagementClient)
        got = net.subnets.begin_create_or_update(RG, "vloc", "s", {"properties": {
            "addressPrefix": "10.0.9.0/24",
            "serviceEndpoints": [{"service": s} for s in ("Microsoft.Sql", "Microsoft.Storage", "Microsoft.KeyVault")]}}
        ).result()
        assert {e["service"]: e["locations"] for e in got["properties"]["serviceEndpoints"]} == {
            "Microsoft.Sql": ["westeurope"], "Microsoft.Storage": ["westeurope", "northeurope"],
            "Microsoft.KeyVault": ["*"]}


class TestCosmos:
    def test_write_while_another_update_runs_is_refused_with_the_exclusive_lock_412(self, emu, client):
        # hashicorp/terraform-provider-azurerm#15842 / #17233 quote the real answer.
        emu.seed(rid("Microsoft.DocumentDB/databaseAccounts/ddbbusy"), example("CosmosDBDatabaseAccountGet.json"))
        cosmos = client(CosmosDBManagementClient)
        emu.timing.scale = 0.02  # a Cosmos update takes 60 Azure seconds: 1.2 s here
        try:
            first = cosmos.database_accounts.begin_update(RG, "ddbbusy", {"properties": {"ipRules": []}})
            with pytest.raises(HttpResponseError) as err:
                cosmos.database_accounts.begin_update(RG, "ddbbusy", {"properties": {"ipRules": []}},
                                                      retry_total=0)
            assert err.value.status_code == 412 and err.value.error.code == "PreconditionFailed"
            assert "requires an exclusive lock on [ddbbusy]" in err.value.error.message
            first.result()  # the owner's update done: the lock is free
            cosmos.database_accounts.begin_update(RG, "ddbbusy", {"properties": {"ipRules": []}}).result()
        finally:
            emu.timing.scale = 0.0

    def test_patch_answers_200_with_async_operation(self, emu, client):
        with_se, without = subnets(emu, "Microsoft.AzureCosmosDB")
        emu.seed(rid("Microsoft.DocumentDB/databaseAccounts/ddb1"), example("CosmosDBDatabaseAccountGet.json"))
        cosmos = client(CosmosDBManagementClient)
        got = cosmos.database_accounts.begin_update(RG, "ddb1", {"properties": {
            "isVirtualNetworkFilterEnabled": True, "virtualNetworkRules": [{"id": with_se}],
            "ipRules": [{"ipAddressOrRange": "0.0.0.0"}]}}).result()
        assert got["properties"]["virtualNetworkRules"] == [{"id": with_se}]
        assert "publicNetworkAccess" not in got["properties"]
        assert got["properties"]["privateEndpointConnections"][0]["properties"]["privateEndpoint"]["id"].endswith("/pe1")
        assert [(r.method, r.status) for r in emu.arm_calls()] == [("PATCH", 200), ("GET", 200)]
        with pytest.raises(HttpResponseError) as err:
            cosmos.database_accounts.begin_update(RG, "ddb1", {"properties": {"virtualNetworkRules": [{"id": without}]}})
        assert err.value.status_code == 400
        cosmos.database_accounts.begin_update(RG, "ddb1", {"properties": {"virtualNetworkRules": [
            {"id": without, "ignoreMissingVNetServiceEndpoint": True}]}}).result()

    def test_create_and_delete(self, emu, client):
        cosmos = client(CosmosDBManagementClient)
        got = cosmos.database_accounts.begin_create_or_update(RG, "c2", {"location": "westeurope", "kind": "MongoDB", "properties": {
            "databaseAccountOfferType": "Standard", "locations": [{"locationName": "West Europe"}]}}).result()
        assert got["properties"]["documentEndpoint"] == "https://c2.documents.azure.com:443/"
        assert got["properties"]["writeLocations"][0]["locationName"] == "West Europe"
        cosmos.database_accounts.begin_delete(RG, "c2").result()
        assert emu.get(rid("Microsoft.DocumentDB/databaseAccounts/c2")) is None


@pytest.mark.parametrize(("client_cls", "ns", "endpoint"), [
    (ServiceBusManagementClient, "Microsoft.ServiceBus", "Microsoft.ServiceBus"),
    (EventHubManagementClient, "Microsoft.EventHub", "Microsoft.EventHub"),
])
class TestMessaging:
    def seed(self, emu, ns, tier):
        emu.seed(rid(f"{ns}/namespaces/ns1"), {"location": "westeurope", "sku": {"name": tier, "tier": tier}, "properties": {}})

    def test_default_rule_set_exists_without_being_created(self, emu, client, client_cls, ns, endpoint):
        self.seed(emu, ns, "Premium")
        c = client(client_cls)
        rs = c.namespaces.get_network_rule_set(RG, "ns1")
        assert rs["properties"] == {"defaultAction": "Allow", "publicNetworkAccess": "Enabled", "virtualNetworkRules": [],
                                    "ipRules": [], "trustedServiceAccessEnabled": False}
        assert rs["id"] == rid(f"{ns}/namespaces/ns1/networkRuleSets/default")
        if ns == "Microsoft.ServiceBus":
            listed = list(c.namespaces.list_network_rule_sets(RG, "ns1"))
        else:  # Event Hubs returns the list result unpaged
            listed = c.namespaces.list_network_rule_set(RG, "ns1")["value"]
        assert [r["name"] for r in listed] == ["default"]
        assert c.namespaces.get(RG, "ns1")["properties"]["publicNetworkAccess"] == "Enabled"

    def test_rule_set_put_and_service_endpoint(self, emu, client, client_cls, ns, endpoint):
        with_se, without = subnets(emu, endpoint)
        self.seed(emu, ns, "Premium")
        c = client(client_cls)
        body = {"properties": {"defaultAction": "Deny", "publicNetworkAccess": "Enabled", "trustedServiceAccessEnabled": True,
                               "virtualNetworkRules": [{"subnet": {"id": with_se}}], "ipRules": [{"ipMask": "203.0.113.0/24"}]}}
        got = c.namespaces.create_or_update_network_rule_set(RG, "ns1", body)
        assert got["properties"]["ipRules"] == [{"ipMask": "203.0.113.0/24", "action": "Allow"}]
        body["properties"]["virtualNetworkRules"] = [{"subnet": {"id": without}}]
        with pytest.raises(HttpResponseError) as err:
            c.namespaces.create_or_update_network_rule_set(RG, "ns1", body)
        assert err.value.status_code == 400
        body["properties"]["virtualNetworkRules"] = [{"subnet": {"id": without}, "ignoreMissingVnetServiceEndpoint": True}]
        c.namespaces.create_or_update_network_rule_set(RG, "ns1", body)

    def test_tiers(self, emu, client, client_cls, ns, endpoint):
        with_se, _ = subnets(emu, endpoint)
        self.seed(emu, ns, "Standard")
        c = client(client_cls)
        vnet_rules = {"properties": {"defaultAction": "Deny", "virtualNetworkRules": [{"subnet": {"id": with_se}}]}}
        if ns == "Microsoft.ServiceBus":
            with pytest.raises(HttpResponseError):  # VNet rules are Premium-only on Service Bus
                c.namespaces.create_or_update_network_rule_set(RG, "ns1", vnet_rules)
            c.namespaces.create_or_update_network_rule_set(RG, "ns1", {"properties": {"ipRules": [{"ipMask": "1.2.3.4"}]}})
        else:
            c.namespaces.create_or_update_network_rule_set(RG, "ns1", vnet_rules)
            self.seed(emu, ns, "Basic")
            with pytest.raises(HttpResponseError):
                c.namespaces.create_or_update_network_rule_set(RG, "ns1", {"properties": {"ipRules": [{"ipMask": "1.2.3.4"}]}})

    def test_namespace_create_and_patch(self, emu, client, client_cls, ns, endpoint):
        c = client(client_cls)
        got = c.namespaces.begin_create_or_update(RG, "ns2", {"location": "westeurope", "sku": {"name": "Premium"}}).result()
        assert got["sku"] == {"name": "Premium", "tier": "Premium"}
        assert got["properties"]["serviceBusEndpoint"] == "https://ns2.servicebus.windows.net:443/"
        got = c.namespaces.update(RG, "ns2", {"properties": {"publicNetworkAccess": "Disabled"}})
        assert got["properties"]["publicNetworkAccess"] == "Disabled"


class TestWeb:
    def seed_site(self, emu: Emulator) -> str:
        site_id = rid("Microsoft.Web/sites/app1")
        emu.seed(site_id, {"location": "westeurope", "kind": "functionapp,linux", "properties": {"serverFarmId": rid("Microsoft.Web/serverfarms/plan")}})
        return site_id

    def test_config_shows_implicit_rule(self, emu, client):
        self.seed_site(emu)
        cfg = client(WebSiteManagementClient).web_apps.get_configuration(RG, "app1")
        assert cfg["properties"]["ipSecurityRestrictions"] == [{"ipAddress": "Any", "action": "Allow", "priority": 2147483647,
                                                                "name": "Allow all", "description": "Allow all access"}]
        assert cfg["properties"]["ipSecurityRestrictionsDefaultAction"] == "Allow"
        assert cfg["name"] == "web" and cfg["type"] == "Microsoft.Web/sites/config"

    def test_get_modify_put_strips_the_implicit_rule(self, emu, client):
        site_id = self.seed_site(emu)
        web = client(WebSiteManagementClient)
        cfg = web.web_apps.get_configuration(RG, "app1")
        cfg["properties"]["ipSecurityRestrictionsDefaultAction"] = "Deny"
        cfg["properties"]["ipSecurityRestrictions"].insert(0, {"ipAddress": "203.0.113.7/32", "action": "Allow", "priority": 100, "name": "office"})
        web.web_apps.create_or_update_configuration(RG, "app1", cfg)
        rules = web.web_apps.get_configuration(RG, "app1")["properties"]["ipSecurityRestrictions"]
        assert [r["name"] for r in rules] == ["office", "Deny all"]
        assert rules[-1]["action"] == "Deny" and rules[-1]["description"] == "Deny all access"
        stored = emu.get(site_id + "/config/web")["properties"]["ipSecurityRestrictions"]
        assert [r["name"] for r in stored] == ["office", "Deny all"]  # GET view; only "office" is stored
        web.web_apps.update_configuration(RG, "app1", {"properties": {"ipSecurityRestrictionsDefaultAction": "Allow"}})
        assert [r["name"] for r in web.web_apps.get_configuration(RG, "app1")["properties"]["ipSecurityRestrictions"]] == ["office", "Allow all"]

    def test_subnet_restriction_needs_microsoft_web_endpoint(self, emu, client):
        with_se, without = subnets(emu, "Microsoft.Web")
        self.seed_site(emu)
        web = client(WebSiteManagementClient)
        ok = {"properties": {"ipSecurityRestrictions": [{"vnetSubnetResourceId": with_se, "action": "Allow", "priority": 100, "name": "vnet"}]}}
        web.web_apps.update_configuration(RG, "app1", ok)
        bad = {"properties": {"ipSecurityRestrictions": [{"vnetSubnetResourceId": without, "action": "Allow", "priority": 100, "name": "vnet"}]}}
        with pytest.raises(HttpResponseError) as err:
            web.web_apps.update_configuration(RG, "app1", bad)
        assert err.value.status_code == 400

    def test_site_patch_and_create(self, emu, client):
        self.seed_site(emu)
        web = client(WebSiteManagementClient)
        got = web.web_apps.update(RG, "app1", {"properties": {"publicNetworkAccess": "Disabled"}})
        assert got["properties"]["publicNetworkAccess"] == "Disabled"
        assert got["properties"]["defaultHostName"] == "app1.azurewebsites.net"
        created = web.web_apps.begin_create_or_update(RG, "app2", {"location": "westeurope", "kind": "app", "properties": {
            "siteConfig": {"ipSecurityRestrictionsDefaultAction": "Deny"}}}).result()
        assert "siteConfig" not in created["properties"]
        assert web.web_apps.get_configuration(RG, "app2")["properties"]["ipSecurityRestrictions"][-1]["name"] == "Deny all"
