"""Plans shared by every service on the subnet side: service endpoints.

(Private endpoints and private DNS are in ``private_link.py``.)
Source: azure-facts.md "Subnet PUT is a full replace".
"""
from __future__ import annotations

import logging
import threading
from collections import defaultdict
from typing import Any, Callable, Iterable

from azure.core.exceptions import HttpResponseError

from .arm import ArmClients
from .model import Change, Phase
from .resource_id import ResourceId
from .settings import Settings

logger = logging.getLogger(__name__)

CREATED_BY_TAG = {"created-by": "paas-hardener"}
_ETAG_ATTEMPTS = 3

# A subnet PUT replaces the subnet; two of ours racing on one VNet would each
# drop the other's endpoint. Serialise them in-process; If-Match catches the rest.
_vnet_locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)


class LockoutRisk(RuntimeError):
    """Going on would cut off access (e.g. a private endpoint awaits manual approval)."""


class NetworkPlanner:
    """Plans the VNet-side changes a hardening needs, reading current state first.

    :param clients_for: ARM clients for a subscription id (subnets and zones may
        live in a hub subscription).
    """

    def __init__(self, clients_for: Callable[[str], ArmClients], settings: Settings) -> None:
        self._clients_for = clients_for
        self._settings = settings

    # -- service endpoints -------------------------------------------------

    def plan_service_endpoints(self, service: str, subnet_ids: Iterable[str]) -> list[Change]:
        """Ensure ``service`` (e.g. ``Microsoft.KeyVault``) is enabled on each subnet."""
        changes = []
        for subnet_id in subnet_ids:
            sid = ResourceId.parse(subnet_id)
            network = self._clients_for(sid.subscription_id).network
            subnet = network.subnets.get(sid.resource_group, sid.names[0], sid.name)
            endpoints = subnet["properties"].get("serviceEndpoints") or []
            present = [e.get("service") for e in endpoints]
            if any(isinstance(p, str) and p.lower() == service.lower() for p in present):
                continue
            changes.append(Change(
                phase=Phase.SUBNET_SERVICE_ENDPOINT,
                target=subnet_id,
                summary=f"enable the {service} service endpoint on the subnet (all other subnet settings kept)",
                before={"serviceEndpoints": present},
                after={"serviceEndpoints": [*present, service]},
                apply=lambda sid=sid, network=network: self._add_service_endpoint(network, sid, service),
            ))
        return changes

    @staticmethod
    def _add_service_endpoint(network: Any, sid: ResourceId, service: str) -> Any:
        with _vnet_locks[sid.ancestor(1).key]:
            for attempt in range(1, _ETAG_ATTEMPTS + 1):
                # Re-read under the lock: the PUT must carry the subnet as it is now.
                subnet = network.subnets.get(sid.resource_group, sid.names[0], sid.name)
                endpoints = subnet["properties"].setdefault("serviceEndpoints", [])
                if not any(str(e.get("service", "")).lower() == service.lower() for e in endpoints):
                    endpoints.append({"service": service})
                etag = subnet.get("etag")
                try:
                    return network.subnets.begin_create_or_update(
                        sid.resource_group, sid.names[0], sid.name, subnet,
                        headers={"If-Match": etag} if etag else None,
                    ).result()
                except HttpResponseError as exc:
                    # 412: someone else changed the subnet since our GET; merge again.
                    if exc.status_code != 412 or attempt == _ETAG_ATTEMPTS:
                        raise
                    logger.info("Subnet %s changed under us (attempt %d); re-reading", sid, attempt)
        raise AssertionError("unreachable")
