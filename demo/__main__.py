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
from localdev.seeds import DEMO_RESOURCES, MANUAL_APPROVAL


def main() -> int:
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    with Emulator.start() as emu, running_azurite() as storage:
        lz = seed_network(emu)
        os.environ.update({**emu.env(), **lz.settings(), "AzureWebJobsStorage": storage,
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
        scan_estate("after the hardening", lz.subscription_id)
        show_the_people_loop(first)
        show_a_sent_card(emu)
        reverted = show_a_revert(first, host, emu)
        return 0 if settled and reverted else 1


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
