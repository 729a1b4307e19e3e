"""The remediator's role assignments as infra/ deploys them, for a landing zone's ids.

infra/modules/rbac/ assigns one custom role per scope, each holding one list of
infra/remediator-role-scopes.json (tests/infra/test_bicep.py checks the modules load those lists
at those scopes). The test suite gives the remediator identity exactly these assignments on the
emulator (tests/conftest.py), which then authorizes every request as ARM does (emulator/authz.py).
"""
from __future__ import annotations

import json
from typing import Any

from tests.infra.bicep_tree import INFRA

SCOPES_FILE = INFRA / "remediator-role-scopes.json"


def role_lists() -> dict[str, list[str]]:
    return json.loads(SCOPES_FILE.read_text(encoding="utf-8"))


def _rg_of(resource_id: str) -> str:
    parts = resource_id.split("/")
    return "/".join(parts[:5])


def _subscription_of(resource_id: str) -> str:
    return "/".join(resource_id.split("/")[:3])


def deployed_assignments(lz: Any) -> list[tuple[str, list[str]]]:
    """``(scope, actions)`` for each assignment, with infra/'s defaults (main scope: the subscription).

    The endpoint subnet's and each service-endpoint subnet's VNet resource group, and the DNS zones
    resource group, get their own role (modules/rbac/scoped-role.bicep); subscription-level reads
    are granted on every subscription involved (modules/rbac/subscription-reads-role.bicep).
    """
    lists = role_lists()
    settings = lz.settings()
    endpoint_subnet = settings["HARDEN_PRIVATE_ENDPOINT_SUBNET_ID"]
    service_subnets = [s for s in settings["HARDEN_SERVICE_ENDPOINT_SUBNET_IDS"].split(",") if s]
    dns_rg = settings["HARDEN_DNS_ZONES_RESOURCE_GROUP_ID"]
    subscriptions = {f"/subscriptions/{lz.subscription_id}", _subscription_of(endpoint_subnet),
                     _subscription_of(dns_rg), *(_subscription_of(s) for s in service_subnets)}
    assignments = [(f"/subscriptions/{lz.subscription_id}", lists["resources"])]
    assignments += [(sub, lists["subscriptionReads"]) for sub in sorted(subscriptions)]
    assignments.append((_rg_of(endpoint_subnet), lists["privateEndpointSubnet"]))
    assignments += [(rg, lists["serviceEndpointSubnets"]) for rg in sorted({_rg_of(s) for s in service_subnets})]
    assignments.append((dns_rg, lists["privateDnsZones"]))
    return assignments
