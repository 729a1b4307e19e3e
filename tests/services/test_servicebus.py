"""Service Bus namespaces: the remediation contract plus the Premium-only rule."""
from __future__ import annotations

from localdev.seeds.servicebus import seed_service_bus_namespace
from tests.services import messaging


class TestServiceBus(messaging.MessagingContract):
    operation = "Microsoft.ServiceBus/namespaces/write"
    service_endpoint = "Microsoft.ServiceBus"
    seed_namespace = staticmethod(seed_service_bus_namespace)
    supported_tier = "Premium"
    unsupported_tiers = ("Basic", "Standard")
    unsupported_reason = "Premium tier required"
