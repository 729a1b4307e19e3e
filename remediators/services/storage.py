"""Storage accounts (``Microsoft.Storage/storageAccounts``).

Sources: azure-rest-api-specs storage/resource-manager/Microsoft.Storage
(StorageAccounts_GetProperties, StorageAccounts_Update: ``properties.networkAcls``
with ``virtualNetworkRules[].{id, action}``; ``properties.publicNetworkAccess`` is
often absent, which means enabled); learn.microsoft.com/azure/storage/common/storage-private-endpoints
(one endpoint per sub-resource, ``dfs`` for Data Lake Storage Gen2) and
learn.microsoft.com/azure/private-link/private-endpoint-dns (``privatelink.{group}.core.windows.net``).
"""
from __future__ import annotations

from typing import Any, Mapping

from ..arm import ArmClients
from ..resource_id import ResourceId
from ..spec import PrivateLinkGroup, ServiceSpec, rbac_actions_from_docstring
from .network_acls import NetworkAclsRemediator

# ``web`` (static websites) is offered but left to the owner: we harden data paths.
_GROUPS = ("blob", "file", "queue", "table")


class StorageRemediator(NetworkAclsRemediator):
    """Hardens Storage accounts with one PATCH of ``networkAcls`` and ``publicNetworkAccess``.

    RBAC actions:
        Microsoft.Storage/storageAccounts/read
        Microsoft.Storage/storageAccounts/write
        Microsoft.Storage/storageAccounts/privateEndpointConnectionsApproval/action
    """

    spec = ServiceSpec(
        resource_type="Microsoft.Storage/storageAccounts",
        display_name="Storage account",
        service_endpoint="Microsoft.Storage",
        private_link_groups=tuple(PrivateLinkGroup(g, f"privatelink.{g}.core.windows.net")
                                  for g in ("blob", "file", "queue", "table", "dfs", "web")),
        operations=("Microsoft.Storage/storageAccounts/write",),
        rbac_actions=rbac_actions_from_docstring(__doc__),
    )

    def private_link_groups_for(self, properties: Mapping[str, Any]) -> tuple[PrivateLinkGroup, ...]:
        hns = ("dfs",) if properties.get("isHnsEnabled") else ()
        return tuple(self.spec.group(g) for g in _GROUPS + hns)

    def get(self, arm: ArmClients, resource_id: ResourceId) -> Mapping[str, Any]:
        return arm.storage.storage_accounts.get_properties(
            resource_id.resource_group, resource_id.name).as_dict()

    def update(self, arm: ArmClients, resource_id: ResourceId, body: Mapping[str, Any]) -> Any:
        return arm.storage.storage_accounts.update(resource_id.resource_group, resource_id.name, body)

    def vnet_rule(self, subnet_id: str) -> dict[str, Any]:
        return {"id": subnet_id, "action": "Allow"}
