"""Event Hubs namespaces (``Microsoft.EventHub/namespaces``).

Reading and writing are shared with Service Bus (``messaging.py``, which lists
the ARM reads and writes per mode). What is Event Hubs' own: the Basic tier has
neither VNet rules nor private endpoints; Standard and above have both
(learn.microsoft.com/azure/event-hubs/event-hubs-service-endpoints and
.../event-hubs/private-link-service, "This feature isn't supported in the basic tier").
Service endpoint ``Microsoft.EventHub``; private link group ``namespace`` in
``privatelink.servicebus.windows.net``, the zone Service Bus uses too
(learn.microsoft.com/azure/private-link/private-endpoint-dns): the network
planner finds and reuses it, so there is one zone and one VNet link for both.
"""
from __future__ import annotations

from typing import Any

from ..arm import ArmClients
from ..spec import PrivateLinkGroup, ServiceSpec, rbac_actions_from_docstring
from .messaging import BASIC, MessagingNamespaceRemediator


class EventHubsRemediator(MessagingNamespaceRemediator):
    """Hardens Standard-and-above Event Hubs namespaces through the namespace and its ``networkRuleSets/default``.

    RBAC actions:
        Microsoft.EventHub/namespaces/read
        Microsoft.EventHub/namespaces/write
        Microsoft.EventHub/namespaces/networkRuleSets/read
        Microsoft.EventHub/namespaces/networkRuleSets/write
        Microsoft.EventHub/namespaces/privateEndpointConnectionsApproval/action
    """

    spec = ServiceSpec(
        resource_type="Microsoft.EventHub/namespaces",
        display_name="Event Hubs namespace",
        service_endpoint="Microsoft.EventHub",
        private_link_groups=(PrivateLinkGroup("namespace", "privatelink.servicebus.windows.net"),),
        operations=("Microsoft.EventHub/namespaces/write", "Microsoft.EventHub/namespaces/networkRuleSets/write"),
        rbac_actions=rbac_actions_from_docstring(__doc__),
    )

    def namespaces(self, arm: ArmClients) -> Any:
        return arm.eventhub.namespaces

    def tier_problem(self, tier: str) -> str | None:
        if tier.lower() != BASIC:
            return None
        return ("Standard tier or higher required: this Event Hubs namespace is on the Basic tier, which has "
                "neither virtual network rules nor private endpoints; upgrade it to Standard or above to harden "
                "it, or tag it harden=off")
