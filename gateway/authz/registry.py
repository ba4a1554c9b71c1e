"""Alumni: whose records a caller searches, reads, registers and changes, and who sees contacts.

| action | office | committee | liaison |
|---|---|---|---|
| search | all | all | own department only (asking for another: 403) |
| read one, its history | yes | yes | own department's; others answer 404 |
| register | yes | — | only with graduation records of their own department |
| change | yes | — | own department's; graduation records of other departments stay as they are |
| contacts unmasked | yes | masked | own department's alumni |

Who sees contacts unmasked is decided by the registry itself, with the rule in
services/common/visibility.py (shared with the gateway), and logged there.
"""

from __future__ import annotations

from typing import Any

from gateway.auth import Principal
from gateway.authz.base import LIAISON, MANAGERS, STAFF_ROLES, require_role
from services.common.errors import NotFound, PermissionDenied
from services.common.visibility import departments_of

GRADUATION_FIELDS = ("department_id", "major", "degree", "class_year", "class_name")


def scope_alumni_search(principal: Principal, params: dict[str, Any]) -> dict[str, Any]:
    """A liaison searches only their own department."""
    require_role(principal, *STAFF_ROLES)
    if principal.role != LIAISON:
        return params
    asked = params.get("department_id")
    if asked is not None and str(asked) != principal.department_id:
        raise PermissionDenied("联络员只能查询本院系的校友。", reason="other_department")
    return {**params, "department_id": principal.department_id}


def check_alumnus_read(principal: Principal, alumnus: dict[str, Any]) -> None:
    require_role(principal, *STAFF_ROLES)
    if principal.role == LIAISON and principal.department_id not in departments_of(alumnus):
        # The same body as the registry's for an id that does not exist: nothing to tell apart.
        raise NotFound("校友不存在。", {"alumnus_id": alumnus["id"]}, reason="alumnus_not_found")


def check_alumnus_create(principal: Principal, data: dict[str, Any]) -> None:
    require_role(principal, *MANAGERS)
    if principal.role == LIAISON:
        graduations = data.get("graduations") or []
        if not graduations or any(
            str(g.get("department_id")) != principal.department_id
            for g in graduations
            if isinstance(g, dict)
        ):
            raise PermissionDenied("联络员只能登记本院系的毕业记录。", reason="other_department")


def check_alumnus_update(
    principal: Principal, alumnus: dict[str, Any], patch: dict[str, Any]
) -> None:
    check_alumnus_read(principal, alumnus)
    require_role(principal, *MANAGERS)
    if principal.role == LIAISON and "graduations" in patch:
        records = [g for g in patch["graduations"] or [] if isinstance(g, dict)]
        kept = {str(g.get("department_id")) for g in records}
        if principal.department_id not in kept:
            raise PermissionDenied("联络员不能移除本院系的毕业记录。", reason="own_record_removed")
        # As on creation, a liaison writes only their own department's records: the
        # records of other departments must come back exactly as they are.
        if _other_departments(principal, records) != _other_departments(
            principal, alumnus.get("graduations", [])
        ):
            raise PermissionDenied(
                "联络员不能增删或修改其他院系的毕业记录。", reason="other_department"
            )


def _other_departments(principal: Principal, records: list[dict[str, Any]]) -> list[tuple]:
    """The graduation records outside the principal's department, comparable as a whole."""
    return sorted(
        tuple(str(g.get(name)) for name in GRADUATION_FIELDS)
        for g in records
        if str(g.get("department_id")) != principal.department_id
    )
