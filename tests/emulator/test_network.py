"""Microsoft.Network behaviour: VNets/subnets, private endpoints, private DNS."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.privatedns import PrivateDnsManagementClient

from emulator import Emulator

from .helpers import RG, SUB, rid, seed_vnet

VAULT = {"location": "westeurope", "properties": {"tenantId": SUB, "sku": {"family": "A", "name": "standard"}}}


def seed_vault(emu: Emulator, name: str = "kv1") -> str:
    vault_id = rid(f"Microsoft.KeyVault/vaults/{name}")
    emu.seed(vault_id, VAULT)
    return vault_id


def pe_body(subnet_id: str, target_id: str, group: str) -> dict:
    return {
        "location": "westeurope",
        "properties": {
            "subnet": {"id": subnet_id},
            "privateLinkServiceConnections": [
                {"name": "conn", "properties": {"privateLinkServiceId": target_id, "groupIds": [group]}}
            ],
        },
    }


class TestSubnets:
    def test_subnet_put_is_a_full_replace(self, emu, client):
        nsg = rid("Microsoft.Network/networkSecurityGroups/nsg1")
        emu.seed(nsg, {"location": "westeurope", "properties": {"securityRules": []}})
        seed_vnet(emu, "v", {"work": {
            "addressPrefix": "10.0.1.0/24",
            "networkSecurityGroup": {"id": nsg},
            "serviceEndpoints": [{"service": "Microsoft.Storage", "locations": ["westeurope"]}],
            "delegations": [{"name": "web", "properties": {"serviceName": "Microsoft.Web/serverFarms"}}],
        }})
        net = client(NetworkManagementClient)
        net.subnets.begin_create_or_update(RG, "v", "work", {"properties": {
            "addressPrefix": "10.0.1.0/24", "serviceEndpoints": [{"service": "Microsoft.KeyVault"}]}}).result()
        props = net.subnets.get(RG, "v", "work")["properties"]
        assert "networkSecurityGroup" not in props and "delegations" not in props  # wiped, as in Azure
        assert props["serviceEndpoints"] == [{"service": "Microsoft.KeyVault", "locations": ["*"], "provisioningState": "Succeeded"}]

    def test_local_and_cross_region_storage_endpoints_cannot_coexist(self, emu, client):
        # storage-network-security, cross-region service endpoints: "can't coexist on the same subnet".
        seed_vnet(emu, "v", {"work": {"addressPrefix": "10.0.1.0/24",
                                      "serviceEndpoints": [{"service": "Microsoft.Storage"}]}})
        net = client(NetworkManagementClient)
        subnet = net.subnets.get(RG, "v", "work")
        subnet["properties"]["serviceEndpoints"].append({"service": "Microsoft.Storage.Global"})
        with pytest.raises(HttpResponseError) as refused:
            net.subnets.begin_create_or_update(RG, "v", "work", subnet).result()
        assert refused.value.status_code == 400
        subnet["properties"]["serviceEndpoints"] = [{"service": "Microsoft.Storage.Global"}]
        net.subnets.begin_create_or_update(RG, "v", "work", subnet).result()
        assert net.subnets.get(RG, "v", "work")["properties"]["serviceEndpoints"][0]["locations"] == ["*"]

    def test_get_modify_put_round_trip_keeps_everything(self, emu, client):
        seed_vnet(emu, "v", {"work": {
            "addressPrefix": "10.0.1.0/24",
            "delegations": [{"name": "web", "properties": {"serviceName": "Microsoft.Web/serverFarms"}}],
        }})
        net = client(NetworkManagementClient)
        subnet = net.subnets.get(RG, "v", "work")
        subnet["properties"]["serviceEndpoints"] = [{"service": "Microsoft.Sql"}]
        net.subnets.begin_create_or_update(RG, "v", "work", subnet).result()
        props = net.subnets.get(RG, "v", "work")["properties"]
        assert props["delegations"][0]["properties"]["actions"] == ["Microsoft.Network/virtualNetworks/subnets/action"]
        assert props["delegations"][0]["type"] == "Microsoft.Network/virtualNetworks/subnets/delegations"
        assert [s["service"] for s in props["serviceEndpoints"]] == ["Microsoft.Sql"]

    def test_vnet_and_subnet_views_stay_consistent(self, emu, client):
        seed_vnet(emu, "v")
        net = client(NetworkManagementClient)
        net.subnets.begin_create_or_update(RG, "v", "added", {"properties": {"addressPrefix": "10.0.9.0/24"}}).result()
        vnet = net.virtual_networks.get(RG, "v")
        assert sorted(s["name"] for s in vnet["properties"]["subnets"]) == ["added", "snet1"]
        # Subnets share the VNet's etag.
        assert {s["etag"] for s in vnet["properties"]["subnets"]} == {vnet["etag"]}
        vnet["properties"]["subnets"] = [s for s in vnet["properties"]["subnets"] if s["name"] == "added"]
        net.virtual_networks.begin_create_or_update(RG, "v", vnet).result()
        assert [s["name"] for s in net.subnets.list(RG, "v")] == ["added"]

    def test_subnet_in_use_cannot_be_deleted(self, emu, client):
        vnet_id = seed_vnet(emu, "v", {"pe": {"addressPrefix": "10.0.1.0/24"}})
        vault_id = seed_vault(emu)
        net = client(NetworkManagementClient)
        net.private_endpoints.begin_create_or_update(RG, "pe1", pe_body(f"{vnet_id}/subnets/pe", vault_id, "vault")).result()
        with pytest.raises(HttpResponseError) as err:
            net.subnets.begin_delete(RG, "v", "pe").result()
        assert err.value.error.code == "InUseSubnetCannotBeDeleted"
        vnet = net.virtual_networks.get(RG, "v")
        vnet["properties"]["subnets"] = []  # dropping it from a VNet PUT is a delete too
        with pytest.raises(HttpResponseError) as err:
            net.virtual_networks.begin_create_or_update(RG, "v", vnet)
        assert err.value.error.code == "InUseSubnetCannotBeDeleted"

    def test_delegation_pinned_by_service_association_link(self, emu, client):
        vnet_id = seed_vnet(emu, "v", {"apps": {
            "addressPrefix": "10.0.2.0/24",
            "delegations": [{"name": "web", "properties": {"serviceName": "Microsoft.Web/serverFarms"}}],
            "serviceAssociationLinks": [{"id": f"{rid('Microsoft.Network/virtualNetworks/v/subnets/apps')}/serviceAssociationLinks/AppServiceLink",
                                         "properties": {"linkedResourceType": "Microsoft.Web/serverFarms"}}],
        }})
        net = client(NetworkManagementClient)
        with pytest.raises(HttpResponseError) as err:
            net.subnets.begin_create_or_update(RG, "v", "apps", {"properties": {"addressPrefix": "10.0.2.0/24"}})
        assert err.value.status_code == 400 and err.value.error.code == "SubnetMissingRequiredDelegation"
        assert emu.get(f"{vnet_id}/subnets/apps")["properties"]["delegations"]

    def test_subnet_delete(self, emu, client):
        vnet_id = seed_vnet(emu, "v", {"a": {"addressPrefix": "10.0.1.0/24"}, "b": {"addressPrefix": "10.0.2.0/24"}})
        net = client(NetworkManagementClient)
        net.subnets.begin_delete(RG, "v", "b").result()
        assert [s["name"] for s in emu.get(vnet_id)["properties"]["subnets"]] == ["a"]


class TestPrivateEndpoints:
    def test_create_links_target_subnet_and_is_idempotent(self, emu, client):
        vnet_id = seed_vnet(emu, "v", {"pe": {"addressPrefix": "10.0.1.0/24"}})
        vault_id = seed_vault(emu)
        subnet_id = f"{vnet_id}/subnets/pe"
        net = client(NetworkManagementClient)
        for _ in range(2):
            pe = net.private_endpoints.begin_create_or_update(RG, "pe-kv", pe_body(subnet_id, vault_id, "vault")).result()
        props = pe["properties"]
        assert props["provisioningState"] == "Succeeded"
        assert props["customDnsConfigs"] == [{"fqdn": "kv1.vault.azure.net", "ipAddresses": ["10.0.1.4"]}]
        assert props["networkInterfaces"][0]["id"].startswith(f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Network/networkInterfaces/pe-kv.nic.")
        state = props["privateLinkServiceConnections"][0]["properties"]["privateLinkServiceConnectionState"]
        assert state["status"] == "Approved"
        (conn,) = emu.get(vault_id)["properties"]["privateEndpointConnections"]
        assert conn["properties"]["privateEndpoint"]["id"] == pe["id"]
        assert conn["properties"]["privateLinkServiceConnectionState"] == {
            "status": "Approved", "description": "Auto-Approved", "actionsRequired": "None"}
        assert conn["type"] == "Microsoft.KeyVault/vaults/privateEndpointConnections"
        assert emu.get(subnet_id)["properties"]["privateEndpoints"] == [{"id": pe["id"]}]

    def test_delete_unlinks(self, emu, client):
        vnet_id = seed_vnet(emu, "v", {"pe": {"addressPrefix": "10.0.1.0/24"}})
        vault_id = seed_vault(emu)
        net = client(NetworkManagementClient)
        net.private_endpoints.begin_create_or_update(RG, "pe-kv", pe_body(f"{vnet_id}/subnets/pe", vault_id, "vault")).result()
        net.private_endpoints.begin_delete(RG, "pe-kv").result()
        assert "privateEndpointConnections" not in emu.get(vault_id)["properties"]
        assert emu.get(f"{vnet_id}/subnets/pe")["properties"]["privateEndpoints"] == []

    @pytest.mark.parametrize(
        ("target", "body", "group", "ok"),
        [
            ("Microsoft.Storage/storageAccounts/st1", {"location": "westeurope", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}}, "blob", True),
            ("Microsoft.Storage/storageAccounts/st1", {"location": "westeurope", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}}, "dfs", False),
            ("Microsoft.Storage/storageAccounts/st1", {"location": "westeurope", "kind": "StorageV2", "properties": {"isHnsEnabled": True}}, "dfs", True),
            # Storage by kind and SKU (storage/common/storage-private-endpoints).
            *[("Microsoft.Storage/storageAccounts/st1", {"location": "westeurope", "kind": kind, "sku": {"name": sku},
                                                          "properties": {"isHnsEnabled": hns}}, group, ok)
              for kind, sku, hns, group, ok in (
                  ("StorageV2", "Standard_LRS", False, "web", True),
                  ("StorageV2", "Standard_LRS", False, "blob_secondary", False),
                  ("StorageV2", "Standard_RAGRS", False, "blob_secondary", True),
                  ("StorageV2", "Standard_RAGZRS", False, "web_secondary", True),
                  ("StorageV2", "Standard_RAGRS", False, "file_secondary", False),
                  ("BlockBlobStorage", "Premium_LRS", False, "blob", True),
                  ("BlockBlobStorage", "Premium_LRS", False, "file", False),
                  ("BlockBlobStorage", "Premium_LRS", True, "dfs", True),
                  ("FileStorage", "Premium_LRS", False, "file", True),
                  ("FileStorage", "Premium_LRS", False, "blob", False),
                  ("BlobStorage", "Standard_RAGRS", False, "blob_secondary", True),
                  ("BlobStorage", "Standard_LRS", False, "queue", False),
                  ("StorageV2", "Premium_LRS", False, "blob", True),
                  ("StorageV2", "Premium_LRS", False, "file", False),
                  ("Storage", "Standard_LRS", False, "blob", False),
              )],
            ("Microsoft.Sql/servers/sql1", {"location": "westeurope", "properties": {}}, "sqlServer", True),
            ("Microsoft.DocumentDB/databaseAccounts/c1", {"location": "westeurope", "kind": "GlobalDocumentDB"}, "Sql", True),
            ("Microsoft.DocumentDB/databaseAccounts/c1", {"location": "westeurope", "kind": "MongoDB"}, "Sql", False),
            ("Microsoft.DocumentDB/databaseAccounts/c1", {"location": "westeurope", "kind": "MongoDB"}, "MongoDB", True),
            ("Microsoft.DocumentDB/databaseAccounts/c1", {"location": "westeurope", "properties": {"capabilities": [{"name": "EnableCassandra"}]}}, "Cassandra", True),
            ("Microsoft.DocumentDB/databaseAccounts/c1", {"location": "westeurope", "properties": {"capabilities": [{"name": "EnableCassandra"}]}}, "Sql", False),
            ("Microsoft.DocumentDB/databaseAccounts/c1", {"location": "westeurope", "properties": {"capabilities": [{"name": "EnableGremlin"}]}}, "Sql", True),
            ("Microsoft.DocumentDB/databaseAccounts/c1", {"location": "westeurope", "properties": {"capabilities": [{"name": "EnableTable"}]}}, "Sql", True),
            ("Microsoft.DocumentDB/databaseAccounts/c1", {"location": "westeurope", "properties": {"capabilities": [{"name": "EnableTable"}]}}, "Table", True),
            ("Microsoft.ServiceBus/namespaces/sb1", {"location": "westeurope", "sku": {"name": "Standard", "tier": "Standard"}}, "namespace", False),
            ("Microsoft.ServiceBus/namespaces/sb1", {"location": "westeurope", "sku": {"name": "Premium", "tier": "Premium"}}, "namespace", True),
            ("Microsoft.EventHub/namespaces/eh1", {"location": "westeurope", "sku": {"name": "Basic", "tier": "Basic"}}, "namespace", False),
            ("Microsoft.EventHub/namespaces/eh1", {"location": "westeurope", "sku": {"name": "Standard", "tier": "Standard"}}, "namespace", True),
            ("Microsoft.Web/sites/app1", {"location": "westeurope", "kind": "functionapp"}, "sites", True),
            ("Microsoft.KeyVault/vaults/kv1", VAULT, "blob", False),
        ],
    )
    def test_group_ids_per_target(self, emu, client, target, body, group, ok):
        vnet_id = seed_vnet(emu, "v", {"pe": {"addressPrefix": "10.0.1.0/24"}})
        target_id = rid(target)
        emu.seed(target_id, body)
        net = client(NetworkManagementClient)
        if ok:
            net.private_endpoints.begin_create_or_update(RG, "pe1", pe_body(f"{vnet_id}/subnets/pe", target_id, group)).result()
            conns = net.private_endpoints.get(RG, "pe1")["properties"]["privateLinkServiceConnections"]
            assert conns[0]["properties"]["groupIds"] == [group]
        else:
            with pytest.raises(HttpResponseError) as err:
                net.private_endpoints.begin_create_or_update(RG, "pe1", pe_body(f"{vnet_id}/subnets/pe", target_id, group))
            assert err.value.status_code == 400
            assert err.value.error.code in ("InvalidPrivateLinkServiceConnectionGroupId", "PrivateEndpointNotSupportedForTarget")
            assert emu.get(rid("Microsoft.Network/privateEndpoints/pe1")) is None

    def test_reference_errors(self, emu, client):
        vnet_id = seed_vnet(emu, "v", {"pe": {"addressPrefix": "10.0.1.0/24"}})
        vault_id = seed_vault(emu)
        net = client(NetworkManagementClient)
        cases = [
            (pe_body(f"{vnet_id}/subnets/missing", vault_id, "vault"), "InvalidResourceReference"),
            (pe_body(f"{vnet_id}/subnets/pe", rid("Microsoft.KeyVault/vaults/ghost"), "vault"), "InvalidResourceReference"),
            (pe_body(f"{vnet_id}/subnets/pe", "not-an-id", "vault"), "LinkedInvalidPropertyId"),
            (pe_body(f"{vnet_id}/subnets/pe", vault_id, "vault") | {"properties": {
                "subnet": {"id": f"{vnet_id}/subnets/pe"},
                "privateLinkServiceConnections": [{"name": "c", "properties": {"privateLinkServiceId": vault_id}}]}},
             "MissingParameterOnPrivateLinkServiceConnection"),
        ]
        for body, code in cases:
            with pytest.raises(HttpResponseError) as err:
                net.private_endpoints.begin_create_or_update(RG, "pe-bad", body)
            assert err.value.error.code == code

    def test_web_connections_are_only_listed_under_the_site(self, emu, client):
        from azure.mgmt.web import WebSiteManagementClient

        vnet_id = seed_vnet(emu, "v", {"pe": {"addressPrefix": "10.0.1.0/24"}})
        site_id = rid("Microsoft.Web/sites/app1")
        emu.seed(site_id, {"location": "westeurope", "kind": "functionapp", "properties": {}})
        net = client(NetworkManagementClient)
        net.private_endpoints.begin_create_or_update(RG, "pe-web", pe_body(f"{vnet_id}/subnets/pe", site_id, "sites")).result()
        web = client(WebSiteManagementClient)
        assert "privateEndpointConnections" not in web.web_apps.get(RG, "app1")["properties"]
        (conn,) = list(web.web_apps.get_private_endpoint_connection_list(RG, "app1"))
        assert conn["properties"]["privateLinkServiceConnectionState"]["status"] == "Approved"

    def test_foreign_connections_survive(self, emu, client):
        vnet_id = seed_vnet(emu, "v", {"pe": {"addressPrefix": "10.0.1.0/24"}})
        foreign = "/subscriptions/other/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/theirs"
        sql_id = rid("Microsoft.Sql/servers/sql1")
        emu.seed(sql_id, {"location": "westeurope", "properties": {"privateEndpointConnections": [{
            "id": f"{sql_id}/privateEndpointConnections/theirs-conn",
            "properties": {"privateEndpoint": {"id": foreign},
                           "privateLinkServiceConnectionState": {"status": "Approved", "actionsRequired": "None"}}}]}})
        net = client(NetworkManagementClient)
        net.private_endpoints.begin_create_or_update(RG, "pe-sql", pe_body(f"{vnet_id}/subnets/pe", sql_id, "sqlServer")).result()
        conns = emu.get(sql_id)["properties"]["privateEndpointConnections"]
        assert sorted(c["properties"]["privateEndpoint"]["id"].rsplit("/", 1)[-1] for c in conns) == ["pe-sql", "theirs"]
        ours = next(c for c in conns if c["properties"]["privateEndpoint"]["id"].endswith("pe-sql"))
        assert ours["properties"]["provisioningState"] == "Ready" and ours["properties"]["groupIds"] == ["sqlServer"]


class TestPrivateDns:
    def zone(self, emu: Emulator, name: str = "privatelink.vaultcore.azure.net") -> str:
        zone_id = rid(f"Microsoft.Network/privateDnsZones/{name}")
        emu.seed(zone_id, {"location": "global"})
        return zone_id

    def test_zone_must_be_global(self, emu, client):
        dns = client(PrivateDnsManagementClient)
        with pytest.raises(HttpResponseError) as err:
            dns.private_zones.begin_create_or_update(RG, "privatelink.blob.core.windows.net", {"location": "westeurope"})
        assert err.value.error.code == "LocationNotAvailableForResourceType"
        zone = dns.private_zones.begin_create_or_update(RG, "privatelink.blob.core.windows.net", {"location": "Global"}).result()
        assert zone["properties"]["numberOfRecordSets"] == 1 and zone["properties"]["provisioningState"] == "Succeeded"

    def test_vnet_link_and_duplicate_conflict(self, emu, client):
        vnet_id = seed_vnet(emu, "v")
        self.zone(emu)
        dns = client(PrivateDnsManagementClient)
        link = {"location": "global", "properties": {"virtualNetwork": {"id": vnet_id}, "registrationEnabled": False}}
        got = dns.virtual_network_links.begin_create_or_update(RG, "privatelink.vaultcore.azure.net", "link1", link).result()
        assert got["properties"]["virtualNetworkLinkState"] == "Completed"
        # Re-PUT of the same link is fine; a second link for the same VNet fails through the LRO.
        dns.virtual_network_links.begin_create_or_update(RG, "privatelink.vaultcore.azure.net", "link1", link).result()
        poller = dns.virtual_network_links.begin_create_or_update(RG, "privatelink.vaultcore.azure.net", "link2", link)
        with pytest.raises(HttpResponseError) as err:
            poller.result()
        assert err.value.error.code == "Conflict" and "already linked" in err.value.error.message
        assert [link["name"] for link in dns.virtual_network_links.list(RG, "privatelink.vaultcore.azure.net")] == ["link1"]
        assert dns.private_zones.get(RG, "privatelink.vaultcore.azure.net")["properties"]["numberOfVirtualNetworkLinks"] == 1

    def test_link_to_missing_vnet(self, emu, client):
        self.zone(emu)
        dns = client(PrivateDnsManagementClient)
        link = {"location": "global", "properties": {"virtualNetwork": {"id": rid("Microsoft.Network/virtualNetworks/ghost")}}}
        with pytest.raises(HttpResponseError) as err:
            dns.virtual_network_links.begin_create_or_update(RG, "privatelink.vaultcore.azure.net", "l", link).result()
        assert err.value.error.code == "InvalidResourceReference"

    def test_zone_group_fills_record_sets(self, emu, client):
        vnet_id = seed_vnet(emu, "v", {"pe": {"addressPrefix": "10.0.1.0/24"}})
        vault_id = seed_vault(emu)
        zone_id = self.zone(emu)
        net = client(NetworkManagementClient)
        net.private_endpoints.begin_create_or_update(RG, "pe-kv", pe_body(f"{vnet_id}/subnets/pe", vault_id, "vault")).result()
        group = net.private_dns_zone_groups.begin_create_or_update(RG, "pe-kv", "default", {"properties": {
            "privateDnsZoneConfigs": [{"name": "vault", "properties": {"privateDnsZoneId": zone_id}}]}}).result()
        (cfg,) = group["properties"]["privateDnsZoneConfigs"]
        assert cfg["properties"]["recordSets"] == [{
            "recordType": "A", "recordSetName": "kv1", "fqdn": "kv1.privatelink.vaultcore.azure.net", "ttl": 10,
            "ipAddresses": ["10.0.1.4"], "provisioningState": "Succeeded"}]
        assert [g["name"] for g in net.private_dns_zone_groups.list("pe-kv", RG)] == ["default"]
        dns = client(PrivateDnsManagementClient)
        assert dns.private_zones.get(RG, "privatelink.vaultcore.azure.net")["properties"]["numberOfRecordSets"] == 2
        record = dns.record_sets.get(RG, "privatelink.vaultcore.azure.net", "A", "kv1")
        assert record["properties"]["aRecords"] == [{"ipv4Address": "10.0.1.4"}]
        with pytest.raises(HttpResponseError) as err:
            net.private_dns_zone_groups.begin_create_or_update(RG, "pe-kv", "default", {"properties": {
                "privateDnsZoneConfigs": [{"name": "x", "properties": {"privateDnsZoneId": rid("Microsoft.Network/privateDnsZones/nope")}}]}})
        assert err.value.error.code == "InvalidResourceReference"
        # One zone group per endpoint, whatever its name (private-endpoint-dns; pulumi-azure-native#2179).
        with pytest.raises(HttpResponseError) as err:
            net.private_dns_zone_groups.begin_create_or_update(RG, "pe-kv", "deployedByPolicy", {"properties": {
                "privateDnsZoneConfigs": []}})
        assert "more than one private dns zone groups" in err.value.message


def test_conflict_maps_to_resource_exists_for_sync_paths(emu, client):
    """409 on an initial PUT is ResourceExistsError in the SDK (facts: not retried)."""
    from emulator import Fault

    seed_vnet(emu, "v")
    emu.faults.add(Fault("PUT", "/virtualNetworks/v", 409, "AnotherOperationInProgress", "busy"))
    with pytest.raises(ResourceExistsError):
        client(NetworkManagementClient).virtual_networks.begin_create_or_update(
            RG, "v", {"location": "westeurope", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}})
