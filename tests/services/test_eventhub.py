"""Event Hubs namespaces: the remediation contract, the Basic tier, and the zone shared with Service Bus."""
from __future__ import annotations

from azure.identity import DefaultAzureCredential

from localdev.seeds.eventhub import seed_event_hubs_namespace
from localdev.seeds.servicebus import seed_service_bus_namespace
from remediators.arm import ArmClients
from tests.services import messaging

ZONE = "privatelink.servicebus.windows.net"


class TestEventHubs(messaging.MessagingContract):
    operation = "Microsoft.EventHub/namespaces/write"
    service_endpoint = "Microsoft.EventHub"
    seed_namespace = staticmethod(seed_event_hubs_namespace)
    supported_tier = "Standard"
    unsupported_tiers = ("Basic",)
    unsupported_reason = "Standard tier or higher required"


def test_service_bus_and_event_hubs_share_one_zone_and_one_vnet_link(host, emulator, lz):
    from emulator.events import write_event

    sb = seed_service_bus_namespace(emulator, lz, "sb-sharedzone01", tags={"harden": "private"})
    eh = seed_event_hubs_namespace(emulator, lz, "eh-sharedzone01", tags={"harden": "private"})
    host.deliver(write_event(sb, "Microsoft.ServiceBus/namespaces/write"))
    host.deliver(write_event(eh, "Microsoft.EventHub/namespaces/write"))
    host.run_queue()
    by_resource = {n["data"]["resourceId"].lower(): n["data"] for n in emulator.notifications}
    assert by_resource[sb.lower()]["status"] == "hardened", by_resource[sb.lower()]
    assert by_resource[eh.lower()]["status"] == "hardened", by_resource[eh.lower()]
    for rid in (sb, eh):
        assert emulator.get(rid)["properties"]["publicNetworkAccess"] == "Disabled"
        assert messaging.rule_set_of(emulator, rid)["publicNetworkAccess"] == "Disabled"

    dns = ArmClients(DefaultAzureCredential(), lz.subscription_id, endpoint=emulator.url).private_dns
    zones = [z.as_dict()["name"] for z in dns.private_zones.list_by_resource_group(lz.dns_rg)]
    assert zones == [ZONE]
    links = [link.as_dict() for link in dns.virtual_network_links.list(lz.dns_rg, ZONE)]
    assert [link["properties"]["virtualNetwork"]["id"].lower() for link in links] == [lz.vnet_id.lower()]
    zone_id = f"{lz.rg_id(lz.dns_rg)}/providers/Microsoft.Network/privateDnsZones/{ZONE}".lower()
    for name in ("sb-sharedzone01", "eh-sharedzone01"):
        group = emulator.get(f"{lz.rg_id(lz.network_rg)}/providers/Microsoft.Network/privateEndpoints/"
                             f"pe-{name}-namespace/privateDnsZoneGroups/default")
        assert [c["properties"]["privateDnsZoneId"].lower()
                for c in group["properties"]["privateDnsZoneConfigs"]] == [zone_id]
