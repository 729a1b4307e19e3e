"""Azure RBAC on the emulator (emulator/authz.py): own action, linked access checks, scopes, ARM's 403s."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.keyvault import KeyVaultManagementClient
from azure.mgmt.network import NetworkManagementClient

from emulator.authz import Authorizer, linked_references

from .helpers import RG_ID, SUB, rid, seed_vnet

NSG = rid("Microsoft.Network/networkSecurityGroups/nsg1")
RT = rid("Microsoft.Network/routeTables/rt1")
SUBNET_RW = ["Microsoft.Network/virtualNetworks/read", "Microsoft.Network/virtualNetworks/subnets/read",
             "Microsoft.Network/virtualNetworks/subnets/write", "Microsoft.Network/locations/operations/read"]


@pytest.fixture
def restricted(emu):
    """Assign roles to the identity the emulator tests run as; unrestricted again afterwards."""
    def assign(actions, scope=f"/subscriptions/{SUB}"):
        emu.assign_role(emu.client_id, actions, scope=scope)
    yield assign
    emu.unassign_roles(emu.client_id)


def _workload_subnet(emu):
    emu.seed(NSG, {"location": "westeurope", "properties": {"securityRules": []}})
    emu.seed(RT, {"location": "westeurope", "properties": {"routes": []}})
    vnet = seed_vnet(emu, "v", {"work": {"addressPrefix": "10.0.1.0/24", "networkSecurityGroup": {"id": NSG},
                                         "routeTable": {"id": RT}}})
    return vnet + "/subnets/work"


def _error(exc_info):
    return exc_info.value.status_code, exc_info.value.error.code, exc_info.value.error.message


def test_unassigned_callers_are_unrestricted(emu, client):
    subnet = _workload_subnet(emu)
    net = client(NetworkManagementClient)
    current = net.subnets.get(RG_ID.split("/")[-1], "v", "work")
    net.subnets.begin_create_or_update(RG_ID.split("/")[-1], "v", "work", current).result()
    assert emu.get(subnet)["properties"]["networkSecurityGroup"]["id"] == NSG


def test_a_read_outside_the_role_is_authorization_failed_with_arms_message(emu, client, restricted):
    _workload_subnet(emu)
    restricted(["Microsoft.KeyVault/vaults/read"])
    with pytest.raises(HttpResponseError) as exc_info:
        client(NetworkManagementClient).subnets.get("rg-test", "v", "work")
    status, code, message = _error(exc_info)
    assert (status, code) == (403, "AuthorizationFailed")
    assert message == (
        f"The client '{emu.client_id}' with object id '{emu.principal_id}' does not have authorization to perform "
        f"action 'Microsoft.Network/virtualNetworks/subnets/read' over scope '{rid('Microsoft.Network/virtualNetworks/v/subnets/work')}' "
        "or the scope is invalid. If access was recently granted, please refresh your credentials.")


def test_a_subnet_written_back_unchanged_needs_join_on_its_nsg_and_route_table(emu, client, restricted):
    subnet = _workload_subnet(emu)
    restricted(SUBNET_RW + ["Microsoft.Network/networkSecurityGroups/join/action"])
    net = client(NetworkManagementClient)
    current = net.subnets.get("rg-test", "v", "work")
    emu.clear_requests()
    with pytest.raises(HttpResponseError) as exc_info:
        net.subnets.begin_create_or_update("rg-test", "v", "work", current).result()
    status, code, message = _error(exc_info)
    assert (status, code) == (403, "LinkedAuthorizationFailed")
    assert message == (
        f"The client '{emu.client_id}' with object id '{emu.principal_id}' has permission to perform action "
        f"'Microsoft.Network/virtualNetworks/subnets/write' on scope '{subnet}'; however, it does not have permission "
        f"to perform action 'Microsoft.Network/routeTables/join/action' on the linked scope(s) '{RT}' or the linked "
        "scope(s) are invalid.")
    assert [r.status for r in emu.writes()] == [403], "refused before the resource provider saw it"
    restricted(["Microsoft.Network/routeTables/join/action"])
    net.subnets.begin_create_or_update("rg-test", "v", "work", current).result()


def test_linked_checks_apply_at_the_linked_resources_scope(emu, client, restricted):
    _workload_subnet(emu)
    restricted(SUBNET_RW)
    restricted(["Microsoft.Network/networkSecurityGroups/join/action", "Microsoft.Network/routeTables/join/action"],
               scope=f"/subscriptions/{SUB}/resourceGroups/rg-elsewhere")
    net = client(NetworkManagementClient)
    current = net.subnets.get("rg-test", "v", "work")
    with pytest.raises(HttpResponseError) as exc_info:
        net.subnets.begin_create_or_update("rg-test", "v", "work", current).result()
    assert _error(exc_info)[1] == "LinkedAuthorizationFailed"


def test_a_vnet_rule_needs_join_via_service_endpoint_even_when_unchanged(emu, client, restricted):
    subnet = seed_vnet(emu, "v", {"work": {"addressPrefix": "10.0.1.0/24",
                                           "serviceEndpoints": [{"service": "Microsoft.KeyVault"}]}}) + "/subnets/work"
    vault = rid("Microsoft.KeyVault/vaults/kv1")
    emu.seed(vault, {"location": "westeurope", "properties": {
        "tenantId": SUB, "sku": {"family": "A", "name": "standard"},
        "networkAcls": {"defaultAction": "Deny", "bypass": "AzureServices",
                        "virtualNetworkRules": [{"id": subnet}]}}})
    restricted(["Microsoft.KeyVault/vaults/read", "Microsoft.KeyVault/vaults/write",
                "Microsoft.KeyVault/locations/operations/read"])
    kv = client(KeyVaultManagementClient)
    current = kv.vaults.get("rg-test", "kv1")
    params = {"location": current.location, "properties": current.properties.as_dict()}
    with pytest.raises(HttpResponseError) as exc_info:
        kv.vaults.begin_create_or_update("rg-test", "kv1", params).result()
    status, code, message = _error(exc_info)
    assert (status, code) == (403, "LinkedAuthorizationFailed")
    assert "'Microsoft.Network/virtualNetworks/subnets/joinViaServiceEndpoint/action'" in message
    restricted(["Microsoft.Network/virtualNetworks/subnets/joinViaServiceEndpoint/action"],
               scope=f"/subscriptions/{SUB}/resourceGroups/rg-test/providers/Microsoft.Network/virtualNetworks/v")
    kv.vaults.begin_create_or_update("rg-test", "kv1", params).result()


@pytest.mark.parametrize(("resource_type", "body", "expected"), [
    ("Microsoft.Network/privateEndpoints", {"properties": {"subnet": {"id": "/s/sub"}}},
     [("Microsoft.Network/virtualNetworks/subnets/join/action", "/s/sub")]),
    ("Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
     {"properties": {"privateDnsZoneConfigs": [{"properties": {"privateDnsZoneId": "/z1"}},
                                               {"properties": {"privateDnsZoneId": "/z2"}}]}},
     [("Microsoft.Network/privateDnsZones/join/action", "/z1"), ("Microsoft.Network/privateDnsZones/join/action", "/z2")]),
    ("Microsoft.Network/virtualNetworks/subnets",
     {"properties": {"natGateway": {"id": "/nat"}, "serviceEndpointPolicies": [{"id": "/sep"}]}},
     [("Microsoft.Network/natGateways/join/action", "/nat"),
      ("Microsoft.Network/serviceEndpointPolicies/join/action", "/sep")]),
    ("Microsoft.Sql/servers/virtualNetworkRules", {"properties": {"virtualNetworkSubnetId": "/s"}},
     [("Microsoft.Network/virtualNetworks/subnets/joinViaServiceEndpoint/action", "/s")]),
    ("Microsoft.ServiceBus/namespaces/networkRuleSets",
     {"properties": {"virtualNetworkRules": [{"subnet": {"id": "/s"}}]}},
     [("Microsoft.Network/virtualNetworks/subnets/joinViaServiceEndpoint/action", "/s")]),
    ("Microsoft.Web/sites/config", {"properties": {"ipSecurityRestrictions": [{"vnetSubnetResourceId": "/a"}],
                                                   "scmIpSecurityRestrictions": [{"vnetSubnetResourceId": "/b"}]}},
     [("Microsoft.Network/virtualNetworks/subnets/joinViaServiceEndpoint/action", "/a"),
      ("Microsoft.Network/virtualNetworks/subnets/joinViaServiceEndpoint/action", "/b")]),
    ("Microsoft.DocumentDB/databaseAccounts", {"properties": {"virtualNetworkRules": [{"id": "/s"}]}},
     [("Microsoft.Network/virtualNetworks/subnets/joinViaServiceEndpoint/action", "/s")]),
    ("Microsoft.Storage/storageAccounts", {"properties": {"networkAcls": {"virtualNetworkRules": []}}}, []),
])
def test_linked_references_per_type(resource_type, body, expected):
    assert list(linked_references(resource_type, body)) == expected


def test_scopes_match_whole_segments_and_wildcards():
    authz = Authorizer()
    authz.assign("c", ["Microsoft.Sql/locations/*AzureAsyncOperation/read"], scope="/subscriptions/s")
    authz.assign("c", ["Microsoft.KeyVault/vaults/read"], scope="/subscriptions/s/resourceGroups/rg")
    assert authz.allows("c", "Microsoft.Sql/locations/serverAzureAsyncOperation/read",
                        "/subscriptions/s/providers/Microsoft.Sql/locations/weu/serverAzureAsyncOperation/1")
    assert not authz.allows("c", "Microsoft.Sql/locations/usages/read", "/subscriptions/s/providers/x")
    assert authz.allows("c", "Microsoft.KeyVault/vaults/read", "/subscriptions/s/resourceGroups/RG/providers/k")
    assert not authz.allows("c", "Microsoft.KeyVault/vaults/read", "/subscriptions/s/resourceGroups/rg2/providers/k")
    assert not authz.allows("c", "Microsoft.KeyVault/vaults/read", "/subscriptions/s2")
    assert authz.allows("someone-else", "anything", "/")
