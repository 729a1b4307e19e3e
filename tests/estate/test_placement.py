"""Per-spoke subnet selection: same subscription and region, else same region, else a clear failure."""
from __future__ import annotations

import pytest

from remediators.placement import NoSubnetForRegion, SubnetPlacement, all_subnets

A = "11111111-1111-4111-8111-111111111111"
B = "22222222-2222-4222-8222-222222222222"
HUB = "33333333-3333-4333-8333-333333333333"


def subnet(sub: str, vnet: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/{vnet}/subnets/pe"


SPOKE_A_WEU, SPOKE_B_WEU, HUB_NEU = subnet(A, "vnet-a-weu"), subnet(B, "vnet-b-weu"), subnet(HUB, "vnet-hub-neu")
LOCATIONS = {"vnet-a-weu": "westeurope", "vnet-b-weu": "West Europe", "vnet-hub-neu": "northeurope"}


@pytest.fixture
def placement():
    reads: list[str] = []

    def vnet_location(vnet):
        reads.append(vnet.name)
        return LOCATIONS[vnet.name]

    p = SubnetPlacement(vnet_location)
    p.reads = reads
    return p


ALL = [SPOKE_A_WEU, SPOKE_B_WEU, HUB_NEU]


def test_the_subnet_in_the_resources_subscription_and_region_wins(placement):
    assert placement.private_endpoint_subnet(ALL, subscription_id=B, location="westeurope") == SPOKE_B_WEU
    assert placement.private_endpoint_subnet(ALL, subscription_id=A.upper(), location="WestEurope") == SPOKE_A_WEU


def test_else_a_subnet_in_the_same_region(placement):
    assert placement.private_endpoint_subnet(ALL, subscription_id=A, location="northeurope") == HUB_NEU
    # Service endpoints: every configured subnet is allowed in; reach is checked per service (network.py).
    assert placement.service_endpoint_subnets(ALL, subscription_id=HUB, location="westeurope") == list(ALL)


def test_else_fail_naming_the_region(placement):
    with pytest.raises(NoSubnetForRegion, match="'swedencentral'.*HARDEN_PRIVATE_ENDPOINT_SUBNET_IDS|"
                                                "HARDEN_PRIVATE_ENDPOINT_SUBNET_IDS.*'swedencentral'"):
        placement.private_endpoint_subnet(ALL, subscription_id=A, location="swedencentral")
    assert placement.service_endpoint_subnets(ALL, subscription_id=A, location="swedencentral") == list(ALL)


def test_a_single_subnet_serves_every_region_as_before(placement):
    assert placement.private_endpoint_subnet([HUB_NEU], subscription_id=A, location="eastus") == HUB_NEU
    assert placement.service_endpoint_subnets([HUB_NEU], subscription_id=A, location="eastus") == [HUB_NEU]
    assert placement.reads == []


def test_each_vnet_location_is_read_once(placement):
    for _ in range(3):
        placement.private_endpoint_subnet(ALL, subscription_id=B, location="westeurope")
    assert sorted(placement.reads) == sorted(LOCATIONS)


def test_the_single_setting_joins_the_list():
    assert all_subnets(HUB_NEU, [SPOKE_A_WEU]) == (SPOKE_A_WEU, HUB_NEU)
    assert all_subnets(SPOKE_A_WEU.upper(), [SPOKE_A_WEU]) == (SPOKE_A_WEU,)
    assert all_subnets(None, []) == ()
