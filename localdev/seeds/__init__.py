"""One seeding module per service, mirroring ``remediators/services/``.

Every seeder takes ``(emu, lz, name, *, tags=None, ...)``. ``DEMO_RESOURCES`` is
what `make demo` and the benchmark seed: one resource of each handled type
(an App Service slot follows its site's tag), an untagged one, and one whose tier cannot be hardened.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, NamedTuple

from .cosmosdb import seed_cosmos_account
from .eventhub import seed_event_hubs_namespace
from .keyvault import seed_key_vault
from .servicebus import seed_service_bus_namespace
from .sql import seed_sql_server
from .storage import seed_storage_account
from .web import seed_demo_slot, seed_web_app, seed_web_slot  # noqa: F401 (re-exported)


#: A demo option (not a seeder argument): the resource's owner approves endpoint connections by hand.
MANUAL_APPROVAL = "manual_approval"


class DemoResource(NamedTuple):
    seed: Callable[..., str]
    name: str
    tags: Mapping[str, str] | None
    operation: str
    options: Mapping[str, Any] = {}


DEMO_RESOURCES: list[DemoResource] = [
    DemoResource(seed_key_vault, "kv-lz-payments", {"harden": "private"}, "Microsoft.KeyVault/vaults/write"),
    DemoResource(seed_storage_account, "stlzorders01", {"harden": "service-endpoint"},
                 "Microsoft.Storage/storageAccounts/write"),
    DemoResource(seed_sql_server, "sql-lz-ledger", {"harden": "private"}, "Microsoft.Sql/servers/write"),
    DemoResource(seed_cosmos_account, "cosmos-lz-catalog", {"harden": "service-endpoint"},
                 "Microsoft.DocumentDB/databaseAccounts/write"),
    DemoResource(seed_service_bus_namespace, "sb-lz-orders", {"harden": "private"},
                 "Microsoft.ServiceBus/namespaces/write"),
    DemoResource(seed_event_hubs_namespace, "evh-lz-telemetry", {"harden": "service-endpoint"},
                 "Microsoft.EventHub/namespaces/write"),
    DemoResource(seed_web_app, "app-lz-portal", {"harden": "private"}, "Microsoft.Web/sites/write"),
    # Its deployment slot, untagged: it follows the site's harden=private, with its own endpoint (sites-staging).
    DemoResource(seed_demo_slot, "staging", None, "Microsoft.Web/sites/slots/write"),
    DemoResource(seed_storage_account, "stlzscratch01", None, "Microsoft.Storage/storageAccounts/write"),
    DemoResource(seed_service_bus_namespace, "sb-lz-legacy", {"harden": "private"},
                 "Microsoft.ServiceBus/namespaces/write", {"tier": "Standard"}),
    # Its owner approves private endpoint connections by hand: reported, public access kept.
    DemoResource(seed_key_vault, "kv-lz-partner", {"harden": "private"}, "Microsoft.KeyVault/vaults/write",
                 {MANUAL_APPROVAL: True}),
    # A Gremlin account: two endpoints, Gremlin and Sql (cosmos-db/how-to-configure-private-endpoints).
    DemoResource(seed_cosmos_account, "cosmos-lz-graph", {"harden": "private"},
                 "Microsoft.DocumentDB/databaseAccounts/write", {"capabilities": ("EnableGremlin",)}),
    # A premium block blob account: blob only (storage/common/storage-private-endpoints).
    DemoResource(seed_storage_account, "stlzmedia01", {"harden": "private"}, "Microsoft.Storage/storageAccounts/write",
                 {"kind": "BlockBlobStorage", "sku": "Premium_LRS"}),
    # StorageV2 accounts offer a web (static website) endpoint: one serves a static website (STATIC_WEBSITES),
    # the other does not, so HARDEN_STORAGE_WEB_ENDPOINT=auto gives it none (remediators/static_website.py).
    DemoResource(seed_storage_account, "stlzwebsite01", {"harden": "private"}, "Microsoft.Storage/storageAccounts/write"),
    DemoResource(seed_storage_account, "stlzreports01", {"harden": "private"}, "Microsoft.Storage/storageAccounts/write",
                 {"sku": "Standard_RAGRS"}),
]
#: Demo accounts whose blob service (Azurite, the local data plane) has a static website enabled.
STATIC_WEBSITES = frozenset({"stlzwebsite01"})
