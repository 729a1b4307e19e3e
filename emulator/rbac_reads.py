"""Role assignments and role definitions as ARM lists them, from the emulator's authorizer.

The roles the tests give the remediator (emulator/authz.py) are also readable the way
`paas-hardener doctor` reads a real deployment's:

- ``GET {scope}/providers/Microsoft.Authorization/roleAssignments?$filter=principalId eq '{id}'``:
  Role Assignments - List For Scope (azure-rest-api-specs specification/authorization/resource-manager/
  Microsoft.Authorization/stable/2022-04-01/authorization-RoleAssignmentsCalls.json). With a
  ``principalId`` filter ARM returns the principal's assignments at, above and below the scope
  (learn.microsoft.com/azure/role-based-access-control/role-assignments-list-rest).
- ``GET .../providers/Microsoft.Authorization/roleDefinitions/{id}``: Role Definitions - Get (same
  spec folder, authorization-RoleDefinitionsCalls.json); ``properties.permissions[].actions``.

Each emulator assignment gets one synthetic custom role holding its actions. A guess: ids, names
and ``principalType`` only have the documented shape; emulator/README.md lists it.
"""
from __future__ import annotations

import re
import uuid
from typing import Any

from .authz import Authorizer

ASSIGNMENTS_RE = re.compile(r"^(?P<scope>.*)/providers/Microsoft\.Authorization/roleAssignments$", re.IGNORECASE)
DEFINITION_RE = re.compile(r"^(?P<scope>.*)/providers/Microsoft\.Authorization/roleDefinitions/(?P<id>[^/]+)$",
                           re.IGNORECASE)
_PRINCIPAL_FILTER = re.compile(r"principalId\s+eq\s+'(?P<id>[^']+)'", re.IGNORECASE)


def principal_of(client_id: str) -> str:
    """The object id the emulator's token endpoint gives a client id (emulator/server.py _token)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, client_id))


def matches(path: str) -> bool:
    path = path.rstrip("/")
    return bool(ASSIGNMENTS_RE.match(path) or DEFINITION_RE.match(path))


def _entries(authz: Authorizer) -> list[tuple[str, str, str, tuple[str, ...], tuple[str, ...]]]:
    """(definition id, principal id, scope, actions, notActions) for every assignment."""
    entries = []
    for client_id, assignments in authz.all_assignments().items():
        for index, a in enumerate(assignments):
            definition = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{client_id}/{index}/{a.scope}"))
            entries.append((definition, principal_of(client_id), a.scope or "/", a.actions, a.not_actions))
    return entries


def handle(authz: Authorizer, path: str, query: dict[str, str]) -> tuple[int, Any]:
    path = path.rstrip("/")
    definition = DEFINITION_RE.match(path)
    if definition:
        for def_id, _, _, actions, not_actions in _entries(authz):
            if def_id == definition.group("id").lower():
                return 200, {"id": path, "name": def_id, "type": "Microsoft.Authorization/roleDefinitions",
                             "properties": {"roleName": f"emulated {def_id}", "type": "CustomRole",
                                            "permissions": [{"actions": list(actions), "notActions": list(not_actions),
                                                             "dataActions": [], "notDataActions": []}]}}
        return 404, {"error": {"code": "RoleDefinitionDoesNotExist",
                               "message": "The specified role definition does not exist."}}
    scope = ASSIGNMENTS_RE.match(path).group("scope").lower()  # type: ignore[union-attr]
    wanted = _PRINCIPAL_FILTER.search(query.get("$filter", ""))
    values = []
    for def_id, principal, at, _, _ in _entries(authz):
        if wanted and principal != wanted.group("id").lower():
            continue
        at_low = at.rstrip("/").lower()
        # At, above or below the scope (the principalId filter's documented reach).
        if not (at_low == "" or scope == at_low or scope.startswith(at_low + "/") or at_low.startswith(scope + "/")):
            continue
        name = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{principal}/{def_id}"))
        subscription = (at.split("/")[2] if at.lower().startswith("/subscriptions/") else scope.split("/")[2])
        values.append({
            "id": f"{at.rstrip('/')}/providers/Microsoft.Authorization/roleAssignments/{name}",
            "name": name, "type": "Microsoft.Authorization/roleAssignments",
            "properties": {"scope": at, "principalId": principal, "principalType": "ServicePrincipal",
                           "roleDefinitionId": f"/subscriptions/{subscription}/providers/Microsoft.Authorization/"
                                               f"roleDefinitions/{def_id}"}})
    return 200, {"value": values}
