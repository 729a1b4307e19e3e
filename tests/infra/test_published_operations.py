"""Every action in the roles infra/ deploys is an operation Microsoft publishes.

Azure rejects a whole custom role definition when one of its actions is not a registered operation
(/work/shared/azure-facts.md; learn.microsoft.com/azure/role-based-access-control/custom-roles).
infra/published-operations.json copies the relevant names from the Learn permission pages, with
their sources; a wildcard action must match at least one of them and say why it is a wildcard.
"""
from __future__ import annotations

import json
import re

import pytest

from remediators import registry
from tests.infra import bicep_tree as bt
from tests.infra.rbac import covered
from tests.infra.roles import role_lists

PUBLISHED = json.loads((bt.INFRA / "published-operations.json").read_text(encoding="utf-8"))
OPERATIONS = [op for ops in PUBLISHED["operations"].values() for op in ops]


def test_every_list_names_its_source():
    assert set(PUBLISHED["operations"]) == set(PUBLISHED["sources"])
    for category, source in PUBLISHED["sources"].items():
        assert source.startswith(f"https://learn.microsoft.com/azure/role-based-access-control/permissions/{category}")


@pytest.mark.parametrize("action", sorted(registry.rbac_actions() | {a for v in role_lists().values() for a in v}))
def test_role_action_is_a_published_operation(action):
    if "*" in action:
        assert action in PUBLISHED["wildcards"], f"{action}: a wildcard needs a reason in published-operations.json"
        matched = [op for op in OPERATIONS if covered(op, [action])]
        assert matched, f"{action} matches no published operation"
    else:
        assert any(op.lower() == action.lower() for op in OPERATIONS), (
            f"{action} is not in infra/published-operations.json: check it against the Learn permission page of its "
            "provider (Azure rejects the whole role otherwise) and copy it there with its source")


def test_the_unpublished_sql_status_read_is_covered_by_the_documented_wildcard():
    granted = role_lists()["subscriptionReads"]
    assert "Microsoft.Sql/locations/serverAzureAsyncOperation/read" not in registry.rbac_actions()
    assert covered("Microsoft.Sql/locations/serverAzureAsyncOperation/read", granted)
    assert not covered("Microsoft.Sql/servers/databases/read", granted), "location-level reads only"
    assert not covered("Microsoft.Sql/locations/deletedServers/recover/action", granted), "reads only"


# An action is a provider namespace, then segments; a wildcard may only be a whole segment
# (learn.microsoft.com/azure/role-based-access-control/role-definitions#actions shows only
# `Microsoft.Compute/*`, `*/read`, `Microsoft.Sql/locations/*/read`-style forms). ARM refuses the whole role
# definition for one action it cannot parse (InvalidActionOrNotAction, Azure/azure-cli#31926).
_SEGMENT = re.compile(r"^(\*|[A-Za-z0-9][A-Za-z0-9.\-_]*)$")
_NAMESPACE = re.compile(r"^[A-Z][A-Za-z0-9]*\.[A-Za-z0-9.]+$")


def action_form_error(action: str) -> str | None:
    """Why ``action`` is not a well-formed RBAC action, or None."""
    segments = action.split("/")
    if len(segments) < 2:
        return "needs a provider namespace and at least one more segment"
    if not _NAMESPACE.match(segments[0]):
        return f"{segments[0]!r} is not a provider namespace"
    for segment in segments[1:]:
        if not _SEGMENT.match(segment):
            return f"segment {segment!r}: a wildcard must be the whole segment"
    if segments[-1].lower() not in {"read", "write", "delete", "action", "*"}:
        return f"ends in {segments[-1]!r}, not read, write, delete, action or *"
    return None


def test_action_form_check_refuses_a_wildcard_inside_a_segment():
    assert action_form_error("Microsoft.Sql/locations/*AzureAsyncOperation/read")
    assert action_form_error("Microsoft.Sql/locations/server*/read")
    assert action_form_error("Microsoft.Sql/locations/*/read") is None
    assert action_form_error("Microsoft.Web/sites/config/Write") is None


@pytest.mark.parametrize("action", sorted(registry.rbac_actions() | {a for v in role_lists().values() for a in v}
                                          | set(json.loads((bt.INFRA / "remediator-role-actions.json").read_text()))))
def test_every_role_action_has_a_valid_form(action):
    assert action_form_error(action) is None, f"{action}: {action_form_error(action)}"
