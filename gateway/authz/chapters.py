"""Chapters, messengers and the student volunteer association (docs/community.md).

| action | office | committee | liaison | chapter_officer | messenger | alumnus |
|---|---|---|---|---|---|---|
| chapters: list, read one | all | all | all | own chapter only; another 404 | — | — |
| chapters: create, change, confirm, delete | yes | — | — | — | — | — |
| members: list | all | all | — | own chapter; another 404 | — | — |
| members: add, change role, remove | yes | — | — | own chapter; another 404 | — | — |
| chapters suggested by city / industry | — | — | — | — | — | own (`/me`) |
| messengers: list | all | all | own department (another: 403) | — | — | — |
| messengers: appoint, end | yes | — | own department | — | — | — |
| a messenger, their classmates | all | all | own department, else 404 | — | own, else 404 | — |
| student volunteers: list | all | all | own department (another: 403) | — | — | — |
| student volunteers: add, change | yes | — | own department; another 404 | — | — | — |

The scope of a chapter officer (its chapter) and a messenger (its appointment) is in the
access token; a record outside it answers 404, exactly as one that does not exist. The
registry checks the same scopes on the signed caller (services/registry/community/service.py).
"""

from __future__ import annotations

from typing import Any

from gateway.auth import Principal
from gateway.authz.base import (
    CHAPTER_OFFICER,
    LIAISON,
    MESSENGER,
    require_own_department,
    scope_department,
)
from services.common.errors import NotFound


def check_chapter_scope(principal: Principal, chapter_id: str) -> None:
    """A chapter officer reaches their own chapter only; another answers as a missing one."""
    if principal.role == CHAPTER_OFFICER and principal.chapter_id != str(chapter_id):
        raise NotFound("分会不存在。", {"chapter_id": str(chapter_id)}, reason="chapter_not_found")


def check_messenger_read(principal: Principal, messenger: dict[str, Any]) -> None:
    """A messenger sees their own appointment only, a liaison their department's."""
    hidden = (principal.role == MESSENGER and principal.messenger_id != messenger["id"]) or (
        principal.role == LIAISON and principal.department_id != messenger["department_id"]
    )
    if hidden:
        raise NotFound(
            "信使不存在。", {"messenger_id": messenger["id"]}, reason="messenger_not_found"
        )


def scope_messenger_search(principal: Principal, params: dict[str, Any]) -> dict[str, Any]:
    return scope_department(principal, params) if principal.role == LIAISON else params


def check_messenger_appoint(principal: Principal, data: dict[str, Any]) -> None:
    require_own_department(principal, data.get("department_id"), "任命")


def scope_volunteer_search(principal: Principal, params: dict[str, Any]) -> dict[str, Any]:
    return scope_department(principal, params) if principal.role == LIAISON else params


def check_volunteer_create(principal: Principal, data: dict[str, Any]) -> None:
    require_own_department(principal, data.get("department_id"), "登记")


def check_volunteer_manage(principal: Principal, volunteer: dict[str, Any]) -> None:
    if principal.role == LIAISON and principal.department_id != volunteer["department_id"]:
        raise NotFound(
            "志愿者不存在。", {"volunteer_id": volunteer["id"]}, reason="volunteer_not_found"
        )
