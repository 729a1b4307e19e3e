"""What add-subscription adds survives the next `azd provision` (issue 15, item 2).

A template deployment replaces all of a site's app settings (Azure/bicep-registry-modules#949), so a
setting edited by hand on the app is lost at the next provision. The estate therefore lives in the
azd environment: main.parameters.json binds it to parameters, and main.bicep builds the app settings
from them. These tests evaluate main.bicep's app settings offline (tests/infra/bicep_eval.py) as azd
would pass the parameters, and read them with the product's own settings parser.
"""
from __future__ import annotations

import re

from remediators.settings import Settings
from tests.infra import bicep_tree as bt
from tests.infra.bicep_eval import Evaluator, azd_parameters

MAIN_SUB = "11111111-1111-1111-1111-111111111111"
SPOKE_SUB = "22222222-2222-2222-2222-222222222222"
SPOKE2_SUB = "33333333-3333-3333-3333-333333333333"
HUB = "/subscriptions/44444444-4444-4444-4444-444444444444/resourceGroups/rg-hub/providers/Microsoft.Network"
SPOKE_SUBNET = (f"/subscriptions/{SPOKE_SUB}/resourceGroups/rg-spoke/providers/Microsoft.Network/"
                "virtualNetworks/vnet-spoke/subnets/snet-pe")
SPOKE_SE_SUBNET = (f"/subscriptions/{SPOKE_SUB}/resourceGroups/rg-spoke/providers/Microsoft.Network/"
                   "virtualNetworks/vnet-spoke/subnets/snet-app")

# A landing zone's own network (createNetwork false): no module output is involved in these settings.
BASE_ENV = {
    "AZURE_ENV_NAME": "lz1",
    "AZURE_LOCATION": "westeurope",
    "HARDEN_CREATE_NETWORK": "false",
    "BYO_PRIVATE_ENDPOINT_SUBNET_ID": f"{HUB}/virtualNetworks/vnet-hub/subnets/snet-pe",
    "BYO_FUNCTION_SUBNET_ID": f"{HUB}/virtualNetworks/vnet-hub/subnets/snet-func",
    "BYO_SERVICE_ENDPOINT_SUBNET_IDS": f"{HUB}/virtualNetworks/vnet-hub/subnets/snet-app",
    "BYO_PRIVATE_DNS_ZONES_RESOURCE_GROUP_ID": "/subscriptions/44444444-4444-4444-4444-444444444444/resourceGroups/rg-dns",
}
ESTATE_SETTINGS = ("HARDEN_SUBSCRIPTION_IDS", "HARDEN_PRIVATE_ENDPOINT_SUBNET_ID", "HARDEN_PRIVATE_ENDPOINT_SUBNET_IDS",
                   "HARDEN_SERVICE_ENDPOINT_SUBNET_IDS", "HARDEN_DNS_ZONES_RESOURCE_GROUP_ID")


def provisioned_settings(azd_env: dict[str, str]) -> Settings:
    """The app settings one `azd provision` writes for ``azd_env``, as the app parses them."""
    declared = bt.parse(bt.MAIN)["parameters"]
    evaluator = Evaluator(bt.MAIN, azd_parameters(bt.INFRA / "main.parameters.json", azd_env, declared),
                          subscription_id=MAIN_SUB)
    settings_node = bt.variable(bt.MAIN, "remediatorSettings")
    app_settings = {name: evaluator.eval(settings_node[name]) for name in ESTATE_SETTINGS}
    return Settings.from_env(app_settings)


def test_a_first_provision_acts_on_its_own_subscription():
    settings = provisioned_settings(BASE_ENV)
    assert settings.subscription_ids == {MAIN_SUB}
    assert settings.private_endpoint_subnet_ids == ()


def test_add_subscription_then_provision_keeps_the_subscription_and_its_spoke():
    # What README "Add a subscription" has the operator record after deploying add-subscription.bicep.
    env = {**BASE_ENV,
           "HARDEN_ADDITIONAL_SUBSCRIPTION_IDS": f"{SPOKE_SUB},{SPOKE2_SUB}",
           "HARDEN_SPOKE_PRIVATE_ENDPOINT_SUBNET_IDS": SPOKE_SUBNET,
           "HARDEN_SPOKE_SERVICE_ENDPOINT_SUBNET_IDS": SPOKE_SE_SUBNET}
    first = provisioned_settings(env)
    assert first.subscription_ids == {MAIN_SUB, SPOKE_SUB, SPOKE2_SUB}
    assert first.private_endpoint_subnet_ids == (SPOKE_SUBNET,)
    assert first.private_endpoint_subnet_id == BASE_ENV["BYO_PRIVATE_ENDPOINT_SUBNET_ID"]
    assert set(first.service_endpoint_subnet_ids) == {BASE_ENV["BYO_SERVICE_ENDPOINT_SUBNET_IDS"], SPOKE_SE_SUBNET}
    # The next provision (same azd environment) writes the same settings: nothing added is dropped.
    assert provisioned_settings(env) == first


def test_readme_and_module_record_the_estate_in_the_azd_environment():
    readme = (bt.REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("**Add a subscription to a deployment**"):]
    section = section[:section.index("\n### ")]
    for variable in ("HARDEN_ADDITIONAL_SUBSCRIPTION_IDS", "HARDEN_SPOKE_PRIVATE_ENDPOINT_SUBNET_IDS"):
        assert re.search(rf"azd env set {variable}\b", section), f"README: add-subscription must set {variable}"
    module = (bt.INFRA / "modules" / "subscription" / "add-subscription.bicep").read_text(encoding="utf-8")
    assert "HARDEN_ADDITIONAL_SUBSCRIPTION_IDS" in module
