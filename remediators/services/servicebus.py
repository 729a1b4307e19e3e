"""Service Bus namespaces (``Microsoft.ServiceBus/namespaces``).

Reading and writing are shared with Event Hubs (``messaging.py``, which lists
the ARM reads and writes per mode). What is Service Bus's own: VNet rules and
private endpoints exist only on the Premium tier
(learn.microsoft.com/azure/service-bus-messaging/service-bus-service-endpoints,
"Virtual Networks are supported only in Premium tier";
learn.microsoft.com/azure/service-bus-messaging/private-link-service), so Basic
and Standard namespaces are reported ``unsupported`` and never written.
Service endpoint ``Microsoft.ServiceBus``; private link group ``namespace`` in
``privatelink.servicebus.windows.net`` (learn.microsoft.com/azure/private-link/private-endpoint-dns).
"""
from __future__ import annotations

from typing import Any

from ..arm import ArmClients
from ..spec import PrivateLinkGroup, ServiceSpec, rbac_actions_from_docstring
from .messaging import MessagingNamespaceRemediator


class ServiceBusRemediator(MessagingNamespaceRemediator):
    """Hardens Premium Service Bus namespaces through the namespace and its ``networkRuleSets/default``.

    RBAC actions:
        Microsoft.ServiceBus/namespaces/read
        Microsoft.ServiceBus/namespaces/write
        Microsoft.ServiceBus/namespaces/networkRuleSets/read
        Microsoft.ServiceBus/namespaces/networkRuleSets/write
        Microsoft.ServiceBus/namespaces/privateEndpointConnectionsApproval/action
    """

    spec = ServiceSpec(
        resource_type="Microsoft.ServiceBus/namespaces",
        display_name="Service Bus namespace",
        service_endpoint="Microsoft.ServiceBus",
        private_link_groups=(PrivateLinkGroup("namespace", "privatelink.servicebus.windows.net"),),
        operations=("Microsoft.ServiceBus/namespaces/write", "Microsoft.ServiceBus/namespaces/networkRuleSets/write"),
        rbac_actions=rbac_actions_from_docstring(__doc__),
    )

    def namespaces(self, arm: ArmClients) -> Any:
        return arm.servicebus.namespaces

    def tier_problem(self, tier: str) -> str | None:
        if tier.lower() == "premium":
            return None
        return (f"Premium tier required: this Service Bus namespace is on the {tier or 'unknown'} tier, and "
                "virtual network rules and private endpoints exist only on Premium; upgrade the namespace to "
                "Premium to harden it, or tag it harden=off")
