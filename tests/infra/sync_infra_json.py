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


# Where each action is needed (infra/modules/rbac/): the remediator writes the PaaS resources in the main
# scope, private endpoints next to the endpoint subnet, subnets where the service-endpoint subnets live,
# zones and links where the DNS zones live. Some reads are subscription-level, granted per subscription the
# remediator works in: long-running-operation status URLs (/subscriptions/{id}/providers/{ns}/locations/...),
# and the private DNS zones and links listed before linking a VNet (remediators/private_link.py: a VNet linked
# to another zone of the same name anywhere in the zones' or the VNet's subscription is a conflict).
_ENDPOINT_SUBNET = ("microsoft.network/privateendpoints/", "microsoft.network/virtualnetworks/read",
                    "microsoft.network/virtualnetworks/join/action", "microsoft.network/virtualnetworks/subnets/read",
                    "microsoft.network/virtualnetworks/subnets/join/action")
_SUBSCRIPTION_READS = ("microsoft.network/privatednszones/read",
                       "microsoft.network/privatednszones/virtualnetworklinks/read")
_SERVICE_ENDPOINT_SUBNETS = ("microsoft.network/virtualnetworks/read", "microsoft.network/virtualnetworks/subnets/read",
                             "microsoft.network/virtualnetworks/subnets/write",
                             "microsoft.network/virtualnetworks/subnets/joinviaserviceendpoint/action",
                             "microsoft.network/networksecuritygroups/join/action",
                             "microsoft.network/routetables/join/action", "microsoft.network/natgateways/join/action",
                             "microsoft.network/serviceendpointpolicies/join/action")


_ZONE_WRITE = "microsoft.network/privatednszones/write"


def role_scopes(actions: frozenset[str]) -> dict[str, list[str]]:
    """The registry's actions split by the scope each is needed at; every action lands somewhere."""
    scopes: dict[str, list[str]] = {"resources": [], "subscriptionReads": [], "privateEndpointSubnet": [],
                                    "serviceEndpointSubnets": [], "privateDnsZones": [], "privateDnsZonesLinkOnly": []}
    for action in sorted(actions):
        low = action.lower()
        if "/locations/" in low:
            scopes["subscriptionReads"].append(action)
        elif low.startswith("microsoft.network/privatedns"):
            scopes["privateDnsZones"].append(action)
            if low in _SUBSCRIPTION_READS:
                scopes["subscriptionReads"].append(action)
        elif low.startswith("microsoft.network/"):
            placed = False
            for name, prefixes in (("privateEndpointSubnet", _ENDPOINT_SUBNET),
                                   ("serviceEndpointSubnets", _SERVICE_ENDPOINT_SUBNETS)):
                if any(low == p or (p.endswith("/") and low.startswith(p)) for p in prefixes):
                    scopes[name].append(action)
                    placed = True
            if not placed:
                raise ValueError(f"{action}: no scope for this network action; add it to tests/infra/sync_infra_json.py")
        else:
            scopes["resources"].append(action)
    # Where the platform team owns the zones (main.bicep createPrivateDnsZones false, HARDEN_CREATE_PRIVATE_DNS_ZONES
    # false): the same role without zone creation; a missing zone is then reported (zone-missing), never created.
    scopes["privateDnsZonesLinkOnly"] = [a for a in scopes["privateDnsZones"] if a.lower() != _ZONE_WRITE]
    return scopes


def expected() -> dict[str, list[str] | dict[str, list[str]]]:
    return {
        "handled-operations.json": list(registry.event_filter_operations()),
        "remediator-role-actions.json": sorted(registry.rbac_actions()),
        "remediator-role-scopes.json": role_scopes(registry.rbac_actions()),
        "private-dns-zones.json": sorted({g.dns_zone for s in registry.SERVICES for g in s.spec.private_link_groups}),
        "service-endpoints.json": sorted({s.spec.service_endpoint for s in registry.SERVICES}),
    }


def render(values: list[str] | dict[str, list[str]]) -> str:
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
