"""Which Azure cloud ARM belongs to, and the private DNS zone names it uses.

Private DNS zone names differ per cloud (``privatelink.vaultcore.usgovcloudapi.net``,
``privatelink.azurewebsites.us``, ``privatelink.database.chinacloudapi.cn``...), so a
zone name is never hard-coded for anything but the public cloud: :func:`get_cloud`
reads ARM's own cloud metadata document once per process and endpoint, and
:meth:`Cloud.zone_name` maps each public-cloud zone the seven services use to this
cloud's name.

Sources:

- The document: ``GET {ARM}/metadata/endpoints?api-version=2022-09-01``, one JSON
  object (``name``, ``resourceManager``, ``suffixes.{storage, keyVaultDns,
  sqlServerHostname, ...}``), no authentication; as azure-cli
  (``azure/cli/core/cloud.py``, ``_arm_to_cli_mapper``) and go-azure-sdk's metadata
  client (``getMetaDataFrom2022API``) read it. Suffixes come without a leading dot in
  2022-09-01 (``database.windows.net``) and with one in older answers
  (``.database.windows.net``); both are accepted.
- Zone names: learn.microsoft.com/azure/private-link/private-endpoint-dns, the
  Commercial, Government and China tables. Key Vault, Storage (every group, the
  ``*_secondary`` ones share the primary's zone) and SQL zones are derived from the
  document's suffixes and agree with those tables; Cosmos DB, Service Bus / Event Hubs
  and App Service have no suffix in the document, so their names come from the tables,
  keyed by the document's cloud ``name`` (``AzureCloud``, ``AzureUSGovernment``,
  ``AzureChinaCloud``, the names azure-cli uses).

A cloud we have no table for (Azure Stack, a future sovereign cloud) gets no zone
name at all: guessing one would create endpoints whose names never resolve, so
:meth:`Cloud.zone_name` raises :class:`ZoneNotOffered` naming the cloud instead.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from azure.core import PipelineClient
from azure.core.exceptions import AzureError
from azure.core.pipeline.policies import (HeadersPolicy, NetworkTraceLoggingPolicy, RetryPolicy,
                                          UserAgentPolicy)
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest

logger = logging.getLogger(__name__)

METADATA_PATH = "/metadata/endpoints"
METADATA_API_VERSION = "2022-09-01"

PUBLIC = "AzureCloud"
US_GOVERNMENT = "AzureUSGovernment"
CHINA = "AzureChinaCloud"

# Storage sub-resources and their zones: blob/table/queue/file/web/dfs, each with a
# ``_secondary`` twin in the same zone (private-endpoint-dns, "Storage").
STORAGE_SERVICES = ("blob", "table", "queue", "file", "web", "dfs")

# Zones the metadata document does not describe: learn.microsoft.com/azure/private-link/private-endpoint-dns,
# tables "Commercial" / "Government" / "China" (Databases: Cosmos DB; Integration/Analytics:
# Service Bus and Event Hubs; Web: App Service). Cosmos DB's Analytical store zone is listed
# for the commercial cloud only, so the other clouds do not offer it here.
_DOCUMENTED_ZONES: Mapping[str, Mapping[str, str]] = {
    PUBLIC: {
        "privatelink.documents.azure.com": "privatelink.documents.azure.com",
        "privatelink.mongo.cosmos.azure.com": "privatelink.mongo.cosmos.azure.com",
        "privatelink.cassandra.cosmos.azure.com": "privatelink.cassandra.cosmos.azure.com",
        "privatelink.gremlin.cosmos.azure.com": "privatelink.gremlin.cosmos.azure.com",
        "privatelink.table.cosmos.azure.com": "privatelink.table.cosmos.azure.com",
        "privatelink.analytics.cosmos.azure.com": "privatelink.analytics.cosmos.azure.com",
        "privatelink.servicebus.windows.net": "privatelink.servicebus.windows.net",
        "privatelink.azurewebsites.net": "privatelink.azurewebsites.net",
    },
    US_GOVERNMENT: {
        "privatelink.documents.azure.com": "privatelink.documents.azure.us",
        "privatelink.mongo.cosmos.azure.com": "privatelink.mongo.cosmos.azure.us",
        "privatelink.cassandra.cosmos.azure.com": "privatelink.cassandra.cosmos.azure.us",
        "privatelink.gremlin.cosmos.azure.com": "privatelink.gremlin.cosmos.azure.us",
        "privatelink.table.cosmos.azure.com": "privatelink.table.cosmos.azure.us",
        "privatelink.servicebus.windows.net": "privatelink.servicebus.usgovcloudapi.net",
        "privatelink.azurewebsites.net": "privatelink.azurewebsites.us",
    },
    CHINA: {
        "privatelink.documents.azure.com": "privatelink.documents.azure.cn",
        "privatelink.mongo.cosmos.azure.com": "privatelink.mongo.cosmos.azure.cn",
        "privatelink.cassandra.cosmos.azure.com": "privatelink.cassandra.cosmos.azure.cn",
        "privatelink.gremlin.cosmos.azure.com": "privatelink.gremlin.cosmos.azure.cn",
        "privatelink.table.cosmos.azure.com": "privatelink.table.cosmos.azure.cn",
        "privatelink.servicebus.windows.net": "privatelink.servicebus.chinacloudapi.cn",
        "privatelink.azurewebsites.net": "privatelink.chinacloudsites.cn",
    },
}

# The suffixes a zone is derived from, for a document that lacks one: azure-cli's
# hard-coded clouds (azure/cli/core/cloud.py, AZURE_PUBLIC_CLOUD / AZURE_US_GOV_CLOUD /
# AZURE_CHINA_CLOUD: storage_endpoint, keyvault_dns, sql_server_hostname).
_DOCUMENTED_SUFFIXES: Mapping[str, Mapping[str, str]] = {
    PUBLIC: {"storage": "core.windows.net", "keyVaultDns": "vault.azure.net",
             "sqlServerHostname": "database.windows.net"},
    US_GOVERNMENT: {"storage": "core.usgovcloudapi.net", "keyVaultDns": "vault.usgovcloudapi.net",
                    "sqlServerHostname": "database.usgovcloudapi.net"},
    CHINA: {"storage": "core.chinacloudapi.cn", "keyVaultDns": "vault.azure.cn",
            "sqlServerHostname": "database.chinacloudapi.cn"},
}


def _vault_zone(suffix: str) -> str:
    # Key Vault's data plane is vault.<x>; its private zone is privatelink.vaultcore.<x>
    # in every documented cloud (vault.azure.net → vaultcore.azure.net, vault.azure.cn → vaultcore.azure.cn).
    if not suffix.startswith("vault."):
        raise ValueError(f"keyVaultDns {suffix!r} does not start with 'vault.'")
    return "privatelink.vaultcore." + suffix[len("vault."):]


# Public-cloud zone → (document suffix, how this cloud's zone is built from it).
_DERIVED_ZONES: Mapping[str, tuple[str, Callable[[str], str]]] = {
    "privatelink.vaultcore.azure.net": ("keyVaultDns", _vault_zone),
    "privatelink.database.windows.net": ("sqlServerHostname", lambda s: "privatelink." + s),
    **{f"privatelink.{service}.core.windows.net": ("storage", lambda s, service=service: f"privatelink.{service}.{s}")
       for service in STORAGE_SERVICES},
}

#: Every public-cloud zone name :meth:`Cloud.zone_name` knows.
KNOWN_PUBLIC_ZONES = frozenset(_DERIVED_ZONES) | frozenset(_DOCUMENTED_ZONES[PUBLIC])


class CloudError(Exception):
    """Base class: the cloud's metadata or a zone name could not be had."""


class CloudMetadataError(CloudError):
    """ARM's cloud metadata document could not be fetched or read; the message says which and why."""


class ZoneNotOffered(CloudError):
    """This cloud has no private DNS zone for that service (or we do not know its name)."""


@dataclass(frozen=True)
class Cloud:
    """One Azure cloud, as its ARM endpoint describes itself.

    :param name: The document's ``name`` (``AzureCloud``, ``AzureUSGovernment``, ``AzureChinaCloud``, ...).
    :param resource_manager: The document's ``resourceManager``.
    :param suffixes: The document's ``suffixes``, leading dots removed.
    """

    name: str
    resource_manager: str
    suffixes: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_metadata(cls, document: Mapping[str, Any]) -> Cloud:
        """Read the 2022-09-01 document (one object; older versions' list of clouds is refused)."""
        if not isinstance(document, Mapping):
            raise CloudMetadataError("the cloud metadata document is not a JSON object "
                                     f"(api-version {METADATA_API_VERSION} returns one)")
        name = document.get("name")
        if not isinstance(name, str) or not name:
            raise CloudMetadataError("the cloud metadata document has no 'name'")
        raw = document.get("suffixes") or {}
        suffixes = {str(k): v.strip().lstrip(".") for k, v in raw.items()
                    if isinstance(v, str) and v.strip()} if isinstance(raw, Mapping) else {}
        return cls(name=name, resource_manager=str(document.get("resourceManager") or ""), suffixes=suffixes)

    def zone_name(self, public_zone: str) -> str:
        """This cloud's name for the public cloud's private DNS zone ``public_zone``.

        :raises ZoneNotOffered: the zone is not one the seven services use, this cloud
            does not offer it, or this is a cloud whose zone names are not documented.
        """
        key = public_zone.strip().lower().rstrip(".")
        if key not in KNOWN_PUBLIC_ZONES:
            raise ZoneNotOffered(f"{public_zone!r} is not a private DNS zone of a service we harden; known zones: "
                                 f"{', '.join(sorted(KNOWN_PUBLIC_ZONES))}")
        documented = _DOCUMENTED_ZONES.get(self.name)
        if documented is None:
            raise ZoneNotOffered(
                f"cloud {self.name!r} (from {self.resource_manager or 'ARM'}{METADATA_PATH}) is not one whose private "
                f"DNS zone names Microsoft documents ({', '.join(_DOCUMENTED_ZONES)}); no zone name for "
                f"{public_zone!r} is guessed, so harden=private cannot be used in this cloud")
        if key in _DERIVED_ZONES:
            suffix_name, build = _DERIVED_ZONES[key]
            suffix = self.suffixes.get(suffix_name) or _DOCUMENTED_SUFFIXES[self.name][suffix_name]
            try:
                return build(suffix.lower())
            except ValueError as exc:
                raise ZoneNotOffered(f"cloud {self.name!r}: cannot derive the zone for {public_zone!r}: {exc}") from exc
        zone = documented.get(key)
        if zone is None:
            raise ZoneNotOffered(f"cloud {self.name!r} offers no private DNS zone for {public_zone!r} "
                                 "(learn.microsoft.com/azure/private-link/private-endpoint-dns lists none)")
        return zone


_lock = threading.Lock()
_clouds: dict[str, Cloud] = {}


def get_cloud(arm_endpoint: str, *, transport: HttpTransport | None = None) -> Cloud:
    """The cloud ``arm_endpoint`` belongs to, fetched once per process and endpoint.

    Only a successful read is cached, so a transient failure is retried by the next call.

    :param arm_endpoint: ``AZURE_RESOURCE_MANAGER_ENDPOINT``, e.g. ``https://management.usgovcloudapi.net``.
    :param transport: An azure-core transport (tests); the default is azure-core's.
    :raises CloudMetadataError: the document could not be fetched or read.
    """
    key = arm_endpoint.rstrip("/").lower()
    with _lock:  # one fetch even when the engine's threads ask at once
        cloud = _clouds.get(key)
        if cloud is None:
            cloud = _clouds[key] = _fetch(arm_endpoint.rstrip("/"), transport)
        return cloud


def forget_clouds() -> None:
    """Drop the per-process cache (tests that change what an endpoint says)."""
    with _lock:
        _clouds.clear()


def _fetch(endpoint: str, transport: HttpTransport | None) -> Cloud:
    url = f"{endpoint}{METADATA_PATH}"
    # The document needs no token (azure-cli and go-azure-sdk fetch it anonymously), so no
    # authentication policy; retries cover ARM's transient 5xx/429 like every other call.
    policies = [HeadersPolicy(), UserAgentPolicy(sdk_moniker="paas-hardener"), RetryPolicy(retry_total=3),
                NetworkTraceLoggingPolicy()]
    client: PipelineClient = PipelineClient(endpoint, policies=policies, transport=transport)
    request = HttpRequest("GET", url, params={"api-version": METADATA_API_VERSION},
                          headers={"Accept": "application/json"})
    try:
        # Bounded: every engine thread waits on this one fetch (see get_cloud's lock).
        response = client.send_request(request, connection_timeout=10, read_timeout=30)
        status = response.status_code
        text = response.text()
    except AzureError as exc:
        raise CloudMetadataError(f"could not fetch the cloud metadata from {url}: {exc}") from exc
    finally:
        if transport is None:  # ours to close; a caller's transport stays open
            client.close()
    if status != 200:
        raise CloudMetadataError(f"{url}?api-version={METADATA_API_VERSION} answered {status}: {text[:200]}")
    try:
        document = response.json()
    except ValueError as exc:
        raise CloudMetadataError(f"{url} did not return JSON: {text[:200]}") from exc
    cloud = Cloud.from_metadata(document)
    logger.info("ARM %s is cloud %s", endpoint, cloud.name)
    return cloud
