"""Azure SQL logical servers: the remediation contract plus SQL-specific checks."""
from __future__ import annotations

from typing import Any, Mapping

import pytest
from azure.core.exceptions import HttpResponseError
from azure.identity import ManagedIdentityCredential

from localdev.landing_zone import LandingZone
from localdev.seeds.sql import AAD_ADMIN, ALLOW_AZURE_SERVICES, seed_sql_server
from remediators.arm import ArmClients
from remediators.resource_id import ResourceId
from remediators.services.sql import vnet_rule_name
from tests.remediation import RemediationContract, deliver, settle

SERVER_WRITE = "Microsoft.Sql/servers/write"
FIREWALL_RULE_WRITE = "Microsoft.Sql/servers/firewallRules/write"
PERSON_CLIENT_ID = "0c9e1d2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f"
OFFICE = {"startIpAddress": "203.0.113.0", "endIpAddress": "203.0.113.255"}


def _sql(emu, rid: str) -> tuple[Any, str, str]:
    """A real SQL client on the emulator, to read and write a server's child rules as a person would.

    It signs in as another identity than the remediator's, so that its writes are not
    counted as the remediator's operations (tests/infra/test_role_covers_observed.py).
    """
    r = ResourceId.parse(rid)
    person = ManagedIdentityCredential(client_id=PERSON_CLIENT_ID)
    arm = ArmClients(person, r.subscription_id, endpoint=emu.url, polling_interval=0)
    return arm.sql, r.resource_group, r.name


def firewall(emu, rid: str) -> dict[str, dict[str, str]]:
    """Firewall rules by name: {startIpAddress, endIpAddress}."""
    sql, rg, name = _sql(emu, rid)
    rules = [r.as_dict() for r in sql.firewall_rules.list_by_server(rg, name)]
    return {r["name"]: {k: r["properties"][k] for k in ("startIpAddress", "endIpAddress")} for r in rules}


def vnet_rules(emu, rid: str) -> dict[str, dict[str, Any]]:
    sql, rg, name = _sql(emu, rid)
    rules = [r.as_dict() for r in sql.virtual_network_rules.list_by_server(rg, name)]
    return {r["name"]: r["properties"] for r in rules}


def check_settings_kept(emu, rid: str) -> None:
    """The PATCH carries publicNetworkAccess only: the admin, TLS floor, tags survive."""
    server = emu.get(rid)
    props = server["properties"]
    assert props["administrators"] == AAD_ADMIN
    assert props["administratorLogin"] == "dummylogin"
    assert props["minimalTlsVersion"] == "1.2"
    assert props["restrictOutboundNetworkAccess"] == "Enabled"
    assert server["tags"]


def gets(emu) -> list[str]:
    return [r.path for r in emu.arm_calls() if r.method == "GET"]


class TestSql(RemediationContract):
    operation = SERVER_WRITE
    service_endpoint = "Microsoft.Sql"
    groups = ("sqlServer",)
    zones = ("privatelink.database.windows.net",)

    def seed(self, emu, lz: LandingZone, name: str, tags: Mapping[str, str] | None) -> str:
        return seed_sql_server(emu, lz, f"sql-{name}", tags=tags)

    def check_private(self, emu, lz, rid):
        assert emu.get(rid)["properties"]["publicNetworkAccess"] == "Disabled"
        # The "Allow Azure services" rule goes before public access does (42101 forbids it after);
        # the owner's office range stays.
        assert firewall(emu, rid) == {"office": OFFICE}
        check_settings_kept(emu, rid)

    def check_service_endpoint(self, emu, lz, rid):
        assert emu.get(rid)["properties"]["publicNetworkAccess"] == "Enabled"
        assert firewall(emu, rid) == {"office": OFFICE}
        rules = vnet_rules(emu, rid)
        assert list(rules) == [vnet_rule_name(lz.workload_subnet_id)]
        rule = next(iter(rules.values()))
        assert rule["virtualNetworkSubnetId"].lower() == lz.workload_subnet_id.lower()
        assert rule["ignoreMissingVnetServiceEndpoint"] is False
        check_settings_kept(emu, rid)

    def check_untouched(self, emu, rid, before):
        super().check_untouched(emu, rid, before)
        assert set(firewall(emu, rid)) == {ALLOW_AZURE_SERVICES, "office"}


def test_private_order_deletes_the_azure_services_rule_before_public_access_goes(host, emulator, lz):
    rid = seed_sql_server(emulator, lz, "sql-privorder01", tags={"harden": "private"})
    outcome = deliver(host, emulator, rid, SERVER_WRITE)
    assert outcome["status"] == "hardened", outcome
    own = [(r.method, r.resource_type) for r in emulator.writes() if r.resource_type.startswith("Microsoft.Sql/")]
    assert own == [("DELETE", "Microsoft.Sql/servers/firewallRules"), ("PATCH", "Microsoft.Sql/servers")]
    patch = next(r for r in emulator.writes() if r.method == "PATCH")
    assert patch.body == {"properties": {"publicNetworkAccess": "Disabled"}}, "a PATCH, never a whole-server PUT"
    assert len(emulator.writes()) == 6  # endpoint, zone, link, zone group, firewall rule delete, PATCH


def test_readding_the_azure_services_rule_is_repaired(host, emulator, lz):
    """A firewallRules/write (someone ticking the checkbox again) re-evaluates the server."""
    rid = seed_sql_server(emulator, lz, "sql-drift01", tags={"harden": "service-endpoint"})
    assert deliver(host, emulator, rid, SERVER_WRITE)["status"] == "hardened"
    settle(host, emulator, rid, SERVER_WRITE)

    rule_id = f"{rid}/firewallRules/{ALLOW_AZURE_SERVICES}"
    sql, rg, name = _sql(emulator, rid)
    sql.firewall_rules.create_or_update(rg, name, ALLOW_AZURE_SERVICES,
                                        {"properties": {"startIpAddress": "0.0.0.0", "endIpAddress": "0.0.0.0"}})
    (event,) = emulator.drain_events()
    assert event["data"]["operationName"] == FIREWALL_RULE_WRITE and event["subject"].lower() == rule_id.lower()
    emulator.clear_requests()

    outcome = deliver(host, emulator, rule_id, FIREWALL_RULE_WRITE)
    assert outcome["status"] == "hardened", outcome
    assert outcome["resourceId"].lower() == rid.lower(), "the child write re-evaluates the server"
    assert [(r.method, r.path.lower()) for r in emulator.writes()] == [("DELETE", rule_id.lower())]
    assert firewall(emulator, rid) == {"office": OFFICE}
    settle(host, emulator, rid, FIREWALL_RULE_WRITE)


def test_an_azure_services_rule_under_another_name_is_found_by_its_addresses(host, emulator, lz):
    rid = seed_sql_server(emulator, lz, "sql-othername01", tags={"harden": "service-endpoint"},
                          allow_azure_services=False,
                          ip_ranges=(("office", "203.0.113.0", "203.0.113.255"), ("azure", "0.0.0.0", "0.0.0.0"),
                                     ("everything", "0.0.0.1", "255.255.255.255")))
    assert deliver(host, emulator, rid, SERVER_WRITE)["status"] == "hardened"
    # Only the exact 0.0.0.0-0.0.0.0 rule is the checkbox; a wide range is someone's (bad) choice, kept.
    assert set(firewall(emulator, rid)) == {"office", "everything"}


def test_existing_vnet_rules_are_kept_and_a_covered_subnet_gets_no_second_rule(host, emulator, lz):
    rid = seed_sql_server(emulator, lz, "sql-keepvnet01", tags={"harden": "service-endpoint"},
                          vnet_subnet_ids=(lz.endpoint_subnet_id, lz.workload_subnet_id.upper()))
    outcome = deliver(host, emulator, rid, SERVER_WRITE)
    assert outcome["status"] == "hardened", outcome
    assert set(vnet_rules(emulator, rid)) == {"existing-0", "existing-1"}
    assert [(r.method, r.resource_type) for r in emulator.writes()] == [
        ("DELETE", "Microsoft.Sql/servers/firewallRules")]


def test_compliant_checks_cost_one_get_private_and_three_service_endpoint(host, emulator, lz):
    private = seed_sql_server(emulator, lz, "sql-getspriv01", tags={"harden": "private"})
    se = seed_sql_server(emulator, lz, "sql-getsse01", tags={"harden": "service-endpoint"})
    for rid in (private, se):
        assert deliver(host, emulator, rid, SERVER_WRITE)["status"] == "hardened"
    emulator.drain_events()

    emulator.clear_requests()
    assert deliver(host, emulator, private, SERVER_WRITE)["reasonCode"] == "already-compliant"
    assert len(gets(emulator)) == 1, gets(emulator)

    emulator.clear_requests()
    assert deliver(host, emulator, se, SERVER_WRITE)["reasonCode"] == "already-compliant"
    assert [p.rsplit("/", 1)[-1] for p in gets(emulator)] == ["sql-getsse01", "firewallRules", "virtualNetworkRules"]


def test_public_access_already_disabled_needs_no_server_write(host, emulator, lz):
    """Public access off: stricter than service-endpoint asks; private only lacks our endpoint.

    The seeded "Allow Azure services" rule stays: SQL refuses firewall changes now (42101), and
    it admits nothing while public access is off."""
    for mode in ("private", "service-endpoint"):
        rid = seed_sql_server(emulator, lz, f"sql-closed-{mode}", tags={"harden": mode})
        emulator.seed(rid, {**emulator.get(rid), "properties": {
            **emulator.get(rid)["properties"], "publicNetworkAccess": "Disabled",
            "privateEndpointConnections": []}})
        emulator.clear_requests()
        outcome = deliver(host, emulator, rid, SERVER_WRITE)
        if mode == "service-endpoint":
            assert outcome["reasonCode"] == "already-compliant", outcome
            assert emulator.writes() == []
        else:
            # Public access is off but our endpoint is missing: build it, touch nothing on the server.
            assert outcome["status"] == "hardened", outcome
            assert not [r for r in emulator.writes() if r.resource_type.startswith("Microsoft.Sql/")]


def test_dry_run_lists_the_firewall_rule_delete_and_the_public_access_patch(host, emulator, lz, monkeypatch):
    monkeypatch.setenv("HARDEN_DRY_RUN", "true")
    rid = seed_sql_server(emulator, lz, "sql-drylist01", tags={"harden": "service-endpoint"})
    emulator.clear_requests()
    outcome = deliver(host, emulator, rid, SERVER_WRITE)
    assert outcome["status"] == "planned"
    targets = [c["target"].rsplit("/", 2)[-2:] for c in outcome["changes"]]
    assert targets == [["virtualNetworkRules", vnet_rule_name(lz.workload_subnet_id)],
                       ["firewallRules", ALLOW_AZURE_SERVICES]]
    assert emulator.writes() == []


def test_sql_refuses_firewall_changes_once_public_access_is_off(host, emulator, lz):
    """Why harden=private deletes the rule first: afterwards it cannot (error 42101)."""
    rid = seed_sql_server(emulator, lz, "sql-locked01", tags={"harden": "private"})
    assert deliver(host, emulator, rid, SERVER_WRITE)["status"] == "hardened"
    sql, rg, name = _sql(emulator, rid)
    with pytest.raises(HttpResponseError) as refused:
        sql.firewall_rules.create_or_update(rg, name, ALLOW_AZURE_SERVICES,
                                            {"properties": {"startIpAddress": "0.0.0.0", "endIpAddress": "0.0.0.0"}})
    assert refused.value.error.code == "DenyPublicEndpointEnabled"
    with pytest.raises(HttpResponseError) as refused:
        sql.firewall_rules.delete(rg, name, "office")
    assert refused.value.error.code == "DenyPublicEndpointEnabled"
    assert firewall(emulator, rid) == {"office": OFFICE}
