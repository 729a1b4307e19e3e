"""Storage accounts (``Microsoft.Storage/storageAccounts``).

Sources: azure-rest-api-specs storage/resource-manager/Microsoft.Storage
(StorageAccounts_GetProperties, StorageAccounts_Update: ``properties.networkAcls``
with ``virtualNetworkRules[].{id, action}``; ``properties.publicNetworkAccess`` is
often absent, which means enabled); learn.microsoft.com/azure/storage/common/storage-private-endpoints
(one endpoint per sub-resource, ``dfs`` for Data Lake Storage Gen2) and
learn.microsoft.com/azure/private-link/private-endpoint-dns (``privatelink.{group}.core.windows.net``;
``<group>_secondary`` is served by the same zone as ``<group>``).

Which sub-resources an account needs (storage-private-endpoints):

- ``StorageV2``: blob, file, queue, table, web (+dfs with ``isHnsEnabled``); on a
  ``Premium_*`` SKU (premium page blobs) blob only: "Page blobs only"
  (learn.microsoft.com/azure/storage/common/storage-account-overview, account types;
  learn.microsoft.com/rest/api/storagerp/srp_sku_types: ``Premium_LRS`` is a StorageV2
  SKU whose Blob Storage is page blobs only).
- ``BlockBlobStorage`` (premium block blobs): blob (+dfs with ``isHnsEnabled``).
- ``FileStorage`` (premium files): file.
- ``BlobStorage`` (legacy blob-only account): blob. Legacy "Blob Storage" accounts
  hold block and append blobs only (learn.microsoft.com/azure/storage/common/storage-account-overview,
  "Legacy storage account types").
- ``Storage`` (general-purpose v1): "Private endpoints are not available for
  general-purpose v1 storage accounts", so ``harden=private`` is reported as
  unsupported (upgrade to StorageV2, or use ``harden=service-endpoint``) and
  public access is never touched.
- Read-access geo-redundant SKUs (``*_RAGRS``, ``*_RAGZRS``) also get
  ``<group>_secondary`` for every group with a secondary endpoint (blob, queue,
  table, web, dfs; Azure Files has no read-access secondary): "For read access
  to the secondary region ... you need separate private endpoints for both the
  primary and secondary instances of the service".

Static websites: the ``web`` group (and ``web_secondary``) serves only the account's static website;
older ARM API versions do not say whether one is enabled. Which accounts get a ``web`` endpoint is
``HARDEN_STORAGE_WEB_ENDPOINT`` (auto|always|never, default auto): remediators/static_website.py
reads the static-website flag in ``harden=private`` mode (ARM's ``blobServices/default`` where it shows
it, else the blob data plane) and says what happens when that read is refused.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping

from ..arm import ArmClients
from ..model import Mode, ResourceState, requested_mode
from ..resource_id import ResourceId
from ..settings import Settings
from ..static_website import (WEB_GROUPS, StaticWebsite, WebEndpointPolicy, decide_web_endpoint,
                              read_arm_static_website, read_static_website)
from ..spec import PrivateLinkGroup, ServiceSpec, rbac_actions_from_docstring
from .common import tags_of
from .network_acls import NetworkAclsRemediator

_ALL_GROUPS = ("blob", "file", "queue", "table", "dfs", "web")
# Sub-resources per account kind, before the hierarchical namespace's dfs (module docstring).
_KIND_GROUPS = {
    "storagev2": ("blob", "file", "queue", "table", "web"),
    "blockblobstorage": ("blob",),
    "filestorage": ("file",),
    "blobstorage": ("blob",),
    "storage": (),
}
_HNS_KINDS = frozenset({"storagev2", "blockblobstorage"})
# Services with a read-access secondary endpoint (``secondaryEndpoints`` in StorageAccounts_GetProperties).
_SECONDARY_GROUPS = frozenset({"blob", "queue", "table", "web", "dfs"})
_READ_ACCESS_SKUS = ("_ragrs", "_ragzrs")
GPV1_UNSUPPORTED = ("private endpoints are not available for general-purpose v1 storage accounts (kind 'Storage'); "
                    "upgrade the account to StorageV2, or tag it harden=service-endpoint "
                    "(learn.microsoft.com/azure/storage/common/storage-private-endpoints); public access left as it is")


def storage_groups(kind: Any, sku_name: Any, hns: bool) -> tuple[str, ...]:
    """The private endpoint sub-resources an account of this kind and SKU needs."""
    kind_key = str(kind or "StorageV2").lower()
    groups = _KIND_GROUPS.get(kind_key, _KIND_GROUPS["storagev2"])
    if kind_key == "storagev2" and str(sku_name or "").lower().startswith("premium"):
        groups = ("blob",)  # premium page blobs: page blobs only
    if hns and kind_key in _HNS_KINDS:
        groups += ("dfs",)
    if str(sku_name or "").lower().endswith(_READ_ACCESS_SKUS):
        groups += tuple(f"{g}_secondary" for g in groups if g in _SECONDARY_GROUPS)
    return groups


class StorageRemediator(NetworkAclsRemediator):
    """Hardens Storage accounts with one PATCH of ``networkAcls`` and ``publicNetworkAccess``.

    RBAC actions:
        Microsoft.Storage/storageAccounts/read
        Microsoft.Storage/storageAccounts/blobServices/read
        Microsoft.Storage/storageAccounts/write
        Microsoft.Storage/storageAccounts/privateEndpointConnectionsApproval/action
    """

    spec = ServiceSpec(
        resource_type="Microsoft.Storage/storageAccounts",
        display_name="Storage account",
        service_endpoint="Microsoft.Storage",
        private_link_groups=tuple(PrivateLinkGroup(g + suffix, f"privatelink.{g}.core.windows.net")
                                  for suffix in ("", "_secondary") for g in _ALL_GROUPS
                                  if not (suffix and g == "file")),
        operations=("Microsoft.Storage/storageAccounts/write",),
        rbac_actions=rbac_actions_from_docstring(__doc__),
    )

    def private_link_groups_for(self, resource: Mapping[str, Any]) -> tuple[PrivateLinkGroup, ...]:
        properties = resource.get("properties") or {}
        groups = storage_groups(resource.get("kind"), (resource.get("sku") or {}).get("name"),
                                properties.get("isHnsEnabled") is True)
        return tuple(self.spec.group(g) for g in groups)

    def state_from(self, resource: Mapping[str, Any], resource_id: ResourceId) -> ResourceState:
        state = super().state_from(resource, resource_id)
        p = resource.get("properties") or {}
        endpoints = {str(((c.get("properties") or {}).get("privateEndpoint") or {}).get("id") or "").lower()
                     for c in p.get("privateEndpointConnections") or ()}
        return replace(state, raw={**state.raw, "blobEndpoint": (p.get("primaryEndpoints") or {}).get("blob"),
                                   "endpointNames": frozenset(e.rstrip("/").rsplit("/", 1)[-1] for e in endpoints)})

    def with_settings(self, arm: ArmClients, state: ResourceState, settings: Settings) -> ResourceState:
        """Drop the ``web`` groups unless HARDEN_STORAGE_WEB_ENDPOINT (static_website.py) requires them.

        Decided in ``harden=private`` mode only (the only mode with endpoints), so the data-plane read
        is made for no other account.
        """
        from ..private_link import private_endpoint_name  # private_link → compliance → registry → here

        web = [g for g in state.private_link_groups if g.group_id in WEB_GROUPS]
        _, mode = requested_mode(state.tags)
        if not web or mode is not Mode.PRIVATE:
            return state
        names = state.raw.get("endpointNames") or frozenset()
        ours = any(private_endpoint_name(state.id.name, g.group_id).lower() in names for g in web)
        url = state.raw.get("blobEndpoint")

        def probe() -> StaticWebsite:
            shown = read_arm_static_website(arm, state.id.resource_group, state.id.name)
            if shown is not None:
                return shown
            # ARM's answer has no staticWebsite (an API version or RP without it): ask the data plane.
            if not url:
                return StaticWebsite(None, "ARM gave no blob endpoint for the account")
            return read_static_website(arm.blob_service(str(url)))

        decision = decide_web_endpoint(WebEndpointPolicy(settings.storage_web_endpoint), probe,
                                       ours_exists=ours, public=state.public)
        notes = state.notes + ((decision.note,) if decision.note else ())
        if decision.needed:
            return replace(state, notes=notes)
        return replace(state, notes=notes,
                       private_link_groups=tuple(g for g in state.private_link_groups if g.group_id not in WEB_GROUPS))

    def unsupported_reason(self, resource: Mapping[str, Any]) -> str | None:
        # Only harden=private needs endpoints; service endpoints work on GPv1 accounts.
        _, mode = requested_mode(tags_of(resource))
        if mode is Mode.PRIVATE and str(resource.get("kind") or "").lower() == "storage":
            return GPV1_UNSUPPORTED
        return None

    def get(self, arm: ArmClients, resource_id: ResourceId) -> Mapping[str, Any]:
        return arm.storage.storage_accounts.get_properties(
            resource_id.resource_group, resource_id.name).as_dict()

    def update(self, arm: ArmClients, resource_id: ResourceId, body: Mapping[str, Any]) -> Any:
        return arm.storage.storage_accounts.update(resource_id.resource_group, resource_id.name, body)

    def vnet_rule(self, subnet_id: str) -> dict[str, Any]:
        return {"id": subnet_id, "action": "Allow"}

    def ip_rule(self, value: str) -> dict[str, Any]:
        # IPRule {value, action}: action's only value is Allow (StorageAccounts_Update, IPRule).
        return {"value": value, "action": "Allow"}
