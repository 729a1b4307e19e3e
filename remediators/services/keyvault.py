"""Key Vault (``Microsoft.KeyVault/vaults``).

Sources: azure-rest-api-specs keyvault/resource-manager/Microsoft.KeyVault
(Vaults_Get, Vaults_Update: ``properties.networkAcls``, ``properties.publicNetworkAccess``,
``virtualNetworkRules[].ignoreMissingVnetServiceEndpoint``);
learn.microsoft.com/azure/private-link/private-endpoint-dns (group ``vault``,
zone ``privatelink.vaultcore.azure.net``). Key Vault echoes subnet ids
lower-cased and IPs as ``/32``, so rules are compared normalised.
"""
from __future__ import annotations

from typing import Any, Mapping

from ..arm import ArmClients
from ..resource_id import ResourceId
from ..spec import PrivateLinkGroup, ServiceSpec, rbac_actions_from_docstring
from .network_acls import NetworkAclsRemediator


class KeyVaultRemediator(NetworkAclsRemediator):
    """Hardens Key Vaults with one PATCH of ``networkAcls`` and ``publicNetworkAccess``.

    RBAC actions:
        Microsoft.KeyVault/vaults/read
        Microsoft.KeyVault/vaults/write
        Microsoft.KeyVault/vaults/privateEndpointConnectionsApproval/action
    """

    spec = ServiceSpec(
        resource_type="Microsoft.KeyVault/vaults",
        display_name="Key Vault",
        service_endpoint="Microsoft.KeyVault",
        private_link_groups=(PrivateLinkGroup("vault", "privatelink.vaultcore.azure.net"),),
        operations=("Microsoft.KeyVault/vaults/write",),
        rbac_actions=rbac_actions_from_docstring(__doc__),
    )

    def get(self, arm: ArmClients, resource_id: ResourceId) -> Mapping[str, Any]:
        return arm.keyvault.vaults.get(resource_id.resource_group, resource_id.name).as_dict()

    def update(self, arm: ArmClients, resource_id: ResourceId, body: Mapping[str, Any]) -> Any:
        return arm.keyvault.vaults.update(resource_id.resource_group, resource_id.name, body)

    def vnet_rule(self, subnet_id: str) -> dict[str, Any]:
        return {"id": subnet_id, "ignoreMissingVnetServiceEndpoint": False}
