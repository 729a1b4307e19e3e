"""``make try``: the bundled emulator with the demo landing zone, for trying the CLI by hand.

Starts the local ARM emulator, seeds the landing zone and one resource per service (the demo's
estate: localdev/seeds DEMO_RESOURCES), prints the ``export`` lines that point ``paas-hardener``
at it, and keeps serving until Ctrl-C (or ``--seconds N``). Nothing here talks to Azure.
"""
from __future__ import annotations

import argparse
import shlex
import sys
import time

from emulator import Emulator
from localdev.landing_zone import seed_network
from localdev.seeds import DEMO_RESOURCES, MANUAL_APPROVAL


def exports(emu: Emulator, settings: dict[str, str]) -> dict[str, str]:
    """The environment a shell needs to run the CLI against ``emu`` (its managed identity included)."""
    return {**emu.env(), **settings, "AZURE_RESOURCE_MANAGER_ENDPOINT": emu.url,
            "HARDEN_NOTIFY_TOPIC_ENDPOINT": emu.topic_endpoint, "HARDEN_POLL_INTERVAL_SECONDS": "0"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localdev.try_cli", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=None, help="stop after this long (default: Ctrl-C)")
    args = parser.parse_args(argv)
    with Emulator.start() as emu:
        lz = seed_network(emu)
        for seed, name, tags, _operation, options in DEMO_RESOURCES:
            rid = seed(emu, lz, name, tags=tags, **{k: v for k, v in options.items() if k != MANUAL_APPROVAL})
            if options.get(MANUAL_APPROVAL):
                emu.require_manual_approval(rid)
        print(f"# The local Azure emulator is serving the demo landing zone ({len(DEMO_RESOURCES)} resources)")
        print("# at", emu.url, "until Ctrl-C. In another shell, paste:")
        for name, value in exports(emu, lz.settings()).items():
            print(f"export {name}={shlex.quote(value)}")
        print("# then, e.g.:")
        print(f"#   .venv/bin/paas-hardener scan --subscription {lz.subscription_id}")
        print(f"#   .venv/bin/paas-hardener plan {lz.id(lz.app_rg, 'Microsoft.KeyVault/vaults/kv-lz-payments')}")
        print(f"#   .venv/bin/paas-hardener apply --subscription {lz.subscription_id} --yes -o json")
        sys.stdout.flush()
        try:
            if args.seconds is None:
                while True:
                    time.sleep(3600)
            time.sleep(args.seconds)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
