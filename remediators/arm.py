"""The ARM clients the remediators use, built once per subscription.

Only azure-identity and the azure-mgmt-* clients talk to ARM. The clients are
created lazily so that a Key Vault event never imports the Web SDK.
"""
from __future__ import annotations

import json
import logging
from functools import cached_property
from typing import Any, Callable

from azure.core.credentials import TokenCredential
from azure.core.exceptions import ResponseNotReadError, StreamClosedError, StreamConsumedError
from azure.core.pipeline import PipelineResponse
from azure.core.pipeline.policies import RetryPolicy

from .throttle import MAX_RETRY_AFTER_SECONDS, ArmBudget, ArmThrottlePolicy

logger = logging.getLogger(__name__)

# ARM answers these when another write to the same resource (typically the same
# VNet) is in flight; a later attempt succeeds. azure-core retries 429 only when
# it carries Retry-After and never retries 409, so we add them.
# learn.microsoft.com/azure/azure-resource-manager/troubleshooting/error-reference
TRANSIENT_ERROR_CODES = frozenset({
    "anotheroperationinprogress",
    "retryableerror",
    "retryableerrorduetoanotheroperation",
    "operationnotallowed_retryable",
})


# Cosmos DB answers a write that arrives while another update of the account runs with
# 412 PreconditionFailed "There is another user operation in progress which requires an
# exclusive lock on [<account>]. Please retry after sometime." (real responses quoted in
# hashicorp/terraform-provider-azurerm#15842 and #17233). No If-Match was sent, so it is
# not a lost race of ours: it is "busy", and a later attempt succeeds.
EXCLUSIVE_LOCK_MARKER = "requires an exclusive lock"


def _error_of(response: Any) -> tuple[str | None, str]:
    try:
        # Long-running writes are sent with stream=True: read the (small) error body first, or
        # text() raises ResponseNotReadError, an AzureError the retry policy would then retry
        # itself, with no backoff. read() caches the body for the caller's deserialisation.
        read = getattr(response, "read", None)
        if callable(read):
            read()
        body = json.loads(response.text())
    except (ValueError, TypeError, AttributeError, ResponseNotReadError, StreamConsumedError, StreamClosedError):
        return None, ""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, ""
    code, message = error.get("code"), error.get("message")
    return (code if isinstance(code, str) else None), (message if isinstance(message, str) else "")


def error_code_of(response: Any) -> str | None:
    """The ARM error code in a response body, if it has one."""
    return _error_of(response)[0]


def is_exclusive_lock_conflict(response: Any) -> bool:
    """Cosmos DB's transient 412 "operation in progress which requires an exclusive lock"."""
    code, message = _error_of(response)
    return code is not None and code.lower() == "preconditionfailed" and EXCLUSIVE_LOCK_MARKER in message.lower()


def response_status(pipeline_response: PipelineResponse, _deserialized: Any, _headers: Any) -> int:
    """``cls=`` for a write whose answer we do not need (call it with ``stream=True``).

    Some non-long-running updates (Service Bus and Event Hubs ``Namespaces_Update``)
    document a 202 with no body, which the generated client would try to decode.
    """
    response = pipeline_response.http_response
    response.read()
    return response.status_code


class ArmRetryPolicy(RetryPolicy):
    """azure-core's retry policy, plus ARM's "busy, try again" conflicts (409/429 codes above,
    and Cosmos DB's 412 "exclusive lock").

    Our writes set absolute values, so retrying a PATCH is as safe as a PUT.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("retry_total", 6)
        kwargs.setdefault("retry_status", 6)
        kwargs.setdefault("retry_backoff_factor", 1.0)
        kwargs.setdefault("retry_backoff_max", 60)
        super().__init__(**kwargs)
        self._method_whitelist = self._method_whitelist | {"PATCH"}

    def get_retry_after(self, response: PipelineResponse) -> float | None:
        """ARM's ``Retry-After``, honoured up to a bound: no single wait of a worker is unbounded."""
        retry_after = super().get_retry_after(response)
        return None if retry_after is None else min(retry_after, MAX_RETRY_AFTER_SECONDS)

    def is_retry(self, settings: dict[str, Any], response: PipelineResponse) -> bool:
        if super().is_retry(settings, response):
            return True
        status = response.http_response.status_code
        if status in (409, 429) and settings["total"]:
            code = error_code_of(response.http_response)
            return code is not None and code.lower() in TRANSIENT_ERROR_CODES
        if status == 412 and settings["total"]:
            # Only Cosmos DB's "exclusive lock" 412; an If-Match 412 is ours to re-read and merge.
            return is_exclusive_lock_conflict(response.http_response)
        return False


class ArmClients:
    """Lazily built management clients for one subscription.

    :param credential: Any azure-identity credential (managed identity in Azure).
    :param subscription_id: The subscription the resources live in.
    :keyword endpoint: ARM's base URL; the public cloud unless a sovereign cloud
        or the local emulator is configured.
    :keyword polling_interval: Seconds between polls of a long-running
        operation when ARM sends no Retry-After.
    :keyword retry_backoff_factor: Passed to :class:`ArmRetryPolicy`.
    :keyword budget: The subscription's :class:`~remediators.throttle.ArmBudget`; every client
        built here paces its requests by it (none: no pacing).
    :keyword blob_service_for: Builds the ``BlobServiceClient`` for an account's blob endpoint URL (the
        one data-plane read, remediators/static_website.py); default: that URL with this credential.
        Local runs and tests pass one bound to Azurite.
    """

    def __init__(self, credential: TokenCredential, subscription_id: str, *,
                 endpoint: str = "https://management.azure.com",
                 polling_interval: float = 5.0, retry_backoff_factor: float = 1.0,
                 budget: ArmBudget | None = None,
                 blob_service_for: Callable[[str], Any] | None = None) -> None:
        self.subscription_id = subscription_id
        self._blob_service_for = blob_service_for
        self._credential = credential
        self._endpoint = endpoint.rstrip("/")
        self._options: dict[str, Any] = {
            "base_url": self._endpoint,
            "credential_scopes": [self._endpoint + "/.default"],
            "polling_interval": polling_interval,
            "retry_policy": ArmRetryPolicy(retry_backoff_factor=retry_backoff_factor),
        }
        if budget is not None:
            self._options["per_retry_policies"] = [ArmThrottlePolicy(budget)]

    def blob_service(self, account_url: str) -> Any:
        """A ``BlobServiceClient`` for one account's blob endpoint, with the app's identity (never a key).

        One attempt, short timeouts: the read only informs a cost decision, and a failure has a safe
        answer (remediators/static_website.py); the next evaluation reads again.
        """
        if self._blob_service_for is not None:
            return self._blob_service_for(account_url)
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient(account_url, credential=self._credential, retry_total=0,
                                 connection_timeout=5, read_timeout=10)

    def _build(self, client_class: type) -> Any:
        return client_class(self._credential, self.subscription_id, **self._options)

    @cached_property
    def resources(self) -> Any:
        from azure.mgmt.resource.resources import ResourceManagementClient
        return self._build(ResourceManagementClient)

    @cached_property
    def network(self) -> Any:
        from azure.mgmt.network import NetworkManagementClient
        return self._build(NetworkManagementClient)

    @cached_property
    def private_dns(self) -> Any:
        from azure.mgmt.privatedns import PrivateDnsManagementClient
        return self._build(PrivateDnsManagementClient)

    @cached_property
    def keyvault(self) -> Any:
        from azure.mgmt.keyvault import KeyVaultManagementClient
        return self._build(KeyVaultManagementClient)

    @cached_property
    def storage(self) -> Any:
        from azure.mgmt.storage import StorageManagementClient
        return self._build(StorageManagementClient)

    @cached_property
    def sql(self) -> Any:
        from azure.mgmt.sql import SqlManagementClient
        return self._build(SqlManagementClient)

    @cached_property
    def cosmosdb(self) -> Any:
        from azure.mgmt.cosmosdb import CosmosDBManagementClient
        return self._build(CosmosDBManagementClient)

    @cached_property
    def servicebus(self) -> Any:
        from azure.mgmt.servicebus import ServiceBusManagementClient
        return self._build(ServiceBusManagementClient)

    @cached_property
    def eventhub(self) -> Any:
        from azure.mgmt.eventhub import EventHubManagementClient
        return self._build(EventHubManagementClient)

    @cached_property
    def web(self) -> Any:
        from azure.mgmt.web import WebSiteManagementClient
        return self._build(WebSiteManagementClient)
