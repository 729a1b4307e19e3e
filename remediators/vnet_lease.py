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
from typing import Any, Callable, Iterator, Mapping

from azure.core.exceptions import AzureError, HttpResponseError, ResourceExistsError

from .host_storage import service_client

logger = logging.getLogger(__name__)

CONTAINER = "paas-hardener-vnet-leases"
# Blob Storage's shortest finite lease: a dead holder blocks the VNet for at most this long.
LEASE_SECONDS = 15
# The lease counts as lost this long before it could have lapsed: a write that starts after a renewal
# succeeded at most LEASE_SECONDS - LOST_MARGIN_SECONDS ago still holds it when the PUT arrives.
LOST_MARGIN_SECONDS = 4.0
# One renewal is one short call and no SDK retries (the storage SDK's default first retry comes after
# 15 s, as long as the whole lease): a renewal that hangs is abandoned and tried at the next tick.
RENEW_TIMEOUT_SECONDS = 3
_SETTINGS = ("AzureWebJobsStorage", "AzureWebJobsStorage__blobServiceUri", "AzureWebJobsStorage__accountName",
             "AzureWebJobsStorage__clientId", "AZURE_CLIENT_ID")


class VnetBusy(RuntimeError):
    """Another instance held the VNet's lease for longer than we were willing to wait."""

    def __init__(self, vnet_id: str, waited: float) -> None:
        super().__init__(f"another instance is changing VNet {vnet_id} (its lease was held for "
                         f"{waited:.0f} s)")


class LeaseLost(RuntimeError):
    """The VNet's lease could not be renewed; writing now could race another instance."""


class HeldLease:
    """What :meth:`VnetLease.hold` yields: whether the lease is still ours."""

    def __init__(self, vnet_id: str, *, valid_seconds: float = LEASE_SECONDS - LOST_MARGIN_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.vnet_id = vnet_id
        self.lost = threading.Event()
        self._valid_seconds = valid_seconds
        self._clock = clock
        self._renewed_at = clock()

    def renewed(self) -> None:
        """A renewal (or the acquisition) succeeded now."""
        self._renewed_at = self._clock()

    def check(self) -> None:
        """Raise :class:`LeaseLost` unless the lease is surely still ours: then do not write.

        Lost when a renewal failed for good, or when no renewal has succeeded within the lease
        period minus a margin (a renewal may be hanging: the lease can lapse before it returns).
        """
        silent = self._clock() - self._renewed_at
        if silent > self._valid_seconds:
            self.lost.set()
        if self.lost.is_set():
            raise LeaseLost(f"the lease on VNet {self.vnet_id} was lost (last renewed {silent:.0f} s ago); nothing "
                            "more was written, and the message will be retried")


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
                 poll_seconds: float = 0.5, renew_seconds: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._container = container
        self._clock = clock
        self._lease_seconds = lease_seconds
        # A third of the lease: a renewal that fails is tried again before the lease lapses.
        self._renew_seconds = renew_seconds if renew_seconds is not None else lease_seconds / 3
        self._wait_seconds = wait_seconds
        self._poll_seconds = poll_seconds
        self._container_ready = False

    @contextmanager
    def hold(self, vnet_id: str) -> Iterator[HeldLease]:
        """Hold the VNet's lease for the duration of the block, renewing it meanwhile.

        Call :meth:`HeldLease.check` right before each write: it raises :class:`LeaseLost`
        once a renewal has failed, so nothing is written without the lease.
        """
        lease = self._acquire(vnet_id)
        held = HeldLease(vnet_id, valid_seconds=self._lease_seconds - LOST_MARGIN_SECONDS, clock=self._clock)
        stop = threading.Event()
        renewer = threading.Thread(target=self._renew, args=(lease, held, stop), daemon=True,
                                   name=f"vnet-lease-{blob_name(vnet_id)[:8]}")
        renewer.start()
        try:
            yield held
        finally:
            stop.set()
            renewer.join()
            try:
                lease.release()
            except AzureError as exc:
                # The lease expires by itself within lease_seconds; the write itself is done.
                logger.warning("Could not release the lease on VNet %s (%s); it expires in %d s",
                               vnet_id, exc, self._lease_seconds)

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

    def _renew(self, lease: Any, held: HeldLease, stop: threading.Event) -> None:
        # A renewal that fails (a network error, a timeout) is tried again at the next tick;
        # after two in a row the lease counts as lost and the writer refuses to write.
        failures = 0
        while not stop.wait(self._renew_seconds):
            try:
                lease.renew(timeout=RENEW_TIMEOUT_SECONDS, retry_total=0,
                            connection_timeout=RENEW_TIMEOUT_SECONDS, read_timeout=RENEW_TIMEOUT_SECONDS)
                held.renewed()
                failures = 0
            except AzureError as exc:
                failures += 1
                if failures < 2:
                    logger.warning("Renewing the lease on VNet %s failed (%s); trying again", held.vnet_id, exc)
                    continue
                logger.error("Lost the lease on VNet %s while writing it (%s); the next write is refused",
                             held.vnet_id, exc)
                held.lost.set()
                return


def lease_from_environment(environ: Mapping[str, str] | None = None) -> VnetLease | None:
    """The lease store the Functions host's ``AzureWebJobsStorage`` settings point at, or ``None``."""
    env = os.environ if environ is None else environ
    return _lease_for(tuple(env.get(k) or "" for k in _SETTINGS))


@lru_cache(maxsize=4)
def _lease_for(values: tuple[str, ...]) -> VnetLease | None:
    connection_string, blob_uri, account, storage_client_id, client_id = values
    from azure.storage.blob import BlobServiceClient

    service = service_client(BlobServiceClient, "blob", connection_string=connection_string, service_uri=blob_uri,
                             account=account, storage_client_id=storage_client_id, client_id=client_id)
    if service is None:
        logger.warning("AzureWebJobsStorage is not set: subnet writes are serialised within this process only")
        return None
    return VnetLease(service.get_container_client(CONTAINER))
