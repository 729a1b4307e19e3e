"""Service Bus namespaces (``Microsoft.ServiceBus/namespaces``).

TODO(issue 3): implement read/plan_lockdown/plan_vnet_rules; note sources here.
"""
from __future__ import annotations

from typing import Sequence

from ..arm import ArmClients
from ..model import Change, ResourceState
from ..resource_id import ResourceId
from ..spec import PrivateLinkGroup, ServiceSpec, rbac_actions_from_docstring
from .base import ServiceRemediator


class ServiceBusRemediator(ServiceRemediator):
    """Hardens Service Bus namespaces.

    RBAC actions:
        Microsoft.ServiceBus/namespaces/read
        Microsoft.ServiceBus/namespaces/write
        Microsoft.ServiceBus/namespaces/networkRuleSets/read
        Microsoft.ServiceBus/namespaces/networkRuleSets/write
        Microsoft.ServiceBus/namespaces/privateEndpointConnectionsApproval/action
    """

    spec = ServiceSpec(
        resource_type="Microsoft.ServiceBus/namespaces",
        display_name="Service Bus namespace",
        service_endpoint="Microsoft.ServiceBus",
        private_link_groups=(PrivateLinkGroup("namespace", "privatelink.servicebus.windows.net"),),
        operations=('Microsoft.ServiceBus/namespaces/write', 'Microsoft.ServiceBus/namespaces/networkRuleSets/write'),
        rbac_actions=rbac_actions_from_docstring(__doc__),
    )

    def read(self, arm: ArmClients, resource_id: ResourceId) -> ResourceState:
        raise NotImplementedError

    def plan_lockdown(self, arm: ArmClients, state: ResourceState) -> list[Change]:
        raise NotImplementedError

    def plan_vnet_rules(self, arm: ArmClients, state: ResourceState,
                        subnet_ids: Sequence[str]) -> list[Change]:
        raise NotImplementedError
