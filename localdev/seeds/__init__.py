"""One seeding module per service, mirroring ``remediators/services/``.

``DEMO_RESOURCES`` is what `make demo` and the benchmark seed: at least one
resource of each handled type, plus an untagged one.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from ..landing_zone import LandingZone
from .keyvault import seed_key_vault
from .storage import seed_storage_account

Seed = Callable[[Any, LandingZone, str, "Mapping[str, str] | None"], str]


def _kv(emu: Any, lz: LandingZone, name: str, tags: Mapping[str, str] | None) -> str:
    return seed_key_vault(emu, lz, name, tags=tags)


def _storage(emu: Any, lz: LandingZone, name: str, tags: Mapping[str, str] | None) -> str:
    return seed_storage_account(emu, lz, name, tags=tags)


# (seed, name, tags, the operation its write event carries)
DEMO_RESOURCES: list[tuple[Seed, str, Mapping[str, str] | None, str]] = [
    (_kv, "kv-lz-payments", {"harden": "private"}, "Microsoft.KeyVault/vaults/write"),
    (_storage, "stlzorders01", {"harden": "service-endpoint"}, "Microsoft.Storage/storageAccounts/write"),
    (_storage, "stlzscratch01", None, "Microsoft.Storage/storageAccounts/write"),
]
