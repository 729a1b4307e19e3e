"""The one list of handled services, and what derives from it.

The Event Grid filter in ``infra/`` and the custom role are checked against
this registry by the tests, so code and infrastructure cannot drift.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

from .services.base import ServiceRemediator
from .services.cosmosdb import CosmosDbRemediator
from .services.eventhub import EventHubsRemediator
from .services.keyvault import KeyVaultRemediator
from .services.servicebus import ServiceBusRemediator
from .services.sql import SqlServerRemediator
from .services.storage import StorageRemediator
from .services.web import WebAppRemediator
from .services.web_slots import WebAppSlotRemediator

SERVICES: tuple[ServiceRemediator, ...] = (
    KeyVaultRemediator(),
    StorageRemediator(),
    SqlServerRemediator(),
    CosmosDbRemediator(),
    ServiceBusRemediator(),
    EventHubsRemediator(),
    WebAppRemediator(),
    WebAppSlotRemediator(),
)

TAGS_WRITE = "Microsoft.Resources/tags/write"

# Network and DNS work shared by every service (remediators/network.py). Polling a
# long-running write needs its status URL's read action too. A subnet PUT re-checks
# the NSG, route table, NAT gateway and service endpoint policies attached to it
# (linked access checks: learn.microsoft.com/azure/virtual-network/virtual-network-manage-subnet#permissions).
SHARED_RBAC_ACTIONS = frozenset({
    "Microsoft.Network/locations/operations/read",
    "Microsoft.Network/privateDnsOperationStatuses/read",
    "Microsoft.Network/privateDnsOperationResults/read",
    "Microsoft.Network/networkSecurityGroups/join/action",
    "Microsoft.Network/routeTables/join/action",
    "Microsoft.Network/natGateways/join/action",
    "Microsoft.Network/serviceEndpointPolicies/join/action",
    "Microsoft.Network/virtualNetworks/read",
    "Microsoft.Network/virtualNetworks/join/action",
    "Microsoft.Network/virtualNetworks/subnets/read",
    "Microsoft.Network/virtualNetworks/subnets/write",
    "Microsoft.Network/virtualNetworks/subnets/join/action",
    "Microsoft.Network/virtualNetworks/subnets/joinViaServiceEndpoint/action",
    "Microsoft.Network/privateEndpoints/read",
    "Microsoft.Network/privateEndpoints/write",
    # Compensation: an endpoint made in this run whose zone group ARM refuses for good is deleted again.
    "Microsoft.Network/privateEndpoints/delete",
    "Microsoft.Network/privateEndpoints/privateDnsZoneGroups/read",
    "Microsoft.Network/privateEndpoints/privateDnsZoneGroups/write",
    "Microsoft.Network/privateDnsZones/read",
    "Microsoft.Network/privateDnsZones/write",
    "Microsoft.Network/privateDnsZones/join/action",
    "Microsoft.Network/privateDnsZones/virtualNetworkLinks/read",
    "Microsoft.Network/privateDnsZones/virtualNetworkLinks/write",
})

BY_TYPE: Mapping[str, ServiceRemediator] = MappingProxyType(
    {s.spec.resource_type.lower(): s for s in SERVICES})


def _operations() -> frozenset[str]:
    """Each service's own writes, tag writes, and private endpoint connection writes.

    A connection write is how a manual approval (or a rejection) of one of our
    endpoints arrives; the resource is then evaluated again and, once the
    connection is Approved, its hardening finishes.
    """
    return frozenset({op for s in SERVICES for op in s.spec.operations}
                     | {f"{s.spec.resource_type}/privateEndpointConnections/write" for s in SERVICES
                        if s.spec.connection_events}
                     | {TAGS_WRITE})


# Lower-cased operation names the trigger accepts (tags/write maps to the tagged resource).
HANDLED_OPERATIONS: frozenset[str] = frozenset(op.lower() for op in _operations())


def service_for(resource_type: str) -> ServiceRemediator | None:
    """The remediator for an ARM type such as ``Microsoft.KeyVault/vaults``, if handled."""
    return BY_TYPE.get(resource_type.lower())


def event_filter_operations() -> list[str]:
    """The ``data.operationName`` values the Event Grid subscription must deliver."""
    return sorted(_operations())


def rbac_actions() -> frozenset[str]:
    """Every action the remediators need: the custom role holds exactly these."""
    return SHARED_RBAC_ACTIONS.union(*(s.spec.rbac_actions for s in SERVICES))
