"""Someone else's rule, added while a hardening waits for its endpoints, survives the lockdown.

A firewall write replaces its rule arrays whole, and public access off runs last, after the
endpoints and DNS (tens of seconds in Azure). So the write must merge into the rules as they
are when it is sent, not as they were when the plan read them.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

from localdev.seeds.cosmosdb import AZURE_DATACENTERS, seed_cosmos_account
from localdev.seeds.keyvault import seed_key_vault
from remediators.private_link import private_endpoint_name
from tests.remediation import deliver

OWNER_IP = "203.0.113.9"


def _edit_once_the_endpoint_exists(emulator: Any, endpoint_id: str, edit: Callable[[], None]) -> threading.Thread:
    """The owner's edit, made after the plan's read: once our endpoint has been created."""
    def run() -> None:
        deadline = time.monotonic() + 30
        while emulator.get(endpoint_id) is None and time.monotonic() < deadline:
            time.sleep(0.005)
        edit()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _endpoint(lz: Any, name: str, group: str) -> str:
    return (f"{lz.rg_id(lz.network_rg)}/providers/Microsoft.Network/privateEndpoints/"
            f"{private_endpoint_name(name, group)}")


def test_key_vault_ip_rule_added_during_the_hardening_is_kept(host, emulator, lz):
    emulator.timing.scale = 0.01  # the endpoint's 45 s is 0.45 s: the owner's edit lands before the lockdown
    rid = seed_key_vault(emulator, lz, "kv-ownerrule01", tags={"harden": "private"})

    def add_rule() -> None:
        vault = emulator.get(rid)
        acls = vault["properties"].get("networkAcls") or {"defaultAction": "Allow", "bypass": "AzureServices"}
        emulator.seed(rid, {**vault, "properties": {**vault["properties"], "networkAcls": {
            **acls, "ipRules": [{"value": f"{OWNER_IP}/32"}]}}})

    editor = _edit_once_the_endpoint_exists(emulator, _endpoint(lz, "kv-ownerrule01", "vault"), add_rule)
    outcome = deliver(host, emulator, rid, "Microsoft.KeyVault/vaults/write")
    editor.join(5)
    assert outcome["status"] == "hardened", outcome
    acls = emulator.get(rid)["properties"]["networkAcls"]
    assert acls["ipRules"] == [{"value": f"{OWNER_IP}/32"}], "the owner's rule was dropped"
    assert emulator.get(rid)["properties"]["publicNetworkAccess"] == "Disabled"


def test_cosmos_ip_rule_added_during_the_hardening_is_kept(host, emulator, lz):
    emulator.timing.scale = 0.01
    rid = seed_cosmos_account(emulator, lz, "cosmos-ownerrule01", tags={"harden": "private"},
                              ip_rules=(AZURE_DATACENTERS,))

    def add_rule() -> None:
        account = emulator.get(rid)
        rules = [*account["properties"]["ipRules"], {"ipAddressOrRange": OWNER_IP}]
        emulator.seed(rid, {**account, "properties": {**account["properties"], "ipRules": rules}})

    editor = _edit_once_the_endpoint_exists(emulator, _endpoint(lz, "cosmos-ownerrule01", "Sql"), add_rule)
    outcome = deliver(host, emulator, rid, "Microsoft.DocumentDB/databaseAccounts/write")
    editor.join(5)
    assert outcome["status"] == "hardened", outcome
    props = emulator.get(rid)["properties"]
    assert [r["ipAddressOrRange"] for r in props["ipRules"]] == [OWNER_IP], "0.0.0.0 goes, the owner's rule stays"
    assert props["publicNetworkAccess"] == "Disabled"
