"""Break-glass revert (issue 17): harden, let someone add a rule, revert, and the network settings are as
they were before the hardening, with the later rule kept; a second revert writes nothing.

Every service, both modes, through the real function code (the hardening), the real CLI (the revert),
the history in Azurite and the SDK clients against the emulator.
"""
from __future__ import annotations

import io
import json
import os
from typing import Any, Callable

import pytest

from emulator import Emulator
from localdev.seeds import (seed_cosmos_account, seed_event_hubs_namespace, seed_key_vault,
                            seed_service_bus_namespace, seed_sql_server, seed_storage_account)
from localdev.seeds.web import seed_web_app, seed_web_slot
from remediators.cli import main
from tests.remediation import deliver
from tests.services.test_sql import firewall, vnet_rules

LATER_IP = "198.51.100.7"
PIPELINE_CLIENT_ID = "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"


def _public(props: dict[str, Any]) -> str:
    return props.get("publicNetworkAccess") or "Enabled"


def _acls(emu: Emulator, rid: str) -> dict[str, Any]:
    props = emu.get(rid)["properties"]
    acls = props.get("networkAcls") or {}
    return {"public": _public(props), "default": acls.get("defaultAction") or "Allow",
            "subnets": sorted(r["id"].lower() for r in acls.get("virtualNetworkRules") or ()),
            "ips": sorted(str(r["value"]).removesuffix("/32") for r in acls.get("ipRules") or ())}


def _add_acl_ip(emu: Emulator, rid: str) -> None:
    body = emu.get(rid)
    acls = body["properties"].setdefault("networkAcls", {"defaultAction": "Allow", "bypass": "AzureServices"})
    acls.setdefault("ipRules", []).append({"value": LATER_IP})
    emu.seed(rid, body)


def _sql(emu: Emulator, rid: str) -> dict[str, Any]:
    return {"public": _public(emu.get(rid)["properties"]), "firewall": firewall(emu, rid),
            "vnet": sorted(r["virtualNetworkSubnetId"].lower() for r in vnet_rules(emu, rid).values())}


def _add_sql_rule(emu: Emulator, rid: str) -> None:
    emu.seed(f"{rid}/firewallRules/later", {"properties": {"startIpAddress": LATER_IP, "endIpAddress": LATER_IP}})


def _cosmos(emu: Emulator, rid: str) -> dict[str, Any]:
    props = emu.get(rid)["properties"]
    return {"public": _public(props), "filter": bool(props.get("isVirtualNetworkFilterEnabled")),
            "subnets": sorted(r["id"].lower() for r in props.get("virtualNetworkRules") or ()),
            "ips": sorted(r["ipAddressOrRange"] for r in props.get("ipRules") or ())}


def _add_cosmos_ip(emu: Emulator, rid: str) -> None:
    body = emu.get(rid)
    body["properties"].setdefault("ipRules", []).append({"ipAddressOrRange": LATER_IP})
    emu.seed(rid, body)


def _messaging(emu: Emulator, rid: str) -> dict[str, Any]:
    rule_set = (emu.get(f"{rid}/networkRuleSets/default") or {}).get("properties") or {}
    return {"public": _public(emu.get(rid)["properties"]), "ruleSetPublic": _public(rule_set),
            "default": rule_set.get("defaultAction") or "Allow",
            "subnets": sorted(r["subnet"]["id"].lower() for r in rule_set.get("virtualNetworkRules") or ()),
            "ips": sorted(r["ipMask"] for r in rule_set.get("ipRules") or ())}


def _add_messaging_ip(emu: Emulator, rid: str) -> None:
    path = f"{rid}/networkRuleSets/default"
    body = emu.get(path)
    body["properties"].setdefault("ipRules", []).append({"ipMask": LATER_IP, "action": "Allow"})
    emu.seed(path, body)


def _web(emu: Emulator, rid: str) -> dict[str, Any]:
    config = emu.get(f"{rid}/config/web")["properties"]
    return {"public": _public(emu.get(rid)["properties"]),
            "default": config.get("ipSecurityRestrictionsDefaultAction") or "Allow",
            "scmUseMain": bool(config.get("scmIpSecurityRestrictionsUseMain")),
            "restrictions": sorted(str(r.get("vnetSubnetResourceId") or r.get("ipAddress")).lower()
                                   for r in config.get("ipSecurityRestrictions") or ()
                                   if r.get("priority") != 2147483647)}


def _add_web_restriction(emu: Emulator, rid: str) -> None:
    path = f"{rid}/config/web"
    body = emu.get(path)
    body["properties"].setdefault("ipSecurityRestrictions", []).append(
        {"ipAddress": f"{LATER_IP}/32", "action": "Allow", "priority": 500, "name": "later"})
    emu.seed(path, body)


def _with_later(snapshot: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    expected = dict(snapshot)
    if isinstance(expected[key], dict):
        expected[key] = {**expected[key], "later": {"startIpAddress": LATER_IP, "endIpAddress": LATER_IP}}
    else:
        expected[key] = sorted([*expected[key], value])
    return expected


# (seed, write operation, snapshot, later addition, the snapshot key it lands in, its value there)
Service = tuple[Callable[..., str], str, Callable[[Emulator, str], dict], Callable[[Emulator, str], None], str, Any]
SERVICES: dict[str, Service] = {
    "keyvault": (lambda e, lz, n, t: seed_key_vault(e, lz, f"kv-{n}", tags=t), "Microsoft.KeyVault/vaults/write",
                 _acls, _add_acl_ip, "ips", LATER_IP),
    "storage": (lambda e, lz, n, t: seed_storage_account(e, lz, f"st{n.replace('-', '')}", tags=t),
                "Microsoft.Storage/storageAccounts/write", _acls, _add_acl_ip, "ips", LATER_IP),
    "sql": (lambda e, lz, n, t: seed_sql_server(e, lz, f"sql-{n}", tags=t), "Microsoft.Sql/servers/write",
            _sql, _add_sql_rule, "firewall", None),
    "cosmosdb": (lambda e, lz, n, t: seed_cosmos_account(e, lz, f"cosmos-{n}", tags=t),
                 "Microsoft.DocumentDB/databaseAccounts/write", _cosmos, _add_cosmos_ip, "ips", LATER_IP),
    "servicebus": (lambda e, lz, n, t: seed_service_bus_namespace(e, lz, f"sb-{n}", tags=t),
                   "Microsoft.ServiceBus/namespaces/write", _messaging, _add_messaging_ip, "ips", LATER_IP),
    "eventhub": (lambda e, lz, n, t: seed_event_hubs_namespace(e, lz, f"evh-{n}", tags=t),
                 "Microsoft.EventHub/namespaces/write", _messaging, _add_messaging_ip, "ips", LATER_IP),
    "web": (lambda e, lz, n, t: seed_web_app(e, lz, f"app-{n}", tags=t), "Microsoft.Web/sites/write", _web,
            _add_web_restriction, "restrictions", f"{LATER_IP}/32"),
    # A deployment slot (issue 14 item 5): its own public switch, restrictions and SCM flag come back; its
    # endpoint (to the site, group sites-staging) goes with --remove-created.
    "web_slots": (lambda e, lz, n, t: seed_web_slot(e, lz, seed_web_app(e, lz, f"app-{n}"), "staging", tags=t),
                  "Microsoft.Web/sites/slots/write", _web, _add_web_restriction, "restrictions", f"{LATER_IP}/32"),
}


def revert(*argv: str) -> tuple[int, dict[str, Any], str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["revert", *argv, "-o", "json"], environ={**os.environ, "AZURE_CLIENT_ID": PIPELINE_CLIENT_ID},
                stdout=out, stderr=err)
    return code, json.loads(out.getvalue()) if out.getvalue() else {}, err.getvalue()


def _endpoints(outcome: dict[str, Any]) -> list[str]:
    return [c["target"] for c in outcome["changes"] if c["phase"] == "private_endpoint"]


@pytest.mark.parametrize("mode", ["private", "service-endpoint", "service-endpoint+ip-ranges"])
@pytest.mark.parametrize("service", sorted(SERVICES))
def test_harden_then_revert_restores_the_settings_and_keeps_later_rules(service, mode, host, emulator, lz,
                                                                        monkeypatch):
    seed, operation, snapshot, add_later, key, value = SERVICES[service]
    suffix = "ip" if mode.endswith("+ip-ranges") else ""
    if suffix:  # HARDEN_ALLOWED_IP_RANGES: the IP rules we add come out again too
        mode = mode.removesuffix("+ip-ranges")
        monkeypatch.setenv("HARDEN_ALLOWED_IP_RANGES", "20.30.40.0/24, 52.1.2.3")
    rid = seed(emulator, lz, f"rv-{'p' if mode == 'private' else 'se'}{suffix}", {"harden": mode, "team": "payments"})
    before = snapshot(emulator, rid)
    hardened = deliver(host, emulator, rid, operation)  # delivered twice: settles
    assert hardened["status"] == "hardened"
    assert snapshot(emulator, rid) != before
    later = not (service == "sql" and mode == "private")  # SQL refuses firewall edits with public access off
    if later:
        add_later(emulator, rid)

    # Without --yes: the plan, nothing written.
    emulator.clear_requests()
    code, planned, err = revert(rid)
    assert code == 1 and planned["status"] == "planned", err
    assert planned["changes"][0]["change"].startswith("set the tag harden=off")
    assert emulator.writes() == []

    emulator.clear_requests()
    code, done, err = revert(rid, "--yes", "--remove-created")
    assert code == 0 and done["status"] == "reverted", (err, done)
    expected = _with_later(before, key, value) if later else before
    assert snapshot(emulator, rid) == expected
    resource = emulator.get(rid)
    assert resource["tags"] == {"harden": "off", "team": "payments"}, "harden=off by a Merge: other tags kept"
    if mode == "private":
        assert _endpoints(hardened) and all(emulator.get(e) is None for e in _endpoints(hardened))
        made = [c["target"] for c in hardened["changes"] if c["phase"] in ("private_dns_zone", "private_dns_link")]
        assert made and all(emulator.get(t) is None for t in made), (done["reason"], [c["target"] for c in done["changes"]], [t for t in made if emulator.get(t)])
        assert any(c["phase"] == "remove_created" for c in done["changes"])

    # Our own tag write raised an event: the app sees harden=off and writes nothing.
    written = len(emulator.writes())
    for event in emulator.drain_events():
        host.deliver(event)
    host.run_queue()
    assert emulator.writes()[written:] == []

    # A second revert writes nothing.
    emulator.clear_requests()
    code, again, err = revert(rid, "--yes", "--remove-created")
    assert code == 0 and again["reasonCode"] == "nothing-to-revert", (err, again)
    assert emulator.writes() == []

    # The revert itself is in the history.
    out = io.StringIO()
    assert main(["history", rid, "-o", "json"], environ=dict(os.environ), stdout=out, stderr=io.StringIO()) == 0
    statuses = [e["status"] for e in json.loads(out.getvalue())["timeline"] if e["status"] != "skipped"]
    assert statuses == ["reverted", "hardened"], statuses  # the skips: harden=off seen by the app (opted-out)


def test_revert_without_remove_created_keeps_the_endpoints_and_says_so(host, emulator, lz):
    vault = seed_key_vault(emulator, lz, "kv-rv-keep", tags={"harden": "private"})
    hardened = deliver(host, emulator, vault, "Microsoft.KeyVault/vaults/write")
    code, done, err = revert(vault, "--yes")
    assert code == 0 and done["status"] == "reverted", err
    assert emulator.get(vault)["properties"]["publicNetworkAccess"] == "Enabled"
    assert [emulator.get(e) is not None for e in _endpoints(hardened)] == [True]
    assert "--remove-created" in done["reason"] and "private DNS zones" in done["reason"]


def test_revert_of_a_resource_never_hardened_writes_nothing(host, emulator, lz):
    vault = seed_key_vault(emulator, lz, "kv-rv-none", tags={"harden": "private"})
    emulator.clear_requests()
    code, result, err = revert(vault, "--yes")
    assert code == 0 and result["reasonCode"] == "nothing-to-revert", err
    assert emulator.writes() == []


def test_revert_without_a_history_store_says_so_and_exits_2(lz):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AzureWebJobsStorage")}
    err = io.StringIO()
    code = main(["revert", lz.resource_id("Microsoft.KeyVault/vaults/kv-x")], environ=env, stdout=io.StringIO(),
                stderr=err)
    assert code == 2 and err.getvalue().startswith("error: no change history to revert from")


def test_a_revert_that_fails_half_way_says_what_it_did_and_the_next_one_finishes(host, emulator, lz):
    from emulator.faults import Fault

    vault = seed_key_vault(emulator, lz, "kv-rv-fail", tags={"harden": "private"})
    hardened = deliver(host, emulator, vault, "Microsoft.KeyVault/vaults/write")
    [endpoint] = _endpoints(hardened)
    # ARM refuses the endpoint's deletion (every attempt, SDK retries included): after harden=off and
    # public access back on, the third step fails.
    emulator.faults.add(Fault(method="DELETE", path_contains="/privateEndpoints/", status=409,
                              code="Conflict", times=None))
    code, failed, err = revert(vault, "--yes", "--remove-created")
    assert code == 1 and failed["reasonCode"] == "revert-failed", (err, failed)
    assert [c["phase"] for c in failed["changes"]] == ["tag", "public_access"]
    assert {c["phase"] for c in failed["notDone"]} == {"remove_created"} and "409" in failed["notDone"][0]["why"]
    assert emulator.get(vault)["properties"]["publicNetworkAccess"] == "Enabled", "public access came back first"
    emulator.faults.clear()
    emulator.clear_requests()
    code, done, err = revert(vault, "--yes", "--remove-created")
    assert code == 0 and done["status"] == "reverted", err
    assert [c["target"] for c in done["changes"]] == [c["target"] for c in failed["notDone"]], "only what was left"
    assert emulator.get(endpoint) is None


def test_remove_created_keeps_a_zone_another_resource_resolves_through(host, emulator, lz):
    first = seed_key_vault(emulator, lz, "kv-rv-first", tags={"harden": "private"})
    second = seed_key_vault(emulator, lz, "kv-rv-second", tags={"harden": "private"})
    hardened = deliver(host, emulator, first, "Microsoft.KeyVault/vaults/write")
    assert deliver(host, emulator, second, "Microsoft.KeyVault/vaults/write")["status"] == "hardened"
    [zone] = [c["target"] for c in hardened["changes"] if c["phase"] == "private_dns_zone"]
    [link] = [c["target"] for c in hardened["changes"] if c["phase"] == "private_dns_link"]
    code, done, err = revert(first, "--yes", "--remove-created")
    assert code == 0 and done["status"] == "reverted", err
    assert emulator.get(zone) is not None and emulator.get(link) is not None
    assert "privatelink.vaultcore.azure.net" in done["reason"] and "other resources' records" in done["reason"]
    # The second vault still resolves: its endpoint's A record is in the zone.
    assert emulator.get(f"{zone}/A/kv-rv-second") is not None
