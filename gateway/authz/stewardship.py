"""Registry stewardship: who imports, whose import jobs a caller sees, and who reviews whose
changes.

| action | office | committee | liaison |
|---|---|---|---|
| import a registrar export | yes | — | yes: only rows of their department's lineage are taken |
| an import job, its rows and report | all | — | their department's jobs; others answer 404 |
| departments renamed or merged | yes | — | — |
| duplicates queue, merge, undo | yes | — | — |
| change an alumnus (PATCH) | applied at once | — | becomes a change request (202) for the office |
| change requests: list, read one | all | — | their own (another's: 404) |
| change requests: approve, reject | yes | — | — |
| confirm a record's fields | yes | — | — |
| records not confirmed for N years | all | — | their department's (another: 403) |
"""

from __future__ import annotations

from typing import Any

from gateway.auth import Principal
from gateway.authz.base import LIAISON, MANAGERS, require_role
from services.common.errors import NotFound, PermissionDenied


def check_import_read(principal: Principal, job: dict[str, Any]) -> None:
    if principal.role == LIAISON and job.get("department_id") != principal.department_id:
        raise NotFound("导入任务不存在。", {"job_id": job["id"]}, reason="import_not_found")


def _own_department(principal: Principal, params: dict[str, Any]) -> dict[str, Any]:
    asked = params.get("department_id")
    if asked is not None and str(asked) != principal.department_id:
        raise PermissionDenied("联络员只能查看本院系的记录。", reason="other_department")
    return {**params, "department_id": principal.department_id}


def scope_change_requests(principal: Principal, params: dict[str, Any]) -> dict[str, Any]:
    """The office sees the whole queue; a liaison their own requests."""
    require_role(principal, *MANAGERS)
    if principal.role != LIAISON:
        return params
    scoped = _own_department(principal, params)
    del scoped["department_id"]  # their own requests, whatever department they were for
    return {**scoped, "submitted_by_id": principal.account_id}


def check_change_request_read(principal: Principal, request: dict[str, Any]) -> None:
    require_role(principal, *MANAGERS)
    if principal.role == LIAISON and request.get("submitted_by") != principal.username:
        raise NotFound(
            "修改申请不存在。", {"request_id": request["id"]}, reason="change_request_not_found"
        )


def scope_unconfirmed(principal: Principal, params: dict[str, Any]) -> dict[str, Any]:
    """A liaison checks their own department's records (its lineage)."""
    require_role(principal, *MANAGERS)
    if principal.role != LIAISON:
        return params
    return _own_department(principal, params)
