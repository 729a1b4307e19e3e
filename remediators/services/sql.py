"""Azure SQL logical servers (``Microsoft.Sql/servers``).

TODO(issue 3): implement read/plan_lockdown/plan_vnet_rules; note sources here.
"""
from __future__ import annotations

from typing import Sequence

from ..arm import ArmClients
from ..model import Change, ResourceState
from ..resource_id import ResourceId
from ..spec import PrivateLinkGroup, ServiceSpec, rbac_actions_from_docstring
from .base import ServiceRemediator


class SqlServerRemediator(ServiceRemediator):
    """Hardens Azure SQL logical servers.

    RBAC actions:
        Microsoft.Sql/servers/read
        Microsoft.Sql/servers/write
        Microsoft.Sql/servers/firewallRules/read
        Microsoft.Sql/servers/firewallRules/delete
        Microsoft.Sql/servers/virtualNetworkRules/read
        Microsoft.Sql/servers/virtualNetworkRules/write
        Microsoft.Sql/servers/privateEndpointConnectionsApproval/action
    """

    spec = ServiceSpec(
        resource_type="Microsoft.Sql/servers",
        display_name="Azure SQL logical server",
        service_endpoint="Microsoft.Sql",
        private_link_groups=(PrivateLinkGroup("sqlServer", "privatelink.database.windows.net"),),
        operations=('Microsoft.Sql/servers/write', 'Microsoft.Sql/servers/firewallRules/write'),
        rbac_actions=rbac_actions_from_docstring(__doc__),
    )

    def read(self, arm: ArmClients, resource_id: ResourceId) -> ResourceState:
        raise NotImplementedError

    def plan_lockdown(self, arm: ArmClients, state: ResourceState) -> list[Change]:
        raise NotImplementedError

    def plan_vnet_rules(self, arm: ArmClients, state: ResourceState,
                        subnet_ids: Sequence[str]) -> list[Change]:
        raise NotImplementedError
