"""Fixtures for the emulator's own tests: one emulator per session, a clean store per test."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run from anywhere without installing the repo
    sys.path.insert(0, str(ROOT))

from emulator import Emulator  # noqa: E402

from .helpers import SUB  # noqa: E402


@pytest.fixture(scope="session")
def emulator_session() -> Iterator[Emulator]:
    with Emulator.start() as emu:
        yield emu


@pytest.fixture
def emu(emulator_session: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """The session emulator, reset, with the env DefaultAzureCredential needs (test-scoped)."""
    emulator_session.reset()
    for key, value in emulator_session.env().items():
        monkeypatch.setenv(key, value)
    for key in ("AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "MSI_ENDPOINT"):
        monkeypatch.delenv(key, raising=False)
    return emulator_session


@pytest.fixture
def credential(emu: Emulator) -> Any:
    from azure.identity import DefaultAzureCredential

    cred = DefaultAzureCredential()
    yield cred
    cred.close()


@pytest.fixture
def client(emu: Emulator, credential: Any) -> Callable[..., Any]:
    """client(NetworkManagementClient) -> a real SDK client pointed at the emulator."""
    made: list[Any] = []

    def make(cls: type, **kwargs: Any) -> Any:
        c = cls(credential, SUB, base_url=emu.url, polling_interval=0, **kwargs)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()
