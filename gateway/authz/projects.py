"""School–alumni cooperation projects: the office's and every department's; a liaison reads and
writes their own department's."""

from __future__ import annotations

from typing import Any

from gateway.auth import Principal
from gateway.authz.base import (
    LIAISON,
    MANAGERS,
    STAFF_ROLES,
    in_own_department,
    require_own_department,
    require_role,
    scope_department,
)
from services.common.errors import NotFound


def scope_project_search(principal: Principal, params: dict[str, Any]) -> dict[str, Any]:
    require_role(principal, *STAFF_ROLES)
    return scope_department(principal, params) if principal.role == LIAISON else params


def check_project_create(principal: Principal, data: dict[str, Any]) -> None:
    require_role(principal, *MANAGERS)
    require_own_department(principal, data.get("department_id"), "登记")


def check_project_write(
    principal: Principal, project: dict[str, Any], patch: dict[str, Any] | None = None
) -> None:
    require_role(principal, *MANAGERS)
    if not in_own_department(principal, project):
        raise NotFound("合作项目不存在。", {"project_id": project["id"]})
    if patch and "department_id" in patch:
        require_own_department(principal, patch["department_id"], "管理")
