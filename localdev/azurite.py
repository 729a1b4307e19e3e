"""Start Azurite's queue service from the project's node_modules."""
from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

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


def connection_string(port: int) -> str:
    return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={WELL_KNOWN_KEY};"
            f"QueueEndpoint=http://127.0.0.1:{port}/{ACCOUNT};")


@contextmanager
def running_azurite() -> Iterator[str]:
    """Run azurite-queue on a free port; yields the connection string."""
    binary = ROOT / "node_modules" / ".bin" / "azurite-queue"
    if not binary.exists():
        found = shutil.which("azurite-queue")
        if not found:
            raise AzuriteUnavailable(f"{binary} not found; run `npm ci` first")
        binary = Path(found)
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="azurite-") as workdir:
        process = subprocess.Popen(
            [str(binary), "--queueHost", "127.0.0.1", "--queuePort", str(port), "--location", workdir,
             "--silent", "--skipApiVersionCheck", "--loose"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError as exc:
                    if process.poll() is not None or time.monotonic() > deadline:
                        err = process.stderr.read().decode(errors="replace") if process.stderr else ""
                        raise AzuriteUnavailable(f"Azurite did not start: {err[-500:]}") from exc
                    time.sleep(0.1)
            yield connection_string(port)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
