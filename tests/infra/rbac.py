"""Which Azure RBAC action an Azure Resource Manager request needs, and whether a role allows it.

The mapping lives in the emulator (emulator/authz.py), which enforces it on every request the
product makes; the infra tests use the same functions to compare the role with what was observed.
"""
from __future__ import annotations

from emulator.authz import covered, rbac_action_for, resource_type_from_path

__all__ = ["covered", "rbac_action_for", "resource_type_from_path"]
