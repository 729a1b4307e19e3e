"""ARM error responses: ``{"error": {"code": ..., "message": ...}}``.

Shape per https://learn.microsoft.com/azure/azure-resource-manager/management/common-deployment-errors
and the ARM RPC error contract (github.com/cloud-and-ai-microsoft/resource-provider-contract).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class ArmError(Exception):
    status: int
    code: str
    message: str

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}

    def __str__(self) -> str:  # pragma: no cover - debugging aid
        return f"{self.status} {self.code}: {self.message}"


def bad_request(code: str, message: str) -> ArmError:
    return ArmError(400, code, message)


def not_found(resource_type: str, name: str, resource_group: str | None) -> ArmError:
    # Wording of ARM's own 404 for a missing resource.
    where = f" under resource group '{resource_group}'" if resource_group else ""
    return ArmError(
        404,
        "ResourceNotFound",
        f"The Resource '{resource_type}/{name}'{where} was not found. "
        "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
    )


def parent_not_found(parent_id: str) -> ArmError:
    # ARM's message for a nested resource whose parent does not exist.
    return ArmError(
        404,
        "ParentResourceNotFound",
        f"Can not perform requested operation on nested resource. Parent resource '{parent_id}' not found.",
    )


def invalid_reference(referenced: str, referencing: str) -> ArmError:
    # Network RP wording for a dangling id (e.g. a subnet that does not exist).
    return bad_request(
        "InvalidResourceReference",
        f"Resource {referenced} referenced by resource {referencing} was not found. "
        "Please make sure that the referenced resource exists, and that both resources are in the same region.",
    )


def invalid_enum(prop: str, value: Any, allowed: tuple[str, ...]) -> ArmError:
    return bad_request(
        "BadRequest",
        f"Invalid value '{value}' for property '{prop}'. Allowed values: {', '.join(allowed)}.",
    )


def precondition_failed() -> ArmError:
    return ArmError(
        412, "PreconditionFailed", "The condition specified using HTTP conditional header(s) is not met."
    )
