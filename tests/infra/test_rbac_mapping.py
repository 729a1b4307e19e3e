"""Unit tests of tests/infra/rbac.py: HTTP request -> RBAC action."""
from __future__ import annotations

import pytest

from tests.infra.rbac import covered, rbac_action_for, resource_type_from_path


@pytest.mark.parametrize(("method", "resource_type", "action"), [
    ("GET", "Microsoft.KeyVault/vaults", "Microsoft.KeyVault/vaults/read"),
    ("get", "Microsoft.Network/virtualNetworks/subnets", "Microsoft.Network/virtualNetworks/subnets/read"),
    ("HEAD", "Microsoft.Storage/storageAccounts", "Microsoft.Storage/storageAccounts/read"),
    ("PUT", "Microsoft.Network/privateEndpoints", "Microsoft.Network/privateEndpoints/write"),
    ("PATCH", "Microsoft.Storage/storageAccounts", "Microsoft.Storage/storageAccounts/write"),
    ("DELETE", "Microsoft.Sql/servers/firewallRules", "Microsoft.Sql/servers/firewallRules/delete"),
    ("POST", "Microsoft.Storage/storageAccounts/listKeys", "Microsoft.Storage/storageAccounts/listKeys/action"),
    ("post", "Microsoft.DocumentDB/databaseAccounts/privateEndpointConnectionsApproval",
     "Microsoft.DocumentDB/databaseAccounts/privateEndpointConnectionsApproval/action"),
    (" PUT ", "/Microsoft.Network/privateDnsZones/virtualNetworkLinks/",
     "Microsoft.Network/privateDnsZones/virtualNetworkLinks/write"),
    ("GET", "Microsoft.Resources/resourceGroups", "Microsoft.Resources/subscriptions/resourceGroups/read"),
    ("GET", "Microsoft.Resources/subscriptions/resourceGroups",
     "Microsoft.Resources/subscriptions/resourceGroups/read"),
    ("GET", "Microsoft.Resources/tags", "Microsoft.Resources/tags/read"),
])
def test_method_and_type_map_to_action(method, resource_type, action):
    assert rbac_action_for(method, resource_type) == action


@pytest.mark.parametrize(("method", "resource_type"), [
    ("OPTIONS", "Microsoft.KeyVault/vaults"),
    ("CONNECT", "Microsoft.KeyVault/vaults"),
    ("GET", "vaults"),
    ("GET", "KeyVault/vaults"),
    ("GET", "Microsoft.KeyVault//vaults"),
    ("POST", "Microsoft.KeyVault/vaults"),
])
def test_invalid_requests_are_refused(method, resource_type):
    with pytest.raises(ValueError):
        rbac_action_for(method, resource_type)


@pytest.mark.parametrize(("path", "resource_type"), [
    ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv",
     "Microsoft.KeyVault/vaults"),
    ("https://management.azure.com/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v"
     "/subnets/a?api-version=2024-05-01", "Microsoft.Network/virtualNetworks/subnets"),
    ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets",
     "Microsoft.Network/virtualNetworks/subnets"),
    ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st/listKeys",
     "Microsoft.Storage/storageAccounts/listKeys"),
    ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv/providers/Microsoft.Resources/tags"
     "/default", "Microsoft.Resources/tags"),
    ("/subscriptions/s/providers/Microsoft.Network/locations/westeurope/operations/op1",
     "Microsoft.Network/locations/operations"),
    ("/subscriptions/s/resourceGroups/rg", "Microsoft.Resources/subscriptions/resourceGroups"),
    ("/subscriptions/s/resourcegroups/rg/PROVIDERS/Microsoft.Sql/servers/sql/virtualNetworkRules/r",
     "Microsoft.Sql/servers/virtualNetworkRules"),
])
def test_resource_type_from_path(path, resource_type):
    assert resource_type_from_path(path) == resource_type


def test_path_and_method_compose():
    path = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/sql/firewallRules/AllowAll"
    assert rbac_action_for("DELETE", resource_type_from_path(path)) == "Microsoft.Sql/servers/firewallRules/delete"


def test_covered_is_case_insensitive_and_honours_wildcards_and_not_actions():
    granted = ["Microsoft.Network/virtualNetworks/subnets/read", "Microsoft.Web/sites/*"]
    assert covered("microsoft.network/virtualnetworks/subnets/READ", granted)
    assert covered("Microsoft.Web/sites/config/write", granted)
    assert not covered("Microsoft.Web/sites/config/write", granted, denied=["Microsoft.Web/sites/config/*"])
    assert not covered("Microsoft.Network/virtualNetworks/subnets/write", granted)
    assert not covered("Microsoft.Webx/sites/read", granted)
    assert covered("Microsoft.Sql/servers/read", ["*/read"])
    assert not covered("Microsoft.Sql/servers/write", ["*/read"])
    assert covered("Microsoft.Storage/storageAccounts/listKeys/action", ["Microsoft.Storage/*/action"])
    assert not covered("Microsoft.Storage/action", ["Microsoft.Storage/*/action"])
