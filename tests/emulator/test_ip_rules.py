"""IP rules: the emulator refuses what each service refuses (emulator/paas.py cites the pages), via the real SDKs.

These are the per-service validation cases behind HARDEN_ALLOWED_IP_RANGES: a remediator that wrote a rule
in a shape the service refuses fails here as it would in Azure.
"""
from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.cosmosdb import CosmosDBManagementClient
from azure.mgmt.eventhub import EventHubManagementClient
from azure.mgmt.keyvault import KeyVaultManagementClient
from azure.mgmt.servicebus import ServiceBusManagementClient
from azure.mgmt.sql import SqlManagementClient
from azure.mgmt.storage import StorageManagementClient
from azure.mgmt.web import WebSiteManagementClient

from .helpers import RG, SUB, rid


def _refused(call) -> HttpResponseError:
    with pytest.raises(HttpResponseError) as caught:
        call()
    assert caught.value.status_code == 400
    return caught.value


@pytest.mark.parametrize("value, accepted", [
    ("20.30.40.0/24", True), ("52.1.2.3", True), ("52.1.2.0/30", True),
    ("52.1.2.3/32", False), ("52.1.2.2/31", False),  # "/31 or /32 prefix sizes are not supported"
    ("10.0.0.0/8", False), ("192.168.1.0/24", False), ("172.20.0.0/16", False),  # RFC 1918
    ("2001:db8::/32", False),  # IPv4 only
])
def test_storage_ip_rules(emu, client, value, accepted):
    emu.seed(rid("Microsoft.Storage/storageAccounts/stip"), {"location": "westeurope", "kind": "StorageV2",
                                                            "sku": {"name": "Standard_LRS"}, "properties": {}})
    body = {"properties": {"networkAcls": {"defaultAction": "Deny", "ipRules": [{"value": value, "action": "Allow"}]}}}
    update = lambda: client(StorageManagementClient).storage_accounts.update(RG, "stip", body)  # noqa: E731
    if accepted:
        assert update()["properties"]["networkAcls"]["ipRules"][0]["value"] == value
    else:
        assert "networkAcls.ipRule[*].value" in _refused(update).message


@pytest.mark.parametrize("value, accepted", [
    ("20.30.40.0/24", True), ("52.1.2.3", True), ("10.1.0.0/16", False), ("192.168.0.1", False), ("fe80::1", False)])
def test_key_vault_ip_rules(emu, client, value, accepted):
    emu.seed(rid("Microsoft.KeyVault/vaults/kvip"), {"location": "westeurope", "properties": {
        "tenantId": SUB, "sku": {"family": "A", "name": "standard"}}})
    body = {"properties": {"networkAcls": {"defaultAction": "Deny", "ipRules": [{"value": value}]}}}
    update = lambda: client(KeyVaultManagementClient).vaults.update(RG, "kvip", body)  # noqa: E731
    if accepted:
        update()
    else:
        assert "properties.networkAcls.ipRules[0].value" in _refused(update).message


@pytest.mark.parametrize("value, accepted", [
    ("20.30.40.0/24", True), ("0.0.0.0", True),  # the Azure-datacenters switch
    ("100.64.1.0/24", False), ("10.0.0.1", False), ("20.30.40.5/24", False), ("::1", False)])
def test_cosmos_ip_rules(emu, client, value, accepted):
    emu.seed(rid("Microsoft.DocumentDB/databaseAccounts/ddbip"), {"location": "westeurope", "kind": "GlobalDocumentDB",
                                                                 "properties": {"databaseAccountOfferType": "Standard"}})
    update = lambda: client(CosmosDBManagementClient).database_accounts.begin_update(  # noqa: E731
        RG, "ddbip", {"properties": {"ipRules": [{"ipAddressOrRange": value}]}}).result()
    if accepted:
        update()
    else:
        _refused(update)


@pytest.mark.parametrize("client_cls, ns", [(ServiceBusManagementClient, "Microsoft.ServiceBus"),
                                            (EventHubManagementClient, "Microsoft.EventHub")])
@pytest.mark.parametrize("mask, accepted", [("20.30.40.0/24", True), ("52.1.2.3", True), ("2001:db8::/48", False),
                                            ("office", False)])
def test_messaging_ip_masks(emu, client, client_cls, ns, mask, accepted):
    emu.seed(rid(f"{ns}/namespaces/nsip"), {"location": "westeurope", "sku": {"name": "Premium", "tier": "Premium"},
                                           "properties": {}})
    body = {"properties": {"defaultAction": "Deny", "ipRules": [{"ipMask": mask, "action": "Allow"}]}}
    put = lambda: client(client_cls).namespaces.create_or_update_network_rule_set(RG, "nsip", body)  # noqa: E731
    if accepted:
        put()
    else:
        _refused(put)


@pytest.mark.parametrize("start, end, accepted", [("20.30.40.0", "20.30.40.255", True), ("52.1.2.3", "52.1.2.3", True),
                                                  ("20.30.40.255", "20.30.40.0", False), ("::1", "::1", False)])
def test_sql_firewall_rule_addresses(emu, client, start, end, accepted):
    emu.seed(rid("Microsoft.Sql/servers/sqlip"), {"location": "westeurope", "properties": {}})
    put = lambda: client(SqlManagementClient).firewall_rules.create_or_update(  # noqa: E731
        RG, "sqlip", "office", {"properties": {"startIpAddress": start, "endIpAddress": end}})
    if accepted:
        put()
    else:
        _refused(put)


@pytest.mark.parametrize("address, accepted", [("20.30.40.0/24", True), ("52.1.2.3/32", True),
                                               ("2001:db8::/48", True),  # App Service takes IPv6 CIDR
                                               ("20.30.40.5/24", False), ("not-an-ip", False)])
def test_app_service_restriction_addresses(emu, client, address, accepted):
    emu.seed(rid("Microsoft.Web/sites/appip"), {"location": "westeurope", "kind": "app", "properties": {}})
    body = {"properties": {"ipSecurityRestrictions": [
        {"ipAddress": address, "action": "Allow", "priority": 100, "name": "office"}]}}
    update = lambda: client(WebSiteManagementClient).web_apps.update_configuration(RG, "appip", body)  # noqa: E731
    if accepted:
        update()
    else:
        _refused(update)
