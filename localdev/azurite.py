"""Start Azurite's queue, blob and table services from the project's node_modules.

The queue service carries the work queue; the blob service carries the
per-VNet leases that serialise subnet writes across instances
(``remediators/vnet_lease.py``); the table service holds the change history
(``remediators/history.py``).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Iterable, Iterator

ROOT = Path(__file__).resolve().parent.parent
# Azurite's documented development account; a public, well-known value
# (learn.microsoft.com/azure/storage/common/storage-use-azurite#http-connection-strings).
ACCOUNT = "devstoreaccount1"
WELL_KNOWN_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


class AzuriteUnavailable(RuntimeError):
    """Azurite is not installed: run `npm ci` (the Makefile does)."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def connection_string(queue_port: int, blob_port: int | None = None, table_port: int | None = None) -> str:
    blob = f"BlobEndpoint=http://127.0.0.1:{blob_port}/{ACCOUNT};" if blob_port else ""
    table = f"TableEndpoint=http://127.0.0.1:{table_port}/{ACCOUNT};" if table_port else ""
    return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={WELL_KNOWN_KEY};"
            f"QueueEndpoint=http://127.0.0.1:{queue_port}/{ACCOUNT};{blob}{table}")


def _binary(name: str) -> Path:
    binary = ROOT / "node_modules" / ".bin" / name
    if binary.exists():
        return binary
    found = shutil.which(name)
    if not found:
        raise AzuriteUnavailable(f"{binary} not found; run `npm ci` first")
    return Path(found)


@contextmanager
def _service(name: str, host_flag: str, port_flag: str, workdir: str,
             env: dict[str, str] | None = None) -> Iterator[int]:
    """Run one Azurite service on a free port until the block ends; yields the port."""
    port = _free_port()
    process = subprocess.Popen(
        [str(_binary(name)), host_flag, "127.0.0.1", port_flag, str(port), "--location", workdir,
         "--silent", "--skipApiVersionCheck", "--loose"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError as exc:
                if process.poll() is not None or time.monotonic() > deadline:
                    err = process.stderr.read().decode(errors="replace") if process.stderr else ""
                    raise AzuriteUnavailable(f"{name} did not start: {err[-500:]}") from exc
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def running_azurite(*, blob_accounts: Iterable[str] = ()) -> Iterator[str]:
    """Run azurite-queue, azurite-blob and azurite-table on free ports; yields the connection string.

    ``blob_accounts``: more blob accounts (path-style, same key), standing in for Storage accounts' data
    planes (``AZURITE_ACCOUNTS``; the development account is kept: Azurite drops it once others are named,
    learn.microsoft.com/azure/storage/common/storage-use-azurite, "Custom storage accounts and keys").
    """
    env = None
    if blob_accounts:
        env = {**os.environ, "AZURITE_ACCOUNTS": ";".join(f"{a}:{WELL_KNOWN_KEY}"
                                                          for a in dict.fromkeys([ACCOUNT, *blob_accounts]))}
    with tempfile.TemporaryDirectory(prefix="azurite-") as workdir, ExitStack() as stack:
        queue_port = stack.enter_context(_service("azurite-queue", "--queueHost", "--queuePort", workdir))
        blob_port = stack.enter_context(_service("azurite-blob", "--blobHost", "--blobPort", workdir, env))
        table_port = stack.enter_context(_service("azurite-table", "--tableHost", "--tablePort", workdir))
        yield connection_string(queue_port, blob_port, table_port)
