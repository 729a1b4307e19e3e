"""Seed App Service / Function apps shaped like Microsoft's GetWebApp example.

The site body follows azure-rest-api-specs web AppService example GetWebApp.json
(2025-03-01): no ``publicNetworkAccess``, no ``privateEndpointConnections`` (a
site GET never has them), ``properties.sku`` naming the plan's SKU. Access
restrictions live in ``config/web`` and app settings in ``config/appsettings``,
as in App Service.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..landing_zone import LOCATION, LandingZone


def seed_web_app(emu: Any, lz: LandingZone, name: str, *, tags: Mapping[str, str] | None = None,
                 kind: str = "app", sku: str = "Standard",
                 restrictions: Sequence[Mapping[str, Any]] | None = None,
                 app_settings: Mapping[str, str] | None = None) -> str:
    """A public app; ``restrictions`` are stored in config/web, ``app_settings`` in config/appsettings."""
    rid = lz.resource_id(f"Microsoft.Web/sites/{name}")
    host = f"{name}.azurewebsites.net"
    emu.seed(rid, {
        "kind": kind,
        "location": LOCATION,
        "tags": dict(tags or {}),
        "properties": {
            "availabilityState": "Normal",
            "clientAffinityEnabled": True,
            "clientCertEnabled": False,
            "clientCertMode": "Required",
            "defaultHostName": host,
            "enabled": True,
            "enabledHostNames": [host, f"{name}.scm.azurewebsites.net"],
            "hostNameSslStates": [{"name": host, "hostType": "Standard", "sslState": "Disabled"},
                                  {"name": f"{name}.scm.azurewebsites.net", "hostType": "Repository",
                                   "sslState": "Disabled"}],
            "hostNames": [host],
            "httpsOnly": True,
            "keyVaultReferenceIdentity": "SystemAssigned",
            "outboundIpAddresses": "70.37.102.201,20.225.43.144",
            "redundancyMode": "None",
            "repositorySiteName": name,
            "reserved": kind.startswith("functionapp"),
            "resourceGroup": lz.app_rg,
            "serverFarmId": lz.resource_id(f"Microsoft.Web/serverfarms/asp-{name}"),
            "sku": sku,
            "state": "Running",
            "usageState": "Normal",
        },
    })
    if restrictions is not None:
        emu.seed(f"{rid}/config/web", {"location": LOCATION, "properties": {
            "numberOfWorkers": 1, "netFrameworkVersion": "v4.0", "alwaysOn": True, "http20Enabled": True,
            "minTlsVersion": "1.2", "ftpsState": "FtpsOnly",
            "ipSecurityRestrictions": [dict(r) for r in restrictions],
            "scmIpSecurityRestrictions": [], "scmIpSecurityRestrictionsUseMain": False,
            "ipSecurityRestrictionsDefaultAction": "Allow", "scmIpSecurityRestrictionsDefaultAction": "Allow",
        }})
    if app_settings is not None:
        emu.seed(f"{rid}/config/appsettings", {"properties": dict(app_settings)})
    return rid


def seed_web_slot(emu: Any, lz: LandingZone, site_id: str, slot: str, *,
                  tags: Mapping[str, str] | None = None, sku: str = "Standard",
                  restrictions: Sequence[Mapping[str, Any]] | None = None) -> str:
    """A public deployment slot of ``site_id`` (WebApps_GetSlot returns the site's ``Site`` shape; the slot's
    host is ``<site>-<slot>.azurewebsites.net``); ``restrictions`` are stored in the slot's config/web."""
    site = site_id.rstrip("/").rsplit("/", 1)[-1]
    rid = f"{site_id}/slots/{slot}"
    host = f"{site}-{slot}.azurewebsites.net"
    emu.seed(rid, {
        "kind": "app",
        "location": LOCATION,
        "tags": dict(tags or {}),
        "properties": {
            "defaultHostName": host,
            "enabled": True,
            "enabledHostNames": [host, f"{site}-{slot}.scm.azurewebsites.net"],
            "hostNames": [host],
            "httpsOnly": True,
            "repositorySiteName": site,
            "resourceGroup": lz.app_rg,
            "serverFarmId": lz.resource_id(f"Microsoft.Web/serverfarms/asp-{site}"),
            "sku": sku,
            "state": "Running",
            "usageState": "Normal",
        },
    })
    if restrictions is not None:
        emu.seed(f"{rid}/config/web", {"location": LOCATION, "properties": {
            "ipSecurityRestrictions": [dict(r) for r in restrictions],
            "scmIpSecurityRestrictions": [], "scmIpSecurityRestrictionsUseMain": False,
            "ipSecurityRestrictionsDefaultAction": "Allow", "scmIpSecurityRestrictionsDefaultAction": "Allow",
        }})
    return rid


def seed_demo_slot(emu: Any, lz: LandingZone, name: str, *, tags: Mapping[str, str] | None = None,
                   site: str = "app-lz-portal") -> str:
    """The demo's deployment slot ``name`` of the (already seeded) ``site``: a DemoResource seeder."""
    return seed_web_slot(emu, lz, lz.resource_id(f"Microsoft.Web/sites/{site}"), name, tags=tags,
                         restrictions=[])
