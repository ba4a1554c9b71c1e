"""Return visits (校友返校接待): an alumnus asks as themselves, a liaison for their department,
the office for anyone; the office or the department's liaison decides and records them."""

from __future__ import annotations

from typing import Any

from gateway.auth import Principal
from gateway.authz.base import (
    ALL_ROLES,
    ALUMNUS,
    LIAISON,
    MANAGERS,
    OFFICE,
    as_themselves,
    in_own_department,
    own_alumnus_id,
    require_own_department,
    require_role,
    scope_department,
)
from services.common.errors import NotFound


def scope_visit_search(principal: Principal, params: dict[str, Any]) -> dict[str, Any]:
    require_role(principal, *ALL_ROLES)
    if principal.role == LIAISON:
        return scope_department(principal, params)
    if principal.role == ALUMNUS:
        asked = params.get("requester_alumnus_id")
        return {
            **params,
            "requester_alumnus_id": as_themselves(principal, asked, "requester_alumnus_id"),
        }
    return params


def visit_request_as(principal: Principal, data: dict[str, Any]) -> dict[str, Any]:
    """What the gateway sets in a visit request: an alumnus asks as themselves; a liaison for
    their department; the office for anyone."""
    require_role(principal, OFFICE, LIAISON, ALUMNUS)
    if principal.role == ALUMNUS:
        asked = data.get("requester_alumnus_id")
        return {"requester_alumnus_id": as_themselves(principal, asked, "requester_alumnus_id")}
    if principal.role == LIAISON:
        require_own_department(principal, data.get("department_id"), "登记")
    return {}


def check_visit_handle(principal: Principal, visit: dict[str, Any]) -> None:
    """Decide and complete: the office, or the liaison of the visit's department."""
    require_role(principal, *MANAGERS)
    if not in_own_department(principal, visit):
        raise NotFound("接待申请不存在。", {"visit_id": visit["id"]})


def check_visit_cancel(principal: Principal, visit: dict[str, Any]) -> None:
    """Call a visit off: the office, the liaison of the visit's department, or the alumnus who
    asked for it. Another alumnus's request (or a class's) answers 404, as one that does not
    exist."""
    require_role(principal, OFFICE, LIAISON, ALUMNUS)
    if principal.role == ALUMNUS:
        if visit.get("requester_alumnus_id") != own_alumnus_id(principal):
            raise NotFound("接待申请不存在。", {"visit_id": visit["id"]})
        return
    check_visit_handle(principal, visit)
