"""What every area's decisions build on: the roles, acting as oneself, department scope."""

from __future__ import annotations

from typing import Any

from gateway.auth import Principal
from services.common.errors import PermissionDenied, ValidationFailed

OFFICE = "office"
COMMITTEE = "committee"
LIAISON = "liaison"
ALUMNUS = "alumnus"
# Accounts scoped to one chapter, or to one messenger appointment (its graduating class):
# they reach only the community routes of their scope (gateway/authz/chapters.py), and
# their own account (SIGNED_IN).
CHAPTER_OFFICER = "chapter_officer"
MESSENGER = "messenger"
STAFF_ROLES = (OFFICE, COMMITTEE, LIAISON)
ALL_ROLES = (*STAFF_ROLES, ALUMNUS)
MANAGERS = (OFFICE, LIAISON)
SIGNED_IN = (*ALL_ROLES, CHAPTER_OFFICER, MESSENGER)


def require_role(principal: Principal, *roles: str) -> None:
    if principal.role not in roles:
        raise PermissionDenied(
            "当前角色无权执行此操作。", {"role": principal.role}, reason="role_not_allowed"
        )


# ---- alumni acting for themselves ---------------------------------------------


def own_alumnus_id(principal: Principal) -> str:
    """The alumnus record an `alumnus` account stands for."""
    require_role(principal, ALUMNUS)
    if not principal.alumnus_id:
        raise PermissionDenied("该账号没有关联校友记录。", reason="no_alumnus_record")
    return principal.alumnus_id


def as_themselves(principal: Principal, asked: Any, field: str) -> str:
    """An alumnus acts only for themselves: `field` left out, or naming their own record."""
    own = own_alumnus_id(principal)
    if asked is not None and str(asked) != own:
        raise PermissionDenied(
            "校友只能以本人身份提交。", {"field": field}, reason="not_themselves"
        )
    return own


def unknown_alumnus(field: str) -> ValidationFailed:
    """The answer to a body naming an alumnus who does not exist (422 naming the field)."""
    return ValidationFailed("请求数据校验失败。", {"fields": {field: ["校友不存在。"]}})


def check_acts_for(principal: Principal, alumnus: dict[str, Any], field: str) -> None:
    """Staff acting in an alumnus's name (signing them up, asking for a visit for them): a
    liaison only for an alumnus of their own department (a graduation there). Another
    department's alumnus is answered exactly as an unknown one, so that the answer does not
    tell whether the record exists."""
    if principal.role != LIAISON:
        return
    departments = {g.get("department_id") for g in alumnus.get("graduations", [])}
    if principal.department_id not in departments:
        raise unknown_alumnus(field)


def required_alumnus(data: dict[str, Any]) -> str:
    """The alumnus staff act for, which they must name."""
    if not data.get("alumnus_id"):
        raise ValidationFailed(
            "请求数据校验失败。", {"fields": {"alumnus_id": ["代校友提交须指定校友 ID。"]}}
        )
    return str(data["alumnus_id"])


# ---- department-scoped records --------------------------------------------------


def scope_department(principal: Principal, params: dict[str, Any]) -> dict[str, Any]:
    """A liaison lists only their own department's records (asking for another's: 403)."""
    asked = params.get("department_id")
    if asked is not None and str(asked) != principal.department_id:
        raise PermissionDenied("联络员只能查看本院系的记录。", reason="other_department")
    return {**params, "department_id": principal.department_id}


def in_own_department(principal: Principal, record: dict[str, Any]) -> bool:
    return principal.role != LIAISON or record.get("department_id") == principal.department_id


def require_own_department(principal: Principal, department_id: Any, what: str) -> None:
    if principal.role == LIAISON and str(department_id) != principal.department_id:
        raise PermissionDenied(
            f"联络员只能{what}本院系的记录。",
            {"field": "department_id"},
            reason="other_department",
        )
