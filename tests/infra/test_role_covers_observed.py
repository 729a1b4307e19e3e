"""Every ARM operation the remediators performed during the test session is in the custom role.

The emulator records each successful (method, resource type) per calling identity,
long-running-operation polls included; the product runs as ``REMEDIATOR_CLIENT_ID``.
Each pair maps to the RBAC action ARM would check (``tests/infra/rbac.py``), and
the role in ``infra/`` must allow it. The converse (no action the remediators do
not declare) is checked against the registry in ``test_bicep.py``.
"""
from __future__ import annotations

import pytest

from tests.conftest import REMEDIATOR_CLIENT_ID
from tests.infra import bicep_tree as bt
from tests.infra.rbac import covered, rbac_action_for

ROLE_FILE = bt.INFRA / "modules" / "rbac" / "remediator-role.bicep"


def _role_actions() -> tuple[list[str], list[str]]:
    (role,) = [r for r in bt.resources(ROLE_FILE) if r.type == "Microsoft.Authorization/roleDefinitions"]
    (permissions,) = role.config["properties"]["permissions"]
    _, actions = bt.json_loaded_by(ROLE_FILE, permissions["actions"])
    return actions, permissions.get("notActions", [])


@pytest.mark.after_all
def test_role_covers_every_operation_the_remediators_performed(emulator):
    observed = emulator.observed_operations(REMEDIATOR_CLIENT_ID)
    if not observed:
        pytest.skip("no remediator operations observed: run the whole suite (make test)")
    granted, denied = _role_actions()
    missing = sorted({
        f"{rbac_action_for(method, resource_type)}  (from {method} {resource_type})"
        for method, resource_type in observed
        if not covered(rbac_action_for(method, resource_type), granted, denied)
    })
    assert not missing, (
        "The remediators performed operations the custom role does not allow. Add each action to the\n"
        "'RBAC actions:' docstring of the remediator that needs it (remediators/registry.py collects them)\n"
        "and regenerate infra/remediator-role-actions.json (python -m tests.infra.sync_infra_json):\n  "
        + "\n  ".join(missing))
    # And the converse: every action the role grants was exercised, except the linked-access
    # checks ARM makes on a resource a request *refers to*, which no request of ours names.
    used = {rbac_action_for(m, t).lower() for m, t in observed}
    unused = sorted(a for a in granted if a.lower() not in used and not _is_linked_access_check(a))
    assert not unused, "The role grants actions no test saw the remediators use:\n  " + "\n  ".join(unused)


def _is_linked_access_check(action: str) -> bool:
    """Checked on the subnet, zone or target a write refers to (learn.microsoft.com/azure/
    private-link/rbac-permissions, .../virtual-network/virtual-network-service-endpoints-overview)."""
    return action.endswith(("/join/action", "/joinViaServiceEndpoint/action",
                            "/privateEndpointConnectionsApproval/action"))
