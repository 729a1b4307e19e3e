"""The product runs with exactly the roles infra/ deploys, and the emulator enforces them.

tests/conftest.py assigns the deployed roles (tests/infra/roles.py) to the remediator identity for the
whole suite, so every remediation test already proves the roles suffice, linked access checks included.
These tests prove the enforcement is real: take one action away and the remediator is refused the way
Azure refuses it (403 LinkedAuthorizationFailed / AuthorizationFailed), reports it, and opens nothing.
"""
from __future__ import annotations

from typing import Iterator

import pytest

from emulator.events import write_event
from localdev.landing_zone import LandingZone
from localdev.seeds.keyvault import seed_key_vault
from localdev.seeds.storage import seed_storage_account
from tests.conftest import REMEDIATOR_CLIENT_ID
from tests.infra.roles import deployed_assignments
from tests.remediation import outcomes


def test_the_suite_runs_the_remediator_with_the_deployed_roles(emulator):
    assigned = [(a.scope, list(a.actions)) for a in emulator.authz.assignments(REMEDIATOR_CLIENT_ID)]
    assert assigned == deployed_assignments(LandingZone())
    scopes = {scope for scope, _ in assigned}
    lz = LandingZone()
    assert lz.rg_id(lz.network_rg) in scopes and lz.rg_id(lz.dns_rg) in scopes, "network roles at their own scope"


@pytest.fixture
def without() -> Iterator:
    """Re-assign the deployed roles minus some actions; restore them afterwards."""
    restore: list = []

    def take_away(emulator, *actions: str) -> None:
        restore.append(emulator)
        emulator.unassign_roles(REMEDIATOR_CLIENT_ID)
        for scope, granted in deployed_assignments(LandingZone()):
            emulator.assign_role(REMEDIATOR_CLIENT_ID, [a for a in granted if a not in actions], scope=scope)

    yield take_away
    for emulator in restore:
        emulator.unassign_roles(REMEDIATOR_CLIENT_ID)
        for scope, granted in deployed_assignments(LandingZone()):
            emulator.assign_role(REMEDIATOR_CLIENT_ID, granted, scope=scope)


def _deliver(host, emulator, rid, operation):
    host.deliver(write_event(rid, operation))
    host.run_queue()
    return outcomes(emulator)


def test_a_subnet_write_without_join_on_its_route_table_is_refused_and_reported(host, emulator, lz, without):
    # The workload subnet has an NSG and a route table (localdev/landing_zone.py): adding the service endpoint
    # writes the subnet back whole, and ARM re-checks both links.
    without(emulator, "Microsoft.Network/routeTables/join/action")
    rid = seed_storage_account(emulator, lz, "stlinked01", tags={"harden": "service-endpoint"})
    reported = _deliver(host, emulator, rid, "Microsoft.Storage/storageAccounts/write")
    assert reported and all(o["status"] == "failed" for o in reported)
    assert reported[0]["error"]["code"] == "LinkedAuthorizationFailed"
    assert lz.route_table_id in reported[0]["error"]["message"]
    assert "'Microsoft.Network/routeTables/join/action'" in reported[0]["error"]["message"]
    assert emulator.get(rid)["properties"].get("networkAcls", {}).get("defaultAction", "Allow") == "Allow"
    assert not any(r.method in ("PUT", "PATCH") and r.status < 400 for r in emulator.writes()), "nothing written"


def test_a_zone_group_without_join_on_the_zone_is_refused_and_public_access_stays(host, emulator, lz, without):
    without(emulator, "Microsoft.Network/privateDnsZones/join/action")
    rid = seed_key_vault(emulator, lz, "kv-linked01", tags={"harden": "private"})
    reported = _deliver(host, emulator, rid, "Microsoft.KeyVault/vaults/write")
    assert reported[0]["status"] == "failed"
    assert reported[0]["error"]["code"] == "LinkedAuthorizationFailed"
    assert "'Microsoft.Network/privateDnsZones/join/action'" in reported[0]["error"]["message"]
    assert emulator.get(rid)["properties"].get("publicNetworkAccess", "Enabled") == "Enabled"


def test_a_role_without_the_resource_write_is_authorization_failed(host, emulator, lz, without):
    without(emulator, "Microsoft.KeyVault/vaults/write")
    rid = seed_key_vault(emulator, lz, "kv-linked02", tags={"harden": "service-endpoint"})
    reported = _deliver(host, emulator, rid, "Microsoft.KeyVault/vaults/write")
    assert reported[0]["status"] == "failed" and reported[0]["error"]["code"] == "AuthorizationFailed"
    assert "'Microsoft.KeyVault/vaults/write'" in reported[0]["error"]["message"]


def test_the_main_role_on_listed_resource_groups_is_enough_there_and_nowhere_else(host, emulator, lz):
    """HARDEN_SCOPE_RESOURCE_GROUPS: the main role on the workload group only (README "Blast radius")."""
    def assign(resources_scope: str) -> None:
        emulator.unassign_roles(REMEDIATOR_CLIENT_ID)
        for scope, granted in deployed_assignments(LandingZone()):
            is_main = scope == f"/subscriptions/{lz.subscription_id}" and \
                "Microsoft.KeyVault/vaults/write" in granted
            emulator.assign_role(REMEDIATOR_CLIENT_ID, granted, scope=resources_scope if is_main else scope)

    try:
        assign(lz.rg_id(lz.app_rg))
        inside = seed_key_vault(emulator, lz, "kv-scoped01", tags={"harden": "private"})
        assert _deliver(host, emulator, inside, "Microsoft.KeyVault/vaults/write")[-1]["status"] == "hardened"
        assign(lz.rg_id("rg-somewhere-else"))
        other = seed_key_vault(emulator, lz, "kv-scoped02", tags={"harden": "private"})
        reported = _deliver(host, emulator, other, "Microsoft.KeyVault/vaults/write")
        assert reported[-1]["status"] == "failed" and reported[-1]["error"]["code"] == "AuthorizationFailed"
        assert emulator.get(other)["properties"].get("publicNetworkAccess", "Enabled") == "Enabled"
    finally:
        emulator.unassign_roles(REMEDIATOR_CLIENT_ID)
        for scope, granted in deployed_assignments(LandingZone()):
            emulator.assign_role(REMEDIATOR_CLIENT_ID, granted, scope=scope)
