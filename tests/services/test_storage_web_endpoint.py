"""A Storage account's ``web`` endpoint only where a static website needs it (issue 14 item 6).

The static-website flag is read with a real ``BlobServiceClient`` from Azurite's blob service
(injected through ``ArmClients(blob_service_for=...)``); ARM is the emulator. A refused read is a
real 403 from Azurite (a client with the wrong key), not a stub.
"""
from __future__ import annotations

import dataclasses
import uuid
from typing import Callable

import pytest
from azure.identity import DefaultAzureCredential
from azure.storage.blob import BlobServiceClient
from azure.storage.blob import StaticWebsite as BlobStaticWebsite

from localdev.seeds.storage import seed_storage_account
from remediators.arm import ArmClients
from remediators.engine import Engine
from remediators.model import HardenRequest, Status
from remediators.notify import Notifier
from remediators.settings import Settings
from remediators.static_website import StaticWebsite, WebEndpointPolicy, decide_web_endpoint

OPERATION = "Microsoft.Storage/storageAccounts/write"
STANDARD = {"blob", "file", "queue", "table"}


def _blob(azurite: str, *, refused: bool = False) -> Callable[[str], BlobServiceClient]:
    # Azurite has one account; a wrong key makes it answer 403 AuthorizationFailure, as a firewall or a
    # missing role would in Azure.
    connection = azurite.replace("AccountKey=Eby8", "AccountKey=Xby8") if refused else azurite
    return lambda _url: BlobServiceClient.from_connection_string(connection)


def _engine(azurite: str, *, refused: bool = False, policy: str = "auto") -> Engine:
    settings = dataclasses.replace(Settings.from_env(), storage_web_endpoint=policy)
    credential = DefaultAzureCredential()
    return Engine(settings, notifier=Notifier(None), clients_for=lambda sub: ArmClients(
        credential, sub, endpoint=settings.arm_endpoint, polling_interval=0,
        blob_service_for=_blob(azurite, refused=refused)))


def _static_website(azurite: str, enabled: bool) -> None:
    BlobServiceClient.from_connection_string(azurite).set_service_properties(
        static_website=BlobStaticWebsite(enabled=enabled, index_document="index.html" if enabled else None))


def _endpoints(emulator, lz, name: str) -> set[str]:
    found = set()
    for group in (*STANDARD, "web"):
        if emulator.get(f"{lz.rg_id(lz.network_rg)}/providers/Microsoft.Network/privateEndpoints/pe-{name}-{group}"):
            found.add(group)
    return found


def _twice(engine: Engine, emulator, rid: str):
    first = engine.evaluate(HardenRequest(rid, str(uuid.uuid4()), OPERATION))
    written = len(emulator.writes())
    second = engine.evaluate(HardenRequest(rid, str(uuid.uuid4()), OPERATION))
    assert [f"{r.method} {r.path}" for r in emulator.writes()[written:]] == [], "the second pass wrote"
    return first, second


def test_no_static_website_no_web_endpoint(emulator, lz, azurite):
    _static_website(azurite, False)
    rid = seed_storage_account(emulator, lz, "stnosite01", tags={"harden": "private"})
    first, second = _twice(_engine(azurite), emulator, rid)
    assert first.status is Status.HARDENED, first
    assert "no static website: no web endpoint (saves about $7.30/month" in first.reason
    assert _endpoints(emulator, lz, "stnosite01") == STANDARD
    assert emulator.get(rid)["properties"]["publicNetworkAccess"] == "Disabled"
    assert second.reason_code == "already-compliant", second


def test_static_website_gets_its_web_endpoint(emulator, lz, azurite):
    _static_website(azurite, True)
    rid = seed_storage_account(emulator, lz, "stsite01", tags={"harden": "private"})
    first, second = _twice(_engine(azurite), emulator, rid)
    assert first.status is Status.HARDENED, first
    assert _endpoints(emulator, lz, "stsite01") == STANDARD | {"web"}
    assert second.reason_code == "already-compliant", second


def test_refused_read_of_a_public_account_keeps_the_safe_side(emulator, lz, azurite):
    """403 on Get Blob Service Properties: the account is still public, so a website might be live: web made;
    the next pass (still refused) keeps requiring our web endpoint and writes nothing."""
    _static_website(azurite, False)
    rid = seed_storage_account(emulator, lz, "strefused01", tags={"harden": "private"})
    first, second = _twice(_engine(azurite, refused=True), emulator, rid)
    assert first.status is Status.HARDENED, first
    assert "static website state unknown (Get Blob Service Properties answered 403 AuthorizationFailure)" \
        in first.reason
    assert "Microsoft.Storage/storageAccounts/blobServices/read" in first.reason
    assert _endpoints(emulator, lz, "strefused01") == STANDARD | {"web"}
    assert "our web endpoint is kept" in second.reason


def test_refused_read_of_a_closed_account_creates_no_web_endpoint(emulator, lz, azurite):
    rid = seed_storage_account(emulator, lz, "stclosed01", tags={"harden": "private"})
    engine = _engine(azurite, refused=True)
    arm = ArmClients(DefaultAzureCredential(), lz.subscription_id, endpoint=Settings.from_env().arm_endpoint,
                     polling_interval=0)
    arm.storage.storage_accounts.update(lz.app_rg, "stclosed01", {"properties": {"publicNetworkAccess": "Disabled"}})
    first, _ = _twice(engine, emulator, rid)
    assert first.status is Status.HARDENED, first
    assert "public access already off: no web endpoint created" in first.reason
    assert _endpoints(emulator, lz, "stclosed01") == STANDARD


@pytest.mark.parametrize(("policy", "enabled", "web"), [("never", True, False), ("always", False, True)])
def test_the_setting_overrides_the_read(emulator, lz, azurite, policy, enabled, web):
    _static_website(azurite, enabled)
    name = f"st{policy}01"
    rid = seed_storage_account(emulator, lz, name, tags={"harden": "private"})
    first, _ = _twice(_engine(azurite, policy=policy), emulator, rid)
    assert first.status is Status.HARDENED, first
    assert _endpoints(emulator, lz, name) == STANDARD | ({"web"} if web else set())


def test_service_endpoint_mode_never_reads_the_data_plane(emulator, lz, azurite):
    rid = seed_storage_account(emulator, lz, "stsemode01", tags={"harden": "service-endpoint"})
    calls = []

    def counting(url: str) -> BlobServiceClient:
        calls.append(url)
        return BlobServiceClient.from_connection_string(azurite)

    settings = Settings.from_env()
    credential = DefaultAzureCredential()
    engine = Engine(settings, notifier=Notifier(None), clients_for=lambda sub: ArmClients(
        credential, sub, endpoint=settings.arm_endpoint, polling_interval=0, blob_service_for=counting))
    engine.evaluate(HardenRequest(rid, "e1", OPERATION))
    assert calls == []


@pytest.mark.parametrize(("policy", "website", "ours", "public", "needed"), [
    (WebEndpointPolicy.AUTO, True, False, True, True),
    (WebEndpointPolicy.AUTO, False, True, True, False),   # ours exists but no website: not required (kept, unused)
    (WebEndpointPolicy.AUTO, None, True, False, True),    # unknown: ours kept
    (WebEndpointPolicy.AUTO, None, False, True, True),    # unknown, still public: the safe side
    (WebEndpointPolicy.AUTO, None, False, False, False),  # unknown, already closed: no new cost
    (WebEndpointPolicy.NEVER, True, True, True, False),
    (WebEndpointPolicy.ALWAYS, False, False, False, True),
])
def test_the_rule(policy, website, ours, public, needed):
    probe = (lambda: StaticWebsite(website, "" if website is not None else "403 AuthorizationFailure"))
    assert decide_web_endpoint(policy, probe, ours_exists=ours, public=public).needed is needed


def _show_in_arm(emulator, rid: str, enabled: bool) -> None:
    # Blob Services - Get Service Properties in current API versions carries staticWebsite (emulator/paas.py).
    emulator.seed(f"{rid}/blobServices/default", {"properties": {"staticWebsite": {"enabled": enabled}}})


@pytest.mark.parametrize("enabled", [True, False])
def test_arm_shows_the_static_website_and_the_data_plane_is_not_asked(emulator, lz, azurite, enabled):
    name = f"starm{'site' if enabled else 'none'}01"
    rid = seed_storage_account(emulator, lz, name, tags={"harden": "private"})
    _show_in_arm(emulator, rid, enabled)
    calls = []

    def counting(url: str) -> BlobServiceClient:
        calls.append(url)
        return BlobServiceClient.from_connection_string(azurite)

    settings = Settings.from_env()
    credential = DefaultAzureCredential()
    engine = Engine(settings, notifier=Notifier(None), clients_for=lambda sub: ArmClients(
        credential, sub, endpoint=settings.arm_endpoint, polling_interval=0, blob_service_for=counting))
    first, second = _twice(engine, emulator, rid)
    assert first.status is Status.HARDENED, first
    assert _endpoints(emulator, lz, name) == STANDARD | ({"web"} if enabled else set())
    assert calls == []  # ARM answered; no data-plane request
    assert second.reason_code == "already-compliant", second


def test_the_worker_reads_arm_through_the_deployed_role(host, emulator, lz):
    """The whole pipeline (trigger, queue, worker) with the role infra/ deploys: ARM shows no website."""
    from tests.remediation import deliver

    rid = seed_storage_account(emulator, lz, "starmhost01", tags={"harden": "private"})
    _show_in_arm(emulator, rid, False)
    outcome = deliver(host, emulator, rid, OPERATION)
    assert outcome["status"] == "hardened", outcome
    assert "no static website" in outcome["reason"]
    assert _endpoints(emulator, lz, "starmhost01") == STANDARD
