"""Which subnet serves a resource when the estate has one spoke network per subscription and region.

Private Link works across regions, but a landing zone puts each application's private endpoints
in its own spoke VNet, in the application's region, so that traffic and failure domains stay local
(learn.microsoft.com/azure/cloud-adoption-framework/ready/azure-best-practices/private-link-and-dns-integration-at-scale).
Service endpoints are regional: a subnet's service endpoint reaches the service in the subnet's
region (Storage: and its paired region) only
(learn.microsoft.com/azure/virtual-network/virtual-network-service-endpoints-overview).

Rule, for each resource, when several subnets are configured: the configured subnets in the resource's subscription *and* region;
else those in the same region (a hub or a shared spoke); else none, and the caller fails with a
message that names the region. One configured subnet serves every resource, as the single-subnet
settings always did. A subnet's region is its VNet's ``location``, read once per VNet
(a VNet cannot move regions) and cached for the life of the process.
"""
from __future__ import annotations

import logging
import threading
from typing import Callable, Iterable, Sequence

from .resource_id import ResourceId
from .settings import SettingsError

logger = logging.getLogger(__name__)


class NoSubnetForRegion(SettingsError):
    """No configured subnet can serve a resource in this region; the message names it and the setting."""


def _region(name: str) -> str:
    return name.replace(" ", "").lower()


class SubnetPlacement:
    """Chooses subnets for a resource from a configured list.

    :param vnet_location: Returns a VNet's location for its id (one ARM GET; cached here).
    """

    def __init__(self, vnet_location: Callable[[ResourceId], str]) -> None:
        self._vnet_location = vnet_location
        self._locations: dict[str, str] = {}
        self._lock = threading.Lock()

    def location_of(self, subnet_id: str) -> str:
        vnet = ResourceId.parse(subnet_id).ancestor(1)
        with self._lock:
            cached = self._locations.get(vnet.key)
        if cached is None:
            cached = _region(self._vnet_location(vnet))
            with self._lock:
                self._locations[vnet.key] = cached
        return cached

    def select(self, subnet_ids: Sequence[str], *, subscription_id: str, location: str) -> list[str]:
        """All configured subnets in the resource's subscription and region; else all in its region; else []."""
        region = _region(location)
        in_region = [s for s in subnet_ids if self.location_of(s) == region]
        same_sub = [s for s in in_region if ResourceId.parse(s).subscription_id == subscription_id.lower()]
        return same_sub or in_region

    def private_endpoint_subnet(self, subnet_ids: Sequence[str], *, subscription_id: str, location: str,
                                setting: str = "HARDEN_PRIVATE_ENDPOINT_SUBNET_IDS") -> str:
        """The one subnet for a resource's private endpoints.

        A single configured subnet is used for every resource, whatever its region, as before
        (``HARDEN_PRIVATE_ENDPOINT_SUBNET_ID``): Private Link connects across regions.
        """
        if len(subnet_ids) == 1:
            return subnet_ids[0]
        chosen = self.select(subnet_ids, subscription_id=subscription_id, location=location)
        if not chosen:
            raise NoSubnetForRegion(f"{setting} has no subnet in region {_region(location)!r} "
                                    f"(the resource's region); add one there")
        return chosen[0]

    def service_endpoint_subnets(self, subnet_ids: Sequence[str], *, subscription_id: str, location: str,
                                 setting: str = "HARDEN_SERVICE_ENDPOINT_SUBNET_IDS") -> list[str]:
        """The subnets to allow in: every configured one, as ``HARDEN_SERVICE_ENDPOINT_SUBNET_IDS`` says.

        Reach is the service's, not the setting's (learn.microsoft.com/azure/virtual-network/
        virtual-network-service-endpoints-overview, "Limitations"): only Azure SQL is bound to the
        VNet's region, Storage to the region and its pair (or any region with ``Microsoft.Storage.Global``),
        and the other services to none. ``network.service_endpoint_reach`` checks it per subnet and fails
        the plan before any write when a configured subnet cannot reach the resource.
        """
        return list(subnet_ids)


def all_subnets(single: str | None, several: Iterable[str]) -> tuple[str, ...]:
    """The configured private endpoint subnets: the plural setting, plus the single one if set."""
    out = list(several)
    if single and single.lower() not in {s.lower() for s in out}:
        out.append(single)
    return tuple(out)
