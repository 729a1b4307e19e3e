"""Microsoft.Network rules: VNets, subnets, private endpoints, private DNS.

Sources:
- Subnet PUT is a full replace (omitted serviceEndpoints / NSG / route table / delegations are removed):
  Azure/azure-sdk-for-python#28350, Azure/azure-cli#8204, Azure/azure-powershell#10099.
- Subnets share the VNet's etag and appear both in ``properties.subnets`` and as child resources
  (learn.microsoft.com/rest/api/virtualnetwork/subnets).
- "InUseSubnetCannotBeDeleted" and "SubnetMissingRequiredDelegation" are the Network RP's codes
  (learn.microsoft.com/azure/virtual-network/virtual-network-manage-subnet, troubleshooting guides).
- Private DNS zones only exist in location "global" (ARM's LocationNotAvailableForResourceType), and
  a zone can be linked to a VNet only once, reported through the LRO as
  ``Conflict: Private zone '<zone>' is already linked to the virtual network '<vnet>'.``
  (ansible-collections/azure#813, terraform "polling after CreateOrUpdate: Code=Conflict").
"""

from __future__ import annotations

from . import ids, privatelink
from .errors import ArmError, bad_request, invalid_enum, invalid_reference
from .rules import (
    Embed,
    Rule,
    Write,
    check_enum,
    commit,
    default_props,
    delete_cascade,
    get_in,
    ieq,
    prepare,
    validate,
)
from .store import Record, Store

NET = "Microsoft.Network"

# Actions ARM fills into a delegation (the SDK never sends them: they are read-only).
# From "az network vnet subnet list-available-delegations".
DELEGATION_ACTIONS = {
    "microsoft.web/serverfarms": ["Microsoft.Network/virtualNetworks/subnets/action"],
    "microsoft.containerinstance/containergroups": ["Microsoft.Network/virtualNetworks/subnets/action"],
    "microsoft.app/environments": ["Microsoft.Network/virtualNetworks/subnets/join/action"],
    "microsoft.dbforpostgresql/flexibleservers": ["Microsoft.Network/virtualNetworks/subnets/join/action"],
    "microsoft.sql/managedinstances": [
        "Microsoft.Network/virtualNetworks/subnets/join/action",
        "Microsoft.Network/virtualNetworks/subnets/prepareNetworkPolicies/action",
        "Microsoft.Network/virtualNetworks/subnets/unprepareNetworkPolicies/action",
    ],
}


# -- subnets --------------------------------------------------------------------------

# Regions a service endpoint reaches, as ARM reports them in ``serviceEndpoints[].locations``
# (learn.microsoft.com/azure/virtual-network/virtual-network-service-endpoints-overview, "Limitations"):
# Microsoft.Sql only the VNet's region; Microsoft.Storage the VNet's region and its pair (a real GET shows
# {"service": "Microsoft.Storage", "locations": ["westus", "eastus"]}); other services "*".
# Pairs: learn.microsoft.com/azure/reliability/cross-region-replication-azure (a subset).
REGION_PAIRS = {
    "westeurope": "northeurope", "northeurope": "westeurope", "eastus": "westus", "westus": "eastus",
    "eastus2": "centralus", "centralus": "eastus2", "uksouth": "ukwest", "ukwest": "uksouth",
    "swedencentral": "swedensouth", "germanywestcentral": "germanynorth", "francecentral": "francesouth",
    "southeastasia": "eastasia", "eastasia": "southeastasia", "australiaeast": "australiasoutheast",
}


def _endpoint_locations(service: str, vnet_region: str) -> list[str]:
    kind = service.lower()
    if not vnet_region or kind not in ("microsoft.sql", "microsoft.storage"):
        return ["*"]
    if kind == "microsoft.sql":
        return [vnet_region]
    return [vnet_region, REGION_PAIRS[vnet_region]] if vnet_region in REGION_PAIRS else [vnet_region]


def _normalize_subnet(w: Write) -> None:
    vnet = w.store.get(w.path.parent_id)
    vnet_region = str((vnet.body.get("location") if vnet else None) or "").replace(" ", "").lower()
    for se in w.props.get("serviceEndpoints") or []:
        if isinstance(se, dict):
            se.setdefault("locations", _endpoint_locations(str(se.get("service", "")), vnet_region))
            se["provisioningState"] = "Succeeded"
    for d in w.props.get("delegations") or []:
        if not isinstance(d, dict):
            continue
        dprops = d.setdefault("properties", {})
        service = str(dprops.get("serviceName", ""))
        d.setdefault("name", service.replace("/", ".") or "delegation")
        d["id"] = f"{w.id}/delegations/{d['name']}"
        d["type"] = f"{NET}/virtualNetworks/subnets/delegations"
        dprops["actions"] = list(DELEGATION_ACTIONS.get(service.lower(), ["Microsoft.Network/virtualNetworks/subnets/action"]))
        dprops["provisioningState"] = "Succeeded"


def _validate_subnet_delegations(w: Write) -> ArmError | None:
    """A service association link pins the delegation it was created through."""
    delegated = {str(get_in(d, "properties", "serviceName", default="")).lower() for d in w.props.get("delegations") or []}
    for sal in w.old_props.get("serviceAssociationLinks") or []:
        linked = str(get_in(sal, "properties", "linkedResourceType", default=""))
        if linked and linked.lower() not in delegated:
            return bad_request(
                "SubnetMissingRequiredDelegation",
                f"Subnet {w.id} requires any of the following delegation(s) [{linked}] to reference service "
                f"association link {sal.get('id', '')}.",
            )
    return None


def _validate_storage_endpoints(w: Write) -> ArmError | None:
    """Microsoft.Storage and Microsoft.Storage.Global on one subnet are refused: "Cross-region service
    endpoints and local ones can't coexist on the same subnet" (learn.microsoft.com/azure/storage/common/
    storage-network-security, "Azure Storage cross-region service endpoints"; learn.microsoft.com/azure/storage/
    elastic-san/elastic-san-networking-concepts). The error code and wording are a guess (emulator/README.md)."""
    services = {str(se.get("service", "")).lower() for se in w.props.get("serviceEndpoints") or []
                if isinstance(se, dict)}
    if {"microsoft.storage", "microsoft.storage.global"} <= services:
        return bad_request("InvalidServiceEndpointCombination",
                           f"Subnet {w.id} cannot have both Microsoft.Storage and Microsoft.Storage.Global "
                           "service endpoints.")
    return None


def _subnet_in_use(store: Store, rec: Record) -> ArmError | None:
    users = [p.get("id") for p in rec.props.get("privateEndpoints") or []]
    users += [c.get("id") for c in rec.props.get("ipConfigurations") or []]
    users += [s.get("id") for s in rec.props.get("serviceAssociationLinks") or []]
    users = [u for u in users if u]
    if not users:
        return None
    return bad_request(
        "InUseSubnetCannotBeDeleted",
        f"Subnet {rec.id.rsplit('/', 1)[-1]} is in use by {users[0]} and cannot be deleted. In order to delete the "
        "subnet, delete all the resources within the subnet. See aka.ms/deletesubnet.",
    )


def _share_vnet_etag(store: Store, vnet_id: str, etag: str) -> None:
    """Subnets carry their VNet's etag: any change in the VNet family changes all of them."""
    vnet = store.get(vnet_id)
    if vnet is not None:
        vnet.body["etag"] = etag
    for sub in store.children(vnet_id, "subnets"):
        sub.body["etag"] = etag


def _subnet_after_write(w: Write) -> None:
    _share_vnet_etag(w.store, w.path.parent_id, w.body["etag"])


SUBNET = Rule(
    type=f"{NET}/virtualNetworks/subnets",
    # The Network RP does not reliably enforce If-Match on subnet PUTs (Azure/azure-rest-api-specs#6789;
    # hashicorp/terraform-provider-azurerm#13726 locks client-side for that reason): ignored here unless
    # the emulator's ``enforce_subnet_if_match`` is set.
    if_match_enforced=False,
    lro_put=True,
    lro_delete=True,
    delete_status=202,
    read_only=("privateEndpoints", "ipConfigurations", "serviceAssociationLinks", "resourceNavigationLinks",
               "purpose", "ipConfigurationProfiles"),
    normalize=(_normalize_subnet,),
    defaults=(default_props(privateEndpointNetworkPolicies="Disabled", privateLinkServiceNetworkPolicies="Enabled"),),
    validate=(
        _validate_subnet_delegations,
        _validate_storage_endpoints,
        check_enum("privateEndpointNetworkPolicies", "Enabled", "Disabled", "NetworkSecurityGroupEnabled",
                   "RouteTableEnabled"),
        check_enum("privateLinkServiceNetworkPolicies", "Enabled", "Disabled"),
    ),
    after_write=(_subnet_after_write,),
    validate_delete=(_subnet_in_use,),
)


# -- virtual networks: subnets inline are the same resources as the children ---------------

def _subnet_writes(w: Write) -> list[Write]:
    out = []
    for item in w.props.get("subnets") or []:
        if isinstance(item, dict) and item.get("name"):
            sid = ids.child_id(w.id, "subnets", item["name"])
            path = ids.parse(sid)
            existing = w.store.get(sid)
            assert path is not None
            out.append(prepare(w.store, SUBNET, path, item, existing.body if existing else None, w.method))
    return out


def _validate_vnet(w: Write) -> ArmError | None:
    if not get_in(w.props, "addressSpace", "addressPrefixes"):
        return bad_request("InvalidRequestFormat", "Cannot parse the request: addressSpace.addressPrefixes is required.")
    writes = _subnet_writes(w)
    kept = {ids.key(s.id) for s in writes}
    for old in w.store.children(w.id, "subnets"):
        # Omitting a subnet from a VNet PUT deletes it (the well-known redeploy trap).
        if ids.key(old.id) not in kept:
            err = _subnet_in_use(w.store, old)
            if err:
                return err
    for sw in writes:
        err = validate(SUBNET, sw)
        if err:
            return err
    return None


def _vnet_after_write(w: Write) -> None:
    writes = _subnet_writes(w)
    kept = {ids.key(s.id) for s in writes}
    for old in w.store.children(w.id, "subnets"):
        if ids.key(old.id) not in kept:
            delete_cascade(w.store, old.id)
    for sw in writes:
        commit(SUBNET, sw)
    _share_vnet_etag(w.store, w.id, w.body["etag"])


VNET = Rule(
    type=f"{NET}/virtualNetworks",
    tracked=True,
    lro_put=True,
    lro_delete=True,
    delete_status=202,
    embeds=(Embed("subnets", "subnets", always=True, writable=True),),
    validate=(_validate_vnet,),
    after_write=(_vnet_after_write,),
    validate_delete=(lambda store, rec: next(filter(None, (_subnet_in_use(store, s) for s in store.children(rec.id, "subnets"))), None),),
)


# -- private endpoints ---------------------------------------------------------------------

PRIVATE_ENDPOINT = Rule(
    type=f"{NET}/privateEndpoints",
    tracked=True,
    lro_put=True,
    lro_delete=True,
    delete_status=202,
    read_only=("networkInterfaces", "customDnsConfigs"),
    normalize=(privatelink.normalize_private_endpoint,),
    defaults=(privatelink.private_endpoint_defaults,),
    validate=(privatelink.validate_private_endpoint,),
    after_write=(privatelink.link_private_endpoint,),
    after_delete=(privatelink.unlink_private_endpoint,),
)

ZONE_GROUP = Rule(
    type=f"{NET}/privateEndpoints/privateDnsZoneGroups",
    lro_put=True,
    lro_delete=True,
    delete_status=202,
    defaults=(privatelink.zone_group_defaults,),
    validate=(privatelink.validate_zone_group,),
    after_write=(privatelink.zone_group_after_write,),
    after_delete=(privatelink.zone_group_after_delete,),
)


# -- private DNS ---------------------------------------------------------------------------

def _global_only(w: Write) -> ArmError | None:
    loc = w.body.get("location")
    if loc is None or ieq(loc, "global"):
        return None
    return bad_request(
        "LocationNotAvailableForResourceType",
        f"The provided location '{loc}' is not available for resource type '{w.path.type}'. "
        "List of available regions for the resource type is 'global'.",
    )


def _zone_counts(store: Store, rec: Record, body: dict) -> None:
    links = store.children(rec.id, "virtualNetworkLinks")
    props = body.setdefault("properties", {})
    props.update(
        maxNumberOfRecordSets=25000,
        numberOfRecordSets=1 + sum(len(store.children(rec.id, t)) for t in ("A", "AAAA", "CNAME", "MX", "PTR", "SRV", "TXT")),
        maxNumberOfVirtualNetworkLinks=1000,
        numberOfVirtualNetworkLinks=len(links),
        maxNumberOfVirtualNetworkLinksWithRegistration=100,
        numberOfVirtualNetworkLinksWithRegistration=sum(1 for link in links if link.props.get("registrationEnabled")),
    )


PRIVATE_DNS_ZONE = Rule(
    type=f"{NET}/privateDnsZones",
    tracked=True,
    lro_put=True,
    lro_patch=True,
    lro_delete=True,
    delete_status=202,
    read_only=("maxNumberOfRecordSets", "numberOfRecordSets", "maxNumberOfVirtualNetworkLinks",
               "numberOfVirtualNetworkLinks", "maxNumberOfVirtualNetworkLinksWithRegistration",
               "numberOfVirtualNetworkLinksWithRegistration", "internalId"),
    validate=(_global_only,),
    renderers=(_zone_counts,),
)


# ResolutionPolicy, Private DNS API 2024-06-01 (azure-rest-api-specs privatedns; learn.microsoft.com/azure/dns/
# private-dns-fallback): "Default" or "NxDomainRedirect" (fall back to public resolution on NXDOMAIN).
_RESOLUTION_POLICIES = ("Default", "NxDomainRedirect")


def _validate_vnet_link(w: Write) -> ArmError | None:
    policy = w.props.get("resolutionPolicy")
    if policy is not None and not any(ieq(policy, p) for p in _RESOLUTION_POLICIES):
        return invalid_enum("resolutionPolicy", policy, _RESOLUTION_POLICIES)
    vnet_id = get_in(w.props, "virtualNetwork", "id")
    if not isinstance(vnet_id, str) or w.store.get(vnet_id) is None:
        return invalid_reference(str(vnet_id), w.id)
    zone_id = w.path.parent_id
    zone_name = zone_id.rsplit("/", 1)[-1]
    for link in w.store.children(zone_id, "virtualNetworkLinks"):
        if not ids.same_id(link.id, w.id) and ids.same_id(get_in(link.props, "virtualNetwork", "id"), vnet_id):
            return ArmError(409, "Conflict", f"Private zone '{zone_name}' is already linked to the virtual network '{vnet_id}'.")
    # One VNet, one zone per name: a link to a same-named zone elsewhere (another resource group or
    # subscription) fails through the operation status, code BadRequest, with this wording
    # (Azure/ARO-RP#796, MicrosoftDocs/azure-aks-docs#212; learn.microsoft.com/azure/dns/private-dns-virtual-network-links).
    for other in w.store.by_type(f"{NET}/privateDnsZones/virtualNetworkLinks"):
        other_zone_id = other.id.rsplit("/virtualNetworkLinks/", 1)[0]
        if (not ids.same_id(other_zone_id, zone_id) and ieq(other_zone_id.rsplit("/", 1)[-1], zone_name)
                and ids.same_id(get_in(other.props, "virtualNetwork", "id"), vnet_id)):
            return bad_request("BadRequest", "A virtual network cannot be linked to multiple zones with overlapping "
                               f"namespaces. You tried to link virtual network with '{zone_name}' and "
                               f"'{zone_name}' zones.")
    if w.props.get("registrationEnabled"):
        for other in w.store.by_type(f"{NET}/privateDnsZones/virtualNetworkLinks"):
            if (not ids.same_id(other.id, w.id) and other.props.get("registrationEnabled")
                    and ids.same_id(get_in(other.props, "virtualNetwork", "id"), vnet_id)):
                other_zone = other.id.rsplit("/virtualNetworkLinks/", 1)[0].rsplit("/", 1)[-1]
                return ArmError(409, "Conflict", "A virtual network can only be linked to 1 Private DNS zone(s) with "
                                f"auto-registration enabled; conflicting Private DNS zone is '{other_zone}'.")
    return None


VNET_LINK = Rule(
    type=f"{NET}/privateDnsZones/virtualNetworkLinks",
    lro_put=True,
    lro_patch=True,
    lro_delete=True,
    delete_status=202,
    async_validation=True,  # the Private DNS RP reports conflicts through the operation status
    read_only=("virtualNetworkLinkState",),
    defaults=(default_props(registrationEnabled=False), lambda w: w.props.update(virtualNetworkLinkState="Completed")),
    validate=(_global_only, _validate_vnet_link),
)

RULES = (VNET, SUBNET, PRIVATE_ENDPOINT, ZONE_GROUP, PRIVATE_DNS_ZONE, VNET_LINK)
