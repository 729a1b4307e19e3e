"""Whether a Storage account's ``web`` private endpoint is worth creating (issue 14 item 6).

A ``web`` endpoint costs what any private endpoint costs: about $7.30 a month (Azure Private Link
pricing, azure.microsoft.com/pricing/details/private-link: $0.01 per endpoint-hour × 730 hours;
inbound/outbound data processing extra). It serves only the account's static website
(learn.microsoft.com/azure/storage/common/storage-private-endpoints: sub-resource ``web``, "Static
website"). So ``HARDEN_STORAGE_WEB_ENDPOINT`` decides:

- ``always``: every account that offers ``web`` gets it (the behaviour before this setting).
- ``never``: no account gets one; one that exists is left alone (never deleted) and not required.
- ``auto`` (default): only an account that serves a static website.

Whether it does is read first from ARM: Blob Services - Get Service Properties
(``.../blobServices/default``) has an optional ``staticWebsite`` in current API versions
(azure-rest-api-specs Microsoft.Storage, as generated into azure-mgmt-storage 25.x
``BlobServiceProperties.static_website`` at api-version 2026-09-01, and @azure/arm-storage). Earlier
versions had none (MicrosoftDocs/azure-docs#78511: "not available through ARM templates";
pulumi/pulumi-azure-nextgen#13), so when ARM's answer lacks it the app asks the data plane, Get Blob
Service Properties (learn.microsoft.com/rest/api/storageservices/get-blob-service-properties,
``StaticWebsite/Enabled``), with its managed identity (never an account key). Both need
``Microsoft.Storage/storageAccounts/blobServices/read`` (learn.microsoft.com/rest/api/storageservices/
authorize-with-azure-active-directory, permissions table). That is an *Action*, not a *DataAction*, so
Storage Blob Data Reader (whose actions are only ``containers/read`` and
``generateUserDelegationKey/action``) does not grant it; the remediator role does
(infra/remediator-role-actions.json). The ARM read is not subject to the account's firewall; the
data-plane read goes to the account's own blob endpoint, so it is
(learn.microsoft.com/azure/storage/common/storage-network-security: network rules apply to every
protocol, REST included): an account already behind ``Deny`` that does not admit this app's outbound
addresses answers 403 ``AuthorizationFailure``, and one with public access ``Disabled`` refuses it too.

When the read fails (403, no answer) the state is *unknown*, and the rule is the one that can lock
nobody out:

- our ``web`` endpoint already exists → keep requiring it (a static website may depend on it);
- the account is still public → require it: closing public access without it could take a live
  website offline; the outcome says what to grant to save the endpoint;
- the account is already closed to public networks → do not create one: no public visitor is
  left to lose, and an unknown cannot justify a new cost. The outcome says so.
"""
from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from typing import Any, Callable

from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

logger = logging.getLogger(__name__)

SETTING = "HARDEN_STORAGE_WEB_ENDPOINT"
#: Private Link's list price for one endpoint (USD/month: $0.01 per hour × 730 hours), the assumption
#: behind the savings the demo prints (azure.microsoft.com/pricing/details/private-link).
ENDPOINT_USD_PER_MONTH = 7.30
READ_ACTION = "Microsoft.Storage/storageAccounts/blobServices/read"
WEB_GROUPS = frozenset({"web", "web_secondary"})


class WebEndpointPolicy(str, enum.Enum):
    """``HARDEN_STORAGE_WEB_ENDPOINT``."""

    AUTO = "auto"
    ALWAYS = "always"
    NEVER = "never"


@dataclass(frozen=True)
class StaticWebsite:
    """``enabled`` is ``None`` when it could not be read; ``why`` then says why."""

    enabled: bool | None
    why: str = ""


def read_arm_static_website(arm: Any, resource_group: str, account: str) -> StaticWebsite | None:
    """``staticWebsite.enabled`` from ARM's ``blobServices/default``; ``None`` when ARM's answer lacks it."""
    try:
        properties = arm.storage.blob_services.get_service_properties(resource_group, account)
    except HttpResponseError as error:
        code = getattr(getattr(error, "error", None), "code", None)
        return StaticWebsite(None, f"ARM Blob Services - Get Service Properties answered {error.status_code} "
                                   f"{code or ''}".strip())
    website = getattr(properties, "static_website", None)
    if website is None:
        return None
    return StaticWebsite(bool(getattr(website, "enabled", False)))


def read_static_website(blob_service: Any) -> StaticWebsite:
    """``StaticWebsite/Enabled`` through a ``BlobServiceClient`` (Get Blob Service Properties)."""
    try:
        properties = blob_service.get_service_properties()
    except HttpResponseError as error:
        code = getattr(error, "error_code", None) or getattr(getattr(error, "error", None), "code", None)
        code = getattr(code, "value", code)  # azure-storage-blob gives a StorageErrorCode enum
        return StaticWebsite(None, f"Get Blob Service Properties answered {error.status_code} {code or ''}".strip())
    except (ServiceRequestError, ServiceResponseError) as error:
        return StaticWebsite(None, f"the account's blob endpoint did not answer ({type(error).__name__})")
    website = properties.get("static_website")
    return StaticWebsite(bool(website is not None and website.enabled))


@dataclass(frozen=True)
class WebDecision:
    needed: bool
    note: str | None = None


def decide_web_endpoint(policy: WebEndpointPolicy, probe: Callable[[], StaticWebsite], *, ours_exists: bool,
                        public: bool) -> WebDecision:
    """Whether the account needs its ``web`` group(s) served, and what the outcome should say."""
    saving = f"about ${ENDPOINT_USD_PER_MONTH:.2f}/month per endpoint"
    if policy is WebEndpointPolicy.ALWAYS:
        return WebDecision(True)
    if policy is WebEndpointPolicy.NEVER:
        kept = "; ours, already there, is left as it is" if ours_exists else ""
        return WebDecision(False, f"no web endpoint ({SETTING}=never; saves {saving}){kept}")
    website = probe()
    if website.enabled is True:
        return WebDecision(True, "static website enabled: web endpoint required")
    if website.enabled is False:
        if ours_exists:
            return WebDecision(False, f"no static website: our web endpoint is no longer required (left as it is; "
                                      f"deleting it saves {saving})")
        return WebDecision(False, f"no static website: no web endpoint (saves {saving})")
    grant = (f"grant the app {READ_ACTION} and let it through the account's firewall, or set "
             f"{SETTING}=always|never")
    if ours_exists:
        return WebDecision(True, f"static website state unknown ({website.why}); our web endpoint is kept")
    if public:
        return WebDecision(True, f"static website state unknown ({website.why}); a web endpoint is created so that "
                                 f"closing public access cannot take a website offline ({grant}, to save {saving})")
    return WebDecision(False, f"static website state unknown ({website.why}) and public access already off: "
                              f"no web endpoint created ({grant})")


#: Local runs only (``make demo``): an Azurite connection string whose blob service stands in for every
#: account's blob endpoint. The local ARM emulator has no storage data plane; in Azure this is never set.
LOCAL_BLOB_SETTING = "HARDEN_LOCAL_BLOB_CONNECTION_STRING"


def local_blob_service_for(connection_string: str | None) -> Callable[[str], Any] | None:
    """``ArmClients(blob_service_for=...)`` for a local run: ``https://<account>.blob.../`` → the Azurite
    account of that name (path-style, Azurite's ``AZURITE_ACCOUNTS``, same key), or ``None`` outside one."""
    if not connection_string:
        return None
    from urllib.parse import urlsplit

    from azure.storage.blob import BlobServiceClient

    parts = dict(p.split("=", 1) for p in connection_string.split(";") if "=" in p)
    base = parts["BlobEndpoint"].rstrip("/").rsplit("/", 1)[0]
    key = parts["AccountKey"]

    def build(account_url: str) -> Any:
        account = (urlsplit(account_url).hostname or "").split(".", 1)[0]
        return BlobServiceClient(f"{base}/{account}", credential={"account_name": account, "account_key": key},
                                 retry_total=0)

    return build
