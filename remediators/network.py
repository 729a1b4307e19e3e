"""Plans shared by every service on the subnet side: service endpoints.

(Private endpoints and private DNS are in ``private_link.py``.)

A subnet is read, merged and written back whole (azure-facts.md "Subnet PUT is a
full replace"), under a per-VNet lock that spans every instance of the app
(``vnet_lease.py``: the Network RP does not reliably enforce If-Match on
subnets, Azure/azure-rest-api-specs#6789). Each subnet must be able to reach
the resource's region through the endpoint (SQL: its own region; Storage: its
region and the pair through ``Microsoft.Storage``, any other region through
``Microsoft.Storage.Global``, which is added instead unless the subnet already has
``Microsoft.Storage``: the two cannot coexist), else the plan fails before writing; and the change names
its effect on the whole subnet (learn.microsoft.com/azure/virtual-network/virtual-network-service-endpoints-overview,
"Limitations" and "Considerations"; learn.microsoft.com/azure/app-service/overview-private-endpoint,
"Limitations").
"""
from __future__ import annotations

import logging
import threading
from contextlib import nullcontext
from typing import Any, Callable, Iterable, Mapping

from azure.core.exceptions import HttpResponseError

from . import vnet_lease
from .arm import ArmClients
from .model import Change, Phase
from .resource_id import ResourceId
from .settings import Settings

logger = logging.getLogger(__name__)

CREATED_BY_TAG = {"created-by": "paas-hardener"}
_ETAG_ATTEMPTS = 3

# A subnet PUT replaces the subnet; two of ours racing on one VNet would each
# drop the other's endpoint. Serialise them in-process here, and across instances
# with a blob lease per VNet (vnet_lease.py): If-Match alone is not enforced reliably.
# The executor runs a plan's changes on several threads, so the lock for a VNet is made with
# dict.setdefault, one atomic step (a defaultdict's factory call is not).
_vnet_locks: dict[str, threading.Lock] = {}

# Regions a service endpoint reaches (learn.microsoft.com/azure/virtual-network/virtual-network-service-endpoints-overview,
# "Limitations" and "Configuration"): Azure SQL only the VNet's own region; Azure Storage the VNet's
# region and its paired region (``Microsoft.Storage.Global`` reaches every region); other services any
# region. ARM echoes this as the endpoint's ``locations`` (e.g. Storage ["westus", "eastus"]).
_SAME_REGION_ONLY = frozenset({"microsoft.sql"})
_REGION_AND_PAIR = frozenset({"microsoft.storage"})
STORAGE = "Microsoft.Storage"
# Cross-region storage endpoint: "work[s] between virtual networks and storage service instances in any
# region", and "Cross-region service endpoints and local ones can't coexist on the same subnet. To use
# cross-region service endpoints, delete existing Microsoft.Storage endpoints and recreate them as
# Microsoft.Storage.Global" (learn.microsoft.com/azure/storage/common/storage-network-security, "Azure
# Storage cross-region service endpoints"; the same words in learn.microsoft.com/azure/storage/elastic-san/
# elastic-san-networking-concepts, MicrosoftDocs/azure-docs articles/storage/elastic-san). A Storage account's
# VNet rule admits a subnet with either one.
STORAGE_GLOBAL = "Microsoft.Storage.Global"
# Azure region pairs (learn.microsoft.com/azure/reliability/cross-region-replication-azure); a region's
# pair is not always symmetric (West US 3 → East US, Brazil South → South Central US).
REGION_PAIRS = {
    "eastus": "westus", "westus": "eastus", "eastus2": "centralus", "centralus": "eastus2",
    "northcentralus": "southcentralus", "southcentralus": "northcentralus", "westus2": "westcentralus",
    "westcentralus": "westus2", "westus3": "eastus", "canadacentral": "canadaeast", "canadaeast": "canadacentral",
    "brazilsouth": "southcentralus", "northeurope": "westeurope", "westeurope": "northeurope",
    "uksouth": "ukwest", "ukwest": "uksouth", "francecentral": "francesouth", "francesouth": "francecentral",
    "germanywestcentral": "germanynorth", "germanynorth": "germanywestcentral", "norwayeast": "norwaywest",
    "norwaywest": "norwayeast", "switzerlandnorth": "switzerlandwest", "switzerlandwest": "switzerlandnorth",
    "swedencentral": "swedensouth", "swedensouth": "swedencentral", "eastasia": "southeastasia",
    "southeastasia": "eastasia", "japaneast": "japanwest", "japanwest": "japaneast", "koreacentral": "koreasouth",
    "koreasouth": "koreacentral", "australiaeast": "australiasoutheast", "australiasoutheast": "australiaeast",
    "australiacentral": "australiacentral2", "australiacentral2": "australiacentral", "centralindia": "southindia",
    "southindia": "centralindia", "westindia": "southindia", "southafricanorth": "southafricawest",
    "southafricawest": "southafricanorth", "uaenorth": "uaecentral", "uaecentral": "uaenorth",
}


def _region(value: Any) -> str:
    """ARM spells regions both ways ("West Europe", "westeurope")."""
    return str(value or "").replace(" ", "").lower()


def service_endpoint_reach(service: str, endpoints: Iterable[Mapping[str, Any]], vnet_location: str,
                           resource_location: str) -> str | None:
    """Why ``service``'s endpoint on a subnet in ``vnet_location`` cannot reach a resource in
    ``resource_location``, or ``None`` when it can.

    An endpoint already on the subnet is judged by the ``locations`` ARM reports for it; one
    we would add, by the service's documented reach.
    """
    target, home, kind = _region(resource_location), _region(vnet_location), service.lower()
    if not target or kind not in _SAME_REGION_ONLY | _REGION_AND_PAIR:
        return None
    for endpoint in endpoints:
        name = str(endpoint.get("service") or "").lower()
        if kind == "microsoft.storage" and name == "microsoft.storage.global":
            return None  # cross-region storage endpoint: every region
        locations = [_region(loc) for loc in endpoint.get("locations") or ()]
        if name == kind and locations:
            if "*" in locations or target in locations:
                return None
            return f"its {service} endpoint reaches only {', '.join(locations)}"
    reach = {home} if kind in _SAME_REGION_ONLY else {home, REGION_PAIRS.get(home, home)}
    if target in reach:
        return None
    where = "its own region" if kind in _SAME_REGION_ONLY else "its own region and the paired region"
    return f"the VNet is in {home}, and a {service} service endpoint reaches only {where} ({', '.join(sorted(reach))})"


def covers(present: Iterable[Any], service: str) -> bool:
    """Whether a subnet whose endpoints are ``present`` already carries ``service``'s traffic
    (``Microsoft.Storage.Global`` carries ``Microsoft.Storage``'s, to every region)."""
    names = {str(p).lower() for p in present if isinstance(p, str)}
    if service.lower() == STORAGE.lower() and STORAGE_GLOBAL.lower() in names:
        return True
    return service.lower() in names


def subnet_wide_effect(service: str) -> str:
    """What enabling ``service`` on a subnet does to everything else in that subnet."""
    effect = (f"this applies to the whole subnet: its traffic to every {service} resource, not only this one, "
              "now leaves from the subnet's private addresses, so IP firewall rules elsewhere that admitted the "
              "subnet's public addresses stop matching, and open connections to the service are reset "
              "(learn.microsoft.com/azure/virtual-network/virtual-network-service-endpoints-overview)")
    if service.lower() == "microsoft.web":
        effect += ("; App Service apps with a private endpoint can no longer receive traffic from this subnet "
                   "(learn.microsoft.com/azure/app-service/overview-private-endpoint, limitations)")
    return effect


class LockoutRisk(RuntimeError):
    """Going on would cut off access (e.g. a private endpoint awaits manual approval)."""


class NetworkPlanner:
    """Plans the VNet-side changes a hardening needs, reading current state first.

    :param clients_for: ARM clients for a subscription id (subnets and zones may
        live in a hub subscription).
    """

    def __init__(self, clients_for: Callable[[str], ArmClients], settings: Settings) -> None:
        self._clients_for = clients_for
        self._settings = settings

    # -- service endpoints -------------------------------------------------

    def plan_service_endpoints(self, service: str, subnet_ids: Iterable[str], *,
                               location: str | None = None) -> list[Change]:
        """Ensure ``service`` (e.g. ``Microsoft.KeyVault``) is enabled on each subnet.

        :keyword location: The resource's region. When given, every subnet must be able
            to reach a resource there through the service endpoint (see
            :func:`service_endpoint_reach`); otherwise the plan fails before anything is
            written (:class:`LockoutRisk`).
        """
        changes = []
        unreachable = []
        vnet_locations: dict[str, str] = {}
        for subnet_id in subnet_ids:
            sid = ResourceId.parse(subnet_id)
            network = self._clients_for(sid.subscription_id).network
            subnet = network.subnets.get(sid.resource_group, sid.names[0], sid.name)
            endpoints = subnet["properties"].get("serviceEndpoints") or []
            present = [e.get("service") for e in endpoints]
            wanted = service
            if location:
                vnet_key = sid.ancestor(1).key
                if vnet_key not in vnet_locations:
                    vnet_locations[vnet_key] = network.virtual_networks.get(sid.resource_group, sid.names[0])["location"]
                problem = service_endpoint_reach(service, endpoints, vnet_locations[vnet_key], location)
                if problem and service.lower() == STORAGE.lower():
                    # Out of Microsoft.Storage's reach: Microsoft.Storage.Global reaches every region, but
                    # cannot sit beside Microsoft.Storage, and replacing that one is not ours to decide
                    # (everything else on the subnet relies on it; the swap resets their connections).
                    if covers(present, STORAGE):
                        unreachable.append(
                            f"{subnet_id}: {problem}; {STORAGE_GLOBAL} (every region) cannot be added beside its "
                            f"{STORAGE} endpoint (they cannot coexist on one subnet: learn.microsoft.com/azure/"
                            f"storage/common/storage-network-security), and replacing {STORAGE} is for the subnet's "
                            "owner to decide")
                        continue
                    wanted, problem = STORAGE_GLOBAL, None
                if problem:
                    unreachable.append(f"{subnet_id}: {problem}")
                    continue
            enabled = covers(present, wanted)
            if enabled and str(subnet["properties"].get("provisioningState") or "").lower() == "failed":
                # An earlier write's operation ended Failed (e.g. RetryableError / ReferencedResourceNotProvisioned,
                # hashicorp/terraform-provider-azurerm#21293, #30197): the subnet shows the endpoint but is not in a
                # good state. The next pass sends it again, as read, which is what repairs a Failed subnet.
                changes.append(Change(
                    phase=Phase.SUBNET_SERVICE_ENDPOINT, target=subnet_id,
                    summary=f"send the subnet again (its last operation ended Failed; {wanted} kept, nothing else changed)",
                    before={"provisioningState": "Failed"}, after={"provisioningState": "Succeeded"},
                    apply=lambda sid=sid, network=network, wanted=wanted: self._add_service_endpoint(network, sid, wanted)))
                continue
            if enabled:
                continue
            changes.append(Change(
                phase=Phase.SUBNET_SERVICE_ENDPOINT,
                target=subnet_id,
                summary=(f"enable the {wanted} service endpoint on the subnet (all other subnet settings kept); "
                         f"subnet-wide: all its traffic to {wanted} then comes from private addresses, "
                         "so IP firewall rules elsewhere stop matching it (see effect)"),
                before={"serviceEndpoints": present, "subnetTrafficToServiceFrom": "public addresses"},
                after={"serviceEndpoints": [*present, wanted],
                       "subnetTrafficToServiceFrom": "the subnet's private addresses",
                       "effect": subnet_wide_effect(wanted)},
                apply=lambda sid=sid, network=network, wanted=wanted: self._add_service_endpoint(network, sid, wanted),
            ))
        if unreachable:
            raise LockoutRisk(
                f"{service} service endpoints cannot carry traffic from these subnets to a resource in "
                f"{location}, so a VNet rule for them would never match while public access is narrowed: "
                + "; ".join(unreachable)
                + ". Nothing was changed; use harden=private, or list subnets in a region that can reach it "
                  "in HARDEN_SERVICE_ENDPOINT_SUBNET_IDS")
        return changes

    def _add_service_endpoint(self, network: Any, sid: ResourceId, service: str) -> Any:
        vnet = sid.ancestor(1)
        lease = vnet_lease.lease_from_environment()
        # In-process lock first (threads of this instance), then the blob lease (other instances):
        # the Network RP does not reliably enforce If-Match on subnets (Azure/azure-rest-api-specs#6789).
        with _vnet_locks.setdefault(vnet.key, threading.Lock()), \
                (lease.hold(str(vnet)) if lease else nullcontext()) as held:
            for attempt in range(1, _ETAG_ATTEMPTS + 1):
                # Re-read under the lock: the PUT must carry the subnet as it is now.
                subnet = network.subnets.get(sid.resource_group, sid.names[0], sid.name)
                endpoints = subnet["properties"].setdefault("serviceEndpoints", [])
                present = [e.get("service") for e in endpoints]
                if service.lower() == STORAGE_GLOBAL.lower() and covers(present, STORAGE) \
                        and not covers(present, STORAGE_GLOBAL):
                    # Someone added Microsoft.Storage since the plan's read: the two cannot coexist.
                    raise LockoutRisk(f"subnet {sid} now has a {STORAGE} service endpoint, beside which "
                                      f"{STORAGE_GLOBAL} cannot be added; nothing was written to it")
                if not covers(present, service):
                    endpoints.append({"service": service})
                etag = subnet.get("etag")
                if held is not None:
                    held.check()  # never write without the lease
                try:
                    # Waiting for the operation inside the lease: the lease is renewed meanwhile.
                    return network.subnets.begin_create_or_update(
                        sid.resource_group, sid.names[0], sid.name, subnet,
                        headers={"If-Match": etag} if etag else None,
                    ).result()
                except HttpResponseError as exc:
                    # 412 where If-Match is enforced: someone else changed the subnet since our GET; merge again.
                    if exc.status_code != 412 or attempt == _ETAG_ATTEMPTS:
                        raise
                    logger.info("Subnet %s changed under us (attempt %d); re-reading", sid, attempt)
        raise AssertionError("unreachable")
