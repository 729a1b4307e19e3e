"""The remediator never hardens its own function app, even on Flex Consumption.

On Flex Consumption App Service sets no WEBSITE_RESOURCE_GROUP and WEBSITE_OWNER_NAME is
``<subscription>+flex-<hash>-webspace`` (Azure/Azure-Functions#2593,
Azure/azure-functions-host#10441), so the app's own site id cannot be built. The site
*name* alone must keep it safe, in any resource group (fail closed).
"""
from __future__ import annotations

import dataclasses

import pytest

from localdev.seeds.web import seed_web_app
from remediators.settings import Settings
from tests.remediation import deliver

OPERATION = "Microsoft.Web/sites/write"
SUB = "00000000-0000-0000-0000-000000000000"
FLEX_OWNER = "+flex-99ddf98v18fee2c3d86cb4d0f37573099297d5124520437bfa4ee00d9fc8ff8e-webspace"


def test_settings_exclude_the_own_site_by_name_without_resource_group():
    s = Settings.from_env({"HARDEN_SUBSCRIPTION_IDS": SUB, "WEBSITE_SITE_NAME": "Func-Hardener",
                           "WEBSITE_OWNER_NAME": SUB + FLEX_OWNER})
    assert s.excluded_site_names == {"func-hardener"}
    assert Settings.from_env({"HARDEN_SUBSCRIPTION_IDS": SUB}).excluded_site_names == frozenset()


@pytest.mark.parametrize("owner", [None, "flex"], ids=["nothing-else-set", "flex-consumption"])
@pytest.mark.parametrize("group", ["rg-workload", "rg-somewhere-else"])
def test_the_own_site_is_never_touched_in_any_resource_group(host, emulator, lz, monkeypatch, owner, group):
    monkeypatch.setenv("WEBSITE_SITE_NAME", "func-paas-hardener")
    monkeypatch.delenv("WEBSITE_RESOURCE_GROUP", raising=False)
    if owner:
        monkeypatch.setenv("WEBSITE_OWNER_NAME", lz.subscription_id + FLEX_OWNER)
    else:
        monkeypatch.delenv("WEBSITE_OWNER_NAME", raising=False)
    zone = dataclasses.replace(lz, app_rg=group)
    rid = seed_web_app(emulator, zone, "func-paas-hardener", tags={"harden": "private"}, kind="functionapp,linux",
                       sku="FlexConsumption")
    emulator.clear_requests()
    for operation, target in ((OPERATION, rid), ("Microsoft.Web/sites/config/write", f"{rid}/config/web")):
        outcome = deliver(host, emulator, target, operation)
        assert (outcome["status"], outcome["reasonCode"]) == ("skipped", "excluded"), outcome
    assert emulator.arm_calls() == []


def test_another_site_is_still_hardened(host, emulator, lz, monkeypatch):
    monkeypatch.setenv("WEBSITE_SITE_NAME", "func-paas-hardener")
    rid = seed_web_app(emulator, lz, "app-someone-else", tags={"harden": "private"})
    assert deliver(host, emulator, rid, OPERATION)["status"] == "hardened"


def test_an_excluded_sites_slots_are_excluded_with_it(host, emulator, lz, monkeypatch):
    """HARDEN_EXCLUDE_RESOURCE_IDS names a site: its deployment slots are the site's too (issue 14, slots)."""
    from localdev.seeds.web import seed_web_slot

    site = seed_web_app(emulator, lz, "app-excluded", tags={"harden": "private"})
    slot = seed_web_slot(emulator, lz, site, "staging", tags={"harden": "private"})
    monkeypatch.setenv("HARDEN_EXCLUDE_RESOURCE_IDS", site.upper())  # ids compare without case
    emulator.clear_requests()
    outcome = deliver(host, emulator, slot, "Microsoft.Web/sites/slots/write")
    assert (outcome["status"], outcome["reasonCode"]) == ("skipped", "excluded"), outcome
    assert emulator.arm_calls() == []
