"""App Service deployment slots (issue 14 item 5): the remediation contract, tag inheritance, SCM, private outcome."""
from __future__ import annotations

from typing import Any, Mapping

from localdev.landing_zone import LandingZone
from localdev.seeds.web import seed_web_app, seed_web_slot
from tests.remediation import RemediationContract, deliver
from tests.services.test_web import IMPLICIT_PRIORITY, OFFICE, SETTINGS, calls, config_of

OPERATION = "Microsoft.Web/sites/slots/write"
SLOT = "staging"


def seed(emu, lz: LandingZone, name: str, tags: Mapping[str, str] | None, *,
         site_tags: Mapping[str, str] | None = None, **kwargs: Any) -> str:
    """A site (untagged unless ``site_tags``) and its slot ``staging``; returns the slot's id."""
    site = seed_web_app(emu, lz, name, tags=site_tags, restrictions=[OFFICE], app_settings=SETTINGS)
    kwargs.setdefault("restrictions", [OFFICE])
    return seed_web_slot(emu, lz, site, SLOT, tags=tags, **kwargs)


def site_of(slot_id: str) -> str:
    return slot_id.rsplit("/slots/", 1)[0]


def endpoint_id(lz: LandingZone, slot_id: str) -> str:
    return (f"{lz.rg_id(lz.network_rg)}/providers/Microsoft.Network/privateEndpoints/"
            f"pe-{site_of(slot_id).rsplit('/', 1)[-1]}-sites-{SLOT}")


class TestWebAppSlot(RemediationContract):
    operation = OPERATION
    service_endpoint = "Microsoft.Web"
    groups = (f"sites-{SLOT}",)
    zones = ("privatelink.azurewebsites.net",)

    def seed(self, emu, lz: LandingZone, name: str, tags: Mapping[str, str] | None) -> str:
        return seed(emu, lz, f"app-{name}", tags)

    def endpoint_name(self, resource_id: str, group: str) -> str:
        return f"pe-{site_of(resource_id).rsplit('/', 1)[-1]}-{group.lower()}"

    def link_target(self, resource_id: str) -> str:
        return site_of(resource_id)  # "Must be set on the WebApp and not the slot" (AVM slot module)

    def check_private(self, emu, lz, rid):
        assert emu.get(rid)["properties"]["publicNetworkAccess"] == "Disabled"
        site = emu.get(site_of(rid))["properties"]
        assert site.get("publicNetworkAccess", "Enabled") == "Enabled", "the (untagged) site is not touched"
        config = config_of(emu, rid)
        assert config["ipSecurityRestrictions"][:-1] == [OFFICE], "private mode leaves the restrictions alone"

    def check_service_endpoint(self, emu, lz, rid):
        config = config_of(emu, rid)
        assert config["ipSecurityRestrictionsDefaultAction"] == "Deny"
        *stored, implicit = config["ipSecurityRestrictions"]
        assert stored[0] == OFFICE
        assert [(r["vnetSubnetResourceId"].lower(), r["action"]) for r in stored[1:]] == [
            (lz.workload_subnet_id.lower(), "Allow")]
        assert implicit["priority"] == IMPLICIT_PRIORITY
        assert config["scmIpSecurityRestrictionsUseMain"] is True, "the slot's SCM site gets the same protection"
        assert config_of(emu, site_of(rid))["ipSecurityRestrictionsDefaultAction"] == "Allow", "the site is its own"


def test_a_private_slot_gets_its_own_endpoint_to_the_site_and_the_outcome_says_what_closes(host, emulator, lz):
    rid = seed(emulator, lz, "app-slotpriv", {"harden": "private"})
    outcome = deliver(host, emulator, rid, OPERATION)  # delivered twice: the second pass writes nothing
    assert outcome["status"] == "hardened", outcome
    pe = emulator.get(endpoint_id(lz, rid))
    connection = pe["properties"]["privateLinkServiceConnections"][0]["properties"]
    assert (connection["privateLinkServiceId"].lower(), connection["groupIds"]) == (site_of(rid).lower(),
                                                                                    [f"sites-{SLOT}"])
    # The A record is the slot's host, <site>-<slot>, in privatelink.azurewebsites.net.
    group = emulator.get(f"{endpoint_id(lz, rid)}/privateDnsZoneGroups/default")
    (record,) = group["properties"]["privateDnsZoneConfigs"][0]["properties"]["recordSets"]
    assert record["recordSetName"] == f"app-slotpriv-{SLOT}"
    assert emulator.get(rid)["properties"]["publicNetworkAccess"] == "Disabled"
    for words in ("SCM (Kudu)", "FTP", "self-hosted agent", "run-from-package"):
        assert words in outcome["reason"], outcome["reason"]

    emulator.clear_requests()
    again = deliver(host, emulator, rid, OPERATION)
    assert again["reasonCode"] == "already-compliant", again
    # The compliant check: the slot GET (it has its own tag) and the site's connection list.
    assert calls(emulator) == [("GET", rid.lower()), ("GET", site_of(rid).lower() + "/privateendpointconnections")]


def test_a_private_site_outcome_says_what_closes_and_how_to_deploy(host, emulator, lz):
    rid = seed_web_app(emulator, lz, "app-sayscloses", tags={"harden": "private"})
    outcome = deliver(host, emulator, rid, "Microsoft.Web/sites/write")
    assert outcome["status"] == "hardened"
    assert "SCM (Kudu) site and FTP" in outcome["reason"] and "self-hosted agent" in outcome["reason"]


def test_a_slot_without_a_tag_follows_its_sites(host, emulator, lz):
    rid = seed(emulator, lz, "app-inherit", None, site_tags={"harden": "private"})
    emulator.clear_requests()
    outcome = deliver(host, emulator, rid, OPERATION)
    assert (outcome["status"], outcome["tag"]) == ("hardened", {"harden": "private"}), outcome
    assert emulator.get(endpoint_id(lz, rid)) is not None
    assert emulator.get(rid)["properties"]["publicNetworkAccess"] == "Disabled"
    assert emulator.get(rid)["tags"] == {}, "nothing is written to the slot's tags"
    # The site was only read (its own hardening is its own event's).
    assert not [r for r in emulator.writes() if r.path.lower() == site_of(rid).lower()]

    emulator.clear_requests()
    assert deliver(host, emulator, rid, OPERATION)["reasonCode"] == "already-compliant"
    # One extra GET, of the site, because the slot has no harden tag.
    assert calls(emulator) == [("GET", rid.lower()), ("GET", site_of(rid).lower()),
                               ("GET", site_of(rid).lower() + "/privateendpointconnections")]


def test_a_slot_tagged_off_stays_off_whatever_its_site_says(host, emulator, lz):
    rid = seed(emulator, lz, "app-slotoff", {"harden": "off"}, site_tags={"harden": "private"})
    emulator.clear_requests()
    outcome = deliver(host, emulator, rid, OPERATION)
    assert (outcome["status"], outcome["reasonCode"]) == ("skipped", "opted-out")
    assert emulator.writes() == []
    assert calls(emulator) == [("GET", rid.lower())], "its own tag decides: the site is not read"


def test_an_untagged_slot_of_an_untagged_site_is_reported_not_changed(host, emulator, lz):
    rid = seed(emulator, lz, "app-bothbare", None)
    emulator.clear_requests()
    outcome = deliver(host, emulator, rid, OPERATION)
    assert (outcome["status"], outcome["reasonCode"]) == ("skipped", "untagged-public")
    assert emulator.writes() == []


def test_slot_config_writes_re_evaluate_the_slot(host, emulator, lz):
    rid = seed(emulator, lz, "app-slotcfg", {"harden": "service-endpoint"})
    outcome = deliver(host, emulator, f"{rid}/config/web", "Microsoft.Web/sites/slots/config/write")
    assert outcome["status"] == "hardened" and outcome["resourceId"].lower() == rid.lower(), outcome


def test_an_open_scm_site_is_not_compliant_and_gets_the_main_rules(host, emulator, lz):
    """Main restrictions already as asked, SCM open: one PATCH sets scmIpSecurityRestrictionsUseMain, SCM's own
    rules are kept, and the change records the flag as read (revert reads it back)."""
    scm_rule = {"ipAddress": "192.0.2.10/32", "action": "Allow", "priority": 100, "name": "build-agent"}
    for site_or_slot in ("site", "slot"):
        name = f"app-scm{site_or_slot}"
        allowed = {"vnetSubnetResourceId": lz.workload_subnet_id, "action": "Allow", "priority": 300,
                   "name": "workload"}
        if site_or_slot == "site":
            rid = seed_web_app(emulator, lz, name, tags={"harden": "service-endpoint"}, restrictions=[allowed])
            operation = "Microsoft.Web/sites/write"
        else:
            rid = seed(emulator, lz, name, {"harden": "service-endpoint"}, restrictions=[allowed])
            operation = OPERATION
        config = config_of(emulator, rid)
        emulator.seed(f"{rid}/config/web", {"properties": {
            **{k: v for k, v in config.items()},
            "ipSecurityRestrictions": [allowed], "ipSecurityRestrictionsDefaultAction": "Deny",
            "scmIpSecurityRestrictions": [scm_rule]}})
        emulator.clear_requests()
        outcome = deliver(host, emulator, rid, operation)
        assert outcome["status"] == "hardened", outcome
        (change,) = [c for c in outcome["changes"] if c["target"].lower().endswith("/config/web")]
        assert change["before"]["scmIpSecurityRestrictionsUseMain"] is False
        assert change["after"]["scmIpSecurityRestrictionsUseMain"] is True
        (patch,) = [r for r in emulator.writes() if r.path.lower().endswith("/config/web")]
        assert "scmIpSecurityRestrictions" not in patch.body["properties"], "SCM's own rules are never sent"
        after = config_of(emulator, rid)
        assert after["scmIpSecurityRestrictionsUseMain"] is True
        assert after["scmIpSecurityRestrictions"][:-1] == [scm_rule], "kept, unused while the flag is on"
        assert after["ipSecurityRestrictions"][:-1] == [allowed]


def test_an_scm_site_whose_own_default_denies_is_left_alone(host, emulator, lz):
    allowed = {"vnetSubnetResourceId": lz.workload_subnet_id, "action": "Allow", "priority": 300, "name": "workload"}
    rid = seed(emulator, lz, "app-scmclosed", {"harden": "service-endpoint"}, restrictions=[allowed])
    config = config_of(emulator, rid)
    emulator.seed(f"{rid}/config/web", {"properties": {
        **config, "ipSecurityRestrictions": [allowed], "ipSecurityRestrictionsDefaultAction": "Deny",
        "scmIpSecurityRestrictionsDefaultAction": "Deny"}})
    emulator.clear_requests()
    outcome = deliver(host, emulator, rid, OPERATION)
    assert outcome["reasonCode"] == "already-compliant", outcome
    assert emulator.writes() == []
