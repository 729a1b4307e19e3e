"""Every action in the roles infra/ deploys is an operation Microsoft publishes.

Azure rejects a whole custom role definition when one of its actions is not a registered operation
(/work/shared/azure-facts.md; learn.microsoft.com/azure/role-based-access-control/custom-roles).
infra/published-operations.json copies the relevant names from the Learn permission pages, with
their sources; a wildcard action must match at least one of them and say why it is a wildcard.
"""
from __future__ import annotations

import json

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
    assert not covered("Microsoft.Sql/locations/deletedServers/read", granted), "status reads only"
