"""One app instance in its own OS process: add one service endpoint to one subnet.

Run as ``python -m tests.services.se_worker <subnet id> <service> <barrier dir> <name>``
with the app settings in the environment. It plans (one GET), says it is ready, waits
until every worker is ready, then applies: so the workers' read-merge-write cycles overlap.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from azure.identity import DefaultAzureCredential

from remediators.arm import ArmClients
from remediators.network import NetworkPlanner
from remediators.settings import Settings


def main(subnet_id: str, service: str, barrier: str, name: str, workers: int = 2) -> None:
    settings = Settings.from_env()
    credential = DefaultAzureCredential(managed_identity_client_id=settings.client_id)

    def clients_for(subscription_id: str) -> ArmClients:
        return ArmClients(credential, subscription_id, endpoint=settings.arm_endpoint, polling_interval=0)

    changes = NetworkPlanner(clients_for, settings).plan_service_endpoints(service, [subnet_id])
    gate = Path(barrier)
    (gate / name).touch()
    deadline = time.monotonic() + 60
    while len(list(gate.iterdir())) < workers:
        if time.monotonic() > deadline:
            raise SystemExit("the other worker never became ready")
        time.sleep(0.01)
    for change in changes:
        change.apply()


if __name__ == "__main__":
    main(*sys.argv[1:])
