"""Cosmos DB accounts (``Microsoft.DocumentDB/databaseAccounts``).

TODO(issue 3): implement read/plan_lockdown/plan_vnet_rules; note sources here.
"""
from __future__ import annotations

from typing import Sequence

from ..arm import ArmClients
from ..model import Change, ResourceState
from ..resource_id import ResourceId
from ..spec import PrivateLinkGroup, ServiceSpec, rbac_actions_from_docstring
from .base import ServiceRemediator


class CosmosDbRemediator(ServiceRemediator):
    """Hardens Cosmos DB accounts.

    RBAC actions:
        Microsoft.DocumentDB/databaseAccounts/read
        Microsoft.DocumentDB/databaseAccounts/write
        Microsoft.DocumentDB/databaseAccounts/privateEndpointConnectionsApproval/action
    """

    spec = ServiceSpec(
        resource_type="Microsoft.DocumentDB/databaseAccounts",
        display_name="Cosmos DB account",
        service_endpoint="Microsoft.AzureCosmosDB",
        private_link_groups=(PrivateLinkGroup("Sql", "privatelink.documents.azure.com"),
                             PrivateLinkGroup("MongoDB", "privatelink.mongo.cosmos.azure.com"),
                             PrivateLinkGroup("Cassandra", "privatelink.cassandra.cosmos.azure.com"),
                             PrivateLinkGroup("Gremlin", "privatelink.gremlin.cosmos.azure.com"),
                             PrivateLinkGroup("Table", "privatelink.table.cosmos.azure.com")),
        operations=('Microsoft.DocumentDB/databaseAccounts/write',),
        rbac_actions=rbac_actions_from_docstring(__doc__),
    )

    def read(self, arm: ArmClients, resource_id: ResourceId) -> ResourceState:
        raise NotImplementedError

    def plan_lockdown(self, arm: ArmClients, state: ResourceState) -> list[Change]:
        raise NotImplementedError

    def plan_vnet_rules(self, arm: ArmClients, state: ResourceState,
                        subnet_ids: Sequence[str]) -> list[Change]:
        raise NotImplementedError
