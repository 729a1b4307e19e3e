"""The main job on the bundled local emulator: `make demo` (or `python -m demo`).

Seeds a small landing zone and one resource per service, delivers their write
events to the real function code (Event Grid trigger → Azurite queue → worker),
and prints the plan, the changes and the notifications. Then it feeds back the
events our own writes raised, to show that they settle with zero writes.
"""
from __future__ import annotations

import logging
import os
import sys
import time
from collections import Counter

from emulator import Emulator
from emulator.events import write_event
from localdev.azurite import running_azurite
from localdev.host import LocalHost
from localdev.landing_zone import seed_network
from localdev.report import render_outcomes, render_worker_errors, short_id
from localdev.seeds import DEMO_RESOURCES, MANUAL_APPROVAL, STATIC_WEBSITES, seed_storage_account


def main() -> int:
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    from remediators.static_website import LOCAL_BLOB_SETTING

    accounts = [r.name for r in DEMO_RESOURCES if r.seed is seed_storage_account]
    # Azurite's blob service stands in for each demo account's data plane (its static-website flag).
    with Emulator.start() as emu, running_azurite(blob_accounts=accounts) as storage:
        lz = seed_network(emu)
        os.environ.update({**emu.env(), **lz.settings(), "AzureWebJobsStorage": storage, LOCAL_BLOB_SETTING: storage,
                           "AZURE_RESOURCE_MANAGER_ENDPOINT": emu.url,
                           "HARDEN_NOTIFY_TOPIC_ENDPOINT": emu.topic_endpoint,
                           "HARDEN_POLL_INTERVAL_SECONDS": "0",
                           # Teams: the webhook URL is a secret in the emulator's vault (remediators/channels.py).
                           "HARDEN_NOTIFY_TEAMS_WEBHOOK_SECRET_URI": f"{emu.url}/secrets/teams-webhook"})
        emu.messaging.secrets["teams-webhook"] = f"{emu.url}/webhooks/teams/demo-channel"
        import function_app  # noqa: F401  (after the environment is set, as in the host)

        host = LocalHost(function_app.app, storage)
        print("Landing zone (local emulator at %s)" % emu.url)
        print(f"  endpoint subnet:          {short_id(lz.endpoint_subnet_id)}")
        print(f"  service-endpoint subnet:  {short_id(lz.workload_subnet_id)} (NSG, route table, delegation, Microsoft.Sql)")
        print(f"  private DNS zones in:     {lz.rg_id(lz.dns_rg)}\n")

        print("Resources and their write events:")
        resources = []
        for seed, name, tags, operation, options in DEMO_RESOURCES:
            manual = options.get(MANUAL_APPROVAL, False)
            rid = seed(emu, lz, name, tags=tags, **{k: v for k, v in options.items() if k != MANUAL_APPROVAL})
            if manual:
                emu.require_manual_approval(rid)
            resources.append((rid, operation))
            queued = host.deliver(write_event(rid, operation))
            label = ", ".join(f"{k}={v}" for k, v in (tags or {}).items()) or "untagged"
            print(f"  {short_id(rid):<52} {label:<24} {'queued' if queued else 'dropped'}")

        enable_static_websites(storage)
        scan_estate("before the hardening", lz.subscription_id)
        emu.clear_requests()  # the scan's reads are not the worker's
        started = time.perf_counter()
        host.run_queue()
        elapsed = time.perf_counter() - started
        first = [n["data"] for n in emu.notifications]
        writes = len(emu.writes())
        print(f"\nOutcomes ({len(first)} notifications, {writes} ARM writes, {elapsed:.2f}s):\n")
        print(render_outcomes(first))

        raised = emu.drain_events()
        emu.clear_requests()
        before = len(emu.notifications)
        for event in raised:
            host.deliver(event)
        for rid, operation in resources:
            host.deliver(write_event(rid, operation))
        host.run_queue()
        second = [n["data"] for n in emu.notifications[before:]]
        summary = Counter(f"{d['status']}/{d['reasonCode']}" for d in second)
        print(f"\nSecond pass: {len(raised)} events raised by our own writes plus every original event "
              f"redelivered → {len(emu.writes())} ARM writes; outcomes: {dict(summary)}")
        # A worker exception (a bad setting, an ARM error) publishes no outcome: say so, and fail.
        errors = render_worker_errors(host.deliveries)
        if errors:
            print(f"\n{errors}", file=sys.stderr)
            return 1
        settled = not emu.writes()
        show_web_endpoints_saved(emu, lz)
        scan_estate("after the hardening", lz.subscription_id)
        show_the_people_loop(first)
        show_a_sent_card(emu)
        reverted = show_a_revert(first, host, emu)
        return 0 if settled and reverted else 1


def enable_static_websites(connection_string: str) -> None:
    from azure.storage.blob import StaticWebsite

    from remediators.static_website import local_blob_service_for

    blob_service_for = local_blob_service_for(connection_string)
    assert blob_service_for is not None
    for name in sorted(STATIC_WEBSITES):
        blob_service_for(f"https://{name}.blob.core.windows.net/").set_service_properties(
            static_website=StaticWebsite(enabled=True, index_document="index.html"))


def show_web_endpoints_saved(emu: Emulator, lz) -> None:
    """Storage ``web`` endpoints not created on the demo estate, and what they would have cost."""
    from remediators.private_link import private_endpoint_id
    from remediators.resource_id import ResourceId
    from remediators.services.storage import storage_groups
    from remediators.static_website import ENDPOINT_USD_PER_MONTH, WEB_GROUPS

    subnet = ResourceId.parse(lz.endpoint_subnet_id)
    saved = 0
    print("\nStorage web endpoints (HARDEN_STORAGE_WEB_ENDPOINT=auto; the static-website flag from ARM, else the blob data plane):")
    for r in DEMO_RESOURCES:
        if r.seed is not seed_storage_account or (r.tags or {}).get("harden") != "private":
            continue
        body = emu.get(lz.resource_id(f"Microsoft.Storage/storageAccounts/{r.name}"))
        web = [g for g in storage_groups(body.get("kind"), (body.get("sku") or {}).get("name"),
                                         (body.get("properties") or {}).get("isHnsEnabled") is True)
               if g in WEB_GROUPS]
        if not web:
            continue  # e.g. premium block blobs: no web sub-resource at all
        made = [g for g in web if emu.get(private_endpoint_id(subnet, r.name, g)) is not None]
        saved += len(web) - len(made)
        site = "static website" if r.name in STATIC_WEBSITES else "no static website"
        print(f"  {r.name:<16} offers {', '.join(web) or 'no web group':<22} {site:<18} "
              f"created: {', '.join(made) or 'none'}")
    # Before HARDEN_STORAGE_WEB_ENDPOINT, every one of these groups got an endpoint.
    print(f"  {saved} web endpoint(s) not created: ${saved * ENDPOINT_USD_PER_MONTH:.2f}/month saved at "
          f"${ENDPOINT_USD_PER_MONTH:.2f} each (Private Link list price, $0.01 per endpoint-hour × 730 hours, "
          "azure.microsoft.com/pricing/details/private-link; data processed is billed on top)")


def show_the_people_loop(outcomes: list[dict]) -> None:
    """What the owner of one hardened resource reads, and the history anyone can ask for."""
    import json

    from remediators.cli import main as cli
    from remediators.messages import render

    hardened = next((d for d in outcomes if d["status"] == "hardened"), None)
    if hardened is None:
        return
    print("\nThe email its owner would get (remediators/messages.py; Teams and Slack get the same facts):\n")
    email = render(hardened, channel="email")
    print(f"Subject: {email['subject']}\n\n{email['plainText']}")
    card = render(hardened, channel="teams")["attachments"][0]["content"]
    print(f"Teams card: Adaptive Card {card['version']} with {len(card['body'])} text blocks, "
          f"{len(json.dumps(card))} bytes")
    print(f"\n$ paas-hardener history {hardened['resourceId']}")
    cli(["history", hardened["resourceId"]])


def show_a_sent_card(emu: Emulator) -> None:
    """One Teams card as the local receiver (emulator/messaging.py) recorded it: sent, not just rendered."""
    cards = [body for name, bodies in emu.messaging.webhooks.items() if name.startswith("teams") for body in bodies]
    if not cards:
        return
    print(f"\nTeams: {len(cards)} card(s) posted to the webhook read from Key Vault; the first, as received:")
    for block in cards[0]["attachments"][0]["content"]["body"]:
        print("  " + block["text"].replace("\n", "\n  "))


def show_a_revert(outcomes: list[dict], host: LocalHost, emu: Emulator) -> bool:
    """Break glass: the owner puts the resource back, step by step (remediators/revert.py)."""
    from remediators.cli import main as cli

    hardened = next((d for d in outcomes if d["status"] == "hardened"), None)
    if hardened is None:
        return True
    rid = hardened["resourceId"]
    print("\nBreak glass: the owner wants the resource back as it was.")
    print(f"\n$ paas-hardener revert {rid}   # 1. the plan, from the history's before-states; writes nothing")
    cli(["revert", rid])
    emu.clear_requests()
    print(f"\n$ paas-hardener revert {rid} --yes --remove-created   # 2. harden=off first, then the settings, "
          "then our endpoints")
    code = cli(["revert", rid, "--yes", "--remove-created"])
    writes = len(emu.writes())
    print(f"(exit code {code}; {writes} ARM writes)")
    raised = emu.drain_events()
    emu.clear_requests()
    before = len(emu.notifications)
    for event in raised:
        host.deliver(event)
    host.run_queue()
    seen = sorted({n["data"]["reasonCode"] for n in emu.notifications[before:]
                   if n["data"]["resourceId"].lower() == rid.lower()})
    print(f"\n3. The {len(raised)} event(s) the revert raised reach the app: {', '.join(seen) or 'no outcome'}, "
          f"{len(emu.writes())} ARM writes (harden=off: never touched again)")
    emu.clear_requests()
    print(f"\n$ paas-hardener revert {rid} --yes   # 4. a second revert")
    cli(["revert", rid, "--yes"])
    print(f"({len(emu.writes())} ARM writes)")
    return code == 0 and not emu.writes()


def scan_estate(when: str, subscription_id: str) -> None:
    """`python -m remediators scan`, as a person would run it before deploying (and after)."""
    from remediators.cli import main as cli

    print(f"\n$ python -m remediators scan --subscription {subscription_id}   # {when}")
    code = cli(["scan", "--subscription", subscription_id])
    print(f"(exit code {code}: {'every tagged resource is compliant' if code == 0 else 'not all compliant'})")


if __name__ == "__main__":
    sys.exit(main())
