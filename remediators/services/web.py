"""App Service and Function apps (``Microsoft.Web/sites``).

TODO(issue 3): implement read/plan_lockdown/plan_vnet_rules; note sources here.
"""
from __future__ import annotations

from typing import Sequence

from ..arm import ArmClients
from ..model import Change, ResourceState
from ..resource_id import ResourceId
from ..spec import PrivateLinkGroup, ServiceSpec, rbac_actions_from_docstring
from .base import ServiceRemediator


class WebAppRemediator(ServiceRemediator):
    """Hardens App Service apps.

    RBAC actions:
        Microsoft.Web/sites/read
        Microsoft.Web/sites/write
        Microsoft.Web/sites/config/read
        Microsoft.Web/sites/config/write
        Microsoft.Web/sites/privateEndpointConnections/read
        Microsoft.Web/sites/privateEndpointConnectionsApproval/action
    """

    spec = ServiceSpec(
        resource_type="Microsoft.Web/sites",
        display_name="App Service app",
        service_endpoint="Microsoft.Web",
        private_link_groups=(PrivateLinkGroup("sites", "privatelink.azurewebsites.net"),),
        operations=('Microsoft.Web/sites/write', 'Microsoft.Web/sites/config/write'),
        rbac_actions=rbac_actions_from_docstring(__doc__),
    )

    def read(self, arm: ArmClients, resource_id: ResourceId) -> ResourceState:
        raise NotImplementedError

    def plan_lockdown(self, arm: ArmClients, state: ResourceState) -> list[Change]:
        raise NotImplementedError

    def plan_vnet_rules(self, arm: ArmClients, state: ResourceState,
                        subnet_ids: Sequence[str]) -> list[Change]:
        raise NotImplementedError
