"""ARM's cloud metadata document, ``GET /metadata/endpoints?api-version=2022-09-01``.

The shape is the public cloud's real 2022-09-01 answer (one JSON object, suffixes
without a leading dot) as go-azure-sdk's metadata client (``metaDataResponse20220901``)
and pulumi-azure-native's local metadata server reproduce it. The US Government and
China values are azure-cli's hard-coded clouds (azure/cli/core/cloud.py:
``AZURE_US_GOV_CLOUD``, ``AZURE_CHINA_CLOUD``), not captured answers: see README
"Not verified". The endpoint needs no token (both clients above call it anonymously).
"""
from __future__ import annotations

from typing import Any

API_VERSION = "2022-09-01"
PATH = "/metadata/endpoints"

_CLOUDS: dict[str, dict[str, Any]] = {
    "AzureCloud": {
        "portal": "https://portal.azure.com",
        "authentication": {"loginEndpoint": "https://login.microsoftonline.com",
                           "audiences": ["https://management.core.windows.net/", "https://management.azure.com/"],
                           "tenant": "common", "identityProvider": "AAD"},
        "graph": "https://graph.windows.net/",
        "suffixes": {"acrLoginServer": "azurecr.io", "sqlServerHostname": "database.windows.net",
                     "keyVaultDns": "vault.azure.net", "storage": "core.windows.net",
                     "azureFrontDoorEndpointSuffix": "azurefd.net", "storageSyncEndpointSuffix": "afs.azure.net",
                     "mhsmDns": "managedhsm.azure.net", "mysqlServerEndpoint": "mysql.database.azure.com",
                     "postgresqlServerEndpoint": "postgres.database.azure.com",
                     "mariadbServerEndpoint": "mariadb.database.azure.com", "synapseAnalytics": "dev.azuresynapse.net",
                     "attestationEndpoint": "attest.azure.net"},
        "microsoftGraphResourceId": "https://graph.microsoft.com/",
    },
    "AzureUSGovernment": {
        "portal": "https://portal.azure.us",
        "authentication": {"loginEndpoint": "https://login.microsoftonline.us",
                           "audiences": ["https://management.core.usgovcloudapi.net/",
                                         "https://management.usgovcloudapi.net/"],
                           "tenant": "common", "identityProvider": "AAD"},
        "graph": "https://graph.windows.net/",
        "suffixes": {"acrLoginServer": "azurecr.us", "sqlServerHostname": "database.usgovcloudapi.net",
                     "keyVaultDns": "vault.usgovcloudapi.net", "storage": "core.usgovcloudapi.net",
                     "storageSyncEndpointSuffix": "afs.azure.us", "mhsmDns": "managedhsm.usgovcloudapi.net",
                     "mysqlServerEndpoint": "mysql.database.usgovcloudapi.net",
                     "postgresqlServerEndpoint": "postgres.database.usgovcloudapi.net",
                     "mariadbServerEndpoint": "mariadb.database.usgovcloudapi.net",
                     "synapseAnalytics": "dev.azuresynapse.usgovcloudapi.net"},
        "microsoftGraphResourceId": "https://graph.microsoft.us/",
    },
    "AzureChinaCloud": {
        "portal": "https://portal.azure.cn",
        "authentication": {"loginEndpoint": "https://login.chinacloudapi.cn",
                           "audiences": ["https://management.core.chinacloudapi.cn/",
                                         "https://management.chinacloudapi.cn"],
                           "tenant": "common", "identityProvider": "AAD"},
        "graph": "https://graph.chinacloudapi.cn/",
        "suffixes": {"acrLoginServer": "azurecr.cn", "sqlServerHostname": "database.chinacloudapi.cn",
                     "keyVaultDns": "vault.azure.cn", "storage": "core.chinacloudapi.cn",
                     "mhsmDns": "managedhsm.azure.cn", "mysqlServerEndpoint": "mysql.database.chinacloudapi.cn",
                     "postgresqlServerEndpoint": "postgres.database.chinacloudapi.cn",
                     "mariadbServerEndpoint": "mariadb.database.chinacloudapi.cn",
                     "synapseAnalytics": "dev.azuresynapse.azure.cn"},
        "microsoftGraphResourceId": "https://microsoftgraph.chinacloudapi.cn",
    },
}

#: Clouds the emulator can pretend to be (``Emulator.cloud``).
CLOUD_NAMES = tuple(_CLOUDS)


def metadata_document(cloud: str | dict[str, Any], resource_manager: str) -> dict[str, Any]:
    """The document for ``cloud`` (a name above, or a whole document for an unknown cloud),
    with ``resourceManager`` pointing at the emulator."""
    if isinstance(cloud, dict):
        return {**cloud, "resourceManager": resource_manager + "/"}
    base = _CLOUDS[cloud]
    return {**base, "name": cloud, "resourceManager": resource_manager + "/",
            "suffixes": dict(base["suffixes"]), "authentication": dict(base["authentication"])}
