"""Settings fail fast, naming the setting at fault."""
from __future__ import annotations

import pytest

from remediators.settings import Settings, SettingsError

SUB = "8f3c2a71-5b6d-4e0f-9a1b-2c3d4e5f6a7b"
SUBNET = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s"


def test_defaults():
    s = Settings.from_env({"HARDEN_SUBSCRIPTION_IDS": SUB.upper()})
    assert s.subscription_ids == {SUB}
    assert s.report_untagged and not s.dry_run
    assert s.arm_endpoint == "https://management.azure.com"


@pytest.mark.parametrize("env, named", [
    ({}, "HARDEN_SUBSCRIPTION_IDS"),
    ({"HARDEN_SUBSCRIPTION_IDS": "not-a-guid"}, "HARDEN_SUBSCRIPTION_IDS"),
    ({"HARDEN_PRIVATE_ENDPOINT_SUBNET_ID": "/subscriptions/x"}, "HARDEN_PRIVATE_ENDPOINT_SUBNET_ID"),
    ({"HARDEN_PRIVATE_ENDPOINT_SUBNET_ID": SUBNET.rsplit("/subnets", 1)[0]}, "HARDEN_PRIVATE_ENDPOINT_SUBNET_ID"),
    ({"HARDEN_SERVICE_ENDPOINT_SUBNET_IDS": f"{SUBNET},nope"}, "HARDEN_SERVICE_ENDPOINT_SUBNET_IDS"),
    ({"HARDEN_DNS_ZONES_RESOURCE_GROUP_ID": "rg-dns"}, "HARDEN_DNS_ZONES_RESOURCE_GROUP_ID"),
    ({"HARDEN_UNTAGGED": "shout"}, "HARDEN_UNTAGGED"),
    ({"HARDEN_DRY_RUN": "maybe"}, "HARDEN_DRY_RUN"),
    ({"HARDEN_NOTIFY_TOPIC_ENDPOINT": "http://topic"}, "HARDEN_NOTIFY_TOPIC_ENDPOINT"),
    ({"AZURE_RESOURCE_MANAGER_ENDPOINT": "management.azure.com"}, "AZURE_RESOURCE_MANAGER_ENDPOINT"),
    ({"HARDEN_EXCLUDE_RESOURCE_IDS": "x"}, "HARDEN_EXCLUDE_RESOURCE_IDS"),
    ({"HARDEN_POLL_INTERVAL_SECONDS": "soon"}, "HARDEN_POLL_INTERVAL_SECONDS"),
    ({"HARDEN_PRIVATE_ENDPOINT_SUBNET_IDS": f"{SUBNET},/subscriptions/x"}, "HARDEN_PRIVATE_ENDPOINT_SUBNET_IDS"),
    ({"HARDEN_SWEEP_DEDUPE_MINUTES": "-5"}, "HARDEN_SWEEP_DEDUPE_MINUTES"),
    ({"HARDEN_ARM_WRITES_PER_SECOND": "fast"}, "HARDEN_ARM_WRITES_PER_SECOND"),
    ({"HARDEN_ARM_READS_PER_SECOND": "0"}, "HARDEN_ARM_READS_PER_SECOND"),
])
def test_bad_settings_fail_fast_and_name_the_setting(env, named):
    env = {"HARDEN_SUBSCRIPTION_IDS": SUB, **env} if named != "HARDEN_SUBSCRIPTION_IDS" else env
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)


def test_the_app_knows_itself_from_app_service_variables():
    s = Settings.from_env({"HARDEN_SUBSCRIPTION_IDS": SUB, "WEBSITE_SITE_NAME": "func-hardener",
                           "WEBSITE_RESOURCE_GROUP": "rg-ops", "WEBSITE_OWNER_NAME": f"{SUB}+rg-ops-WestEuropewebspace",
                           "AzureWebJobsStorage__accountName": "stHardener"})
    assert f"/subscriptions/{SUB}/resourcegroups/rg-ops/providers/microsoft.web/sites/func-hardener" in \
        s.excluded_resource_ids
    assert s.excluded_storage_account_names == {"sthardener"}
