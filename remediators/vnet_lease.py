"""One writer per VNet across every instance of the app: a blob lease on the app's own storage.

Why: a subnet PUT replaces the whole subnet, and the Network resource provider
does not reliably enforce ``If-Match`` on it (Azure/azure-rest-api-specs#6789),
so two instances that each read a subnet, add a different service endpoint and
write it back can each drop the other's endpoint. Terraform's azurerm provider
locks subnets and VNets client-side for the same reason
(hashicorp/terraform-provider-azurerm#13726). The Functions host scales out to
several instances, so an in-process lock is not enough: the lock lives in the
app's own storage account (``AzureWebJobsStorage``), as one blob per VNet whose
lease is the lock.

How: :meth:`VnetLease.hold` acquires a 15 s lease (the shortest Blob Storage
allows, so a crashed instance blocks others for at most that long), renews it
from a background thread while the caller's GET–PUT and long-running operation
run, and releases it on every path. A caller that finds the lease taken polls
until it is free or ``wait_seconds`` pass (then :class:`VnetBusy`, and the
queue message is retried). Sources: learn.microsoft.com/rest/api/storageservices/lease-blob
(durations 15–60 s or infinite; 409 ``LeaseAlreadyPresent`` while held).

Where the storage is (the Functions host's own settings,
learn.microsoft.com/azure/azure-functions/functions-reference#connecting-to-host-storage-with-an-identity):
``AzureWebJobsStorage`` as a connection string (Azurite locally and in tests),
or identity-based ``AzureWebJobsStorage__blobServiceUri`` (else
``AzureWebJobsStorage__accountName`` → ``https://<name>.blob.core.windows.net``)
with the managed identity ``AzureWebJobsStorage__clientId`` (else
``AZURE_CLIENT_ID``). It needs the data actions of Storage Blob Data
Contributor (or Owner) on that account: create the container once, create the
lock blobs, lease them.
"""
from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Iterator, Mapping

from azure.core.exceptions import HttpResponseError, ResourceExistsError

logger = logging.getLogger(__name__)

CONTAINER = "paas-hardener-vnet-leases"
# Blob Storage's shortest finite lease: a dead holder blocks the VNet for at most this long.
LEASE_SECONDS = 15
_SETTINGS = ("AzureWebJobsStorage", "AzureWebJobsStorage__blobServiceUri", "AzureWebJobsStorage__accountName",
             "AzureWebJobsStorage__clientId", "AZURE_CLIENT_ID")


class VnetBusy(HttpResponseError):
    """Another instance held the VNet's lease for longer than we were willing to wait."""

    def __init__(self, vnet_id: str, waited: float) -> None:
        super().__init__(message=f"another instance is changing VNet {vnet_id} (its lease was held for "
                                 f"{waited:.0f} s); the message will be retried")
        self.status_code = 409


def blob_name(vnet_id: str) -> str:
    """Stable per VNet whatever the casing of the id ARM or the settings use."""
    return hashlib.sha256(vnet_id.lower().encode()).hexdigest()


class VnetLease:
    """Blob leases on one container, one blob per VNet.

    :param container: A ``ContainerClient`` on the app's own storage.
    :keyword lease_seconds: Lease duration (15–60).
    :keyword wait_seconds: How long to wait for another holder before giving up.
    :keyword poll_seconds: Pause between attempts while another instance holds the lease.
    """

    def __init__(self, container: Any, *, lease_seconds: int = LEASE_SECONDS, wait_seconds: float = 300.0,
                 poll_seconds: float = 0.5) -> None:
        self._container = container
        self._lease_seconds = lease_seconds
        self._wait_seconds = wait_seconds
        self._poll_seconds = poll_seconds
        self._container_ready = False

    @contextmanager
    def hold(self, vnet_id: str) -> Iterator[None]:
        """Hold the VNet's lease for the duration of the block, renewing it meanwhile."""
        lease = self._acquire(vnet_id)
        stop = threading.Event()
        renewer = threading.Thread(target=self._renew, args=(lease, vnet_id, stop), daemon=True,
                                   name=f"vnet-lease-{blob_name(vnet_id)[:8]}")
        renewer.start()
        try:
            yield
        finally:
            stop.set()
            renewer.join()
            try:
                lease.release()
            except HttpResponseError as exc:
                # The lease expires by itself within lease_seconds; the write itself is done.
                logger.warning("Could not release the lease on VNet %s (%s); it expires in %d s",
                               vnet_id, exc.error_code if hasattr(exc, "error_code") else exc.status_code,
                               self._lease_seconds)

    def _acquire(self, vnet_id: str) -> Any:
        blob = self._blob(vnet_id)
        started = time.monotonic()
        while True:
            try:
                return blob.acquire_lease(lease_duration=self._lease_seconds)
            except HttpResponseError as exc:
                if exc.status_code != 409:  # 409 LeaseAlreadyPresent: someone else holds it
                    raise
            waited = time.monotonic() - started
            if waited >= self._wait_seconds:
                raise VnetBusy(vnet_id, waited)
            logger.info("VNet %s is being changed by another instance; waiting for its lease", vnet_id)
            time.sleep(self._poll_seconds)

    def _blob(self, vnet_id: str) -> Any:
        if not self._container_ready:
            try:
                self._container.create_container()
            except ResourceExistsError:
                pass
            self._container_ready = True
        blob = self._container.get_blob_client(blob_name(vnet_id))
        try:
            blob.upload_blob(b"", overwrite=False, metadata={"vnet": vnet_id.lower().replace("/", "_")})
        except ResourceExistsError:
            pass  # created before (by us or another instance)
        except HttpResponseError as exc:
            if exc.status_code != 412:  # 412 LeaseIdMissing: it exists and someone holds it
                raise
        return blob

    def _renew(self, lease: Any, vnet_id: str, stop: threading.Event) -> None:
        # Renew at a third of the duration: two renewals may fail before the lease lapses.
        while not stop.wait(self._lease_seconds / 3):
            try:
                lease.renew()
            except HttpResponseError as exc:
                logger.error("Lost the lease on VNet %s while writing it (%s); another instance may now "
                             "write the subnet concurrently", vnet_id, exc.status_code)
                return


def lease_from_environment(environ: Mapping[str, str] | None = None) -> VnetLease | None:
    """The lease store the Functions host's ``AzureWebJobsStorage`` settings point at, or ``None``."""
    env = os.environ if environ is None else environ
    return _lease_for(tuple(env.get(k) or "" for k in _SETTINGS))


@lru_cache(maxsize=4)
def _lease_for(values: tuple[str, ...]) -> VnetLease | None:
    connection_string, blob_uri, account, storage_client_id, client_id = values
    from azure.storage.blob import BlobServiceClient

    if connection_string:
        service = BlobServiceClient.from_connection_string(connection_string)
    elif blob_uri or account:
        # Identity-based host storage: the same managed identity the host uses for it.
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential(managed_identity_client_id=storage_client_id or client_id or None)
        service = BlobServiceClient(blob_uri or f"https://{account}.blob.core.windows.net", credential=credential)
    else:
        logger.warning("AzureWebJobsStorage is not set: subnet writes are serialised within this process only")
        return None
    return VnetLease(service.get_container_client(CONTAINER))
