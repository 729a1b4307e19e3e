"""Sovereign clouds: private DNS zone names come from ARM's cloud metadata, fetched once.

Expected names: learn.microsoft.com/azure/private-link/private-endpoint-dns
(Commercial, Government and China tables). The document is served by the emulator
(emulator/clouds.py) and fetched by the product's real azure-core pipeline.
"""
from __future__ import annotations

import threading
from typing import Iterator

import pytest

from emulator import Emulator
from remediators import registry
from remediators.cloud import (KNOWN_PUBLIC_ZONES, CloudMetadataError, ZoneNotOffered, forget_clouds,
                               get_cloud)

STORAGE = ("blob", "table", "queue", "file", "web", "dfs")

PUBLIC = {
    "privatelink.vaultcore.azure.net": "privatelink.vaultcore.azure.net",
    "privatelink.database.windows.net": "privatelink.database.windows.net",
    **{f"privatelink.{s}.core.windows.net": f"privatelink.{s}.core.windows.net" for s in STORAGE},
    "privatelink.documents.azure.com": "privatelink.documents.azure.com",
    "privatelink.mongo.cosmos.azure.com": "privatelink.mongo.cosmos.azure.com",
    "privatelink.cassandra.cosmos.azure.com": "privatelink.cassandra.cosmos.azure.com",
    "privatelink.gremlin.cosmos.azure.com": "privatelink.gremlin.cosmos.azure.com",
    "privatelink.table.cosmos.azure.com": "privatelink.table.cosmos.azure.com",
    "privatelink.analytics.cosmos.azure.com": "privatelink.analytics.cosmos.azure.com",
    "privatelink.servicebus.windows.net": "privatelink.servicebus.windows.net",
    "privatelink.azurewebsites.net": "privatelink.azurewebsites.net",
}
US_GOVERNMENT = {
    "privatelink.vaultcore.azure.net": "privatelink.vaultcore.usgovcloudapi.net",
    "privatelink.database.windows.net": "privatelink.database.usgovcloudapi.net",
    **{f"privatelink.{s}.core.windows.net": f"privatelink.{s}.core.usgovcloudapi.net" for s in STORAGE},
    "privatelink.documents.azure.com": "privatelink.documents.azure.us",
    "privatelink.mongo.cosmos.azure.com": "privatelink.mongo.cosmos.azure.us",
    "privatelink.cassandra.cosmos.azure.com": "privatelink.cassandra.cosmos.azure.us",
    "privatelink.gremlin.cosmos.azure.com": "privatelink.gremlin.cosmos.azure.us",
    "privatelink.table.cosmos.azure.com": "privatelink.table.cosmos.azure.us",
    "privatelink.servicebus.windows.net": "privatelink.servicebus.usgovcloudapi.net",
    "privatelink.azurewebsites.net": "privatelink.azurewebsites.us",
}
CHINA = {
    "privatelink.vaultcore.azure.net": "privatelink.vaultcore.azure.cn",
    "privatelink.database.windows.net": "privatelink.database.chinacloudapi.cn",
    **{f"privatelink.{s}.core.windows.net": f"privatelink.{s}.core.chinacloudapi.cn" for s in STORAGE},
    "privatelink.documents.azure.com": "privatelink.documents.azure.cn",
    "privatelink.mongo.cosmos.azure.com": "privatelink.mongo.cosmos.azure.cn",
    "privatelink.cassandra.cosmos.azure.com": "privatelink.cassandra.cosmos.azure.cn",
    "privatelink.gremlin.cosmos.azure.com": "privatelink.gremlin.cosmos.azure.cn",
    "privatelink.table.cosmos.azure.com": "privatelink.table.cosmos.azure.cn",
    "privatelink.servicebus.windows.net": "privatelink.servicebus.chinacloudapi.cn",
    "privatelink.azurewebsites.net": "privatelink.chinacloudsites.cn",
}


@pytest.fixture
def emu(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    for name, value in emulator.env().items():
        monkeypatch.setenv(name, value)
    emulator.reset()
    forget_clouds()
    emulator.metadata_requests = 0
    yield emulator
    emulator.reset()
    forget_clouds()


def service_zones() -> set[str]:
    """Every zone the registered services ask for (storage's *_secondary/web/dfs and all Cosmos APIs included)."""
    return {g.dns_zone for s in registry.SERVICES for g in s.spec.private_link_groups}


@pytest.mark.parametrize("cloud_name, expected", [("AzureCloud", PUBLIC), ("AzureUSGovernment", US_GOVERNMENT),
                                                  ("AzureChinaCloud", CHINA)])
def test_every_zone_maps_to_the_clouds_documented_name(emu: Emulator, cloud_name: str,
                                                       expected: dict[str, str]) -> None:
    emu.cloud = cloud_name
    cloud = get_cloud(emu.url)
    assert cloud.name == cloud_name
    assert {zone: cloud.zone_name(zone) for zone in expected} == expected
    missing = service_zones() - KNOWN_PUBLIC_ZONES
    assert not missing, f"a service uses a zone cloud.py cannot map: {missing}"


def test_every_service_zone_has_a_name_in_each_documented_cloud(emu: Emulator) -> None:
    for cloud_name, table in (("AzureCloud", PUBLIC), ("AzureUSGovernment", US_GOVERNMENT),
                              ("AzureChinaCloud", CHINA)):
        forget_clouds()
        emu.cloud = cloud_name
        cloud = get_cloud(emu.url)
        for zone in service_zones():
            if zone in table:
                assert cloud.zone_name(zone) == table[zone]


def test_a_zone_the_cloud_does_not_offer_fails_clearly(emu: Emulator) -> None:
    emu.cloud = "AzureUSGovernment"
    with pytest.raises(ZoneNotOffered, match="AzureUSGovernment.*privatelink.analytics.cosmos.azure.com"):
        get_cloud(emu.url).zone_name("privatelink.analytics.cosmos.azure.com")
    with pytest.raises(ZoneNotOffered, match="not a private DNS zone of a service we harden"):
        get_cloud(emu.url).zone_name("privatelink.example.com")


def test_an_unknown_cloud_gets_no_guessed_zone_names(emu: Emulator) -> None:
    # An Azure Stack Hub-like document: suffixes that would "derive", but no documented private link zones.
    emu.cloud = {"name": "AzureStackCloud", "suffixes": {"storage": "local.azurestack.external",
                                                         "keyVaultDns": "vault.local.azurestack.external"}}
    cloud = get_cloud(emu.url)
    assert cloud.name == "AzureStackCloud"
    for zone in ("privatelink.vaultcore.azure.net", "privatelink.blob.core.windows.net",
                 "privatelink.azurewebsites.net"):
        with pytest.raises(ZoneNotOffered, match="'AzureStackCloud'.*not one whose private DNS zone names"):
            cloud.zone_name(zone)


def test_suffixes_come_from_the_document(emu: Emulator) -> None:
    # The document is the authority for derived zones; the tables are the fallback.
    emu.cloud = {"name": "AzureUSGovernment", "suffixes": {"storage": ".core.example.us",
                                                           "sqlServerHostname": ".database.example.us"}}
    cloud = get_cloud(emu.url)
    assert cloud.zone_name("privatelink.blob.core.windows.net") == "privatelink.blob.core.example.us"
    assert cloud.zone_name("privatelink.database.windows.net") == "privatelink.database.example.us"
    # keyVaultDns is missing from this document: the documented Government name is used.
    assert cloud.zone_name("privatelink.vaultcore.azure.net") == "privatelink.vaultcore.usgovcloudapi.net"


def test_one_metadata_fetch_per_process_and_endpoint(emu: Emulator) -> None:
    results = []
    threads = [threading.Thread(target=lambda: results.append(get_cloud(emu.url))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.append(get_cloud(emu.url + "/"))
    assert emu.metadata_requests == 1
    assert len({id(c) for c in results}) == 1
    assert emu.arm_calls() == []  # the metadata document is not an ARM resource call


def test_settings_build_the_cloud_lazily(emu: Emulator) -> None:
    from remediators.settings import Settings

    settings = Settings(subscription_ids=frozenset({"00000000-0000-0000-0000-000000000000"}), arm_endpoint=emu.url)
    assert emu.metadata_requests == 0  # constructing settings fetches nothing
    assert settings.get_cloud().zone_name("privatelink.azurewebsites.net") == "privatelink.azurewebsites.net"
    assert emu.metadata_requests == 1


def test_an_unreadable_document_fails_clearly(emu: Emulator) -> None:
    emu.cloud = {"suffixes": {}}  # no name
    with pytest.raises(CloudMetadataError, match="no 'name'"):
        get_cloud(emu.url)
    emu.cloud = "AzureCloud"
    assert get_cloud(emu.url).name == "AzureCloud"  # failures are not cached


def test_the_emulator_refuses_other_api_versions(emu: Emulator) -> None:
    from azure.core import PipelineClient
    from azure.core.rest import HttpRequest

    with PipelineClient(emu.url) as client:
        response = client.send_request(HttpRequest("GET", emu.url + "/metadata/endpoints",
                                                   params={"api-version": "2015-01-01"}))
    assert response.status_code == 400
