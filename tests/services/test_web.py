"""App Service / Function apps: the remediation contract plus access-restriction and self-protection checks."""
from __future__ import annotations

from typing import Any, Mapping

from localdev.landing_zone import LandingZone
from localdev.seeds.web import seed_web_app
from tests.remediation import RemediationContract, deliver

OPERATION = "Microsoft.Web/sites/write"
IMPLICIT_PRIORITY = 2147483647
OFFICE = {"ipAddress": "203.0.113.0/24", "action": "Allow", "tag": "Default", "priority": 100, "name": "office",
          "description": "Head office"}
BLOCKED = {"ipAddress": "198.51.100.66/32", "action": "Deny", "tag": "Default", "priority": 1000, "name": "blocked"}
SETTINGS = {"FUNCTIONS_WORKER_RUNTIME": "python", "ORDERS_QUEUE": "orders", "FEATURE_FLAG": "on"}


def config_of(emu, rid: str) -> Mapping[str, Any]:
    return emu.get(f"{rid}/config/web")["properties"]


def calls(emu) -> list[tuple[str, str]]:
    return [(r.method, r.path.lower()) for r in emu.arm_calls()]


def seed(emu, lz: LandingZone, name: str, tags: Mapping[str, str] | None, **kwargs: Any) -> str:
    kwargs.setdefault("restrictions", [OFFICE])
    kwargs.setdefault("app_settings", SETTINGS)
    return seed_web_app(emu, lz, name, tags=tags, **kwargs)


class TestWebApp(RemediationContract):
    operation = OPERATION
    service_endpoint = "Microsoft.Web"
    groups = ("sites",)
    zones = ("privatelink.azurewebsites.net",)

    def seed(self, emu, lz: LandingZone, name: str, tags: Mapping[str, str] | None) -> str:
        return seed(emu, lz, f"app-{name}", tags)

    def check_private(self, emu, lz, rid):
        assert emu.get(rid)["properties"]["publicNetworkAccess"] == "Disabled"
        config = config_of(emu, rid)
        assert config["ipSecurityRestrictions"][:-1] == [OFFICE], "private mode leaves the restrictions alone"
        assert config["ipSecurityRestrictionsDefaultAction"] == "Allow"
        assert emu.get(f"{rid}/config/appsettings")["properties"] == SETTINGS

    def check_service_endpoint(self, emu, lz, rid):
        config = config_of(emu, rid)
        assert config["ipSecurityRestrictionsDefaultAction"] == "Deny"
        *stored, implicit = config["ipSecurityRestrictions"]
        assert stored[0] == OFFICE
        assert [(r["vnetSubnetResourceId"].lower(), r["action"], r["priority"]) for r in stored[1:]] == [
            (lz.workload_subnet_id.lower(), "Allow", 1000)]
        assert (implicit["name"], implicit["priority"]) == ("Deny all", IMPLICIT_PRIORITY)
        assert emu.get(rid)["properties"].get("publicNetworkAccess", "Enabled") == "Enabled"
        assert emu.get(f"{rid}/config/appsettings")["properties"] == SETTINGS
        assert config["scmIpSecurityRestrictionsUseMain"] is True, "the SCM (Kudu) site gets the same protection"


def test_existing_restrictions_and_app_settings_are_kept_and_the_implicit_rule_is_not_written(host, emulator, lz):
    theirs = {"ipAddress": "AzureFrontDoor.Backend", "tag": "ServiceTag", "action": "Allow", "priority": 1001,
              "name": "front-door", "headers": {"x-azure-fdid": ["6d6d0b9a-0000-4000-8000-000000000001"]}}
    rid = seed(emulator, lz, "app-keeprules01", {"harden": "service-endpoint"},
               restrictions=[OFFICE, BLOCKED, theirs])
    emulator.clear_requests()
    outcome = deliver(host, emulator, rid, OPERATION)
    assert outcome["status"] == "hardened", outcome

    *stored, implicit = config_of(emulator, rid)["ipSecurityRestrictions"]
    assert stored[:3] == [OFFICE, BLOCKED, theirs]
    ours = stored[3]
    assert ours["vnetSubnetResourceId"].lower() == lz.workload_subnet_id.lower()
    assert ours["priority"] == 1002, "the first free priority from 1000 up"
    assert len(ours["name"]) <= 32 and ours["name"].startswith("harden-snet-workload")
    assert implicit["priority"] == IMPLICIT_PRIORITY

    (patch,) = [r for r in emulator.writes() if r.path.lower().endswith("/config/web")]
    assert patch.method == "PATCH"
    # The seed's SCM site is open (its own rules, default Allow): it gets the main rules in the same PATCH.
    assert set(patch.body["properties"]) == {"ipSecurityRestrictions", "ipSecurityRestrictionsDefaultAction",
                                             "scmIpSecurityRestrictionsUseMain"}
    assert patch.body["properties"]["scmIpSecurityRestrictionsUseMain"] is True
    assert all(r["priority"] != IMPLICIT_PRIORITY for r in patch.body["properties"]["ipSecurityRestrictions"])
    assert not [r for r in emulator.writes() if "appsettings" in r.path.lower()]
    assert emulator.get(f"{rid}/config/appsettings")["properties"] == SETTINGS


def test_a_subnet_already_allowed_only_flips_the_default(host, emulator, lz):
    ours = {"vnetSubnetResourceId": lz.workload_subnet_id, "action": "Allow", "priority": 300, "name": "workload"}
    rid = seed(emulator, lz, "app-flipdefault01", {"harden": "service-endpoint"}, restrictions=[OFFICE, ours])
    outcome = deliver(host, emulator, rid, OPERATION)
    assert outcome["status"] == "hardened", outcome
    config = config_of(emulator, rid)
    assert config["ipSecurityRestrictions"][:-1] == [OFFICE, ours]
    assert config["ipSecurityRestrictionsDefaultAction"] == "Deny"


def test_a_deny_rule_for_the_subnet_is_not_an_allow(host, emulator, lz):
    denied = {"vnetSubnetResourceId": lz.workload_subnet_id, "action": "Deny", "priority": 50, "name": "no-workload"}
    rid = seed(emulator, lz, "app-denied01", {"harden": "service-endpoint"}, restrictions=[denied])
    outcome = deliver(host, emulator, rid, OPERATION)
    assert outcome["status"] == "hardened", outcome
    stored = config_of(emulator, rid)["ipSecurityRestrictions"][:-1]
    assert stored[0] == denied, "an owner's deny rule stays, and stays first"
    assert stored[1]["action"] == "Allow"


def test_compliant_checks_read_the_site_and_one_child(host, emulator, lz):
    for mode, child in (("private", "/privateendpointconnections"), ("service-endpoint", "/config/web")):
        rid = seed(emulator, lz, f"app-gets{mode[:2]}01", {"harden": mode})
        assert deliver(host, emulator, rid, OPERATION)["status"] == "hardened"
        emulator.clear_requests()
        outcome = deliver(host, emulator, rid, OPERATION)
        assert outcome["reasonCode"] == "already-compliant", outcome
        assert calls(emulator) == [("GET", rid.lower()), ("GET", rid.lower() + child)]


def test_off_and_untagged_reads(host, emulator, lz):
    off = seed(emulator, lz, "app-offgets01", {"harden": "off"})
    emulator.clear_requests()
    deliver(host, emulator, off, OPERATION)
    assert calls(emulator) == [("GET", off.lower())]

    locked = seed(emulator, lz, "app-locked01", None, restrictions=[OFFICE])
    emulator.seed(f"{locked}/config/web", {"properties": {**config_of(emulator, locked),
                                                          "ipSecurityRestrictionsDefaultAction": "Deny"}})
    emulator.clear_requests()
    outcome = deliver(host, emulator, locked, OPERATION)
    # Its SCM (Kudu) site still has its own rules, open to every network (issue 14 item 5).
    assert outcome["reasonCode"] == "untagged-public" and "through its SCM (Kudu) site" in outcome["reason"], outcome
    assert calls(emulator) == [("GET", locked.lower()), ("GET", locked.lower() + "/config/web")]
    emulator.seed(f"{locked}/config/web", {"properties": {**config_of(emulator, locked),
                                                          "scmIpSecurityRestrictionsUseMain": True}})
    outcome = deliver(host, emulator, locked, OPERATION)
    assert outcome["reasonCode"] == "untagged", "an app whose restrictions (SCM's too) deny by default is not open"


def test_plans_without_private_endpoints_are_unsupported_for_private_only(host, emulator, lz):
    rid = seed(emulator, lz, "func-consumption01", {"harden": "private"}, kind="functionapp,linux", sku="Dynamic")
    emulator.clear_requests()
    outcome = deliver(host, emulator, rid, OPERATION)
    assert (outcome["status"], outcome["reasonCode"]) == ("unsupported", "unsupported"), outcome
    assert "Basic plan or higher required" in outcome["reason"] and "harden=service-endpoint" in outcome["reason"]
    assert emulator.writes() == []
    assert calls(emulator) == [("GET", rid.lower())]

    rid = seed(emulator, lz, "func-consumption02", {"harden": "service-endpoint"}, kind="functionapp,linux",
               sku="Dynamic")
    assert deliver(host, emulator, rid, OPERATION)["status"] == "hardened"


def test_an_app_service_environment_v2_app_is_unsupported_for_private(host, emulator, lz):
    """Issue 14 item 5: Isolated (ASEv2) is not among Learn's plans with private endpoints."""
    rid = seed(emulator, lz, "app-ase-v2", {"harden": "private"}, sku="Isolated")
    emulator.clear_requests()
    outcome = deliver(host, emulator, rid, OPERATION)
    assert (outcome["status"], outcome["reasonCode"]) == ("unsupported", "unsupported"), outcome
    assert "App Service Environment v2" in outcome["reason"] and emulator.writes() == []
    rid = seed(emulator, lz, "app-ase-v3", {"harden": "private"}, sku="IsolatedV2")
    assert deliver(host, emulator, rid, OPERATION)["status"] == "hardened"


def test_the_remediators_own_function_app_is_never_touched(host, emulator, lz, monkeypatch):
    # What App Service sets in every app; the settings derive the app's own site id from them.
    monkeypatch.setenv("WEBSITE_SITE_NAME", "func-paas-hardener")
    monkeypatch.setenv("WEBSITE_RESOURCE_GROUP", lz.app_rg)
    monkeypatch.setenv("WEBSITE_OWNER_NAME", f"{lz.subscription_id}+{lz.app_rg}-WestEuropewebspace-Linux")
    rid = seed(emulator, lz, "func-paas-hardener", {"harden": "private"}, kind="functionapp,linux",
               sku="FlexConsumption")
    emulator.clear_requests()
    for operation in (OPERATION, "Microsoft.Web/sites/config/write"):
        target = rid if operation == OPERATION else f"{rid}/config/web"
        outcome = deliver(host, emulator, target, operation)
        assert (outcome["status"], outcome["reasonCode"]) == ("skipped", "excluded"), outcome
        assert outcome["resourceId"].lower() == rid.lower()
    assert emulator.arm_calls() == []
