"""Shared fixtures: the local Azure emulator, Azurite, a seeded landing zone, the host harness.

Nothing here mocks an SDK client: the product's real azure-mgmt-* clients and
DefaultAzureCredential talk HTTPS to the emulator, and queues live in Azurite.
"""
from __future__ import annotations

from typing import Iterator

import pytest

from emulator import Emulator
from localdev.azurite import running_azurite
from localdev.host import LocalHost
from localdev.landing_zone import LandingZone, seed_network
from remediators.cloud import forget_clouds
from remediators.inventory import quota_for
from remediators.runtime import engine_for
from remediators.throttle import forget_budgets

# The product's managed identity on the emulator; what it did is checked against the custom role.
REMEDIATOR_CLIENT_ID = "5f0c6a2e-7b1d-4c3e-9a8f-2d4b6c8e0a13"


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    from tests.infra.roles import deployed_assignments

    with Emulator.start() as emu:
        # The product runs with exactly the roles infra/ deploys, at their scopes, for the whole suite:
        # a request or linked access check they do not allow is a 403, as in Azure.
        for scope, actions in deployed_assignments(LandingZone()):
            emu.assign_role(REMEDIATOR_CLIENT_ID, actions, scope=scope)
        yield emu


@pytest.fixture(scope="session")
def azurite() -> Iterator[str]:
    with running_azurite() as connection_string:
        yield connection_string


@pytest.fixture
def lz(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> LandingZone:
    """A fresh landing zone, and app settings pointing the product at the emulator."""
    emulator.reset()
    # Per-process caches: the cloud's metadata, ARM budgets, engines (with their VNet-location cache).
    forget_clouds()
    forget_budgets()
    engine_for.cache_clear()
    quota_for.cache_clear()  # Resource Graph's per-user quota, as the emulator's reset just restored it
    zone = seed_network(emulator)
    env = {
        **emulator.env(),
        **zone.settings(),
        "AZURE_RESOURCE_MANAGER_ENDPOINT": emulator.url,
        "HARDEN_NOTIFY_TOPIC_ENDPOINT": emulator.topic_endpoint,
        "HARDEN_POLL_INTERVAL_SECONDS": "0",
        "AZURE_CLIENT_ID": REMEDIATOR_CLIENT_ID,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("HARDEN_DRY_RUN", "HARDEN_UNTAGGED", "HARDEN_NOTIFY_TOPIC_KEY", "HARDEN_EXCLUDE_RESOURCE_IDS",
                 "WEBSITE_SITE_NAME", "AzureWebJobsStorage__accountName"):
        monkeypatch.delenv(name, raising=False)
    return zone


@pytest.fixture
def host(azurite: str, lz: LandingZone, monkeypatch: pytest.MonkeyPatch) -> LocalHost:
    import function_app

    monkeypatch.setenv("AzureWebJobsStorage", azurite)
    harness = LocalHost(function_app.app, azurite)
    harness.clear()
    return harness


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``after_all`` judge what the rest of the session did: run them last."""
    items.sort(key=lambda item: item.get_closest_marker("after_all") is not None)
