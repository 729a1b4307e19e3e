"""infra/ checked offline: every Bicep file parses, and the parsed trees say what the issue asks.

No Bicep CLI and no Azure here, so these tests read pycep's parse trees (tests/infra/bicep_tree.py)
and the JSON files the Bicep loads. They check the contract with the code (event filter, custom
role, private DNS zones, service endpoints against remediators/registry.py), the security
baseline (no secrets, HTTPS/TLS 1.2/no FTP, no shared keys), AVM/azd conventions (descriptions,
tags, parameters file, deterministic names) and what a compiler would catch across modules
(parameters passed, outputs read, files loaded).
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest

from remediators import registry
from tests.infra import bicep_tree as bt

MODULES = bt.INFRA / "modules"
EVENTS_SUBSCRIPTION = MODULES / "events" / "resource-events-subscription.bicep"
SYSTEM_TOPIC = MODULES / "events" / "system-topic.bicep"
NOTIFICATION_TOPIC = MODULES / "events" / "notification-topic.bicep"
CHANNELS = MODULES / "notify" / "notification-channels.bicep"
REMEDIATOR_ROLE = MODULES / "rbac" / "remediator-role.bicep"
SCOPED_ROLE = MODULES / "rbac" / "scoped-role.bicep"
READS_ROLE = MODULES / "rbac" / "subscription-reads-role.bicep"
PRIVATE_ENDPOINT = MODULES / "network" / "private-endpoint.bicep"
ROLE_SCOPES = bt.INFRA / "remediator-role-scopes.json"
LANDING_ZONE = MODULES / "network" / "landing-zone.bicep"
FUNCTION_APP = MODULES / "host" / "function-app.bicep"
STORAGE = MODULES / "storage" / "function-storage.bicep"
MONITORING = MODULES / "monitor" / "monitoring.bicep"
PARAMETERS = bt.INFRA / "main.parameters.json"
AZURE_YAML = bt.REPO / "azure.yaml"
SYNC = "python -m tests.infra.sync_infra_json"

# Event Grid: at most 25 advanced-filter values per event subscription, across all its advanced filters
# (learn.microsoft.com/azure/event-grid/event-filtering#limitations).
EVENT_GRID_MAX_FILTER_VALUES = 25

# Built-in role definition IDs (learn.microsoft.com/azure/role-based-access-control/built-in-roles).
BUILT_IN_ROLES = {
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
    "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a": "Storage Queue Data Message Sender",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
    "d5a91429-5739-47e2-a06b-3470a27159e7": "EventGrid Data Sender",
    "09976791-48a7-449e-bb21-39d1a415f350": "Communication and Email Service Owner",
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
}

# Resource types that take no tags (child and extension resources).
UNTAGGABLE = {
    "Microsoft.Authorization/roleAssignments",
    "Microsoft.Authorization/roleDefinitions",
    "Microsoft.Insights/diagnosticSettings",
    "Microsoft.EventGrid/systemTopics/eventSubscriptions",
    "Microsoft.EventGrid/topics/eventSubscriptions",
    "Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
    "Microsoft.Storage/storageAccounts/blobServices",
    "Microsoft.Storage/storageAccounts/blobServices/containers",
    "Microsoft.Storage/storageAccounts/queueServices",
    "Microsoft.Storage/storageAccounts/queueServices/queues",
    "Microsoft.Web/sites/basicPublishingCredentialsPolicies",
    "Microsoft.Web/sites/config",
}

# What function_app.py reads (see the issue): infra must set every one of them.
APP_SETTINGS = {
    "HARDEN_SUBSCRIPTION_IDS", "HARDEN_PRIVATE_ENDPOINT_SUBNET_ID", "HARDEN_SERVICE_ENDPOINT_SUBNET_IDS",
    "HARDEN_DNS_ZONES_RESOURCE_GROUP_ID", "HARDEN_UNTAGGED", "HARDEN_DRY_RUN", "HARDEN_NOTIFY_TOPIC_ENDPOINT",
    "HARDEN_EXCLUDE_RESOURCE_IDS", "AZURE_CLIENT_ID", "AzureWebJobsStorage__accountName",
    "AzureWebJobsStorage__credential", "AzureWebJobsStorage__clientId", "AzureWebJobsStorage__queueServiceUri",
    "AzureWebJobsStorage__blobServiceUri", "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
}
WORK_QUEUES = {"harden-requests", "harden-requests-poison", "resource-events", "resource-events-poison"}
TRIGGER_FUNCTION = "on_resource_event"
EVENTS_QUEUE = "resource-events"  # function_app.EVENTS_QUEUE_NAME
AZD_SERVICE = "remediator"


def _one(items, what):
    assert len(items) == 1, f"expected exactly one {what}, found {[str(i) for i in items]}"
    return items[0]


def _module_call(symbol: str) -> bt.Module:
    return _one([m for m in bt.modules(bt.MAIN) if m.symbol == symbol], f"module {symbol!r} in main.bicep")


def _object_keys(node) -> set[str]:
    assert isinstance(node, dict), node
    return set(bt.keys(node))


# ---------------------------------------------------------------------------------------------------------------
# Every file parses
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", bt.bicep_files(), ids=bt.rel)
def test_bicep_file_parses(path):
    tree = bt.parse(path)
    assert tree.get("resources") or tree.get("modules"), f"{bt.rel(path)} declares nothing"


def test_checkov_parser_reads_every_file():
    """checkov pins pycep 0.5, which reads less Bicep than 0.7, and skips a file it cannot parse without failing.

    So the files must stay within what both parsers read (see infra/README.md), or checkov's
    "0 failed" would be vacuous.
    """
    python = bt.REPO / ".venv-checkov" / "bin" / "python"
    if not python.exists():
        pytest.skip("checkov's venv (.venv-checkov) is not installed")
    script = (
        "import sys\nfrom pycep import BicepParser\np = BicepParser()\nbad = []\n"
        "for f in sys.argv[1:]:\n"
        "    try:\n        p.parse(text=open(f, encoding='utf-8').read())\n"
        "    except Exception as e:\n        bad.append(f + ': ' + str(e).splitlines()[0])\n"
        "print('\\n'.join(bad))\n"
    )
    files = [str(p) for p in bt.bicep_files()]
    result = subprocess.run([str(python), "-c", script, *files], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert not result.stdout.strip(), "checkov's parser cannot read:\n" + result.stdout


# ---------------------------------------------------------------------------------------------------------------
# Contract with remediators/registry.py
# ---------------------------------------------------------------------------------------------------------------

def _event_subscription(symbol: str = "queueSubscription") -> bt.Resource:
    """The queue-delivered subscription (default), or the push one (``functionSubscription``)."""
    return _one([r for r in bt.resources_of_type("Microsoft.EventGrid/systemTopics/eventSubscriptions")
                 if r.symbol == symbol], f"system topic event subscription {symbol}")


def _resolved(path, value):
    """A property given as the name of a variable, resolved to the variable's value."""
    return bt.variable(path, value) if isinstance(value, str) else value


def _event_filter(subscription: bt.Resource) -> dict:
    return _resolved(subscription.file, subscription.config["properties"]["filter"])


def _operation_filter() -> tuple[dict, list[str]]:
    subscription = _event_subscription()
    filters = _event_filter(subscription)["advancedFilters"]
    by_key = [f for f in filters if bt.literal(subscription.file, f["key"]) == "data.operationName"]
    operation_filter = _one(by_key, "data.operationName advanced filter")
    path, values = bt.json_loaded_by(subscription.file, operation_filter["values"])
    assert path == bt.INFRA / "handled-operations.json"
    return operation_filter, values


def test_event_filter_matches_registry():
    operation_filter, values = _operation_filter()
    assert operation_filter["operatorType"] == "StringIn"
    expected = registry.event_filter_operations()
    assert sorted(values) == sorted(expected), (
        f"infra/handled-operations.json differs from registry.event_filter_operations(): "
        f"missing {sorted(set(expected) - set(values))}, extra {sorted(set(values) - set(expected))}; run {SYNC}")
    assert len({v.lower() for v in values}) == len(values), "duplicate operation names (StringIn ignores case)"


def test_event_filter_fits_event_grid_limits():
    subscription = _event_subscription()
    filters = _event_filter(subscription)["advancedFilters"]
    total = 0
    for advanced in filters:
        values = advanced.get("values", [advanced.get("value")])
        if isinstance(values, str):
            _, values = bt.json_loaded_by(subscription.file, values)
        assert len(values) <= EVENT_GRID_MAX_FILTER_VALUES
        total += len(values)
    assert total <= EVENT_GRID_MAX_FILTER_VALUES, f"{total} advanced-filter values; Event Grid allows 25 in total"


def test_operation_list_lives_in_one_place():
    loaders = [(f, call) for f in bt.bicep_files() for call in bt.function_calls(bt.parse(f))
               if call["type"] == "load_json_content"
               and call["parameters"]["file_path"].endswith("handled-operations.json")]
    assert [bt.rel(f) for f, _ in loaders] == [bt.rel(EVENTS_SUBSCRIPTION)]


def _condition_operands(condition) -> list:
    return [o for o in bt.walk(condition) if isinstance(o, str)]


def test_event_subscription_delivers_to_a_queue_with_the_topics_identity_by_default():
    """No inbound access to the app: Event Grid writes each event to a queue of the app's own storage."""
    subscription = _event_subscription()
    props = subscription.config["properties"]
    assert "destination" not in props, "identity delivery only: no key or SAS in the destination"
    delivery = props["deliveryWithResourceIdentity"]
    # The storage account admits Event Grid as a trusted service only with a system-assigned identity
    # (learn.microsoft.com/azure/event-grid/handler-storage-queues).
    assert delivery["identity"] == {"type": "SystemAssigned"}
    destination = delivery["destination"]
    assert destination["endpointType"] == "StorageQueue"
    assert destination["properties"]["resourceId"] == "storageAccountResourceId"
    assert destination["properties"]["queueName"] == "eventQueueName"
    assert bt.parameter(subscription.file, "eventQueueName")["default"] == EVENTS_QUEUE
    assert props["eventDeliverySchema"] == "EventGridSchema", "what the queue function parses"
    assert {"deliveryMode", "StorageQueue"} <= set(_condition_operands(subscription.condition))
    assert bt.parameter(subscription.file, "deliveryMode")["default"] == "StorageQueue"
    assert bt.parameter(bt.MAIN, "eventDelivery")["default"] == "StorageQueue"
    assert _module_call("resourceEvents").params["deliveryMode"] == "eventDelivery"
    import function_app

    assert function_app.EVENTS_QUEUE_NAME == EVENTS_QUEUE
    assert bt.keys(bt.variable(bt.MAIN, "queueNames"))["events"] == EVENTS_QUEUE


@pytest.mark.parametrize("symbol", ["queueSubscription", "functionSubscription"])
def test_both_delivery_modes_share_filter_retry_and_dead_letter(symbol):
    subscription = _event_subscription(symbol)
    props = subscription.config["properties"]
    assert _event_filter(subscription)["includedEventTypes"] == ["Microsoft.Resources.ResourceWriteSuccess"]
    assert props["filter"] == "eventFilter" and props["retryPolicy"] == "retryPolicy"
    assert set(_resolved(subscription.file, props["retryPolicy"])) == {"maxDeliveryAttempts", "eventTimeToLiveInMinutes"}
    dead_letter = _resolved(subscription.file, props["deadLetterWithResourceIdentity"])
    assert dead_letter["identity"] == {"type": "SystemAssigned"}
    assert dead_letter["deadLetterDestination"]["endpointType"] == "StorageBlob"
    assert set(dead_letter["deadLetterDestination"]["properties"]) == {"resourceId", "blobContainerName"}


def test_push_delivery_stays_an_option():
    subscription = _event_subscription("functionSubscription")
    props = subscription.config["properties"]
    destination = props["destination"]
    assert destination["endpointType"] == "AzureFunction"
    assert destination["properties"]["resourceId"] == "${functionAppResourceId}/functions/${functionName}"
    assert bt.parameter(subscription.file, "functionName")["default"] == TRIGGER_FUNCTION
    assert {"deliveryMode", "AzureFunction"} <= set(_condition_operands(subscription.condition))
    assert "AzureFunction" in bt.decorator(bt.parameter(bt.MAIN, "eventDelivery"), "allowed")


def test_event_queue_is_writable_by_the_system_topic_only():
    storage = _module_call("storage")
    grants = storage.params["queueRoleAssignments"]
    elements = _flatten_assignments(grants)
    roles = bt.variable(bt.MAIN, "builtInRoles")
    (events,) = [g for g in elements if bt.accessor_chain(g["scopeName"]) == ["queueNames", "events"]]
    assert bt.accessor_chain(events["principalId"]) == ["systemTopic", "outputs", "principalId"]
    assert BUILT_IN_ROLES[roles[bt.accessor_chain(events["roleDefinitionId"])[1]]] == "Storage Queue Data Message Sender"
    assert ["queueNames", "events"] in [bt.accessor_chain(q) for q in storage.params["queueNames"]]


def test_system_topic_watches_the_subscription():
    topic = _one(bt.resources_of_type("Microsoft.EventGrid/systemTopics"), "created system topic")
    assert topic.config["location"] == "global"
    assert topic.config["identity"] == {"type": "SystemAssigned"}
    assert topic.config["properties"]["topicType"] == "Microsoft.Resources.Subscriptions"
    assert bt.call_property(topic.config["properties"]["source"], "subscription", "id")


def test_dead_letter_container_is_writable_by_the_system_topic():
    storage = _module_call("storage")
    (grant,) = storage.params["containerRoleAssignments"]
    assert grant["scopeName"] == "deadLetterContainerName"
    assert bt.accessor_chain(grant["principalId"]) == ["systemTopic", "outputs", "principalId"]
    roles = bt.variable(bt.MAIN, "builtInRoles")
    assert BUILT_IN_ROLES[roles[bt.accessor_chain(grant["roleDefinitionId"])[1]]] == "Storage Blob Data Contributor"


def _role_definition(path) -> bt.Resource:
    return _one([r for r in bt.resources(path) if r.type == "Microsoft.Authorization/roleDefinitions"],
                f"role definition in {bt.rel(path)}")


def _scope_list(path, node) -> tuple[str, list[str] | dict]:
    """``loadJsonContent('../../remediator-role-scopes.json').<key>`` (or ``[param]``) -> (key, actions)."""
    node = bt.variable(path, node) if isinstance(node, str) else node
    operands = node["operator"]["operands"]
    loaded, key = operands["operand_1"], operands["operand_2"]
    loaded_path, lists = bt.json_loaded_by(path, loaded)
    assert loaded_path == ROLE_SCOPES, f"{bt.rel(path)} loads {loaded_path}"
    return key, lists


def _permissions(path) -> dict:
    (permissions,) = _role_definition(path).config["properties"]["permissions"]
    assert permissions["notActions"] == [] and permissions["dataActions"] == [] \
        and permissions["notDataActions"] == []
    return permissions


def test_roles_hold_exactly_the_registry_actions_split_by_scope():
    key, lists = _scope_list(REMEDIATOR_ROLE, _permissions(REMEDIATOR_ROLE)["actions"])
    assert key == "resources"
    assert _scope_list(READS_ROLE, _permissions(READS_ROLE)["actions"])[0] == "subscriptionReads"
    kinds = bt.decorator(bt.parameter(SCOPED_ROLE, "roleKind"), "allowed")
    assert bt.json_loaded_by(SCOPED_ROLE, "lists")[0] == ROLE_SCOPES
    chosen = [bt.variable(SCOPED_ROLE, _permissions(SCOPED_ROLE)["actions"]), bt.variable(SCOPED_ROLE, "zoneActions")]
    picked = {chain[1] for node in bt.walk(chosen)
              if (chain := bt.accessor_chain(node)) and len(chain) == 2 and chain[0] == "lists"}
    assert picked == {*kinds, "privateDnsZonesLinkOnly"}, "each roleKind picks its own list"
    assert set(lists) == {"resources", "subscriptionReads", *kinds, "privateDnsZonesLinkOnly"}
    granted = {a for actions in lists.values() for a in actions}
    expected = registry.rbac_actions()
    missing, extra = sorted(expected - granted), sorted(granted - expected)
    assert not missing and not extra, f"role actions: missing {missing}, extra {extra}; run {SYNC}"
    published = json.loads((bt.INFRA / "published-operations.json").read_text(encoding="utf-8"))
    wildcards = {a for a in granted if "*" in a}
    assert wildcards <= set(published["wildcards"]), "every wildcard says why (infra/published-operations.json)"
    # Network actions never land in the role that may be assigned on the whole subscription.
    assert not any(a.lower().startswith("microsoft.network/") for a in lists["resources"])
    # Reads only at subscription level: status URLs, and the DNS zones/links listed before linking a VNet.
    assert all(a.endswith("/read") for a in lists["subscriptionReads"])
    assert {a for a in lists["subscriptionReads"] if "/locations/" not in a} == {
        "Microsoft.Network/privateDnsZones/read", "Microsoft.Network/privateDnsZones/virtualNetworkLinks/read"}
    for path in (REMEDIATOR_ROLE, READS_ROLE, SCOPED_ROLE):
        assert _role_definition(path).config["properties"]["type"] == "CustomRole"


def test_main_role_scope_is_the_subscription_or_listed_resource_groups():
    tree = bt.parse(REMEDIATOR_ROLE)
    assert tree["globals"]["scope"]["value"] == "subscription"
    role = _role_definition(REMEDIATOR_ROLE)
    (scope,) = role.config["properties"]["assignableScopes"]
    assert bt.call_property(scope, "subscription", "id")
    assignment = _one([r for r in bt.resources(REMEDIATOR_ROLE)
                       if r.type == "Microsoft.Authorization/roleAssignments"], "role assignment")
    assert "scope" not in assignment.config, "assigned at the deployment (subscription) scope"
    assert "resourceGroupNames" in _condition_operands(assignment.condition), "only when no groups are listed"
    assert bt.accessor_chain(assignment.config["properties"]["roleDefinitionId"]) == [role.symbol, "id"]
    assert assignment.config["properties"]["principalType"] == "ServicePrincipal"
    (groups,) = bt.modules(REMEDIATOR_ROLE)
    assert groups.loop["detail"]["array_name"] == "resourceGroupNames"
    assert bt.function(groups.config["scope"], "resource_group")
    call = _module_call("remediatorRole")
    assert "scope" not in call.config
    assert bt.accessor_chain(call.params["principalId"]) == ["identity", "outputs", "principalId"]
    assert call.params["resourceGroupNames"] == "remediatorScopeGroups"
    assert bt.parameter(bt.MAIN, "remediatorScopeResourceGroupNames")["default"] == ""


@pytest.mark.parametrize(("symbol", "kind", "where"), [
    ("endpointSubnetRole", "privateEndpointSubnet", "endpointSubnetGroup"),
    ("serviceEndpointSubnetRoles", "serviceEndpointSubnets", "group"),
    ("dnsZonesRole", "privateDnsZones", "dnsZonesGroup"),
])
def test_network_roles_are_assigned_where_the_network_lives(symbol, kind, where):
    """The endpoint subnet, service-endpoint subnets and DNS zones may be in a hub or connectivity subscription."""
    call = _module_call(symbol)
    assert call.path == SCOPED_ROLE and call.params["roleKind"] == kind
    scope = bt.function(call.config["scope"], "resource_group")
    assert scope, f"{symbol} is deployed at a resource group"
    args = list(scope["parameters"].values())
    assert sorted(bt.accessor_chain(a) for a in args) == [[where, "resourceGroupName"], [where, "subscriptionId"]]
    role = _role_definition(SCOPED_ROLE)
    (assignable,) = role.config["properties"]["assignableScopes"]
    assert bt.call_property(assignable, "resource_group", "id"), "assignable on that resource group only"
    lists = json.loads(ROLE_SCOPES.read_text(encoding="utf-8"))
    if kind == "privateDnsZones":
        assert {"Microsoft.Network/privateDnsOperationStatuses/read",
                "Microsoft.Network/privateDnsOperationResults/read"} <= set(lists[kind])
    if kind == "serviceEndpointSubnets":
        assert {"Microsoft.Network/networkSecurityGroups/join/action", "Microsoft.Network/routeTables/join/action",
                "Microsoft.Network/natGateways/join/action",
                "Microsoft.Network/serviceEndpointPolicies/join/action"} <= set(lists[kind])


def test_zone_creation_is_a_parameter_for_estates_whose_platform_team_owns_the_zones():
    """createPrivateDnsZones false: the zones role loses privateDnsZones/write and the app is told
    (HARDEN_CREATE_PRIVATE_DNS_ZONES), so a missing zone is reported (zone-missing), never attempted."""
    lists = json.loads(ROLE_SCOPES.read_text(encoding="utf-8"))
    zone_write = "Microsoft.Network/privateDnsZones/write"
    assert zone_write in lists["privateDnsZones"]
    assert set(lists["privateDnsZones"]) - set(lists["privateDnsZonesLinkOnly"]) == {zone_write}
    chosen = bt.variable(SCOPED_ROLE, "zoneActions")["operator"]["operands"]
    assert chosen["condition"] == "createPrivateDnsZones"
    assert (bt.accessor_chain(chosen["true_value"]), bt.accessor_chain(chosen["false_value"])) == (
        ["lists", "privateDnsZones"], ["lists", "privateDnsZonesLinkOnly"])
    assert bt.parameter(SCOPED_ROLE, "createPrivateDnsZones")["default"] is True
    assert bt.parameter(bt.MAIN, "createPrivateDnsZones")["default"] is True
    assert _module_call("dnsZonesRole").params["createPrivateDnsZones"] == "createPrivateDnsZones"
    setting = _app_settings()["HARDEN_CREATE_PRIVATE_DNS_ZONES"]["operator"]["operands"]
    assert (setting["condition"], setting["true_value"], setting["false_value"]) == (
        "createPrivateDnsZones", "true", "false")


def test_subscription_reads_are_granted_on_every_subscription_involved():
    assert "scope" not in _module_call("subscriptionReadsRole").config
    others = _module_call("otherSubscriptionReadsRoles")
    assert others.loop["detail"]["array_name"] == "otherSubscriptionIds"
    assert bt.function(others.config["scope"], "subscription")


def test_created_private_dns_zones_cover_every_service():
    zones = _one(bt.resources_of_type("Microsoft.Network/privateDnsZones"), "private DNS zone declaration")
    assert zones.loop, "zones are created by a loop over the list, not copied blocks"
    assert zones.loop["detail"]["array_name"] == "privateDnsZoneNames"
    joined = bt.function(bt.variable(zones.file, "privateDnsZoneNames"), "concat")
    services, own = joined["parameters"].values()
    path, names = bt.json_loaded_by(zones.file, services)
    assert path == bt.INFRA / "private-dns-zones.json"
    # The remediator's own private endpoints need no other zone than the notification topic's.
    assert bt.variable(zones.file, own) == ["privatelink.eventgrid.azure.net"]
    expected = {g.dns_zone for s in registry.SERVICES for g in s.spec.private_link_groups}
    assert set(names) == expected, f"missing {sorted(expected - set(names))}, extra {sorted(set(names) - expected)}"
    assert len(names) == len(set(names)), "one zone per name (Event Hubs and Service Bus share one)"
    assert zones.config["location"] == "global"
    links = _one(bt.resources_of_type("Microsoft.Network/privateDnsZones/virtualNetworkLinks"), "zone link")
    assert links.loop and links.loop["detail"]["array_name"] == zones.loop["detail"]["array_name"]
    assert links.config["properties"]["registrationEnabled"] is False


def test_workload_subnet_has_every_service_endpoint():
    vnet = _one(bt.resources_of_type("Microsoft.Network/virtualNetworks"), "virtual network")
    subnets = vnet.config["properties"]["subnets"]
    workload = _one([s for s in subnets if s["properties"].get("serviceEndpoints", {}) and
                     isinstance(s["properties"]["serviceEndpoints"], dict)], "workload subnet (looped endpoints)")
    loop = workload["properties"]["serviceEndpoints"]["loop_type"]
    path, services = bt.json_loaded_by(vnet.file, loop["detail"]["array_name"])
    assert path == bt.INFRA / "service-endpoints.json"
    assert set(services) == {s.spec.service_endpoint for s in registry.SERVICES}
    delegated = _one([s for s in subnets if s["properties"].get("delegations")], "delegated subnet")
    (delegation,) = delegated["properties"]["delegations"]
    assert delegation["properties"]["serviceName"] == "Microsoft.App/environments"
    for subnet in subnets:
        assert "networkSecurityGroup" in subnet["properties"], f"subnet {subnet['name']} has no NSG"


# ---------------------------------------------------------------------------------------------------------------
# Security baseline
# ---------------------------------------------------------------------------------------------------------------

def _app_settings() -> dict[str, object]:
    """Every app setting: the host settings of the module plus what main.bicep passes in."""
    site = _one([r for r in bt.resources(FUNCTION_APP) if r.type == "Microsoft.Web/sites"], "function app")
    merged = bt.function(site.config["properties"]["siteConfig"]["appSettings"], "concat")
    assert merged and list(merged["parameters"].values()) == ["remediatorSettings", "hostSettings"]
    # The remediator's settings: name/value pairs made from the appSettings parameter, nothing else.
    loop = bt.variable(FUNCTION_APP, "remediatorSettings")
    items = bt.function(loop["loop_type"]["detail"]["array_name"], "items")
    assert items and items["parameters"]["arg_1"] == "appSettings"
    assert set(loop["config"]) == {"name", "value"}
    host = bt.variable(FUNCTION_APP, "hostSettings")
    assert all(set(entry) == {"name", "value"} for entry in host)
    settings = {bt.literal(FUNCTION_APP, entry["name"]): entry["value"] for entry in host}
    assert len(settings) == len(host), "a host setting is listed twice"
    passed = bt.keys(bt.variable(bt.MAIN, _module_call("functionApp").params["appSettings"]))
    assert not set(passed) & set(settings), f"main.bicep overrides host settings {set(passed) & set(settings)}"
    settings.update(passed)
    return settings


def test_app_settings_are_complete():
    settings = _app_settings()
    assert APP_SETTINGS <= set(settings), f"missing app settings {sorted(APP_SETTINGS - set(settings))}"
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == "ClientId=${identityClientId};Authorization=AAD"
    for name in ("AzureWebJobsStorage__clientId", "AZURE_CLIENT_ID"):
        assert settings[name] == "identityClientId"
    exclusions = settings["HARDEN_EXCLUDE_RESOURCE_IDS"]
    assert exclusions == "${functionAppResourceId},${storageAccountResourceId}", "the remediator never hardens itself"
    # This subscription, plus the added ones when there are any (tests/infra/test_reprovision.py evaluates it).
    subscriptions = settings["HARDEN_SUBSCRIPTION_IDS"]["operator"]["operands"]
    assert bt.call_property(subscriptions["true_value"], "subscription", "subscriptionId")
    assert settings["HARDEN_DRY_RUN"]["operator"]["type"] == "conditional"  # 'true'/'false', never string(bool)
    assert bt.parameter(bt.MAIN, "dryRun")["default"] is True, "a first deployment only reports"


SECRET_NAME = re.compile(r"(_KEY|KEY$|PASSWORD|SECRET|SAS$|_SAS_|CONNECTIONSTRING$)", re.IGNORECASE)
SECRET_VALUE = re.compile(r"AccountKey=|SharedAccessKey|SharedAccessSignature|[?&]sig=|Password=", re.IGNORECASE)


def test_no_secret_or_key_in_app_settings():
    settings = _app_settings()
    for name, value in settings.items():
        assert name != "AzureWebJobsStorage", "use the identity-based AzureWebJobsStorage__* settings"
        if name.endswith("_WEBHOOK_SECRET_URI"):
            # Where the webhook URL is kept (a Key Vault secret URI the identity reads), never the URL itself.
            text = json.dumps(value)
            assert "channels.outputs.vaultUri" in text and "secrets/" in text, f"{name}: {text}"
            continue
        assert not SECRET_NAME.search(name) or name == "APPLICATIONINSIGHTS_CONNECTION_STRING", name
        for node in bt.walk(value):
            assert not (isinstance(node, str) and SECRET_VALUE.search(node)), f"{name}: {node}"
            call = bt.function(node)
            assert not (call and call["type"].lower().startswith("list")), f"{name} calls {call}"
    # Application Insights' connection string carries only an instrumentation key, not a credential,
    # once local authentication is off; check that it is.
    insights = _one(bt.resources_of_type("Microsoft.Insights/components"), "Application Insights")
    assert insights.config["properties"]["DisableLocalAuth"] is True


def test_no_key_is_read_anywhere_in_infra():
    for path in bt.bicep_files():
        tree = bt.parse(path)
        for node in bt.walk(tree):
            if isinstance(node, dict) and isinstance(node.get("operator"), dict):
                assert node["operator"].get("type") != "function_accessor", f"{bt.rel(path)}: {node}"
            call = bt.function(node)
            assert not (call and call["type"] in {"list_func", "list_keys"}), f"{bt.rel(path)}: {call}"
        for name, param in tree.get("parameters", {}).items():
            assert not bt.decorator(param, "secure"), f"{bt.rel(path)}: secure parameter {name}: no secrets here"


def test_function_app_is_https_only_with_tls12_and_no_ftp():
    site = _one([r for r in bt.resources(FUNCTION_APP) if r.type == "Microsoft.Web/sites"], "function app")
    props = site.config["properties"]
    assert bt.literal(FUNCTION_APP, props["httpsOnly"]) is True
    site_config = props["siteConfig"]
    assert site_config["minTlsVersion"] == "1.2" and site_config["scmMinTlsVersion"] == "1.2"
    # Flex Consumption does not support ftpsState or CORS (learn.microsoft.com/azure/azure-functions/
    # flex-consumption-plan, deprecated properties): FTP is off through the publishing credentials policy.
    assert "ftpsState" not in site_config and "cors" not in site_config
    policies = {r.config["name"]: r.config["properties"]["allow"] for r in bt.resources(FUNCTION_APP)
                if r.type == "Microsoft.Web/sites/basicPublishingCredentialsPolicies"}
    assert policies == {"ftp": False, "scm": False}
    assert site.config["kind"] == "functionapp,linux"
    assert site.config["identity"]["type"] == "UserAssigned"
    assert props["virtualNetworkSubnetId"] == "virtualNetworkSubnetResourceId"
    assert site_config["ipSecurityRestrictionsDefaultAction"] == "Deny"
    assert site_config["scmIpSecurityRestrictionsDefaultAction"] == "Deny"
    assert site_config["scmIpSecurityRestrictionsUseMain"] is False
    runtime = props["functionAppConfig"]["runtime"]
    assert runtime["name"] == "python"
    assert bt.parameter(FUNCTION_APP, "runtimeVersion")["default"] == "3.11"
    assert bt.parameter(bt.MAIN, "functionAppRuntimeVersion")["default"] == "3.11"
    deployment = props["functionAppConfig"]["deployment"]["storage"]
    assert deployment["authentication"]["type"] == "UserAssignedIdentity"
    plan = _one(bt.resources_of_type("Microsoft.Web/serverfarms"), "plan")
    assert plan.config["sku"] == {"name": "FC1", "tier": "FlexConsumption"}


def test_storage_denies_shared_keys_and_public_access():
    account = _one([r for r in bt.resources(STORAGE) if r.type == "Microsoft.Storage/storageAccounts"], "account")
    props = account.config["properties"]
    assert bt.literal(STORAGE, props["allowSharedKeyAccess"]) is False
    assert props["minimumTlsVersion"] == "TLS1_2"
    assert props["allowBlobPublicAccess"] is False
    assert props["supportsHttpsTrafficOnly"] is True
    assert props["networkAcls"]["defaultAction"] == "Deny"
    for container in bt.resources_of_type("Microsoft.Storage/storageAccounts/blobServices/containers"):
        assert container.config["properties"]["publicAccess"] == "None"


def test_work_and_poison_queues_are_precreated():
    queue_names = bt.keys(bt.variable(bt.MAIN, "queueNames"))
    passed = _module_call("storage").params["queueNames"]
    created = {queue_names[bt.accessor_chain(q)[1]] for q in passed}
    assert WORK_QUEUES <= created
    assert "harden-notifications" in created
    queues = _one(bt.resources_of_type("Microsoft.Storage/storageAccounts/queueServices/queues"), "queue loop")
    assert queues.loop["detail"]["array_name"] == "queueNames"


def test_role_assignments_use_the_expected_built_in_roles():
    roles = bt.variable(bt.MAIN, "builtInRoles")
    for role_id, name in [(v, BUILT_IN_ROLES.get(v)) for v in roles.values()]:
        assert name, f"unknown built-in role {role_id} in main.bicep"
    storage = _module_call("storage").params
    identity_roles = {BUILT_IN_ROLES[roles[bt.accessor_chain(a["roleDefinitionId"])[1]]]
                      for a in storage["accountRoleAssignments"]}
    assert identity_roles == {"Storage Blob Data Owner", "Storage Queue Data Contributor",
                              "Storage Table Data Contributor"}
    for path, name in [(MONITORING, "Monitoring Metrics Publisher"), (NOTIFICATION_TOPIC, "EventGrid Data Sender")]:
        role_vars = [v for v in bt.parse(path)["variables"].values() if v["value"] in BUILT_IN_ROLES]
        assert [BUILT_IN_ROLES[v["value"]] for v in role_vars] == [name]


def test_storage_role_assignments_have_the_declared_shape():
    """The storage module takes `array` parameters (pycep 0.5 has no typed arrays); its types say the shape."""
    types = bt.parse(STORAGE)["types"]
    shapes = {
        "accountRoleAssignments": set(types["roleAssignmentType"]["value"]),
        "containerRoleAssignments": set(types["scopedRoleAssignmentType"]["value"]),
        "queueRoleAssignments": set(types["scopedRoleAssignmentType"]["value"]),
    }
    params = _module_call("storage").params
    for name, shape in shapes.items():
        elements = _flatten_assignments(params[name])
        assert elements, f"{name} passes nothing"
        for element in elements:
            assert set(element) == shape, f"{name}: {sorted(element)} is not {sorted(shape)}"


def _flatten_assignments(value) -> list:
    """The elements of an array literal, a conditional of arrays, or concat() of those."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and value.get("operator", {}).get("type") == "conditional":
        operands = value["operator"]["operands"]
        return _flatten_assignments(operands["true_value"]) + _flatten_assignments(operands["false_value"])
    call = bt.function(value, "concat")
    assert call, f"not an array expression: {value}"
    return [e for arg in call["parameters"].values() for e in _flatten_assignments(arg)]


def test_notification_topic_is_private_by_default_with_an_endpoint_in_the_central_zone():
    """ALZ Deny-PublicPaaSEndpoints (assignment Deny-Public-Endpoints at Corp) holds
    Deny-EventGrid-Topic-Public-Network-Access, built-in 1adadefe-5f21-44f7-b931-a59b54ccdb45
    (Azure/Enterprise-Scale src/resources/Microsoft.Authorization/policySetDefinitions/Deny-PublicPaaSEndpoints.json
    v5.1.0), effect Deny by default: the topic must be Disabled unless the operator says otherwise."""
    assert bt.parameter(bt.MAIN, "notificationTopicPublicNetworkAccess")["default"] == "Disabled"
    assert bt.parameter(NOTIFICATION_TOPIC, "topicPublicNetworkAccess")["default"] == "Disabled"
    assert _module_call("notificationTopic").params["topicPublicNetworkAccess"] == "notificationTopicPublicNetworkAccess"
    parameters = json.loads(PARAMETERS.read_text(encoding="utf-8"))["parameters"]
    assert parameters["notificationTopicPublicNetworkAccess"]["value"].endswith("=Disabled}")
    endpoint = _module_call("notificationTopicEndpoint")
    assert endpoint.path == PRIVATE_ENDPOINT
    condition = endpoint.condition["operator"]["operands"]
    assert (condition["operand_1"], condition["operand_2"]) == ("notificationTopicPublicNetworkAccess", "Disabled")
    assert endpoint.params["groupId"] == "topic"
    assert bt.accessor_chain(endpoint.params["targetResourceId"]) == ["notificationTopic", "outputs", "resourceId"]
    assert endpoint.params["subnetResourceId"] == "effectivePrivateEndpointSubnetResourceId"
    (zone,) = endpoint.params["privateDnsZoneResourceIds"]
    assert zone == "${dnsZonesResourceGroupId}/providers/Microsoft.Network/privateDnsZones/privatelink.eventgrid.azure.net"


def test_notification_topic_is_cloudevents_and_entra_only():
    topic = _one(bt.resources_of_type("Microsoft.EventGrid/topics"), "custom topic")
    props = topic.config["properties"]
    assert props["inputSchema"] == "CloudEventSchemaV1_0"
    assert props["disableLocalAuth"] is True
    assert props["minimumTlsVersionAllowed"] == "1.2"
    example = _one(bt.resources_of_type("Microsoft.EventGrid/topics/eventSubscriptions"), "example subscription")
    delivery = example.config["properties"]["deliveryWithResourceIdentity"]
    assert delivery["destination"]["endpointType"] == "StorageQueue"


# ---------------------------------------------------------------------------------------------------------------
# Conventions: AVM, azd, idempotence
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", bt.bicep_files(), ids=bt.rel)
def test_every_parameter_description_says_required_or_optional(path):
    for name, param in bt.parse(path).get("parameters", {}).items():
        description = bt.decorator(param, "description")
        assert isinstance(description, str), f"{bt.rel(path)}: parameter {name} has no @description"
        required = param.get("default") is None
        prefix = "Required." if required else "Optional."
        assert description.startswith(prefix), f"{bt.rel(path)}: {name} ({'no default' if required else 'default'})"


def test_every_taggable_resource_has_tags():
    for resource in bt.all_resources():
        if resource.type in UNTAGGABLE:
            assert "tags" not in resource.config, f"{resource}: type takes no tags"
            continue
        assert "tags" in resource.config, f"{resource} has no tags"
    for call in bt.all_modules():
        target = bt.parse(call.path).get("parameters", {})
        if "tags" in target:
            assert "tags" in call.params, f"{call} does not pass tags"
    main_tags = bt.variable(bt.MAIN, "allTags")
    union = bt.function(main_tags, "union")
    assert union and "azd-env-name" in {k for arg in union["parameters"].values() if isinstance(arg, dict)
                                        for k in bt.keys(arg)}
    for call in bt.modules(bt.MAIN):
        if "tags" in call.params:
            assert call.params["tags"] == "allTags", f"{call} passes other tags"


def test_function_app_carries_the_azd_service_tag():
    site = _one([r for r in bt.resources(FUNCTION_APP) if r.type == "Microsoft.Web/sites"], "function app")
    union = bt.function(site.config["tags"], "union")
    added = bt.keys(union["parameters"]["arg_2"])
    assert added == {"azd-service-name": "serviceName"}
    assert bt.parameter(FUNCTION_APP, "serviceName")["default"] == AZD_SERVICE
    assert _module_call("functionApp").params["serviceName"] == AZD_SERVICE
    text = AZURE_YAML.read_text(encoding="utf-8")
    services = re.search(r"^services:\n((?:[ #].*\n|\n)*)", text, re.MULTILINE).group(1)
    names = re.findall(r"^  ([A-Za-z0-9_-]+):\s*$", services, re.MULTILINE)
    assert names == [AZD_SERVICE]
    assert re.search(r"^\s+host: function$", services, re.MULTILINE)
    assert re.search(r"^\s+language: python$", services, re.MULTILINE)


def test_azure_yaml_hooks_exist():
    text = AZURE_YAML.read_text(encoding="utf-8")
    for script in re.findall(r"run: (\S+)", text):
        assert (bt.REPO / script).is_file(), script


def _placeholder(value):
    match = re.fullmatch(r"\$\{([A-Z0-9_]+)(?:=([^}]*))?\}", value) if isinstance(value, str) else None
    return (match.group(1), match.group(2)) if match else None


def test_parameters_file_matches_main():
    parameters = json.loads(PARAMETERS.read_text(encoding="utf-8"))["parameters"]
    declared = bt.parse(bt.MAIN)["parameters"]
    assert set(parameters) <= set(declared), f"unknown parameters {sorted(set(parameters) - set(declared))}"
    required = {n for n, p in declared.items() if p.get("default") is None}
    assert required <= set(parameters), f"azd would prompt for {sorted(required - set(parameters))}"
    outputs = bt.parse(bt.MAIN).get("outputs", {})
    for name, entry in parameters.items():
        placeholder = _placeholder(entry["value"])
        assert placeholder, f"{name} is not bound to an azd environment variable"
        variable, default = placeholder
        if variable in outputs:  # azd stores outputs in the environment: only a round trip is safe
            value = outputs[variable]["value"]
            assert value == name or bt.accessor_chain(value) == ["rg", "name"], \
                f"{variable} is an input of {name} and an output with another value"
        bicep_default = declared[name].get("default")
        if default is None:
            assert bicep_default in (None, ""), f"{name}: azd passes '' when {variable} is unset"
            continue
        kind = declared[name]["type"]
        coerced = {"bool": lambda v: v == "true", "int": int}.get(kind, str)(default)
        assert coerced == bicep_default, f"{name}: azd default {default!r} != Bicep default {bicep_default!r}"


def test_module_calls_match_module_parameters_and_outputs():
    for call in bt.all_modules():
        assert call.path.is_file(), f"{call}: no file {call.path}"
        target = bt.parse(call.path)
        params = target.get("parameters", {})
        passed = set(call.params)
        assert passed <= set(params), f"{call}: unknown parameters {sorted(passed - set(params))}"
        required = {n for n, p in params.items() if p.get("default") is None}
        assert required <= passed, f"{call}: missing required parameters {sorted(required - passed)}"
    for path in bt.bicep_files():
        calls = {m.symbol: m for m in bt.modules(path)}
        for node in bt.walk(bt.parse(path)):
            chain = bt.accessor_chain(node)
            if chain and len(chain) >= 3 and chain[0] in calls and chain[1] == "outputs":
                outputs = bt.parse(calls[chain[0]].path).get("outputs", {})
                assert chain[2] in outputs, f"{bt.rel(path)}: {chain[0]} has no output {chain[2]}"


def test_every_json_file_loaded_exists_and_abbreviations_are_defined():
    for path in bt.bicep_files():
        for call in bt.function_calls(bt.parse(path)):
            if call["type"] == "load_json_content":
                bt.json_loaded_by(path, {"function": call})
    _, abbreviations = bt.json_loaded_by(bt.MAIN, "abbrs")
    used = {chain[1] for node in bt.walk(bt.parse(bt.MAIN)) if (chain := bt.accessor_chain(node))
            and chain[0] == "abbrs" and len(chain) == 2}
    interpolated = set(re.findall(r"\$\{abbrs\.([A-Za-z]+)\}", bt.MAIN.read_text(encoding="utf-8")))
    assert used | interpolated <= set(abbreviations), sorted((used | interpolated) - set(abbreviations))
    assert interpolated, "names are built from abbreviations.json"


def test_names_are_deterministic():
    for path in bt.bicep_files():
        for call in bt.function_calls(bt.parse(path)):
            assert call["type"] not in {"utc_now", "new_guid"}, f"{bt.rel(path)}: {call['type']} makes names drift"
    for resource in bt.all_resources():
        if resource.type.startswith("Microsoft.Authorization/"):
            name = resource.config["name"]
            if isinstance(name, str):
                name = bt.variable(resource.file, name)
            assert bt.function(name, "guid"), f"{resource}: name must be guid(...)"
    token = bt.variable(bt.MAIN, "resourceToken")
    assert bt.function(token, "to_lower") and \
        bt.function(bt.function(token)["parameters"]["string_to_change"], "unique_string")


def test_api_versions_are_stable_and_consistent():
    versions: dict[str, set[str]] = {}
    for resource in bt.all_resources(existing=None):
        # Diagnostic settings have no stable version with log categories newer than 2016; 2021-05-01-preview is the
        # latest (learn.microsoft.com/azure/templates/microsoft.insights/diagnosticsettings) and what AVM uses.
        if resource.type != "Microsoft.Insights/diagnosticSettings":
            assert "preview" not in resource.api_version, f"{resource}@{resource.api_version}"
        versions.setdefault(resource.type.lower(), set()).add(resource.api_version)
    mixed = {t: v for t, v in versions.items() if len(v) > 1}
    assert not mixed, f"one API version per type: {mixed}"


def test_main_is_composition_only():
    tree = bt.parse(bt.MAIN)
    assert tree["globals"]["scope"]["value"] == "subscription"
    assert {r.type for r in bt.resources(bt.MAIN)} == {"Microsoft.Resources/resourceGroups"}
    assert all(m.path.is_relative_to(MODULES) for m in bt.modules(bt.MAIN))


def test_shared_parameter_names_share_defaults():
    """checkov renders a parameter from the default of any file declaring that name.

    Seen with `name`: a module's required `name` was checked as another module's default
    ('evgs-…'), failing CKV_AZURE_43 on some runs. So a parameter name that has a default in one
    file has that same default in every file declaring it. `location` is the one exception: required
    in main.bicep (azd's location prompt), `resourceGroup().location` in modules; no check reads it.
    """
    defaults: dict[str, dict[str, str]] = {}
    for path in bt.bicep_files():
        for name, param in bt.parse(path).get("parameters", {}).items():
            defaults.setdefault(name, {})[bt.rel(path)] = json.dumps(param.get("default"), sort_keys=True)
    for name, per_file in defaults.items():
        values = set(per_file.values())
        if name == "location":
            values.discard("null")
        assert len(values) <= 1 or values == {"null"}, f"parameter {name} differs across files: {per_file}"


def test_addressing_type_is_the_same_in_main_and_module():
    assert bt.parse(bt.MAIN)["types"]["addressingType"]["value"] == \
        bt.parse(LANDING_ZONE)["types"]["addressingType"]["value"]
    default = bt.parameter(bt.MAIN, "virtualNetworkAddressing")["default"]
    assert set(default) == set(bt.parse(bt.MAIN)["types"]["addressingType"]["value"])


def test_postdeploy_hook_deploys_the_module_main_uses_with_the_same_parameters():
    """Queue delivery is declared in main.bicep (no post-deploy step). Push delivery: the hook creates the
    event subscription once the function is indexed; later provisions declare it through main.bicep.

    Both must produce the same resource, so they pass the same parameters.
    """
    call = _module_call("resourceEvents")
    params = bt.parse(EVENTS_SUBSCRIPTION)["parameters"]
    required = {n for n, p in params.items() if p.get("default") is None}
    push = required | {"deliveryMode", "functionAppResourceId"}
    assert push <= set(call.params)
    assert {"eventDelivery", "StorageQueue", "subscribeToEvents"} <= set(_condition_operands(call.condition))
    outputs = bt.parse(bt.MAIN)["outputs"]
    for hook in ("postdeploy.sh", "postdeploy.ps1"):
        text = (bt.INFRA / "hooks" / hook).read_text(encoding="utf-8")
        assert "infra/modules/events/resource-events-subscription.bicep" in text
        arguments = text.split("--parameters", 1)[1].split("--output", 1)[0]
        passed = set(re.findall(r"""["\s](\w+)=["$A]""", arguments))
        assert passed == push, f"{hook} passes {sorted(passed)}"
        assert "deliveryMode=AzureFunction" in text
        for variable in re.findall(r"(?:\$\{|\$env:)((?:AZURE|REMEDIATOR)_[A-Z_]+)", text):
            assert variable in outputs, f"{hook} reads {variable}, which main.bicep does not output"
        assert "HARDEN_SUBSCRIBE_TO_EVENTS true" in text
        assert "REMEDIATOR_EVENT_DELIVERY" in text, "queue delivery: the hook does nothing"
        # az and azd keep separate defaults (Azure/azure-dev#2975): every az call names the subscription.
        joined = text.replace("\\\n", " ").replace("`\n", " ")
        az_calls = re.findall(r"^\s*(?:if ! |until )?az [^\n]*", joined, re.MULTILINE)
        assert len(az_calls) == 2 and all("--subscription" in c for c in az_calls), az_calls
        assert "AZURE_SUBSCRIPTION_ID" in text and "function show" in text, "waits until the function is indexed"
        assert "ERROR" in text or "Write-Error" in text
    assert json.loads(PARAMETERS.read_text())["parameters"]["subscribeToEvents"]["value"] == \
        "${HARDEN_SUBSCRIBE_TO_EVENTS=false}"


def test_infra_json_lists_are_in_sync_with_the_registry():
    result = subprocess.run([sys.executable, "-m", "tests.infra.sync_infra_json", "--check"], cwd=bt.REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"{result.stdout}{result.stderr}run {SYNC}"


@pytest.mark.skipif(shutil.which("sh") is None, reason="no POSIX shell")
def test_postdeploy_shell_hook_is_valid_sh():
    result = subprocess.run(["sh", "-n", str(bt.INFRA / "hooks" / "postdeploy.sh")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_infra_sets_every_setting_the_app_reads():
    """The settings in code and the app settings in Bicep are one list (bar the documented exceptions)."""
    from remediators.dispatch import CHANNEL_SETTINGS, ROUTING_SETTINGS
    from remediators.settings import _KEYS

    not_from_infra = {
        "HARDEN_NOTIFY_TOPIC_KEY",  # never: the identity publishes
        "HARDEN_POLL_INTERVAL_SECONDS",  # optional tuning; the default suits Azure
        "HARDEN_MAX_PARALLEL_CHANGES",  # optional tuning; 1 forces one change at a time
        "AZURE_RESOURCE_MANAGER_ENDPOINT",  # public cloud by default
        "WEBSITE_SITE_NAME", "WEBSITE_RESOURCE_GROUP", "WEBSITE_OWNER_NAME",  # set by App Service itself
        # Optional (issue 10): several per-spoke subnets, sweep dedupe window, ARM refill rates; defaults suit Azure.
        "HARDEN_SWEEP_DEDUPE_MINUTES",
        "HARDEN_ARM_WRITES_PER_SECOND", "HARDEN_ARM_READS_PER_SECOND",
    }
    settings = _app_settings()
    assert set(_KEYS) - not_from_infra <= set(settings), sorted(set(_KEYS) - not_from_infra - set(settings))
    assert set(CHANNEL_SETTINGS) <= set(settings), "every notification channel is wired (remediators/dispatch.py)"
    read = set(_KEYS) | set(CHANNEL_SETTINGS) | set(ROUTING_SETTINGS)
    assert not {k for k in settings if k.startswith("HARDEN_")} - read, "infra sets a HARDEN_ setting no code reads"


# ---------------------------------------------------------------------------------------------------------------
# No public endpoint of our own (Azure Landing Zones: Deny-PublicPaaSEndpoints)
# ---------------------------------------------------------------------------------------------------------------

# ALZ Deny-PublicPaaSEndpoints denies these with public network access (Azure/Enterprise-Scale
# src/resources/Microsoft.Authorization/policySetDefinitions/Deny-PublicPaaSEndpoints.json:
# StorageDenyPaasPublicIP b2982f36-..., FunctionDenyPublicIP 969ac98b-..., Deny-EventGrid-Topic-Public-Network-Access 1adadefe-...).
ALZ_DENIED = {"Microsoft.Storage/storageAccounts", "Microsoft.Web/sites", "Microsoft.EventGrid/topics",
              "Microsoft.KeyVault/vaults"}  # Deny-PublicPaaSEndpoints: KeyVaultDenyPaasPublicIP


def _public_access_settings():
    for resource in bt.all_resources():
        for node in bt.walk(resource.config):
            if isinstance(node, dict) and "publicNetworkAccess" in node:
                yield resource, node["publicNetworkAccess"]


def test_nothing_has_public_network_access_unless_a_parameter_says_so():
    seen = set()
    for resource, value in _public_access_settings():
        seen.add(resource.type)
        assert isinstance(value, str) and value in bt.parse(resource.file).get("parameters", {}), (
            f"{resource}: publicNetworkAccess is {value!r}, not a parameter")
        param = bt.parameter(resource.file, value)
        assert set(bt.decorator(param, "allowed")) == {"Enabled", "Disabled"}
        if resource.type in ALZ_DENIED:
            assert param["default"] == "Disabled", f"{resource}: public network access on by default"
    assert ALZ_DENIED <= seen
    # main.bicep: storage closed unless the operator says so; the app opens only for push delivery or a deployer IP.
    assert bt.parameter(bt.MAIN, "storagePublicNetworkAccess")["default"] == "Disabled"
    assert _module_call("storage").params["publicNetworkAccess"] == "storagePublicNetworkAccess"
    assert _module_call("functionApp").params["publicNetworkAccess"] == "appPublicNetworkAccess"
    condition = bt.variable(bt.MAIN, "appPublicNetworkAccess")["operator"]["operands"]
    assert condition["false_value"] == "Disabled"
    assert {"eventDelivery", "AzureFunction", "deployerIpAddress"} <= set(_condition_operands(condition["condition"]))
    assert bt.parameter(bt.MAIN, "deployerIpAddress")["default"] == ""
    storage = _one([r for r in bt.resources(STORAGE) if r.type == "Microsoft.Storage/storageAccounts"], "account")
    acls = storage.config["properties"]["networkAcls"]
    assert acls["defaultAction"] == "Deny" and acls["bypass"] == "AzureServices" and acls["ipRules"] == []


def test_deployer_address_opens_the_scm_site_only():
    site = _one([r for r in bt.resources(FUNCTION_APP) if r.type == "Microsoft.Web/sites"], "function app")
    site_config = site.config["properties"]["siteConfig"]
    assert site_config["ipSecurityRestrictions"] == "mainSiteRules"
    assert site_config["scmIpSecurityRestrictions"] == "scmSiteRules"
    main_rules = bt.variable(FUNCTION_APP, "mainSiteRules")["operator"]["operands"]
    assert _condition_operands(main_rules["condition"]) == ["allowEventGridPush"]
    (event_grid,) = main_rules["true_value"]
    assert (event_grid["tag"], event_grid["ipAddress"]) == ("ServiceTag", "AzureEventGrid")
    assert main_rules["false_value"] == []
    scm_rules = bt.variable(FUNCTION_APP, "scmSiteRules")["operator"]["operands"]
    assert "deployerIpAddress" in _condition_operands(scm_rules["condition"])
    assert scm_rules["true_value"] == []
    (deployer,) = scm_rules["false_value"]
    assert deployer["ipAddress"] == "${deployerIpAddress}/32" and deployer["action"] == "Allow"
    assert bt.parameter(FUNCTION_APP, "allowEventGridPush")["default"] is False


def test_app_reaches_its_storage_through_private_endpoints():
    call = _module_call("storageEndpoints")
    assert call.path == PRIVATE_ENDPOINT
    assert call.loop["detail"]["array_name"] == "storageEndpointGroups"
    assert bt.variable(bt.MAIN, "storageEndpointGroups") == ["blob", "queue", "table"]
    assert bt.accessor_chain(call.params["targetResourceId"]) == ["storage", "outputs", "resourceId"]
    assert call.params["subnetResourceId"] == "effectivePrivateEndpointSubnetResourceId"
    (zone,) = call.params["privateDnsZoneResourceIds"]
    assert "privatelink.${group}." in zone and zone.startswith("${dnsZonesResourceGroupId}/")
    site = _module_call("functionAppEndpoint")
    assert site.params["groupId"] == "sites" and site.condition == "functionAppPrivateEndpoint"
    assert bt.parameter(bt.MAIN, "functionAppPrivateEndpoint")["default"] is False
    endpoint = _one([r for r in bt.resources(PRIVATE_ENDPOINT) if r.type == "Microsoft.Network/privateEndpoints"],
                    "private endpoint")
    assert endpoint.config["properties"]["subnet"]["id"] == "subnetResourceId"
    assert "storageEndpoints" in bt.parse(bt.MAIN)["modules"]["functionApp"]["config"].get("depends_on", []) or \
        "storageEndpoints" in json.dumps(_module_call("functionApp").config)


# ---------------------------------------------------------------------------------------------------------------
# Delivery health (issue 15): lost events and notifications, and the poison queue, tell someone
# ---------------------------------------------------------------------------------------------------------------

DIAGNOSTICS = MODULES / "monitor" / "event-delivery-diagnostics.bicep"
ALERTS = MODULES / "monitor" / "delivery-alerts.bicep"


def test_both_topics_send_delivery_failures_and_metrics_to_log_analytics():
    calls = {c.symbol: c for c in bt.modules(bt.MAIN) if c.path == DIAGNOSTICS}
    assert set(calls) == {"systemTopicDiagnostics", "notificationTopicDiagnostics"}
    assert calls["systemTopicDiagnostics"].params["topicKind"] == "system"
    assert calls["notificationTopicDiagnostics"].params["topicKind"] == "custom"
    for call in calls.values():
        assert bt.accessor_chain(call.params["workspaceResourceId"]) == ["monitoring", "outputs",
                                                                        "logAnalyticsResourceId"]
    assert bt.function(calls["systemTopicDiagnostics"].config["scope"], "resource_group"), "in the topic's group"
    settings = [r for r in bt.resources(DIAGNOSTICS) if r.type == "Microsoft.Insights/diagnosticSettings"]
    assert {r.config["scope"] for r in settings} == {"systemTopic", "customTopic"}
    logs = {r.config["scope"]: {e["category"] for e in bt.variable(DIAGNOSTICS, r.config["properties"]["logs"])}
            for r in settings}
    assert logs == {"systemTopic": {"DeliveryFailures"}, "customTopic": {"DeliveryFailures", "PublishFailures"}}
    for r in settings:
        assert bt.variable(DIAGNOSTICS, r.config["properties"]["metrics"]) == [{"category": "AllMetrics",
                                                                               "enabled": True}]


def test_alerts_cover_dropped_dead_lettered_failed_deliveries_and_the_poison_queue():
    call = _module_call("deliveryAlerts")
    assert [bt.accessor_chain(q) for q in call.params["poisonQueueNames"]] == [["queueNames", "eventsPoison"],
                                                                               ["queueNames", "poison"]]
    assert bt.variable(bt.MAIN, "queueNames")["poison"] == "harden-requests-poison"
    assert bt.variable(bt.MAIN, "queueNames")["eventsPoison"] == "resource-events-poison"
    assert call.params["alertEmailAddress"] == "alertEmailAddress"
    assert bt.parameter(bt.MAIN, "alertEmailAddress")["default"] == ""
    parameters = json.loads(PARAMETERS.read_text(encoding="utf-8"))["parameters"]
    assert parameters["alertEmailAddress"]["value"] == "${HARDEN_ALERT_EMAIL}"
    metrics = {a["metricName"] for a in bt.variable(ALERTS, "eventGridAlerts")}
    assert metrics == {"DroppedEventCount", "DeadLetteredCount", "DeliveryAttemptFailCount"}
    namespaces = {t["namespace"] for t in bt.variable(ALERTS, "topics")}
    assert namespaces == {"Microsoft.EventGrid/systemTopics", "Microsoft.EventGrid/topics"}
    alerts = _one([r for r in bt.resources(ALERTS) if r.type == "Microsoft.Insights/metricAlerts"], "metric alerts")
    assert alerts.loop["detail"]["array_name"] == "metricAlertRules"
    poison = _one([r for r in bt.resources(ALERTS) if r.type == "Microsoft.Insights/scheduledQueryRules"], "log alert")
    (criterion,) = poison.config["properties"]["criteria"]["allOf"]
    # The WebJobs SDK's QueueProcessor message when it moves a message to the poison queue.
    assert "Moving message to queue" in criterion["query"] and "${string(poisonQueueNames)}" in criterion["query"]
    assert poison.config["properties"]["actions"]["actionGroups"] == "actionGroupIds"
    group = _one([r for r in bt.resources(ALERTS) if r.type == "Microsoft.Insights/actionGroups"], "action group")
    (receiver,) = group.config["properties"]["emailReceivers"]
    assert receiver["emailAddress"] == "alertEmailAddress"


def test_azd_runs_doctor_after_provisioning():
    text = AZURE_YAML.read_text(encoding="utf-8")
    hook = text[text.index("\n  postprovision:"):]
    hook = hook[:hook.index("\n  postdeploy:")]
    assert "run: ./infra/hooks/postprovision.sh" in hook and "run: ./infra/hooks/postprovision.ps1" in hook
    assert hook.count("continueOnError: true") == 2, "doctor reports; it never blocks a provision"
    for hook in ("postprovision.sh", "postprovision.ps1"):
        assert "-m remediators doctor" in (bt.INFRA / "hooks" / hook).read_text(encoding="utf-8")
    result = subprocess.run(["sh", "-n", str(bt.INFRA / "hooks" / "postprovision.sh")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------------------------------------------------------
# Notification channels (issue 17): ACS Email with the identity, webhook URLs in a private vault
# ---------------------------------------------------------------------------------------------------------------

def _channel_resource(kind: str) -> bt.Resource:
    return _one([r for r in bt.resources(CHANNELS) if r.type == kind], kind)


def test_email_goes_through_a_communication_service_linked_to_an_azure_managed_domain():
    domain = _channel_resource("Microsoft.Communication/emailServices/domains")
    assert domain.config["parent"] == _channel_resource("Microsoft.Communication/emailServices").symbol
    assert domain.config["properties"]["domainManagement"] == "AzureManaged"
    assert domain.config["properties"]["userEngagementTracking"] == "Disabled"
    service = _channel_resource("Microsoft.Communication/communicationServices")
    [linked] = service.config["properties"]["linkedDomains"]
    assert bt.accessor_chain(linked) == [domain.symbol, "id"]
    outputs = bt.parse(CHANNELS)["outputs"]
    assert "communicationService.properties.hostName" in json.dumps(outputs["emailEndpoint"]["value"])
    assert "managedDomain.properties.mailFromSenderDomain" in json.dumps(outputs["senderAddress"]["value"])
    settings = _app_settings()
    for name, output in (("HARDEN_NOTIFY_EMAIL_ENDPOINT", "emailEndpoint"), ("HARDEN_NOTIFY_EMAIL_SENDER",
                                                                          "senderAddress")):
        assert bt.accessor_chain(settings[name]["operator"]["operands"]["true_value"]) == \
            ["channels", "outputs", output], name
    call = _module_call("channels")
    assert bt.accessor_chain(call.params["senderPrincipalId"]) == ["identity", "outputs", "principalId"]


def test_the_identity_may_send_email_and_read_the_webhook_secrets_on_those_resources_only():
    roles = bt.variable(CHANNELS, "roles")
    expected = {"Microsoft.Communication/communicationServices": "Communication and Email Service Owner",
                "Microsoft.KeyVault/vaults": "Key Vault Secrets User"}
    assignments = [r for r in bt.resources(CHANNELS) if r.type == "Microsoft.Authorization/roleAssignments"]
    assert len(assignments) == len(expected)
    by_symbol = {r.symbol: r.type for r in bt.resources(CHANNELS)}
    for assignment in assignments:
        props = assignment.config["properties"]
        scope_type = by_symbol[assignment.config["scope"]]
        role_key = bt.accessor_chain(bt.function(props["roleDefinitionId"])["parameters"]["resource_name_1"])[1]
        assert BUILT_IN_ROLES[roles[role_key]] == expected[scope_type], assignment
        assert props["principalId"] == "senderPrincipalId" and props["principalType"] == "ServicePrincipal"


def test_the_webhook_vault_is_rbac_only_private_and_reached_through_its_private_endpoint():
    vault = _channel_resource("Microsoft.KeyVault/vaults").config["properties"]
    assert vault["enableRbacAuthorization"] is True and vault["enablePurgeProtection"] is True
    assert vault["publicNetworkAccess"] == "vaultPublicNetworkAccess"
    assert bt.parameter(CHANNELS, "vaultPublicNetworkAccess")["default"] == "Disabled"
    assert vault["networkAcls"]["defaultAction"] == "Deny" and vault["networkAcls"]["ipRules"] == []
    endpoint = _module_call("channelsVaultEndpoint")
    assert endpoint.path == PRIVATE_ENDPOINT and endpoint.params["groupId"] == "vault"
    assert "privatelink.vaultcore.azure.net" in json.dumps(endpoint.params["privateDnsZoneResourceIds"])
    assert endpoint.params["subnetResourceId"] == "effectivePrivateEndpointSubnetResourceId"
    assert "vaultResourceId" in json.dumps(endpoint.params["targetResourceId"])
