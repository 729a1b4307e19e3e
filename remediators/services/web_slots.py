"""App Service deployment slots (``Microsoft.Web/sites/slots``): hardened like their site, by web.py's code.

A slot is its own resource, with its own ``publicNetworkAccess``, its own ``config/web`` (access
restrictions, the SCM site's) and its own tags, and Azure Policy judges it separately from its site
(/work/shared/azure-facts.md, "App Service slots"). Everything web.py does applies; only the ARM
operations differ, so this class overrides the few methods that name them (no copied logic):

- Read: WebApps_GetSlot (``GET sites/{name}/slots/{slot}``), WebApps_GetConfigurationSlot
  (``GET .../slots/{slot}/config/web``); write: WebApps_UpdateSlot (``PATCH .../slots/{slot}``,
  ``publicNetworkAccess``: ``SiteProperties`` is shared by sites and slots), WebApps_UpdateConfigurationSlot
  (``PATCH .../slots/{slot}/config/web``). azure-rest-api-specs web/resource-manager Microsoft.Web
  AppService WebApps.json; azure-mgmt-web ``get_slot``/``update_slot``/``get_configuration_slot``/
  ``update_configuration_slot``.
- The ``harden`` tag: the slot's own, else its site's. Only when the slot has no ``harden`` tag is the
  site read (one extra GET, WebApps_Get): a slot is most often created without tags, and an untagged slot
  of a hardened site is exactly the hole issue 14 names. ``harden=off`` on a slot opts that slot out
  whatever its site says.
- ``private``: the slot gets its own private endpoint, to the *site* (``privateLinkServiceId`` is the site's
  id) with group ``sites-<slot>``, in ``privatelink.azurewebsites.net`` (learn.microsoft.com/azure/
  app-service/overview-private-endpoint; Azure Verified Modules ``avm/res/web/site`` slot module:
  "privateLinkServiceId: app.id // Must be set on the WebApp and not the slot", groupIds
  ``sites-${slot.name}``). The endpoint is named after the site, ``pe-<site>-sites-<slot>``
  (private_link.private_endpoint_name), and its connection is listed on the site
  (WebApps_GetPrivateEndpointConnectionList), which is what is read. Then public access goes off on the slot.
- Events: ``Microsoft.Web/sites/slots/write`` and ``.../slots/config/write`` re-evaluate the slot. An
  approval of a slot's endpoint is a write of the *site's* connection and re-evaluates the site; a tag
  written on the site re-evaluates the site only. Slots that inherit catch up at their own next event or at
  the next sweep, which queues every slot without its own tag (remediators/sweep.py).

ARM reads per evaluation: as web.py, with WebApps_GetSlot for the site GET, plus the site GET when the
slot has no ``harden`` tag.

Sources: as web.py; the slot operations above.
"""
from __future__ import annotations

from typing import Any, Mapping

from azure.core.exceptions import ResourceNotFoundError

from ..arm import ArmClients
from ..model import TAG_NAME, requested_mode
from ..resource_id import ResourceId
from ..spec import PrivateLinkGroup, ServiceSpec, rbac_actions_from_docstring
from .common import tags_of
from .web import SITES_ZONE, WebAppRemediator


def slot_group(slot: str) -> PrivateLinkGroup:
    """``sites-<slot>``: the group a slot's endpoint asks its site for."""
    return PrivateLinkGroup(f"sites-{slot}", SITES_ZONE)


class WebAppSlotRemediator(WebAppRemediator):
    """Hardens App Service deployment slots: the slot's public switch, or its access restrictions.

    RBAC actions:
        Microsoft.Web/sites/slots/read
        Microsoft.Web/sites/slots/write
        Microsoft.Web/sites/slots/config/read
        Microsoft.Web/sites/slots/config/write
        Microsoft.Web/sites/read
        Microsoft.Web/sites/privateEndpointConnections/read
        Microsoft.Web/sites/privateEndpointConnectionsApproval/action
    """

    spec = ServiceSpec(
        resource_type="Microsoft.Web/sites/slots",
        display_name="App Service deployment slot",
        service_endpoint="Microsoft.Web",
        # The group is per slot (sites-<slot>, see slot_group); this names its shape and zone.
        private_link_groups=(PrivateLinkGroup("sites-<slot>", SITES_ZONE),),
        operations=("Microsoft.Web/sites/slots/write", "Microsoft.Web/sites/slots/config/write"),
        rbac_actions=rbac_actions_from_docstring(__doc__),
        connection_events=False,
    )
    noun = "slot"

    def get_resource(self, arm: ArmClients, rid: ResourceId) -> dict[str, Any]:
        site, slot = rid.names
        return arm.web.web_apps.get_slot(rid.resource_group, site, slot).as_dict()

    def get_config(self, arm: ArmClients, rid: ResourceId) -> dict[str, Any]:
        site, slot = rid.names
        return arm.web.web_apps.get_configuration_slot(rid.resource_group, site, slot).as_dict()

    def update_resource(self, arm: ArmClients, rid: ResourceId, body: Mapping[str, Any]) -> Any:
        site, slot = rid.names
        return arm.web.web_apps.update_slot(rid.resource_group, site, slot, body)

    def update_config(self, arm: ArmClients, rid: ResourceId, body: Mapping[str, Any]) -> Any:
        site, slot = rid.names
        return arm.web.web_apps.update_configuration_slot(rid.resource_group, site, slot, body)

    def list_connections(self, arm: ArmClients, rid: ResourceId) -> list[dict[str, Any]]:
        # The slot's endpoint targets the site: its connection is the site's.
        site = rid.ancestor(1)
        return super().list_connections(arm, site)

    def effective_tags(self, arm: ArmClients, rid: ResourceId, resource: Mapping[str, Any]) -> dict[str, str]:
        """The slot's tags; without a ``harden`` tag of its own, its site's ``harden`` tag added (one site GET)."""
        tags = tags_of(resource)
        if requested_mode(tags)[0] is not None:
            return tags
        try:
            site = super().get_resource(arm, rid.ancestor(1))
        except ResourceNotFoundError:
            return tags
        raw, _ = requested_mode(tags_of(site))
        return {**tags, TAG_NAME: raw} if raw is not None else tags

    def link_groups(self, rid: ResourceId) -> tuple[PrivateLinkGroup, ...]:
        return (slot_group(rid.name),)

    def link_target(self, rid: ResourceId) -> ResourceId | None:
        return rid.ancestor(1)
