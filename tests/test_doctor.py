"""`paas-hardener doctor` against the emulator: a healthy deployment is all ok, and each thing that breaks
delivery or the remediator's reach is a finding naming it (issue 15, item 4).

The deployment is seeded as infra/main.bicep declares it; the remediator identity holds exactly the
roles infra/ assigns (tests/conftest.py). Doctor reads with the operator's own identity, read-only.
"""
from __future__ import annotations

import io
import json
from typing import Any

import pytest
from azure.identity import DefaultAzureCredential

from emulator.rbac_reads import principal_of
from remediators import cli
from remediators.arm import ArmClients
from remediators.doctor import FINDING, OK, UNKNOWN, run_doctor
from tests.conftest import REMEDIATOR_CLIENT_ID

OPERATOR_CLIENT_ID = "9d8c7b6a-5e4f-4a3b-8c2d-1e0f9a8b7c6d"  # whoever runs doctor: no role, reads freely
APP = "func-remediator-abc"
STORAGE = "stabc"
TOPIC, TOPIC_RG = "egst-resources-abc", "rg-hardener"
EVENTS_SUBSCRIPTION = "evgs-harden-resources"
DEAD_LETTERS = "eventgrid-deadletter"


def _resolver(host: str) -> list[str]:
    # DNS as seen from the app's VNet: the topic through its private endpoint, the rest public.
    return ["10.10.1.5"] if "eventgrid" in host else ["20.1.2.3"]


@pytest.fixture
def deployment(emulator: Any, lz: Any) -> dict[str, str]:
    rg = lz.rg_id(TOPIC_RG)
    account = f"{rg}/providers/Microsoft.Storage/storageAccounts/{STORAGE}"
    emulator.seed(account, {"location": "westeurope", "kind": "StorageV2", "sku": {"name": "Standard_ZRS"},
                            "properties": {"publicNetworkAccess": "Disabled"}})
    emulator.seed(f"{account}/queueServices/default", {"properties": {}})
    for queue in ("resource-events", "resource-events-poison", "harden-requests", "harden-requests-poison",
                  "harden-notifications"):
        emulator.seed(f"{account}/queueServices/default/queues/{queue}", {"properties": {}})
    emulator.seed(f"{account}/blobServices/default", {"properties": {}})
    emulator.seed(f"{account}/blobServices/default/containers/{DEAD_LETTERS}", {"properties": {}})
    topic = f"{rg}/providers/Microsoft.EventGrid/systemTopics/{TOPIC}"
    emulator.seed(topic, {"location": "global", "properties": {"topicType": "Microsoft.Resources.Subscriptions"}})
    emulator.seed(f"{topic}/eventSubscriptions/{EVENTS_SUBSCRIPTION}", {"properties": {
        "provisioningState": "Succeeded",
        "deliveryWithResourceIdentity": {"identity": {"type": "SystemAssigned"}, "destination": {
            "endpointType": "StorageQueue",
            "properties": {"resourceId": account, "queueName": "resource-events"}}},
        "deadLetterWithResourceIdentity": {"identity": {"type": "SystemAssigned"}, "deadLetterDestination": {
            "endpointType": "StorageBlob", "properties": {"resourceId": account, "blobContainerName": DEAD_LETTERS}}},
    }})
    site = f"{rg}/providers/Microsoft.Web/sites/{APP}"
    emulator.seed(site, {"location": "westeurope", "kind": "functionapp,linux", "properties": {}})
    emulator.seed(f"{site}/config/appsettings", {"properties": {
        **lz.settings(), "HARDEN_DRY_RUN": "true", "HARDEN_PRIVATE_ENDPOINT_SUBNET_IDS": "",
        "HARDEN_CREATE_PRIVATE_DNS_ZONES": "true", "AZURE_RESOURCE_MANAGER_ENDPOINT": "https://management.azure.com",
        "HARDEN_NOTIFY_TOPIC_ENDPOINT": "https://egt-notifications-abc.westeurope-1.eventgrid.azure.net/api/events",
        "APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=00000000-0000-0000-0000-000000000000;"
                                                 "IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/",
    }})
    # What `azd env get-values` holds after `azd provision` (infra/main.bicep outputs and parameters).
    return {
        "AZURE_SUBSCRIPTION_ID": lz.subscription_id, "AZURE_RESOURCE_GROUP": TOPIC_RG,
        "AZURE_FUNCTION_APP_NAME": APP, "REMEDIATOR_IDENTITY_PRINCIPAL_ID": principal_of(REMEDIATOR_CLIENT_ID),
        "REMEDIATOR_SYSTEM_TOPIC_NAME": TOPIC, "REMEDIATOR_SYSTEM_TOPIC_RESOURCE_GROUP": TOPIC_RG,
        "REMEDIATOR_RESOURCE_EVENTS_SUBSCRIPTION_NAME": EVENTS_SUBSCRIPTION,
        "REMEDIATOR_STORAGE_ACCOUNT_RESOURCE_ID": account, "REMEDIATOR_DEAD_LETTER_CONTAINER": DEAD_LETTERS,
        "HARDEN_DRY_RUN": "true",
    }


def _doctor(emulator: Any, env: dict[str, str]) -> dict[str, tuple[str, str]]:
    credential = DefaultAzureCredential(managed_identity_client_id=OPERATOR_CLIENT_ID)
    report = run_doctor(env, lambda sub: ArmClients(credential, sub, endpoint=emulator.url), resolver=_resolver)
    return {c.name: (c.verdict, c.detail) for c in report.checks}


def test_a_healthy_deployment_is_all_ok_and_nothing_is_written(emulator, deployment):
    emulator.clear_requests()
    checks = _doctor(emulator, deployment)
    assert {name: verdict for name, (verdict, _) in checks.items()} == {
        "app-settings": OK, "event-subscription": OK, "queues": OK, "role-assignments": OK, "endpoints": OK}, checks
    assert emulator.writes() == [] or all(r.method == "POST" and r.path.endswith("/list") for r in emulator.writes())


def test_a_subscription_added_by_hand_but_not_in_the_azd_environment_is_a_finding(emulator, lz, deployment):
    site = f"{lz.rg_id(TOPIC_RG)}/providers/Microsoft.Web/sites/{APP}/config/appsettings"
    settings = emulator.get(site)["properties"]
    other = "22222222-2222-2222-2222-222222222222"
    emulator.seed(site, {"properties": {**settings, "HARDEN_SUBSCRIPTION_IDS": f"{lz.subscription_id},{other}"}})
    verdict, detail = _doctor(emulator, deployment)["app-settings"]
    assert verdict == FINDING and "HARDEN_SUBSCRIPTION_IDS" in detail and "azd provision" in detail
    # Recorded in the azd environment, as README "Add a subscription" says: the settings match again.
    fixed = {**deployment, "HARDEN_ADDITIONAL_SUBSCRIPTION_IDS": other}
    assert _doctor(emulator, fixed)["app-settings"][0] == OK


def test_a_missing_event_subscription_queue_or_dead_letter_container_is_a_finding(emulator, lz, deployment):
    broken = {**deployment, "REMEDIATOR_RESOURCE_EVENTS_SUBSCRIPTION_NAME": "evgs-gone",
              "REMEDIATOR_DEAD_LETTER_CONTAINER": "no-such-container"}
    checks = _doctor(emulator, broken)
    assert checks["event-subscription"][0] == FINDING and "evgs-gone" in checks["event-subscription"][1]
    assert checks["queues"] == (FINDING, f"missing in {STORAGE}: container no-such-container")


def test_a_role_missing_at_a_scope_is_a_finding_naming_scope_and_action(emulator, lz, deployment):
    # A spoke subnet in a resource group where no role was assigned (add-subscription not deployed there).
    spoke = (f"/subscriptions/{lz.subscription_id}/resourceGroups/rg-spoke-x/providers/Microsoft.Network/"
             "virtualNetworks/vnet-x/subnets/snet-pe")
    site = f"{lz.rg_id(TOPIC_RG)}/providers/Microsoft.Web/sites/{APP}/config/appsettings"
    emulator.seed(site, {"properties": {**emulator.get(site)["properties"],
                                        "HARDEN_PRIVATE_ENDPOINT_SUBNET_IDS": spoke}})
    env = {**deployment, "HARDEN_SPOKE_PRIVATE_ENDPOINT_SUBNET_IDS": spoke}
    verdict, detail = _doctor(emulator, env)["role-assignments"]
    assert verdict == FINDING
    assert "rg-spoke-x" in detail and "Microsoft.Network/privateEndpoints/write" in detail


def test_a_topic_that_resolves_publicly_is_a_finding(emulator, deployment):
    credential = DefaultAzureCredential(managed_identity_client_id=OPERATOR_CLIENT_ID)
    report = run_doctor(deployment, lambda sub: ArmClients(credential, sub, endpoint=emulator.url),
                        resolver=lambda host: ["20.50.1.1"])
    (endpoints,) = [c for c in report.checks if c.name == "endpoints"]
    assert endpoints.verdict == FINDING and "privatelink.eventgrid.azure.net" in endpoints.detail
    assert report.exit_code == 1


def test_the_cli_verb_says_it_cannot_judge_without_the_azd_environment():
    out = io.StringIO()
    code = cli.main(["doctor", "-o", "json"], environ={}, stdout=out, stderr=io.StringIO())
    assert code == 2
    (check,) = json.loads(out.getvalue())["checks"]
    assert check["verdict"] == UNKNOWN and "AZURE_FUNCTION_APP_NAME" in check["detail"]


def test_roles_are_expected_on_the_listed_resource_groups_when_the_main_role_is_scoped(lz):
    from remediators.doctor import _needed_at

    needed = _needed_at(lz.settings(), lz.subscription_id, ["rg-app"])
    subscription = f"/subscriptions/{lz.subscription_id}"
    assert needed[subscription] == {"Microsoft.Network/locations/operations/read"}
    assert "Microsoft.KeyVault/vaults/write" in needed[f"{subscription}/resourcegroups/rg-app"]
    assert "Microsoft.KeyVault/vaults/write" in _needed_at(lz.settings(), lz.subscription_id)[subscription]


def test_an_allowed_ip_range_a_service_refuses_is_a_finding(emulator, lz, deployment):
    """HARDEN_ALLOWED_IP_RANGES is validated for every service at start-up; doctor says so before an event does."""
    site = f"{lz.rg_id(TOPIC_RG)}/providers/Microsoft.Web/sites/{APP}/config/appsettings"
    settings = emulator.get(site)["properties"]
    emulator.seed(site, {"properties": {**settings, "HARDEN_ALLOWED_IP_RANGES": "20.30.40.0/24,192.168.1.0/24"}})
    verdict, detail = _doctor(emulator, deployment)["app-settings"]
    assert verdict == FINDING and "HARDEN_ALLOWED_IP_RANGES" in detail and "192.168.1.0/24" in detail, detail
    emulator.seed(site, {"properties": {**settings, "HARDEN_ALLOWED_IP_RANGES": "20.30.40.0/24"}})
    assert _doctor(emulator, deployment)["app-settings"][0] == OK
