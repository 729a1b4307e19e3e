"""HARDEN_ALLOWED_IP_RANGES (issue 14 item 4) on all seven services, through the real function code.

For each service, in ``service-endpoint`` mode with the setting on: every configured range becomes an allow
rule in the service's own shape, the IP rule someone else made before us stays, the outcome records the rule
values before and after (what revert reads back), and the second delivery writes nothing (``deliver``
asserts that for every ``hardened`` outcome). The emulator refuses what each service refuses
(emulator/paas.py), so a rule written in the wrong shape fails here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import pytest

from localdev.landing_zone import LandingZone
from localdev.seeds.cosmosdb import seed_cosmos_account
from localdev.seeds.eventhub import seed_event_hubs_namespace
from localdev.seeds.keyvault import seed_key_vault
from localdev.seeds.servicebus import seed_service_bus_namespace
from localdev.seeds.sql import seed_sql_server
from localdev.seeds.storage import seed_storage_account
from localdev.seeds.web import seed_web_app
from remediators.ip_ranges import canonical_set
from remediators.services.web import is_implicit
from tests.remediation import deliver, settle
from tests.services.test_sql import firewall

# Public addresses (not documentation ranges: Storage and Key Vault take public internet addresses only).
RANGES = "20.30.40.0/24, 52.1.2.3"
FOREIGN = "198.51.100.0/24"  # someone else's rule, there before us


@dataclass(frozen=True)
class Service:
    operation: str
    seed: Callable[[Any, LandingZone, str], str]
    #: The allow rules' values as the emulator stores them, in the service's own notation.
    rules: Callable[[Any, str], set[str]]
    #: What the configured ranges look like in that notation.
    ours: frozenset[str]
    #: The before/after key in the outcome's change that lists the rule values.
    key: str


def _acls(emu, rid: str) -> dict[str, Any]:
    return emu.get(rid)["properties"]["networkAcls"]


def _kv_seed(emu, lz, name):
    rid = seed_key_vault(emu, lz, f"kv-{name}", tags={"harden": "service-endpoint"})
    body = emu.get(rid)
    emu.seed(rid, {**body, "properties": {**body["properties"], "networkAcls": {
        "defaultAction": "Allow", "bypass": "AzureServices", "ipRules": [{"value": FOREIGN}], "virtualNetworkRules": []}}})
    return rid


def _sb_seed(emu, lz, name):
    return seed_service_bus_namespace(emu, lz, f"sb-{name}", tags={"harden": "service-endpoint"}, rule_set={
        "defaultAction": "Allow", "ipRules": [{"ipMask": FOREIGN, "action": "Allow"}], "virtualNetworkRules": []})


def _eh_seed(emu, lz, name):
    return seed_event_hubs_namespace(emu, lz, f"eh-{name}", tags={"harden": "service-endpoint"}, rule_set={
        "defaultAction": "Allow", "ipRules": [{"ipMask": FOREIGN, "action": "Allow"}], "virtualNetworkRules": []})


def _masks(emu, rid):
    return {r["ipMask"] for r in emu.get(f"{rid}/networkRuleSets/default")["properties"]["ipRules"]}


def _sql_rules(emu, rid):
    return {f"{r['startIpAddress']}-{r['endIpAddress']}" for r in firewall(emu, rid).values()}


def _web_seed(emu, lz, name):
    return seed_web_app(emu, lz, f"app-{name}", tags={"harden": "service-endpoint"}, restrictions=[
        {"ipAddress": FOREIGN, "action": "Allow", "priority": 100, "name": "office"}])


def _web_rules(emu, rid):
    rules = emu.get(f"{rid}/config/web")["properties"]["ipSecurityRestrictions"]
    return {r["ipAddress"] for r in rules if r.get("ipAddress") and not is_implicit(r)}


SERVICES = {
    "keyvault": Service("Microsoft.KeyVault/vaults/write", _kv_seed,
                        lambda emu, rid: {r["value"] for r in _acls(emu, rid)["ipRules"]},
                        # Key Vault echoes a single address as /32 (emulator/paas.py _kv_normalize).
                        frozenset({"20.30.40.0/24", "52.1.2.3/32"}), "networkAcls.ipRules"),
    "storage": Service("Microsoft.Storage/storageAccounts/write",
                       lambda emu, lz, name: seed_storage_account(emu, lz, f"st{name}", tags={
                           "harden": "service-endpoint"}, ip_rules=[FOREIGN]),
                       lambda emu, rid: {r["value"] for r in _acls(emu, rid)["ipRules"]},
                       # A single address bare: Storage refuses /31 and /32 prefixes.
                       frozenset({"20.30.40.0/24", "52.1.2.3"}), "networkAcls.ipRules"),
    "cosmosdb": Service("Microsoft.DocumentDB/databaseAccounts/write",
                        lambda emu, lz, name: seed_cosmos_account(emu, lz, f"cosmos-{name}", tags={
                            "harden": "service-endpoint"}, ip_rules=[FOREIGN]),
                        lambda emu, rid: {r["ipAddressOrRange"] for r in emu.get(rid)["properties"]["ipRules"]},
                        frozenset({"20.30.40.0/24", "52.1.2.3"}), "ipRules"),
    "servicebus": Service("Microsoft.ServiceBus/namespaces/write", _sb_seed, _masks,
                          frozenset({"20.30.40.0/24", "52.1.2.3"}), "ipRules"),
    "eventhub": Service("Microsoft.EventHub/namespaces/write", _eh_seed, _masks,
                        frozenset({"20.30.40.0/24", "52.1.2.3"}), "ipRules"),
    "sql": Service("Microsoft.Sql/servers/write",
                   lambda emu, lz, name: seed_sql_server(emu, lz, f"sql-{name}", tags={"harden": "service-endpoint"}, allow_azure_services=False,
                                                         ip_ranges=(("office", "198.51.100.0", "198.51.100.255"),)),
                   _sql_rules, frozenset({"20.30.40.0-20.30.40.255", "52.1.2.3-52.1.2.3"}), ""),
    "web": Service("Microsoft.Web/sites/write", _web_seed, _web_rules,
                   # App Service's ipAddress is CIDR: a single address is /32.
                   frozenset({"20.30.40.0/24", "52.1.2.3/32"}), "ipSecurityRestrictions.ipAddress"),
}
FOREIGN_AS = {"sql": "198.51.100.0-198.51.100.255"}


@pytest.mark.parametrize("kind", sorted(SERVICES))
def test_service_endpoint_adds_the_allowed_ranges_keeps_foreign_rules_and_settles(kind, host, emulator, lz,
                                                                                   monkeypatch):
    service = SERVICES[kind]
    monkeypatch.setenv("HARDEN_ALLOWED_IP_RANGES", RANGES)
    rid = service.seed(emulator, lz, "iprng01")
    foreign = FOREIGN_AS.get(kind, FOREIGN)
    assert service.rules(emulator, rid) == {foreign}

    outcome = deliver(host, emulator, rid, service.operation)  # also: the second delivery writes nothing
    assert outcome["status"] == "hardened", outcome
    assert service.rules(emulator, rid) == {foreign, *service.ours}, "every range added, the foreign rule kept"

    if service.key:  # the rule values before and after, as history records them for revert
        change = next(c for c in outcome["changes"] if service.key in (c.get("after") or {}))
        assert change["before"][service.key] == sorted([foreign])
        # What we wrote (Key Vault then echoes a bare address as /32): the same ranges, normalised.
        assert canonical_set(change["after"][service.key]) == canonical_set({foreign, *service.ours})
    else:  # SQL: one new firewall rule per range, its bounds recorded
        added = [c for c in outcome["changes"] if "/firewallRules/harden-ip-" in c["target"]]
        assert {f"{c['after']['startIpAddress']}-{c['after']['endIpAddress']}" for c in added} == service.ours
        assert all(c["before"] is None for c in added)

    second = settle(host, emulator, rid, service.operation)
    assert {o["reasonCode"] for o in second if o["resourceId"].lower() == rid.lower()} == {"already-compliant"}


@pytest.mark.parametrize("kind", ["keyvault", "web"])
def test_a_range_already_allowed_in_another_notation_is_not_added_again(kind, host, emulator, lz, monkeypatch):
    """Key Vault echoes 52.1.2.3 as 52.1.2.3/32 and App Service stores it that way: the same range, no new rule."""
    monkeypatch.setenv("HARDEN_ALLOWED_IP_RANGES", "52.1.2.3")
    service = SERVICES[kind]
    rid = service.seed(emulator, lz, "iprng02")
    if kind == "keyvault":
        body = emulator.get(rid)
        emulator.seed(rid, {**body, "properties": {**body["properties"], "networkAcls": {
            "defaultAction": "Allow", "ipRules": [{"value": "52.1.2.3/32"}], "virtualNetworkRules": []}}})
    else:
        rid = seed_web_app(emulator, lz, "app-iprng03", tags={"harden": "service-endpoint"}, restrictions=[
            {"ipAddress": "52.1.2.3/32", "action": "Allow", "priority": 100, "name": "dev"}])
    outcome = deliver(host, emulator, rid, service.operation)
    assert outcome["status"] == "hardened", outcome
    assert service.rules(emulator, rid) == {"52.1.2.3/32"}


def test_ranges_alone_harden_without_service_endpoint_subnets(host, emulator, lz, monkeypatch):
    """Allowed IP ranges without any subnet is a complete service-endpoint configuration: no subnet is written."""
    monkeypatch.setenv("HARDEN_ALLOWED_IP_RANGES", RANGES)
    monkeypatch.setenv("HARDEN_SERVICE_ENDPOINT_SUBNET_IDS", "")
    rid = seed_storage_account(emulator, lz, "stiponly01", tags={"harden": "service-endpoint"})
    outcome = deliver(host, emulator, rid, "Microsoft.Storage/storageAccounts/write")
    assert outcome["status"] == "hardened", outcome
    acls = _acls(emulator, rid)
    assert acls["defaultAction"] == "Deny" and acls["virtualNetworkRules"] == []
    assert {r["value"] for r in acls["ipRules"]} == {"20.30.40.0/24", "52.1.2.3"}
    assert not [r for r in emulator.writes() if r.resource_type.startswith("Microsoft.Network/")]


def test_a_missing_range_makes_a_hardened_resource_non_compliant(host, emulator, lz, monkeypatch):
    """Compliance counts the ranges: adding one to the setting makes the next event add its rule."""
    rid = seed_storage_account(emulator, lz, "stipmore01", tags={"harden": "service-endpoint"})
    assert deliver(host, emulator, rid, "Microsoft.Storage/storageAccounts/write")["status"] == "hardened"
    monkeypatch.setenv("HARDEN_ALLOWED_IP_RANGES", "52.1.2.3")
    outcome = deliver(host, emulator, rid, "Microsoft.Storage/storageAccounts/write")
    assert outcome["status"] == "hardened", outcome
    assert [r["value"] for r in _acls(emulator, rid)["ipRules"]] == ["52.1.2.3"]


def test_sql_adds_the_ranges_before_the_allow_azure_services_rule_goes(host, emulator, lz, monkeypatch):
    """The 0.0.0.0 rule is deleted only after the rules that replace it exist (Phase.FIREWALL_CLEANUP)."""
    monkeypatch.setenv("HARDEN_ALLOWED_IP_RANGES", RANGES)
    rid = seed_sql_server(emulator, lz, "sql-iprng04", tags={"harden": "service-endpoint"})
    outcome = deliver(host, emulator, rid, "Microsoft.Sql/servers/write")
    assert outcome["status"] == "hardened", outcome
    assert "0.0.0.0-0.0.0.0" not in _sql_rules(emulator, rid)
    assert SERVICES["sql"].ours <= _sql_rules(emulator, rid)
    added = {c["step"] for c in outcome["changes"] if "/firewallRules/harden-ip-" in c["target"]}
    cleanup = next(c for c in outcome["changes"] if c["phase"] == "firewall_cleanup")
    assert len(added) == 2 and added <= set(cleanup["runsAfter"]), outcome["changes"]
