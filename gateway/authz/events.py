"""Events, registrations and activity reports.

Drafts are seen by the office, the committee and the organiser only; every other status
(published, closed, finished, cancelled) by every account. An event is managed (edited,
published, closed, finished, cancelled, checked in, reported) by the office, or by the
liaison of the department that organises it (`organiser_type` department, `organiser_id`
their department). A chapter officer reads events as an alumnus does, and creates, edits,
publishes, closes, finishes and cancels the events their own chapter organises
(`organiser_type` chapter, `organiser_id` their chapter; docs/community.md); the
registrations, roster, check-in and reports stay with staff. Registrations: an alumnus signs up and
cancels only for themselves; staff sign up on an alumnus's behalf where they manage the
event (the office anywhere, a liaison at their department's events), a liaison only
alumni of their own department (base.py `check_acts_for`).
"""

from __future__ import annotations

from typing import Any

from gateway.auth import Principal
from gateway.authz.base import (
    ALL_ROLES,
    ALUMNUS,
    CHAPTER_OFFICER,
    COMMITTEE,
    LIAISON,
    MANAGERS,
    OFFICE,
    STAFF_ROLES,
    as_themselves,
    own_alumnus_id,
    require_role,
    required_alumnus,
    scope_department,
)
from services.common.errors import NotFound, PermissionDenied

DRAFT = "draft"
# Who reads events, and who creates and manages them (each its own, decided below).
READERS = (*ALL_ROLES, CHAPTER_OFFICER)
EVENT_MANAGERS = (*MANAGERS, CHAPTER_OFFICER)


def organises(principal: Principal, event: dict[str, Any]) -> bool:
    """The liaison of the department, or the officer of the chapter, that organises it."""
    if principal.role == CHAPTER_OFFICER:
        return (
            event.get("organiser_type") == "chapter"
            and principal.chapter_id is not None
            and str(event.get("organiser_id")) == principal.chapter_id
        )
    return (
        principal.role == LIAISON
        and event.get("organiser_type") == "department"
        and event.get("organiser_id") == principal.department_id
    )


def manages_event(principal: Principal, event: dict[str, Any]) -> bool:
    return principal.role == OFFICE or organises(principal, event)


def check_event_read(principal: Principal, event: dict[str, Any]) -> None:
    """Drafts for the office, the committee and the organiser; other statuses for everyone."""
    require_role(principal, *READERS)
    if event["status"] != DRAFT or principal.role in (OFFICE, COMMITTEE):
        return
    if not organises(principal, event):
        raise NotFound("活动不存在。", {"event_id": event["id"]})


def scope_event_search(principal: Principal, params: dict[str, Any]) -> dict[str, Any]:
    """The drafts a caller may see (contract EventListQuery): all, their department's, none."""
    require_role(principal, *READERS)
    if principal.role in (OFFICE, COMMITTEE):
        return params
    if principal.role == LIAISON:
        return {**params, "drafts": "department", "drafts_department_id": principal.department_id}
    if principal.role == CHAPTER_OFFICER:
        return {**params, "drafts": "chapter", "drafts_chapter_id": principal.chapter_id}
    return {**params, "drafts": "none"}


def check_event_create(principal: Principal, data: dict[str, Any]) -> None:
    require_role(principal, *EVENT_MANAGERS)
    if principal.role == LIAISON and not _own_department_organiser(principal, data):
        raise PermissionDenied("联络员只能创建本院系主办的活动。", reason="other_department")
    if principal.role == CHAPTER_OFFICER and not organises(principal, data):
        raise PermissionDenied("分会负责人只能创建本分会主办的活动。", reason="other_chapter")


def check_event_manage(principal: Principal, event: dict[str, Any]) -> None:
    """Edit, publish, close, finish, cancel, check in, report: the office or the organiser."""
    check_event_read(principal, event)
    require_role(principal, *EVENT_MANAGERS)
    if not manages_event(principal, event):
        raise PermissionDenied(
            "只能管理本院系或本分会主办的活动。", {"event_id": event["id"]}, reason="not_organiser"
        )


def check_event_update(principal: Principal, event: dict[str, Any], patch: dict[str, Any]) -> None:
    check_event_manage(principal, event)
    if principal.role == LIAISON and not _own_department_organiser(principal, {**event, **patch}):
        raise PermissionDenied("联络员不能把活动交给其他主办方。", reason="other_department")
    if principal.role == CHAPTER_OFFICER and not organises(principal, {**event, **patch}):
        raise PermissionDenied("分会负责人不能把活动交给其他主办方。", reason="other_chapter")


def check_event_staff_read(principal: Principal, event: dict[str, Any]) -> None:
    """Registrations, roster, statistics, report: staff who read everything, or the organiser."""
    check_event_read(principal, event)
    require_role(principal, *STAFF_ROLES)
    if principal.role == LIAISON and not organises(principal, event):
        raise PermissionDenied(
            "联络员只能查看本院系主办活动的报名情况。",
            {"event_id": event["id"]},
            reason="not_organiser",
        )


def sign_up_as(principal: Principal, event: dict[str, Any], data: dict[str, Any]) -> str:
    """Whom a sign-up is for: an alumnus themselves; staff who manage the event, anyone."""
    check_event_read(principal, event)
    if principal.role == ALUMNUS:
        return as_themselves(principal, data.get("alumnus_id"), "alumnus_id")
    check_event_manage(principal, event)
    return required_alumnus(data)


def check_registration_access(
    principal: Principal, event: dict[str, Any], registration: dict[str, Any]
) -> None:
    """Cancel a registration or fetch its QR code: its alumnus, or staff who manage the event.

    Another alumnus's registration answers 404, as one that does not exist.
    """
    check_event_read(principal, event)
    if registration["event_id"] != event["id"] or (
        principal.role == ALUMNUS and registration["alumnus_id"] != own_alumnus_id(principal)
    ):
        raise NotFound("报名记录不存在。", {"registration_id": registration["id"]})
    if principal.role != ALUMNUS:
        check_event_manage(principal, event)


def may_see_checkin_tokens(principal: Principal, event: dict[str, Any]) -> bool:
    """A check-in token admits its holder: shown to those who run the door, not to readers."""
    return manages_event(principal, event)


def scope_report_search(principal: Principal, params: dict[str, Any]) -> dict[str, Any]:
    """Activity reports: all for the office and committee; a liaison, their department's events'
    only (asking for another organiser: 403)."""
    require_role(principal, *STAFF_ROLES)
    if principal.role != LIAISON:
        return params
    if params.get("organiser_type", "department") != "department":
        raise PermissionDenied("联络员只能查看本院系主办活动的报告。", reason="other_department")
    scoped = scope_department(principal, {"department_id": params.get("organiser_id")})
    return {
        **params,
        "organiser_type": "department",
        "organiser_id": scoped["department_id"],
    }


def _own_department_organiser(principal: Principal, event: dict[str, Any]) -> bool:
    return event.get("organiser_type") == "department" and str(event.get("organiser_id")) == str(
        principal.department_id
    )
