"""Regenerate the lists infra/ reads from the remediators' registry.

    python -m tests.infra.sync_infra_json          # write the files
    python -m tests.infra.sync_infra_json --check  # exit 1 if any file is stale

Bicep cannot import Python, so the registry's lists are copied into JSON files that the Bicep
modules read with loadJsonContent(); tests/infra/test_bicep.py fails when a copy is stale.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from remediators import registry

INFRA = Path(__file__).resolve().parents[2] / "infra"


def expected() -> dict[str, list[str]]:
    return {
        "handled-operations.json": list(registry.event_filter_operations()),
        "remediator-role-actions.json": sorted(registry.rbac_actions()),
        "private-dns-zones.json": sorted({g.dns_zone for s in registry.SERVICES for g in s.spec.private_link_groups}),
        "service-endpoints.json": sorted({s.spec.service_endpoint for s in registry.SERVICES}),
    }


def render(values: list[str]) -> str:
    return json.dumps(values, indent=2) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name, values in expected().items():
        path = INFRA / name
        text = render(values)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(name)
            if not check:
                path.write_text(text, encoding="utf-8")
    verb = "stale" if check else "updated"
    for name in stale:
        print(f"infra/{name}: {verb}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
