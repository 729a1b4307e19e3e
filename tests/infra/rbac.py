"""Which Azure RBAC action an Azure Resource Manager request needs.

ARM authorizes a request against ``{resource provider}/{resource type}/{verb}``:
``read`` for GET (and HEAD), ``write`` for PUT and PATCH, ``delete`` for DELETE, and
``{action}/action`` for POST to ``.../{action}`` (``listKeys`` -> ``listKeys/action``).
Async-operation status URLs are ordinary GETs: polling
``/providers/Microsoft.Network/locations/{region}/operations/{id}`` needs
``Microsoft.Network/locations/operations/read`` (azure-xplat-cli #2051), so they are
mapped like any other GET, not ignored.

Source: learn.microsoft.com/azure/role-based-access-control/role-definitions#actions-format
"""
from __future__ import annotations

from typing import Iterable
from urllib.parse import urlsplit

_VERBS = {"GET": "read", "HEAD": "read", "PUT": "write", "PATCH": "write", "DELETE": "delete"}


# Types whose RBAC action names a longer type than a short-hand spelling of the path:
# GET /subscriptions/{id}/resourceGroups/{rg} is Microsoft.Resources/subscriptions/resourceGroups/read.
_ALIASES = {
    "microsoft.resources/resourcegroups": "Microsoft.Resources/subscriptions/resourceGroups",
}


def _check_type(resource_type: str) -> str:
    parts = resource_type.strip().strip("/").split("/")
    if len(parts) < 2 or "." not in parts[0] or not all(parts):
        raise ValueError(f"not a resource type (expected 'Namespace.Provider/type[/child...]'): {resource_type!r}")
    for short, full in _ALIASES.items():
        depth = short.count("/") + 1
        if "/".join(parts[:depth]).lower() == short:
            parts = full.split("/") + parts[depth:]
            break
    return "/".join(parts)


def rbac_action_for(method: str, resource_type: str) -> str:
    """The RBAC action an ARM request needs.

    :param method: the HTTP method (any case).
    :param resource_type: the request's resource type, e.g. ``Microsoft.Network/virtualNetworks/subnets``;
        for a POST, the type followed by the action name, e.g. ``Microsoft.Storage/storageAccounts/listKeys``.
    """
    verb = method.strip().upper()
    resource_type = _check_type(resource_type)
    if verb == "POST":
        if resource_type.count("/") < 2:
            raise ValueError(f"a POST names an action after the resource type: {resource_type!r}")
        return f"{resource_type}/action"
    if verb not in _VERBS:
        raise ValueError(f"no RBAC verb for HTTP method {method!r}")
    return f"{resource_type}/{_VERBS[verb]}"


def resource_type_from_path(path: str) -> str:
    """The resource type of an ARM request path (a URL or its path; the query is ignored).

    The last ``/providers/{namespace}`` segment wins, so extension resources map to their own type
    (``.../vaults/kv/providers/Microsoft.Resources/tags/default`` -> ``Microsoft.Resources/tags``).
    Type and name segments alternate after the namespace; a trailing odd segment is a collection
    (GET) or an action (POST) and is kept. Paths without a provider are Microsoft.Resources
    (``/subscriptions/{id}/resourceGroups/{rg}`` -> ``Microsoft.Resources/subscriptions/resourceGroups``).
    """
    segments = [s for s in urlsplit(path).path.split("/") if s]
    lowered = [s.lower() for s in segments]
    if "providers" in lowered:
        at = len(lowered) - 1 - lowered[::-1].index("providers")
        if at + 1 >= len(segments):
            raise ValueError(f"no namespace after /providers in {path!r}")
        namespace, rest = segments[at + 1], segments[at + 2:]
    else:
        namespace, rest = "Microsoft.Resources", segments
    types = rest[0::2]
    if not types:
        raise ValueError(f"no resource type in {path!r}")
    return "/".join([namespace, *types])


def _matches(pattern: str, action: str) -> bool:
    """RBAC action matching: case-insensitive, ``*`` matches any run of characters."""
    pattern, action = pattern.lower(), action.lower()
    pieces = pattern.split("*")
    if len(pieces) == 1:
        return pattern == action
    if not (action.startswith(pieces[0]) and action.endswith(pieces[-1])):
        return False
    position = len(pieces[0])
    for piece in pieces[1:-1]:
        found = action.find(piece, position)
        if found < 0:
            return False
        position = found + len(piece)
    return position <= len(action) - len(pieces[-1])


def covered(action: str, granted: Iterable[str], denied: Iterable[str] = ()) -> bool:
    """Whether a role with ``granted`` actions and ``denied`` notActions allows ``action``."""
    return any(_matches(g, action) for g in granted) and not any(_matches(d, action) for d in denied)
