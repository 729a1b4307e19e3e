"""App settings, read once per distinct environment and validated up front.

A malformed setting raises :class:`SettingsError` naming it, so a bad
deployment fails at its first event instead of half-working.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping
from urllib.parse import urlparse

from . import cloud as _cloud
from .ip_ranges import InvalidIpRange, parse_allowed_ip_ranges
from .resource_id import InvalidResourceId, ResourceId, is_subscription_id

PUBLIC_CLOUD_ARM = "https://management.azure.com"

_KEYS = (
    "HARDEN_SUBSCRIPTION_IDS", "HARDEN_PRIVATE_ENDPOINT_SUBNET_ID", "HARDEN_SERVICE_ENDPOINT_SUBNET_IDS",
    "HARDEN_DNS_ZONES_RESOURCE_GROUP_ID", "HARDEN_UNTAGGED", "HARDEN_DRY_RUN",
    "HARDEN_NOTIFY_TOPIC_ENDPOINT", "HARDEN_NOTIFY_TOPIC_KEY", "HARDEN_EXCLUDE_RESOURCE_IDS",
    "AZURE_RESOURCE_MANAGER_ENDPOINT", "AZURE_CLIENT_ID", "HARDEN_POLL_INTERVAL_SECONDS",
    "HARDEN_MAX_PARALLEL_CHANGES",
    # Set by App Service: lets the app recognise, and never harden, itself.
    "WEBSITE_SITE_NAME", "WEBSITE_RESOURCE_GROUP", "WEBSITE_OWNER_NAME",
    "AzureWebJobsStorage__accountName",
    # Many subscriptions, the scheduled sweep and ARM's throttle (issue 10).
    "HARDEN_PRIVATE_ENDPOINT_SUBNET_IDS", "HARDEN_SWEEP_DEDUPE_MINUTES",
    "HARDEN_ARM_WRITES_PER_SECOND", "HARDEN_ARM_READS_PER_SECOND",
    # false where the platform team owns the privatelink.* zones (issue 15).
    "HARDEN_CREATE_PRIVATE_DNS_ZONES",
    # Public IPv4 ranges harden=service-endpoint lets in, on every service (issue 14 item 4).
    "HARDEN_ALLOWED_IP_RANGES",
    # auto|always|never: which Storage accounts get a `web` endpoint (issue 14 item 6, static_website.py).
    "HARDEN_STORAGE_WEB_ENDPOINT",
)


class SettingsError(ValueError):
    """An app setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    """Validated configuration. See README "Configuration" for each setting."""

    subscription_ids: frozenset[str]
    private_endpoint_subnet_id: str | None = None
    service_endpoint_subnet_ids: tuple[str, ...] = ()
    dns_zones_resource_group_id: str | None = None
    report_untagged: bool = True
    dry_run: bool = False
    notify_topic_endpoint: str | None = None
    notify_topic_key: str | None = None
    excluded_resource_ids: frozenset[str] = frozenset()
    excluded_storage_account_names: frozenset[str] = frozenset()
    excluded_site_names: frozenset[str] = frozenset()
    arm_endpoint: str = PUBLIC_CLOUD_ARM
    client_id: str | None = None
    poll_interval_seconds: float = 5.0
    private_endpoint_subnet_ids: tuple[str, ...] = ()
    sweep_dedupe_minutes: float = 60.0
    arm_writes_per_second: float = 10.0
    arm_reads_per_second: float = 25.0
    max_parallel_changes: int = 8
    create_private_dns_zones: bool = True
    #: Canonical public IPv4 addresses/ranges (remediators/ip_ranges.py); a platform setting, never a tag.
    allowed_ip_ranges: tuple[str, ...] = ()
    #: ``auto`` (static websites only), ``always`` or ``never`` (remediators/static_website.py).
    storage_web_endpoint: str = "auto"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return _parse(tuple(env.get(k) for k in _KEYS))

    def excludes(self, resource_id: ResourceId) -> bool:
        """Whether the app never touches this resource: the one definition the engine and the sweep ask.

        ``HARDEN_EXCLUDE_RESOURCE_IDS`` (with their children: an excluded site's slots), the app's own site
        and its slots by name alone (``_own_site_id``), and its own storage accounts by name.
        """
        if any(resource_id.ancestor(depth).key in self.excluded_resource_ids
               for depth in range(1, len(resource_id.types) + 1)):
            return True
        kind = resource_id.type.lower()
        if kind in ("microsoft.web/sites", "microsoft.web/sites/slots"):
            return resource_id.names[0].lower() in self.excluded_site_names
        return kind == "microsoft.storage/storageaccounts" and resource_id.name.lower() in \
            self.excluded_storage_account_names

    def get_cloud(self, *, transport: Any = None) -> _cloud.Cloud:
        """The cloud ``AZURE_RESOURCE_MANAGER_ENDPOINT`` belongs to: fetched on first use, then cached
        per process (see :mod:`remediators.cloud`)."""
        return _cloud.get_cloud(self.arm_endpoint, transport=transport)


def subscriptions_from_env(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """Just ``HARDEN_SUBSCRIPTION_IDS``: all the Event Grid trigger needs, at one lookup's cost."""
    env = os.environ if environ is None else environ
    return _parse_subscriptions(env.get("HARDEN_SUBSCRIPTION_IDS") or "")


@lru_cache(maxsize=8)
def _parse_subscriptions(value: str) -> frozenset[str]:
    subscriptions = _split(value)
    if not subscriptions:
        raise SettingsError("HARDEN_SUBSCRIPTION_IDS is not set: list the subscription ids to harden, "
                            "comma-separated")
    for sub in subscriptions:
        if not is_subscription_id(sub):
            raise SettingsError(f"HARDEN_SUBSCRIPTION_IDS: {sub!r} is not a subscription GUID")
    return frozenset(s.lower() for s in subscriptions)


@lru_cache(maxsize=8)
def _parse(values: tuple[str | None, ...]) -> Settings:
    raw = {k: (v.strip() if v else "") for k, v in zip(_KEYS, values)}

    subscriptions = _parse_subscriptions(raw["HARDEN_SUBSCRIPTION_IDS"])

    pe_subnet = raw["HARDEN_PRIVATE_ENDPOINT_SUBNET_ID"] or None
    if pe_subnet:
        _subnet("HARDEN_PRIVATE_ENDPOINT_SUBNET_ID", pe_subnet)
    se_subnets = tuple(_subnet("HARDEN_SERVICE_ENDPOINT_SUBNET_IDS", s)
                       for s in _split(raw["HARDEN_SERVICE_ENDPOINT_SUBNET_IDS"]))
    zones_rg = raw["HARDEN_DNS_ZONES_RESOURCE_GROUP_ID"] or None
    if zones_rg:
        parts = zones_rg.split("/")
        if (len(parts) != 5 or parts[0] or parts[1].lower() != "subscriptions"
                or parts[3].lower() != "resourcegroups" or not is_subscription_id(parts[2]) or not parts[4]):
            raise SettingsError("HARDEN_DNS_ZONES_RESOURCE_GROUP_ID must look like "
                                f"/subscriptions/<guid>/resourceGroups/<name>, got {zones_rg!r}")

    untagged = (raw["HARDEN_UNTAGGED"] or "report").lower()
    if untagged not in ("report", "ignore"):
        raise SettingsError(f"HARDEN_UNTAGGED must be 'report' or 'ignore', got {raw['HARDEN_UNTAGGED']!r}")
    dry_run = _bool("HARDEN_DRY_RUN", raw["HARDEN_DRY_RUN"])

    topic = raw["HARDEN_NOTIFY_TOPIC_ENDPOINT"] or None
    if topic:
        _https("HARDEN_NOTIFY_TOPIC_ENDPOINT", topic)
    arm = raw["AZURE_RESOURCE_MANAGER_ENDPOINT"] or PUBLIC_CLOUD_ARM
    _https("AZURE_RESOURCE_MANAGER_ENDPOINT", arm)

    excluded = {e.lower() for e in _split(raw["HARDEN_EXCLUDE_RESOURCE_IDS"])}
    for item in excluded:
        try:
            ResourceId.parse(item)
        except InvalidResourceId as exc:
            raise SettingsError(f"HARDEN_EXCLUDE_RESOURCE_IDS: {exc}") from exc
    excluded |= _own_site_id(raw)
    own_site = raw["WEBSITE_SITE_NAME"].lower()
    own_storage = raw["AzureWebJobsStorage__accountName"].lower()

    poll = raw["HARDEN_POLL_INTERVAL_SECONDS"] or "5"
    try:
        poll_interval = float(poll)
    except ValueError:
        poll_interval = -1.0
    if not 0 <= poll_interval <= 60:
        raise SettingsError(f"HARDEN_POLL_INTERVAL_SECONDS must be a number of seconds from 0 to 60, got {poll!r}")

    pe_subnets = tuple(_subnet("HARDEN_PRIVATE_ENDPOINT_SUBNET_IDS", s)
                       for s in _split(raw["HARDEN_PRIVATE_ENDPOINT_SUBNET_IDS"]))
    dedupe = _number("HARDEN_SWEEP_DEDUPE_MINUTES", raw["HARDEN_SWEEP_DEDUPE_MINUTES"], 60.0, 0, 7 * 24 * 60)
    # ARM's documented refill rates (request-limits-and-throttling); a setting because limits change.
    writes_rate = _number("HARDEN_ARM_WRITES_PER_SECOND", raw["HARDEN_ARM_WRITES_PER_SECOND"], 10.0, 0.01, 1e6)
    reads_rate = _number("HARDEN_ARM_READS_PER_SECOND", raw["HARDEN_ARM_READS_PER_SECOND"], 25.0, 0.01, 1e6)
    parallel = raw["HARDEN_MAX_PARALLEL_CHANGES"] or "8"
    if not parallel.isdigit() or not 1 <= int(parallel) <= 32:
        raise SettingsError("HARDEN_MAX_PARALLEL_CHANGES must be a whole number from 1 (one change at a time) "
                            f"to 32, got {parallel!r}")

    try:
        allowed_ip_ranges = parse_allowed_ip_ranges(raw["HARDEN_ALLOWED_IP_RANGES"])
    except InvalidIpRange as exc:
        raise SettingsError(str(exc)) from exc

    web_endpoint = (raw["HARDEN_STORAGE_WEB_ENDPOINT"] or "auto").strip().lower()
    if web_endpoint not in ("auto", "always", "never"):
        raise SettingsError("HARDEN_STORAGE_WEB_ENDPOINT must be auto (a web endpoint only for an account that "
                            f"serves a static website), always or never, got {raw['HARDEN_STORAGE_WEB_ENDPOINT']!r}")

    return Settings(
        subscription_ids=subscriptions,
        private_endpoint_subnet_id=pe_subnet,
        service_endpoint_subnet_ids=se_subnets,
        dns_zones_resource_group_id=zones_rg,
        report_untagged=untagged == "report",
        dry_run=dry_run,
        notify_topic_endpoint=topic,
        notify_topic_key=raw["HARDEN_NOTIFY_TOPIC_KEY"] or None,
        excluded_resource_ids=frozenset(excluded),
        excluded_storage_account_names=frozenset({own_storage} if own_storage else ()),
        excluded_site_names=frozenset({own_site} if own_site else ()),
        arm_endpoint=arm.rstrip("/"),
        client_id=raw["AZURE_CLIENT_ID"] or None,
        poll_interval_seconds=poll_interval,
        private_endpoint_subnet_ids=pe_subnets,
        sweep_dedupe_minutes=dedupe,
        arm_writes_per_second=writes_rate,
        arm_reads_per_second=reads_rate,
        max_parallel_changes=int(parallel),
        create_private_dns_zones=_bool("HARDEN_CREATE_PRIVATE_DNS_ZONES",
                                       raw["HARDEN_CREATE_PRIVATE_DNS_ZONES"] or "true"),
        allowed_ip_ranges=allowed_ip_ranges,
        storage_web_endpoint=web_endpoint,
    )


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _subnet(name: str, value: str) -> str:
    try:
        rid = ResourceId.parse(value)
    except InvalidResourceId as exc:
        raise SettingsError(f"{name}: {exc}") from exc
    if rid.type.lower() != "microsoft.network/virtualnetworks/subnets":
        raise SettingsError(f"{name}: {value!r} is not a subnet id (…/virtualNetworks/<vnet>/subnets/<subnet>)")
    return value


def _number(name: str, value: str, default: float, low: float, high: float) -> float:
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not low <= number <= high:
        raise SettingsError(f"{name} must be a number from {low:g} to {high:g}, got {value!r}")
    return number


def _bool(name: str, value: str) -> bool:
    if value.lower() in ("", "false", "0", "no"):
        return False
    if value.lower() in ("true", "1", "yes"):
        return True
    raise SettingsError(f"{name} must be true or false, got {value!r}")


def _https(name: str, value: str) -> None:
    url = urlparse(value)
    if url.scheme != "https" or not url.netloc:
        raise SettingsError(f"{name} must be an https:// URL, got {value!r}")


def _own_site_id(raw: Mapping[str, str]) -> set[str]:
    """The app's own site id, when App Service says enough to build it.

    WEBSITE_OWNER_NAME is ``<subscription id>+<webspace>``. On Flex Consumption
    WEBSITE_RESOURCE_GROUP is not set and the webspace is ``flex-<hash>-webspace``
    (Azure/Azure-Functions#2593, Azure/azure-functions-host#10441), so this may be
    empty: the site *name* alone (``excluded_site_names``) is what keeps the app
    from hardening itself, in any resource group (fail closed).
    """
    site, group, owner = raw["WEBSITE_SITE_NAME"], raw["WEBSITE_RESOURCE_GROUP"], raw["WEBSITE_OWNER_NAME"]
    subscription = owner.split("+", 1)[0]
    if site and group and is_subscription_id(subscription):
        return {f"/subscriptions/{subscription}/resourcegroups/{group}/providers/microsoft.web/sites/{site}".lower()}
    return set()
