"""Network Security Perimeter: ``publicNetworkAccess: SecuredByPerimeter`` is never overwritten.

The value is in the PublicNetworkAccess enums of azure-mgmt-storage / sql / cosmosdb /
servicebus / eventhub; learn.microsoft.com/azure/private-link/network-security-perimeter-concepts:
the perimeter's access rules govern public traffic. It is neither "public" nor ours to
change, whatever the tag says: the outcome is ``skipped`` / ``governed-by-perimeter``.
"""
from __future__ import annotations

from typing import Any, Callable

import pytest

from localdev.seeds.cosmosdb import seed_cosmos_account
from localdev.seeds.eventhub import seed_event_hubs_namespace
from localdev.seeds.keyvault import seed_key_vault
from localdev.seeds.servicebus import seed_service_bus_namespace
from localdev.seeds.sql import seed_sql_server
from localdev.seeds.storage import seed_storage_account
from tests.remediation import deliver

PERIMETER = "SecuredByPerimeter"

SERVICES: dict[str, tuple[Callable[..., str], str, str]] = {
    "keyvault": (seed_key_vault, "kv-nsp", "Microsoft.KeyVault/vaults/write"),
    "storage": (seed_storage_account, "stnsp", "Microsoft.Storage/storageAccounts/write"),
    "sql": (seed_sql_server, "sql-nsp", "Microsoft.Sql/servers/write"),
    "cosmosdb": (seed_cosmos_account, "cosmos-nsp", "Microsoft.DocumentDB/databaseAccounts/write"),
    "servicebus": (seed_service_bus_namespace, "sb-nsp", "Microsoft.ServiceBus/namespaces/write"),
    "eventhub": (seed_event_hubs_namespace, "evh-nsp", "Microsoft.EventHub/namespaces/write"),
}
TAGS: dict[str, dict[str, str] | None] = {"private": {"harden": "private"},
                                          "service-endpoint": {"harden": "service-endpoint"},
                                          "untagged": None, "off": {"harden": "off"}}


def secure_by_perimeter(emulator: Any, rid: str) -> None:
    body = emulator.get(rid)
    body["properties"]["publicNetworkAccess"] = PERIMETER
    emulator.seed(rid, body)


@pytest.mark.parametrize("mode", list(TAGS))
@pytest.mark.parametrize("service", list(SERVICES))
def test_a_resource_in_a_perimeter_is_reported_and_never_written(host, emulator, lz, service, mode):
    seed, prefix, operation = SERVICES[service]
    rid = seed(emulator, lz, f"{prefix}{list(TAGS).index(mode)}", tags=TAGS[mode])
    secure_by_perimeter(emulator, rid)
    emulator.clear_requests()

    outcome = deliver(host, emulator, rid, operation)

    assert (outcome["status"], outcome["reasonCode"]) == ("skipped", "governed-by-perimeter"), outcome
    assert "perimeter" in outcome["reason"] and PERIMETER in outcome["reason"]
    assert emulator.writes() == []
    assert emulator.get(rid)["properties"]["publicNetworkAccess"] == PERIMETER


@pytest.mark.parametrize("seed, operation", [(seed_service_bus_namespace, "Microsoft.ServiceBus/namespaces/write"),
                                             (seed_event_hubs_namespace, "Microsoft.EventHub/namespaces/write")])
def test_a_namespace_whose_rule_set_is_in_a_perimeter_is_left_alone(host, emulator, lz, seed, operation):
    # Service Bus / Event Hubs carry the switch on networkRuleSets/default too (NetworkRuleSet.publicNetworkAccess).
    rid = seed(emulator, lz, "ns-nsp-rules", tags={"harden": "private"},
               rule_set={"defaultAction": "Allow", "publicNetworkAccess": PERIMETER})
    emulator.clear_requests()
    outcome = deliver(host, emulator, rid, operation)
    assert (outcome["status"], outcome["reasonCode"]) == ("skipped", "governed-by-perimeter"), outcome
    assert emulator.writes() == []


def test_the_emulator_accepts_secured_by_perimeter_on_key_vault(emulator, lz, monkeypatch):
    from azure.identity import DefaultAzureCredential
    from azure.mgmt.keyvault import KeyVaultManagementClient

    for name, value in emulator.env().items():
        monkeypatch.setenv(name, value)
    rid = seed_key_vault(emulator, lz, "kv-nsp-put", tags=None)
    with KeyVaultManagementClient(DefaultAzureCredential(), lz.subscription_id, base_url=emulator.url,
                                  polling_interval=0) as kv:
        got = kv.vaults.update(lz.app_rg, "kv-nsp-put", {"properties": {"publicNetworkAccess": PERIMETER}})
    assert got.properties.public_network_access == PERIMETER
    assert emulator.get(rid)["properties"]["publicNetworkAccess"] == PERIMETER
