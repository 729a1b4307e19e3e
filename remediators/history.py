"""The change history: what this tool did to a resource, when, why and at whose write.

Every outcome that changed something or needs a person (hardened, pending, failed, unsupported, a
dry-run plan, an opt-out) is written to the table ``hardenhistory`` in the app's own storage account
(``AzureWebJobsStorage``: a connection string locally and in tests, Azurite; in Azure the managed
identity with ``AzureWebJobsStorage__tableServiceUri`` or ``__accountName``, which needs Storage
Table Data Contributor on that account, infra/main.bicep). The settle events our own writes raise
(``already-compliant``) and untagged reports are not written: they would bury the changes.

One partition per resource (the SHA-256 of the lower-cased id: ids hold ``/``, which keys may not,
learn.microsoft.com/rest/api/storageservices/understanding-the-table-service-data-model); the row key
is an inverted timestamp, so a partition query returns the newest first. Each row keeps the whole
notification (``notify.outcome_data``: every change with its before and after, the trigger's caller
and time), split over properties of at most 32 K characters (the service's per-property limit is
64 KiB, UTF-16). Rows older than ``HARDEN_HISTORY_RETENTION_DAYS`` (default 90) are deleted from the
partition whenever it is written, a bounded number at a time.

A history write never blocks or undoes a hardening: a failure is logged and counted
(:data:`write_failures`), and the outcome stands.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import threading
import uuid
from functools import lru_cache
from typing import Any, Mapping

from azure.core.exceptions import AzureError

from .host_storage import ensure_table, service_client
from .model import Outcome, Status
from .notify import outcome_data

logger = logging.getLogger(__name__)

TABLE = "hardenhistory"
DEFAULT_RETENTION_DAYS = 90
_CHUNK = 32_000
_MAX_MS = 10 ** 13  # inverted timestamps stay 13 digits until the year 2286
_PRUNE_BATCH = 100
_NOT_RECORDED = frozenset({"already-compliant", "untagged", "untagged-public", "resource-gone", "unhandled-type",
                           "excluded"})
_SETTINGS = ("AzureWebJobsStorage", "AzureWebJobsStorage__tableServiceUri", "AzureWebJobsStorage__accountName",
             "AzureWebJobsStorage__clientId", "AZURE_CLIENT_ID", "HARDEN_HISTORY_RETENTION_DAYS")

_lock = threading.Lock()
#: History writes that failed in this process (logged each time; never raised).
write_failures = 0


def partition_key(resource_id: str) -> str:
    return hashlib.sha256(resource_id.lower().encode()).hexdigest()


def _row_key(when: dt.datetime) -> str:
    return f"{_MAX_MS - int(when.timestamp() * 1000):013d}-{uuid.uuid4().hex[:8]}"


def worth_recording(outcome: Outcome) -> bool:
    """Changes, or something a person should know; not the settle events of our own writes."""
    return bool(outcome.changes) or not (outcome.status is Status.SKIPPED and outcome.reason_code in _NOT_RECORDED)


class History:
    """The history table of one storage account.

    :param table: An ``azure.data.tables.TableClient`` (created on first use if missing).
    :keyword retention_days: Rows older than this are deleted when their partition is written.
    :keyword now: The clock (injectable).
    """

    def __init__(self, table: Any, *, retention_days: float = DEFAULT_RETENTION_DAYS,
                 now: Any = lambda: dt.datetime.now(dt.timezone.utc)) -> None:
        self._table = table
        self._retention = dt.timedelta(days=retention_days)
        self._now = now
        self._ready = False

    def _ensure(self) -> None:
        if not self._ready:
            ensure_table(self._table)
            self._ready = True

    def record(self, outcome: Outcome) -> bool:
        """Write ``outcome``; ``False`` (logged and counted) when the write failed. Never raises for Azure."""
        global write_failures
        if not worth_recording(outcome):
            return True
        when = self._now()
        data = outcome_data(outcome)
        text = json.dumps(data, default=str)
        entity: dict[str, Any] = {
            "PartitionKey": partition_key(outcome.resource_id), "RowKey": _row_key(when),
            "resourceId": outcome.resource_id, "time": when.isoformat(), "status": outcome.status.value,
            "reasonCode": outcome.reason_code, "reason": outcome.reason[:_CHUNK],
            "changes": len(outcome.changes), "chunks": 0,
        }
        for i in range(0, len(text), _CHUNK):
            entity[f"outcome{i // _CHUNK}"] = text[i:i + _CHUNK]
            entity["chunks"] += 1
        try:
            self._ensure()
            self._table.create_entity(entity)
            self._prune(entity["PartitionKey"], when)
            return True
        except (AzureError, ValueError) as exc:
            with _lock:
                write_failures += 1
            logger.warning("Could not write the history of %s (%s: %s); the outcome stands, %d history write(s) "
                           "failed in this process", outcome.resource_id, type(exc).__name__, exc, write_failures)
            return False

    def _prune(self, partition: str, when: dt.datetime) -> None:
        cutoff = _row_key(when - self._retention)[:13]
        old = self._table.query_entities("PartitionKey eq @pk and RowKey gt @cutoff",
                                         parameters={"pk": partition, "cutoff": cutoff},
                                         select=["PartitionKey", "RowKey"], results_per_page=_PRUNE_BATCH)
        for n, row in enumerate(old):
            if n >= _PRUNE_BATCH:
                break
            self._table.delete_entity(row["PartitionKey"], row["RowKey"])

    def list_for(self, resource_id: str, *, limit: int = 100) -> list[dict[str, Any]]:
        """The resource's outcomes, newest first: each the notification's ``data`` plus ``time``."""
        self._ensure()
        rows = self._table.query_entities("PartitionKey eq @pk", parameters={"pk": partition_key(resource_id)})
        timeline = []
        for row in rows:
            if len(timeline) >= limit:
                break
            text = "".join(str(row.get(f"outcome{i}", "")) for i in range(int(row.get("chunks") or 0)))
            timeline.append({"time": row.get("time"), **json.loads(text)})
        return timeline


def history_from_environment(environ: Mapping[str, str] | None = None) -> History | None:
    """The history table the Functions host's ``AzureWebJobsStorage`` settings point at, or ``None``."""
    env = os.environ if environ is None else environ
    return _history_for(tuple(env.get(k) or "" for k in _SETTINGS))


@lru_cache(maxsize=4)
def _history_for(values: tuple[str, ...]) -> History | None:
    connection_string, table_uri, account, storage_client_id, client_id, retention = values
    from azure.data.tables import TableServiceClient

    days = float(retention) if retention else DEFAULT_RETENTION_DAYS
    if "devstoreaccount1" in connection_string and "tableendpoint=" not in connection_string.lower():
        logger.warning("AzureWebJobsStorage has no TableEndpoint (Azurite's table service): no history")
        return None
    service = service_client(TableServiceClient, "table", connection_string=connection_string, service_uri=table_uri,
                             account=account, storage_client_id=storage_client_id, client_id=client_id)
    if service is None:
        logger.info("AzureWebJobsStorage is not set: outcomes are not written to the history")
        return None
    return History(service.get_table_client(TABLE), retention_days=days)


def render_timeline(resource_id: str, timeline: list[dict[str, Any]], *, output: str) -> str:
    """The timeline as JSON (``schemaVersion`` 1.0) or as plain text, one block per outcome."""
    if output == "json":
        return json.dumps({"schemaVersion": "1.0", "resourceId": resource_id, "timeline": timeline}, indent=2) + "\n"
    if not timeline:
        return f"No history for {resource_id}: this tool has changed nothing there (or the retention has passed).\n"
    lines = [f"History of {resource_id} (newest first):"]
    for entry in timeline:
        caller = ((entry.get("trigger") or {}).get("caller") or {})
        who = caller.get("name") or caller.get("principalId") or caller.get("appId") or "unknown caller"
        lines.append(f"{entry.get('time')}  {entry.get('status')} ({entry.get('reasonCode')}), after a write by {who}")
        lines.append(f"    {entry.get('reason')}")
        for change in entry.get("changes") or ():
            lines.append(f"    step {change.get('step')}: {change.get('change')}")
            lines.append(f"      before: {json.dumps(change.get('before'), default=str)}")
            lines.append(f"      after:  {json.dumps(change.get('after'), default=str)}")
    return "\n".join(lines) + "\n"
