"""Many subscriptions: each resource gets the endpoint subnet of its own spoke (subscription and region)."""
from __future__ import annotations

import pytest

from localdev.landing_zone import LandingZone, seed_network
from localdev.seeds import seed_key_vault, seed_storage_account
from tests.conftest import REMEDIATOR_CLIENT_ID
from tests.infra.roles import role_lists
from tests.remediation import deliver

SPOKE_B = LandingZone(subscription_id="2b7d4c1e-9f3a-4e6b-8c2d-1a0f9e8d7c6b", network_rg="rg-spoke-b-network",
                      app_rg="rg-spoke-b-app", vnet_name="vnet-spoke-b-weu")
VAULT_WRITE = "Microsoft.KeyVault/vaults/write"


@pytest.fixture
def spokes(emulator, lz, host, monkeypatch):
    seed_network(emulator, SPOKE_B)
    # The roles infra/modules/subscription/add-subscription.bicep assigns in an added subscription.
    lists = role_lists()
    sub, network_rg = f"/subscriptions/{SPOKE_B.subscription_id}", SPOKE_B.rg_id(SPOKE_B.network_rg)
    before = emulator.authz.assignments(REMEDIATOR_CLIENT_ID)
    for scope, kind in ((sub, "resources"), (sub, "subscriptionReads"), (network_rg, "privateEndpointSubnet"),
                        (network_rg, "serviceEndpointSubnets")):
        emulator.assign_role(REMEDIATOR_CLIENT_ID, lists[kind], scope=scope)
    monkeypatch.setenv("HARDEN_SUBSCRIPTION_IDS", f"{lz.subscription_id},{SPOKE_B.subscription_id}")
    monkeypatch.setenv("HARDEN_PRIVATE_ENDPOINT_SUBNET_IDS", f"{lz.endpoint_subnet_id},{SPOKE_B.endpoint_subnet_id}")
    monkeypatch.setenv("HARDEN_SERVICE_ENDPOINT_SUBNET_IDS", f"{lz.workload_subnet_id},{SPOKE_B.workload_subnet_id}")
    yield lz, SPOKE_B
    emulator.unassign_roles(REMEDIATOR_CLIENT_ID)  # the session's roles, as they were
    for assignment in before:
        emulator.assign_role(REMEDIATOR_CLIENT_ID, assignment.actions, scope=assignment.scope,
                             not_actions=assignment.not_actions)


def relocate(emulator, rid: str, location: str) -> None:
    body = emulator.get(rid)
    body["location"] = location
    emulator.seed(rid, body)


def test_private_endpoint_goes_to_the_spoke_of_the_resources_subscription(emulator, host, spokes):
    hub, spoke = spokes
    vault = seed_key_vault(emulator, spoke, "kv-spoke-b", tags={"harden": "private"})
    outcome = deliver(host, emulator, vault, VAULT_WRITE)
    assert outcome["status"] == "hardened"
    endpoints = [r.path for r in emulator.writes() if r.resource_type == "Microsoft.Network/privateEndpoints"]
    assert endpoints and all(p.lower().startswith(f"/subscriptions/{spoke.subscription_id}/resourcegroups/"
                                                  f"{spoke.network_rg}/".lower()) for p in endpoints)
    pe = emulator.get(endpoints[0])
    assert pe["properties"]["subnet"]["id"].lower() == spoke.endpoint_subnet_id.lower()


def test_every_configured_service_endpoint_subnet_is_allowed_in(emulator, host, spokes):
    """HARDEN_SERVICE_ENDPOINT_SUBNET_IDS means what it says (issue 14 item 3): every subnet, from every
    subscription, gets its rule; reach is the service's (Storage: the region and its pair), not the setting's."""
    hub, spoke = spokes
    account = seed_storage_account(emulator, spoke, "stspokeb01", tags={"harden": "service-endpoint"})
    assert deliver(host, emulator, account, "Microsoft.Storage/storageAccounts/write")["status"] == "hardened"
    rules = [r["id"].lower() for r in emulator.get(account)["properties"]["networkAcls"]["virtualNetworkRules"]]
    assert sorted(rules) == sorted([hub.workload_subnet_id.lower(), spoke.workload_subnet_id.lower()])
    emulator.clear_requests()
    assert deliver(host, emulator, account, "Microsoft.Storage/storageAccounts/write")["status"] == "skipped"
    assert not [r for r in emulator.writes() if r.resource_type != "Microsoft.ResourceGraph/resources"]


def test_a_key_vault_in_another_region_takes_subnets_of_any_region(emulator, host, spokes):
    """Seen: a westus vault with westeurope subnets failed "service endpoints are regional". Key Vault's
    service endpoint is not bound to a region (service endpoints overview, "Limitations": only SQL)."""
    hub, spoke = spokes
    vault = seed_key_vault(emulator, spoke, "kv-spoke-b-westus", tags={"harden": "service-endpoint"})
    relocate(emulator, vault, "westus")
    assert deliver(host, emulator, vault, VAULT_WRITE)["status"] == "hardened"
    rules = {r["id"].lower() for r in emulator.get(vault)["properties"]["networkAcls"]["virtualNetworkRules"]}
    assert rules == {hub.workload_subnet_id.lower(), spoke.workload_subnet_id.lower()}


def test_no_subnet_in_the_resources_region_fails_naming_the_region(emulator, host, spokes):
    hub, spoke = spokes
    vault = seed_key_vault(emulator, spoke, "kv-spoke-b-sweden", tags={"harden": "private"})
    relocate(emulator, vault, "swedencentral")
    outcome = deliver(host, emulator, vault, VAULT_WRITE)
    assert outcome["status"] == "failed" and "swedencentral" in outcome["reason"]
    assert "HARDEN_PRIVATE_ENDPOINT_SUBNET_IDS" in outcome["reason"]
    assert not [r for r in emulator.writes() if r.resource_type != "Microsoft.ResourceGraph/resources"]
