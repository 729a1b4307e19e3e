"""Rules for the seven PaaS services the product hardens.

Shapes follow the azure-rest-api-specs examples (see /work/shared/fixtures/arm-examples) and the
service docs; error codes are the real ones where a real response could be found (cited inline),
otherwise a plausible ``BadRequest`` with a descriptive message (listed in README.md).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import ipaddress
import uuid
from typing import Any

from . import ids
from .errors import ArmError, bad_request
from .privatelink import CONNECTION_EMBED
from .rules import (
    Embed,
    Rule,
    Write,
    check_enum,
    commit,
    created_props,
    default_props,
    get_in,
    ieq,
    merge_patch,
    no_endpoint_message,
    prepare,
    subnet_endpoint_error,
)
from .store import Record, Store

# SecuredByPerimeter: the PublicNetworkAccess enums of azure-mgmt-storage / sql / cosmosdb / servicebus / eventhub.
PUBLIC_ACCESS = ("Enabled", "Disabled", "SecuredByPerimeter")


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def _name(w: Write) -> str:
    return w.path.name.lower()


def _fake_key(seed: str) -> str:
    return base64.b64encode(hashlib.sha512(seed.encode()).digest()).decode()


# -- IP rules (HARDEN_ALLOWED_IP_RANGES; remediators/ip_ranges.py cites the same pages) -------------------

RFC1918 = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
# Cosmos DB's IpAddressOrRange also excludes the shared address space (azure-rest-api-specs cosmos-db).
COSMOS_FORBIDDEN = (*RFC1918, ipaddress.IPv4Network("100.64.0.0/10"))


def _ipv4_network(value: Any) -> ipaddress.IPv4Network | None:
    """An IPv4 address or CIDR range with no host bits set, else ``None``."""
    try:
        network = ipaddress.ip_network(str(value), strict=True)
    except ValueError:
        return None
    return network if isinstance(network, ipaddress.IPv4Network) else None


def _forbidden(network: ipaddress.IPv4Network, ranges: tuple[ipaddress.IPv4Network, ...]) -> ipaddress.IPv4Network | None:
    return next((r for r in ranges if network.overlaps(r)), None)


# -- Key Vault ---------------------------------------------------------------------------

def _kv_normalize(w: Write) -> None:
    # Key Vault echoes subnet ids lower-cased and single IPv4 addresses as /32.
    acls = w.props.get("networkAcls")
    if not isinstance(acls, dict):
        return
    for rule in acls.get("virtualNetworkRules") or []:
        if isinstance(rule, dict) and isinstance(rule.get("id"), str):
            rule["id"] = rule["id"].lower()
    for rule in acls.get("ipRules") or []:
        value = rule.get("value") if isinstance(rule, dict) else None
        if isinstance(value, str) and "/" not in value:
            try:
                if isinstance(ipaddress.ip_address(value), ipaddress.IPv4Address):
                    rule["value"] = value + "/32"
            except ValueError:
                pass


def _kv_vnet_rules(w: Write) -> ArmError | None:
    def error(subnet_id: str, reason: str) -> ArmError:
        if reason == "missing":
            return bad_request("SubnetNotFound", f"Subnet {subnet_id} was not found.")
        # Code and wording as relayed in Azure/avdaccelerator#818.
        return bad_request("SubnetsHaveNoServiceEndpointsConfigured", no_endpoint_message(subnet_id, "Microsoft.KeyVault") + ".")

    for rule in get_in(w.props, "networkAcls", "virtualNetworkRules", default=[]) or []:
        if not rule.get("ignoreMissingVnetServiceEndpoint"):
            err = subnet_endpoint_error(w.store, rule.get("id"), "Microsoft.KeyVault", error)
            if err:
                return err
    return None


def _kv_ip_rules(w: Write) -> ArmError | None:
    """Key Vault takes public IPv4 only ("IP network rules are only allowed for public IP addresses ...
    Only IPv4 addresses are supported", learn.microsoft.com/azure/key-vault/general/network-security).
    Code and wording of the private-range refusal: Azure/azure-powershell#11471."""
    for i, rule in enumerate(get_in(w.props, "networkAcls", "ipRules", default=[]) or []):
        value = rule.get("value") if isinstance(rule, dict) else None
        network = _ipv4_network(value)
        if network is None:
            return bad_request("BadRequest", f"Invalid value found at properties.networkAcls.ipRules[{i}].value: "
                                             f"{value} is not a valid IPv4 address or range")
        forbidden = _forbidden(network, RFC1918)
        if forbidden:
            return bad_request("BadRequest", f"Invalid value found at properties.networkAcls.ipRules[{i}].value: "
                                             f"{value} belongs to forbidden range {forbidden[0]}–{forbidden[-1]} "
                                             "(private IP addresses)")
    return None


NETWORK_ACLS = ("properties", "networkAcls")

KEY_VAULT = Rule(
    type="Microsoft.KeyVault/vaults",
    tracked=True,
    lro_put=True,
    read_only=("vaultUri", "hsmPoolResourceId"),
    embeds=(CONNECTION_EMBED,),
    normalize=(_kv_normalize,),
    defaults=(created_props(vaultUri=lambda w: f"https://{_name(w)}.vault.azure.net/"),),
    validate=(
        # SecuredByPerimeter: Key Vault is onboarded to network security perimeters
        # (learn.microsoft.com/azure/private-link/network-security-perimeter-concepts; azure-mgmt-keyvault
        # 14.2.0b1 adds networkSecurityPerimeterConfigurations). Its spec types the property as a plain string.
        check_enum("publicNetworkAccess", *PUBLIC_ACCESS),
        check_enum("defaultAction", "Allow", "Deny", where=NETWORK_ACLS),
        check_enum("bypass", "AzureServices", "None", where=NETWORK_ACLS),
        _kv_vnet_rules,
        _kv_ip_rules,
    ),
)


# -- Storage -----------------------------------------------------------------------------

def _storage_endpoints(w: Write) -> dict:
    n = _name(w)
    return {g: f"https://{n}.{g}.core.windows.net/" for g in ("blob", "queue", "table", "file", "web", "dfs")}


def _storage_normalize(w: Write) -> None:
    acls = w.props.get("networkAcls")
    if not isinstance(acls, dict):
        return
    for rule in acls.get("virtualNetworkRules") or []:
        if isinstance(rule, dict):
            rule.setdefault("action", "Allow")
            rule["state"] = "Succeeded"
    for rule in acls.get("ipRules") or []:
        if isinstance(rule, dict):
            rule.setdefault("action", "Allow")
    for key in ("ipRules", "virtualNetworkRules"):
        acls.setdefault(key, [])
    acls.setdefault("bypass", "AzureServices")


def _storage_vnet_rules(w: Write) -> ArmError | None:
    def error(subnet_id: str, reason: str) -> ArmError:
        # Real code and wording: hashicorp/terraform-provider-azurerm#16547, Azure/azure-cli#32434.
        detail = (f"SubnetsNotFound:Subnet {subnet_id} was not found" if reason == "missing"
                  else "SubnetsHaveNoServiceEndpointsConfigured:" + no_endpoint_message(subnet_id, "Microsoft.Storage"))
        return bad_request("NetworkAclsValidationFailure", f"Validation of network acls failure: {detail}.")

    for rule in get_in(w.props, "networkAcls", "virtualNetworkRules", default=[]) or []:
        # A cross-region endpoint (Microsoft.Storage.Global) admits the subnet too, whatever its region
        # (learn.microsoft.com/azure/storage/common/storage-network-security, cross-region service endpoints).
        err = subnet_endpoint_error(w.store, rule.get("id"), "Microsoft.Storage", error) and \
            subnet_endpoint_error(w.store, rule.get("id"), "Microsoft.Storage.Global", error)
        if err:
            return err
    return None


def _storage_ip_rules(w: Write) -> ArmError | None:
    """Storage: public IPv4 only, no RFC 1918 ranges, and no /31 or /32 prefix ("Configure these ranges by
    using individual IP address rules"; learn.microsoft.com/azure/storage/common/storage-network-security,
    "Restrictions for IP network rules"). The refusal's code and wording: Azure/azure-cli#7417 (10.0.0.0/8),
    #13828 (192.168.1.0/24), hashicorp/terraform-provider-azurerm#5444 (a /32)."""
    for rule in get_in(w.props, "networkAcls", "ipRules", default=[]) or []:
        value = str(rule.get("value") if isinstance(rule, dict) else rule)
        network = _ipv4_network(value)
        if network is None or _forbidden(network, RFC1918) or ("/" in value and network.prefixlen > 30):
            return bad_request("InvalidValuesForRequestParameters",
                               "Values for request parameters are invalid: networkAcls.ipRule[*].value. "
                               "For more information, see - https://aka.ms/storagenetworkruleset")
    return None


def _storage_list_keys(store: Store, rec: Record, body: Any) -> tuple[int, Any]:
    keys = [{"keyName": k, "value": _fake_key(rec.id.lower() + k), "permissions": "FULL"} for k in ("key1", "key2")]
    return 200, {"keys": keys}


STORAGE = Rule(
    type="Microsoft.Storage/storageAccounts",
    tracked=True,
    lro_put=True,
    put_status=(202, 200),  # the generated client accepts only 200/202 here
    async_validation=True,  # create-time ACL failures arrive through the operation status (terraform#16547)
    read_only=("primaryEndpoints", "creationTime", "primaryLocation", "statusOfPrimary", "secondaryLocation",
               "statusOfSecondary", "keyCreationTime", "geoReplicationStats"),
    embeds=(CONNECTION_EMBED,),
    normalize=(_storage_normalize,),
    defaults=(
        created_props(
            primaryEndpoints=_storage_endpoints,
            creationTime=lambda w: _now(),
            primaryLocation=lambda w: w.body.get("location"),
            statusOfPrimary="available",
            keyCreationTime=lambda w: {"key1": _now(), "key2": _now()},
        ),
        # The account always reports networkAcls; absent publicNetworkAccess means Enabled and stays absent.
        default_props(networkAcls={"bypass": "AzureServices", "defaultAction": "Allow", "ipRules": [], "virtualNetworkRules": []}),
    ),
    validate=(
        check_enum("publicNetworkAccess", *PUBLIC_ACCESS),
        check_enum("defaultAction", "Allow", "Deny", where=NETWORK_ACLS),
        _storage_vnet_rules,
        _storage_ip_rules,
    ),
    actions={"listkeys": _storage_list_keys},
)


# The account's Blob service settings as ARM shows them (Blob Services - Get Service Properties,
# ``.../blobServices/default``): it always exists. ``staticWebsite`` is an optional property of the ARM
# model in current API versions (azure-mgmt-storage 25.x ``BlobServiceProperties.static_website``,
# api-version 2026-09-01; @azure/arm-storage ``BlobServiceProperties.staticWebsite``); earlier versions
# had none (MicrosoftDocs/azure-docs#78511: "not available through ARM templates"). Whether the RP fills
# it for an account that never set it is unverified, so by default it is absent (the stricter case: the
# app must then ask the data plane); a test seeds ``.../blobServices/default`` to show it.
STORAGE_BLOB_SERVICES = Rule(
    type="Microsoft.Storage/storageAccounts/blobServices",
    put_status=(200, 200),
    provisioning_state=False,
    implicit=lambda store, path: {"properties": {"cors": {"corsRules": []},
                                                 "deleteRetentionPolicy": {"enabled": False}}}
    if path.name.lower() == "default" else None,
    list_implicit=("default",),
)


# -- SQL -----------------------------------------------------------------------------------

SQL_SERVER = Rule(
    type="Microsoft.Sql/servers",
    tracked=True,
    lro_put=True,
    put_status=(202, 202),
    lro_patch=True,
    patch_status=202,
    provisioning_state=False,  # SQL reports "state": "Ready" instead (ServerGet.json)
    read_only=("fullyQualifiedDomainName", "state", "workspaceFeature", "externalGovernanceStatus"),
    write_only=("administratorLoginPassword",),
    embeds=(Embed("privateEndpointConnections", "privateEndpointConnections", always=True),),
    defaults=(
        created_props(fullyQualifiedDomainName=lambda w: f"{_name(w)}.database.windows.net", state="Ready"),
        default_props(version="12.0", publicNetworkAccess="Enabled"),
    ),
    validate=(check_enum("publicNetworkAccess", *PUBLIC_ACCESS), check_enum("restrictOutboundNetworkAccess", "Enabled", "Disabled")),
)

def _sql_public_interface_error(store: Store, rule_id: str) -> ArmError | None:
    # With public network access Disabled, SQL refuses to add, edit or remove firewall rules:
    # error 42101 (learn.microsoft.com/azure/azure-sql/database/connectivity-settings); the ARM code
    # DenyPublicEndpointEnabled is quoted from real responses in public repositories.
    server = store.get(ids.parse(rule_id).parent_id)
    if server is None or not ieq(server.props.get("publicNetworkAccess"), "Disabled"):
        return None
    return bad_request("DenyPublicEndpointEnabled",
                       "Unable to create or modify firewall rules when public network interface for the server is "
                       "disabled. To manage server or database level firewall rules, please enable the public "
                       "network interface.")


def _sql_firewall_addresses(w: Write) -> ArmError | None:
    """Server-level firewall rules are IPv4 start and end addresses, start <= end
    (learn.microsoft.com/azure/azure-sql/database/firewall-configure). Error code and wording: a guess (README)."""
    try:
        start = ipaddress.IPv4Address(str(w.props.get("startIpAddress")))
        end = ipaddress.IPv4Address(str(w.props.get("endIpAddress")))
    except ValueError:
        return bad_request("BadRequest", "startIpAddress and endIpAddress must be IPv4 addresses.")
    if start > end:
        return bad_request("BadRequest", "startIpAddress must not be greater than endIpAddress.")
    return None


SQL_FIREWALL_RULE = Rule(
    type="Microsoft.Sql/servers/firewallRules",
    provisioning_state=False,
    validate=(lambda w: _sql_public_interface_error(w.store, w.id), _sql_firewall_addresses),
    validate_delete=(lambda store, rec: _sql_public_interface_error(store, rec.id),),
)


def _sql_vnet_rule_validate(w: Write) -> ArmError | None:
    if w.props.get("ignoreMissingVnetServiceEndpoint"):
        return None

    def error(subnet_id: str, reason: str) -> ArmError:
        # Code seen in real failures (terraform-provider-azurerm acceptance tests expect it).
        what = "does not exist" if reason == "missing" else "does not have the Microsoft.Sql service endpoint enabled"
        return bad_request("VirtualNetworkRuleBadRequest", f"The virtual network rule '{w.path.name}' is invalid: subnet '{subnet_id}' {what}.")

    subnet_id = w.props.get("virtualNetworkSubnetId")
    err = subnet_endpoint_error(w.store, subnet_id, "Microsoft.Sql", error)
    return err or _sql_region_error(w, str(subnet_id))


def _sql_region_error(w: Write, subnet_id: str) -> ArmError | None:
    """SQL service endpoints apply only within the VNet's region (virtual-network-service-endpoints-overview,
    "Limitations"); the Network RP refuses the ACL with this code and wording (as relayed for the
    Microsoft.Sql endpoint in Azure/azure-service-operator#1006)."""
    server = w.store.get(w.path.parent_id)
    vnet = w.store.get(subnet_id.rsplit("/subnets/", 1)[0])
    if server is None or vnet is None:
        return None
    server_region = str(server.body.get("location") or "").replace(" ", "").lower()
    vnet_region = str(vnet.body.get("location") or "").replace(" ", "").lower()
    if not server_region or not vnet_region or server_region == vnet_region:
        return None
    return bad_request(
        "VirtualNetworkRuleBadRequest",
        f"Network resource provider returned following error: 'Microsoft.Sql resources in {server_region} cannot "
        f"be ACL-ed to virtual network {vnet.id} in {vnet_region}. Only resources in {vnet_region} can be ACL-ed "
        "to this virtual network.'.")


SQL_VNET_RULE = Rule(
    type="Microsoft.Sql/servers/virtualNetworkRules",
    lro_put=True,
    put_status=(202, 202),
    async_validation=True,
    provisioning_state=False,
    read_only=("state",),
    defaults=(default_props(ignoreMissingVnetServiceEndpoint=False), lambda w: w.props.update(state="Ready")),
    validate=(_sql_vnet_rule_validate,),
)


# -- Cosmos DB -------------------------------------------------------------------------------

def _cosmos_defaults(w: Write) -> None:
    name = _name(w)
    locations = [loc for loc in w.props.get("locations") or [] if isinstance(loc, dict)] or [
        {"locationName": w.body.get("location") or "West US", "failoverPriority": 0}]
    for i, loc in enumerate(locations):
        region = str(loc.get("locationName", "")).replace(" ", "").lower()
        loc.setdefault("failoverPriority", i)
        loc.update(id=f"{name}-{region}", documentEndpoint=f"https://{name}-{region}.documents.azure.com:443/",
                   provisioningState="Succeeded")
    w.props["locations"] = locations
    ordered = sorted(locations, key=lambda loc: loc.get("failoverPriority", 0))
    w.props["writeLocations"] = [dict(ordered[0])]
    w.props["readLocations"] = [dict(loc) for loc in ordered]
    w.props["failoverPolicies"] = [
        {"id": loc["id"], "locationName": loc.get("locationName"), "failoverPriority": loc.get("failoverPriority")}
        for loc in ordered
    ]
    w.props.setdefault("documentEndpoint", f"https://{name}.documents.azure.com:443/")
    w.props.setdefault("instanceId", str(uuid.uuid5(uuid.NAMESPACE_URL, ids.key(w.id))))
    for key, value in (("ipRules", []), ("virtualNetworkRules", []), ("isVirtualNetworkFilterEnabled", False),
                       ("databaseAccountOfferType", "Standard")):
        if w.props.get(key) is None:
            w.props[key] = value


def _cosmos_vnet_rules(w: Write) -> ArmError | None:
    def error(subnet_id: str, reason: str) -> ArmError:
        what = "was not found" if reason == "missing" else "does not have the Microsoft.AzureCosmosDB service endpoint enabled"
        return bad_request("BadRequest", f"Subnet '{subnet_id}' {what}. Enable the service endpoint on the subnet, or set "
                                         "ignoreMissingVNetServiceEndpoint on the rule.")

    for rule in w.props.get("virtualNetworkRules") or []:
        if not rule.get("ignoreMissingVNetServiceEndpoint"):
            err = subnet_endpoint_error(w.store, rule.get("id"), "Microsoft.AzureCosmosDB", error)
            if err:
                return err
    return None


def _cosmos_ip_rules(w: Write) -> ArmError | None:
    """IpAddressOrRange: "A single IPv4 address or a single IPv4 address range in CIDR format. Provided IPs must
    be well-formatted and cannot be contained in one of the following ranges: 10.0.0.0/8, 100.64.0.0/10,
    172.16.0.0/12, 192.168.0.0/16" (azure-rest-api-specs cosmos-db Microsoft.DocumentDB). 0.0.0.0 is the
    Azure-datacenters switch (how-to-configure-firewall). Error code and wording: a guess (README)."""
    for rule in w.props.get("ipRules") or []:
        value = rule.get("ipAddressOrRange") if isinstance(rule, dict) else None
        network = _ipv4_network(value)
        if network is not None and str(network) == "0.0.0.0/32":
            continue
        if network is None or _forbidden(network, COSMOS_FORBIDDEN):
            return bad_request("BadRequest", f"Invalid IP range '{value}' in ipRules: give a well-formatted public "
                                             "IPv4 address or CIDR range outside 10.0.0.0/8, 100.64.0.0/10, "
                                             "172.16.0.0/12 and 192.168.0.0/16.")
    return None


COSMOS = Rule(
    type="Microsoft.DocumentDB/databaseAccounts",
    tracked=True,
    lro_put=True,
    put_status=(200, 200),  # Cosmos answers 200 + Azure-AsyncOperation (the client accepts only 200)
    lro_patch=True,
    lro_delete=True,
    delete_status=202,
    read_only=("documentEndpoint", "writeLocations", "readLocations", "failoverPolicies", "instanceId", "keysMetadata"),
    # A write while an update of the account runs: 412 PreconditionFailed "There is another user operation in
    # progress which requires an exclusive lock on [<account>]. Please retry after sometime." (real responses in
    # hashicorp/terraform-provider-azurerm#15842 and #17233). Visible once the emulator's timing is on.
    exclusive_while_updating=True,
    embeds=(CONNECTION_EMBED,),
    defaults=(_cosmos_defaults,),
    validate=(check_enum("publicNetworkAccess", *PUBLIC_ACCESS), _cosmos_vnet_rules, _cosmos_ip_rules),
)


# -- Service Bus / Event Hubs ------------------------------------------------------------------

def _messaging_namespace(ns: str, host: str) -> Rule:
    def defaults(w: Write) -> None:
        sku = w.body.get("sku")
        if not isinstance(sku, dict) or not sku.get("name"):
            sku = w.body["sku"] = {"name": "Standard"}
        sku.setdefault("tier", sku["name"])
        w.props.setdefault("serviceBusEndpoint", f"https://{_name(w)}.{host}:443/")
        w.props.setdefault("metricId", f"{w.path.subscription}:{_name(w)}")
        w.props.setdefault("createdAt", _now())
        w.props.update(updatedAt=_now(), status="Active")
        if w.props.get("publicNetworkAccess") is None:
            w.props["publicNetworkAccess"] = "Enabled"

    return Rule(
        type=f"{ns}/namespaces",
        tracked=True,
        lro_put=True,
        read_only=("serviceBusEndpoint", "metricId", "createdAt", "updatedAt", "status"),
        embeds=(CONNECTION_EMBED,),
        defaults=(defaults,),
        validate=(check_enum("publicNetworkAccess", *PUBLIC_ACCESS),
                  check_enum("name", "Basic", "Standard", "Premium", where=("sku",))),
    )


def _rule_set_defaults(w: Write) -> None:
    for key, value in (("defaultAction", "Allow"), ("publicNetworkAccess", "Enabled"), ("virtualNetworkRules", []),
                       ("ipRules", []), ("trustedServiceAccessEnabled", False)):
        if w.props.get(key) is None:
            w.props[key] = value
    for rule in w.props["ipRules"]:
        if isinstance(rule, dict):
            rule.setdefault("action", "Allow")


def _network_rule_set(ns: str, endpoint: str, tier_problem) -> Rule:
    def validate_rules(w: Write) -> ArmError | None:
        if w.path.name.lower() != "default":
            return bad_request("BadRequest", "The only supported network rule set name is 'default'.")
        parent = w.store.get(w.path.parent_id)
        sku = get_in(parent.body if parent else {}, "sku", "tier") or get_in(parent.body if parent else {}, "sku", "name") or ""
        problem = tier_problem(str(sku), w.props)
        if problem:
            return bad_request("BadRequest", problem)

        def error(subnet_id: str, reason: str) -> ArmError:
            what = "was not found" if reason == "missing" else f"does not have the {endpoint} service endpoint enabled"
            return bad_request("BadRequest", f"Subnet '{subnet_id}' {what}. Set ignoreMissingVnetServiceEndpoint to create the rule anyway.")

        for rule in w.props.get("virtualNetworkRules") or []:
            if not rule.get("ignoreMissingVnetServiceEndpoint"):
                err = subnet_endpoint_error(w.store, get_in(rule, "subnet", "id"), endpoint, error)
                if err:
                    return err
        # "IPv4 addresses or IPv4 address ranges (in CIDR ... notation)" (service-bus-ip-filtering,
        # event-hubs-ip-filtering). Error code and wording: a guess (README).
        for rule in w.props.get("ipRules") or []:
            mask = rule.get("ipMask") if isinstance(rule, dict) else None
            if _ipv4_network(mask) is None:
                return bad_request("BadRequest", f"The IP mask '{mask}' is not a valid IPv4 address or CIDR range.")
        return None

    return Rule(
        type=f"{ns}/namespaces/networkRuleSets",
        put_status=(200, 200),
        provisioning_state=False,
        implicit=lambda store, path: {"properties": {"defaultAction": "Allow", "publicNetworkAccess": "Enabled",
                                                     "virtualNetworkRules": [], "ipRules": [],
                                                     "trustedServiceAccessEnabled": False}}
        if path.name.lower() == "default" else None,
        list_implicit=("default",),
        defaults=(_rule_set_defaults,),
        validate=(
            check_enum("defaultAction", "Allow", "Deny"),
            check_enum("publicNetworkAccess", *PUBLIC_ACCESS),
            validate_rules,
        ),
    )


def _sb_tier_problem(tier: str, props: dict) -> str | None:
    # learn.microsoft.com/azure/service-bus-messaging/service-bus-service-endpoints: VNets are Premium-only;
    # IP firewall rules work on Standard too (service-bus-ip-filtering "Important points").
    if ieq(tier, "Premium"):
        return None
    if props.get("virtualNetworkRules"):
        return "Virtual network rules are supported only for Premium tier Service Bus namespaces."
    if ieq(tier, "Basic") and props.get("ipRules"):
        return "IP firewall rules are not supported for Basic tier Service Bus namespaces."
    return None


def _eh_tier_problem(tier: str, props: dict) -> str | None:
    # learn.microsoft.com/azure/event-hubs/network-security: not supported in the Basic tier.
    if ieq(tier, "Basic") and (props.get("virtualNetworkRules") or props.get("ipRules")):
        return "Network rules are not supported for Basic tier Event Hubs namespaces."
    return None


SERVICE_BUS = _messaging_namespace("Microsoft.ServiceBus", "servicebus.windows.net")
EVENT_HUB = _messaging_namespace("Microsoft.EventHub", "servicebus.windows.net")
SB_RULE_SET = _network_rule_set("Microsoft.ServiceBus", "Microsoft.ServiceBus", _sb_tier_problem)
EH_RULE_SET = _network_rule_set("Microsoft.EventHub", "Microsoft.EventHub", _eh_tier_problem)


# -- App Service ------------------------------------------------------------------------------

MAX_PRIORITY = 2147483647
RESTRICTION_LISTS = (("ipSecurityRestrictions", "ipSecurityRestrictionsDefaultAction"),
                     ("scmIpSecurityRestrictions", "scmIpSecurityRestrictionsDefaultAction"))


def _is_implicit_restriction(rule: Any) -> bool:
    return isinstance(rule, dict) and rule.get("priority") == MAX_PRIORITY and rule.get("name") in ("Allow all", "Deny all")


def _implicit_restriction(action: str) -> dict:
    verb = "Deny" if ieq(action, "Deny") else "Allow"
    return {"ipAddress": "Any", "action": verb, "priority": MAX_PRIORITY, "name": f"{verb} all",
            "description": f"{verb} all access"}


def _config_normalize(w: Write) -> None:
    # Clients that GET, edit and PUT back echo the implicit last rule: it is not stored.
    for prop, _ in RESTRICTION_LISTS:
        if isinstance(w.props.get(prop), list):
            w.props[prop] = [r for r in w.props[prop] if not _is_implicit_restriction(r)]


def _config_render(store: Store, rec: Record, body: dict) -> None:
    if rec.id.rsplit("/", 1)[-1].lower() != "web":
        return
    props = body.setdefault("properties", {})
    for prop, default_action in RESTRICTION_LISTS:
        props[prop] = list(props.get(prop) or []) + [_implicit_restriction(props.get(default_action) or "Allow")]


def _config_validate(w: Write) -> ArmError | None:
    for prop, default_action in RESTRICTION_LISTS:
        value = w.props.get(default_action)
        if value is not None and not (ieq(value, "Allow") or ieq(value, "Deny")):
            return bad_request("BadRequest", f"'{value}' is not a valid value for {default_action}; use Allow or Deny.")
        for rule in w.props.get(prop) or []:
            if not isinstance(rule, dict):
                continue
            if rule.get("action") is not None and not (ieq(rule["action"], "Allow") or ieq(rule["action"], "Deny")):
                return bad_request("BadRequest", f"Invalid action '{rule['action']}' in {prop}.")
            address = rule.get("ipAddress")
            if address and not subnet_id_of(rule) and not ieq(rule.get("tag"), "ServiceTag") \
                    and not ieq(address, "Any") and _ip_network_any(address) is None:
                # ipAddress: "pure ipv4 address (required SubnetMask property) or CIDR notation such as ipv4/mask"
                # (SiteConfig.tsp IpSecurityRestriction); IPv6 CIDR is taken too (app-service-ip-restrictions).
                # Error code and wording: a guess (README).
                return bad_request("BadRequest", f"'{address}' is not a valid IP address or CIDR range in {prop}.")
            subnet_id = rule.get("vnetSubnetResourceId")
            if subnet_id:
                def error(sid: str, reason: str) -> ArmError:
                    what = "was not found" if reason == "missing" else "does not have the Microsoft.Web service endpoint enabled"
                    return bad_request("BadRequest", f"Subnet '{sid}' {what}.")

                err = subnet_endpoint_error(w.store, subnet_id, "Microsoft.Web", error)
                if err:
                    return err
    return None


def subnet_id_of(rule: dict) -> Any:
    return rule.get("vnetSubnetResourceId")


def _ip_network_any(value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(str(value), strict=True)
    except ValueError:
        return None


def _default_site_config(store: Store, path: ids.ArmPath) -> dict | None:
    if path.name.lower() != "web":
        return None
    site = store.get(path.parent_id)
    return {
        "location": site.body.get("location") if site else None,
        "properties": {
            "numberOfWorkers": 1, "netFrameworkVersion": "v4.0", "alwaysOn": False, "http20Enabled": True,
            "minTlsVersion": "1.2", "ftpsState": "FtpsOnly", "vnetRouteAllEnabled": False,
            "ipSecurityRestrictions": [], "scmIpSecurityRestrictions": [], "scmIpSecurityRestrictionsUseMain": False,
            "ipSecurityRestrictionsDefaultAction": "Allow", "scmIpSecurityRestrictionsDefaultAction": "Allow",
        },
    }


def _web_only(hook):
    """sites/config holds several singletons (web, appsettings, ...): the access rules are config/web's."""
    return lambda w: hook(w) if w.path.name.lower() == "web" else None


def _list_settings(store: Any, rec: Any, body: Any) -> tuple[int, Any]:
    """POST .../config/appsettings/list (Web Apps - List Application Settings, azure-rest-api-specs
    specification/web/resource-manager/Microsoft.Web/stable/2024-04-01/WebApps.json): the StringDictionary
    as stored, values in clear (the caller needs config/list/action); `paas-hardener doctor` reads it."""
    return 200, store.render(rec.id)


SITE_CONFIG = Rule(
    type="Microsoft.Web/sites/config",
    put_status=(200, 200),
    provisioning_state=False,
    implicit=_default_site_config,
    list_implicit=("web",),
    normalize=(_web_only(_config_normalize),),
    defaults=(_web_only(default_props(ipSecurityRestrictions=[], scmIpSecurityRestrictions=[],
                                      ipSecurityRestrictionsDefaultAction="Allow",
                                      scmIpSecurityRestrictionsDefaultAction="Allow")),),
    validate=(_web_only(_config_validate),),
    renderers=(_config_render,),
    actions={"list": _list_settings},
)


def _config_rule_of(w: Write) -> Rule:
    return SLOT_CONFIG if w.path.type.lower() == "microsoft.web/sites/slots" else SITE_CONFIG


def _site_config_write(w: Write) -> Write:
    cid = ids.child_id(w.id, "config", "web")
    path = ids.parse(cid)
    assert path is not None
    current = w.store.render(cid) or {"properties": {}}
    merged = merge_patch(current, {"properties": w.props["siteConfig"]})
    existing = w.store.get(cid)
    return prepare(w.store, _config_rule_of(w), path, merged, existing.body if existing else None, w.method)


def _validate_site_config(w: Write) -> ArmError | None:
    """A site PUT/PATCH may carry siteConfig: it lands in config/web, so validate it as such."""
    if not isinstance(w.props.get("siteConfig"), dict):
        return None
    return _config_validate(_site_config_write(w))


def _site_after_write(w: Write) -> None:
    if isinstance(w.props.get("siteConfig"), dict):
        commit(_config_rule_of(w), _site_config_write(w))


def _host(w: Write) -> str:
    """A site's host name label; a slot's is ``<site>-<slot>`` ("The slot's URL has the format
    http://sitename-slotname.azurewebsites.net", learn.microsoft.com/azure/app-service/deploy-staging-slots)."""
    return "-".join(n.lower() for n in w.path.names)


SITE = Rule(
    type="Microsoft.Web/sites",
    tracked=True,
    lro_put=True,
    put_status=(202, 202),  # the generated client accepts 200/202
    provisioning_state=False,
    read_only=("defaultHostName", "state", "hostNames", "enabledHostNames", "usageState", "availabilityState",
               "lastModifiedTimeUtc", "outboundIpAddresses", "possibleOutboundIpAddresses", "repositorySiteName",
               "resourceGroup", "customDomainVerificationId"),
    write_only=("siteConfig",),  # stored in config/web instead
    defaults=(
        created_props(
            defaultHostName=lambda w: f"{_host(w)}.azurewebsites.net",
            hostNames=lambda w: [f"{_host(w)}.azurewebsites.net"],
            enabledHostNames=lambda w: [f"{_host(w)}.azurewebsites.net", f"{_host(w)}.scm.azurewebsites.net"],
            state="Running", usageState="Normal", availabilityState="Normal",
            resourceGroup=lambda w: w.path.resource_group,
        ),
        default_props(enabled=True),
    ),
    validate=(check_enum("publicNetworkAccess", "Enabled", "Disabled"), _validate_site_config),
    after_write=(_site_after_write,),
    actions={"restart": lambda store, rec, body: (200, None)},
)

# Deployment slots: a tracked resource of their own under the site, with the site's shape (azure-rest-api-specs
# web WebApps.json: WebApps_GetSlot / WebApps_CreateOrUpdateSlot / WebApps_UpdateSlot take and return ``Site``;
# ``publicNetworkAccess`` is in the shared SiteProperties) and their own ``config/web``
# (WebApps_GetConfigurationSlot / WebApps_UpdateConfigurationSlot: ``SiteConfigResource``, the same access
# restriction lists). Their private endpoints target the site (group sites-<slot>: emulator/privatelink.py).
SLOT = dataclasses.replace(SITE, type="Microsoft.Web/sites/slots")
SLOT_CONFIG = dataclasses.replace(SITE_CONFIG, type="Microsoft.Web/sites/slots/config")

RULES = (KEY_VAULT, STORAGE, STORAGE_BLOB_SERVICES, SQL_SERVER, SQL_FIREWALL_RULE, SQL_VNET_RULE, COSMOS, SERVICE_BUS, EVENT_HUB,
         SB_RULE_SET, EH_RULE_SET, SITE_CONFIG, SITE, SLOT_CONFIG, SLOT)
