"""The app's own storage account, as the Functions host's ``AzureWebJobsStorage`` settings name it.

learn.microsoft.com/azure/azure-functions/functions-reference#connecting-to-host-storage-with-an-identity:
``AzureWebJobsStorage`` as a connection string (Azurite locally and in tests), or identity-based
``AzureWebJobsStorage__<service>ServiceUri`` (else ``AzureWebJobsStorage__accountName`` →
``https://<name>.<service>.core.windows.net``) with the managed identity ``AzureWebJobsStorage__clientId``
(else ``AZURE_CLIENT_ID``). The VNet leases use its blob service, the change history its table service.
"""
from __future__ import annotations

from typing import Any


def service_client(client_class: Any, service: str, *, connection_string: str, service_uri: str, account: str,
                   storage_client_id: str, client_id: str) -> Any | None:
    """A ``client_class`` (``BlobServiceClient``, ``TableServiceClient``) for the host's storage, or ``None``."""
    if connection_string:
        return client_class.from_connection_string(connection_string)
    if service_uri or account:
        # Identity-based host storage: the same managed identity the host uses for it.
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential(managed_identity_client_id=storage_client_id or client_id or None)
        return client_class(service_uri or f"https://{account}.{service}.core.windows.net", credential=credential)
    return None


def ensure_table(table: Any) -> None:
    """Create the ``azure.data.tables.TableClient``'s table unless it exists (history, notification claims)."""
    from azure.core.exceptions import ResourceExistsError

    try:
        table.create_table()
    except ResourceExistsError:
        pass
