"""Every ARM operation the remediators performed during the test session is in the roles infra/ deploys.

The whole suite runs the product as ``REMEDIATOR_CLIENT_ID`` with exactly those role assignments, at
their scopes (tests/infra/roles.py, tests/conftest.py), and the emulator refuses what they do not allow,
linked access checks included (emulator/authz.py). This test adds the converse: every action the roles
grant was used, so the roles hold nothing the code does not need.
"""
from __future__ import annotations

import pytest

from tests.conftest import REMEDIATOR_CLIENT_ID
from tests.infra.rbac import covered, rbac_action_for
from tests.infra.roles import role_lists

# Granted but never observed, on purpose:
NOT_OBSERVABLE = {
    # Private DNS answers some long-running writes with a Location header to an operation *result* URL
    # instead of the status URL (both listed under Microsoft.Network in the published operations); the
    # emulator hands out the status URL only.
    "microsoft.network/privatednsoperationresults/read",
}


def _granted() -> list[str]:
    return sorted({a for actions in role_lists().values() for a in actions})


@pytest.mark.after_all
def test_role_covers_every_operation_the_remediators_performed(emulator, request):
    observed = emulator.observed_operations(REMEDIATOR_CLIENT_ID)
    ran_services = any("tests/services/" in item.nodeid for item in request.session.items)
    if not observed or not ran_services:
        pytest.skip("judges the whole suite's remediator operations: run the whole suite (make test)")
    granted = _granted()
    missing = sorted({
        f"{rbac_action_for(method, resource_type)}  (from {method} {resource_type})"
        for method, resource_type in observed
        if not covered(rbac_action_for(method, resource_type), granted)
    })
    assert not missing, (
        "The remediators performed operations the roles do not allow. Add each action to the\n"
        "'RBAC actions:' docstring of the remediator that needs it (remediators/registry.py collects them)\n"
        "and regenerate the infra lists (python -m tests.infra.sync_infra_json):\n  " + "\n  ".join(missing))
    # The converse: every action granted was exercised (a wildcard by at least one observed action),
    # except the linked access checks ARM makes on a resource a request *refers to*.
    used = {rbac_action_for(m, t) for m, t in observed}
    unused = sorted(a for a in granted
                    if not any(covered(u, [a]) for u in used)
                    and not _is_linked_access_check(a) and a.lower() not in NOT_OBSERVABLE)
    assert not unused, "The roles grant actions no test saw the remediators use:\n  " + "\n  ".join(unused)


def _is_linked_access_check(action: str) -> bool:
    """Checked on the subnet, zone or target a write refers to (emulator/authz.py LINKED_ACTIONS;
    learn.microsoft.com/azure/private-link/rbac-permissions)."""
    return action.endswith(("/join/action", "/joinViaServiceEndpoint/action",
                            "/privateEndpointConnectionsApproval/action"))
