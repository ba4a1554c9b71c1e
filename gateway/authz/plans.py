"""Yearly work plans and their tasks: the office and the committee see and write all; a
liaison their department's."""

from __future__ import annotations

from typing import Any

from gateway.auth import Principal
from gateway.authz.base import (
    LIAISON,
    STAFF_ROLES,
    in_own_department,
    require_own_department,
    require_role,
    scope_department,
)
from services.common.errors import NotFound, PermissionDenied


def scope_plan_search(principal: Principal, params: dict[str, Any]) -> dict[str, Any]:
    require_role(principal, *STAFF_ROLES)
    if principal.role != LIAISON:
        return params
    if params.get("office"):
        raise PermissionDenied("联络员只能查看本院系的工作计划。", reason="other_department")
    return scope_department(principal, params)


def check_plan_create(principal: Principal, data: dict[str, Any]) -> None:
    require_role(principal, *STAFF_ROLES)
    require_own_department(principal, data.get("department_id"), "制定")


def check_plan_access(principal: Principal, plan: dict[str, Any]) -> None:
    """Read a plan, add and advance its tasks: office, committee, its department's liaison."""
    require_role(principal, *STAFF_ROLES)
    if not in_own_department(principal, plan):
        raise NotFound("工作计划不存在。", {"plan_id": plan["id"]})
