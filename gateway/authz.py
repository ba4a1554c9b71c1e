"""Every authorisation decision of the gateway, in one place.

Roles (DESIGN.md): `office` sees and does everything and manages accounts;
`committee` reads everything and writes nothing but work plans and their
tasks; `liaison` reads and writes the alumni, events, plans, visits and
projects of their own department; `alumnus` (an account the office made for
an alumnus record) uses no staff route: it reads published events, signs up
and cancels for itself only, sees only its own registrations, and submits
suggestions, service requests and visit requests as itself.

Personal fields (phone, e-mail, WeChat; the contacts of visits, projects and
rosters) are shown unmasked only to the office and the liaison of the
alumnus's (or the record's) own department, and to an alumnus for what they
gave themselves. A record outside the caller's scope answers 404, so its
existence does not leak; an action the role may never take, on a record it
may see, answers 403.

Events: drafts are seen by the office, the committee and the organising
department's liaison only; every other status (published, closed, finished,
cancelled) by every account. An event is managed (edited, published, closed,
finished, cancelled, checked in, reported) by the office, or by the liaison of
the department that organises it (`organiser_type` department, `organiser_id`
their department). Registrations: an alumnus signs up and cancels only for
themselves; staff sign up on an alumnus's behalf where they manage the event
(the office anywhere, a liaison at their department's events), whichever
department the alumnus graduated from.
"""

from __future__ import annotations

from typing import Any

from gateway.auth import Principal
from services.common.errors import NotFound, PermissionDenied, ValidationFailed

OFFICE = "office"
COMMITTEE = "committee"
LIAISON = "liaison"
ALUMNUS = "alumnus"
STAFF_ROLES = (OFFICE, COMMITTEE, LIAISON)
ALL_ROLES = (*STAFF_ROLES, ALUMNUS)
DRAFT = "draft"


def require_role(principal: Principal, *roles: str) -> None:
    if principal.role not in roles:
        raise PermissionDenied("当前角色无权执行此操作。", {"role": principal.role})


def scope_alumni_search(principal: Principal, params: dict[str, Any]) -> dict[str, Any]:
    """A liaison searches only their own department."""
    require_role(principal, *STAFF_ROLES)
    if principal.role != LIAISON:
        return params
    asked = params.get("department_id")
    if asked is not None and str(asked) != principal.department_id:
        raise PermissionDenied("联络员只能查询本院系的校友。")
    return {**params, "department_id": principal.department_id}


def check_alumnus_read(principal: Principal, alumnus: dict[str, Any]) -> None:
    require_role(principal, *STAFF_ROLES)
    if principal.role == LIAISON and principal.department_id not in _departments_of(alumnus):
        # The same body as the registry's for an id that does not exist: nothing to tell apart.
        raise NotFound("校友不存在。", {"alumnus_id": alumnus["id"]})


def check_alumnus_create(principal: Principal, data: dict[str, Any]) -> None:
    require_role(principal, OFFICE, LIAISON)
    if principal.role == LIAISON:
        graduations = data.get("graduations") or []
        if not graduations or any(
            str(g.get("department_id")) != principal.department_id
            for g in graduations
            if isinstance(g, dict)
        ):
            raise PermissionDenied("联络员只能登记本院系的毕业记录。")


def check_alumnus_update(
    principal: Principal, alumnus: dict[str, Any], patch: dict[str, Any]
) -> None:
    check_alumnus_read(principal, alumnus)
    require_role(principal, OFFICE, LIAISON)
    if principal.role == LIAISON and "graduations" in patch:
        records = [g for g in patch["graduations"] or [] if isinstance(g, dict)]
        kept = {str(g.get("department_id")) for g in records}
        if principal.department_id not in kept:
            raise PermissionDenied("联络员不能移除本院系的毕业记录。")
        # As on creation, a liaison writes only their own department's records: the
        # records of other departments must come back exactly as they are.
        if _other_departments(principal, records) != _other_departments(
            principal, alumnus.get("graduations", [])
        ):
            raise PermissionDenied("联络员不能增删或修改其他院系的毕业记录。")


def may_see_personal_fields(principal: Principal, alumnus: dict[str, Any]) -> bool:
    """Contacts are for those who work with the alumnus: the office, and their department's
    liaison. The committee reads statistics and records, with contacts masked."""
    return may_see_contacts_in(principal, _departments_of(alumnus))


def may_see_contacts_in(principal: Principal, department_ids: Any) -> bool:
    """The office, or the liaison of one of `department_ids` (None or empty: office only)."""
    if principal.role == OFFICE:
        return True
    return principal.role == LIAISON and principal.department_id in set(department_ids or ())


def check_manage_departments(principal: Principal) -> None:
    require_role(principal, OFFICE)


def check_read_departments(principal: Principal) -> None:
    require_role(principal, *STAFF_ROLES)


def check_manage_accounts(principal: Principal) -> None:
    require_role(principal, OFFICE)


def _departments_of(alumnus: dict[str, Any]) -> set[str]:
    return {g["department_id"] for g in alumnus.get("graduations", [])}


GRADUATION_FIELDS = ("department_id", "major", "degree", "class_year", "class_name")


def _other_departments(principal: Principal, records: list[dict[str, Any]]) -> list[tuple]:
    """The graduation records outside the principal's department, comparable as a whole."""
    return sorted(
        tuple(str(g.get(name)) for name in GRADUATION_FIELDS)
        for g in records
        if str(g.get("department_id")) != principal.department_id
    )


def check_create_alumnus_account(principal: Principal) -> None:
    """Alumni logins are made by the office, for a record it holds."""
    require_role(principal, OFFICE)


# ---- alumni acting for themselves ---------------------------------------------


def own_alumnus_id(principal: Principal) -> str:
    """The alumnus record an `alumnus` account stands for."""
    require_role(principal, ALUMNUS)
    if not principal.alumnus_id:
        raise PermissionDenied("该账号没有关联校友记录。")
    return principal.alumnus_id


def _as_themselves(principal: Principal, asked: Any, field: str) -> str:
    """An alumnus acts only for themselves: `field` left out, or naming their own record."""
    own = own_alumnus_id(principal)
    if asked is not None and str(asked) != own:
        raise PermissionDenied("校友只能以本人身份提交。", {"field": field})
    return own


def submitter(principal: Principal, data: dict[str, Any]) -> str:
    """Whose suggestion or service request: an alumnus's own; the office names the alumnus."""
    require_role(principal, OFFICE, ALUMNUS)
    if principal.role == ALUMNUS:
        return _as_themselves(principal, data.get("alumnus_id"), "alumnus_id")
    return _required_alumnus(data)


def scope_own_submissions(principal: Principal, params: dict[str, Any]) -> dict[str, Any]:
    """Suggestions and service requests: staff who read everything see all; an alumnus theirs."""
    require_role(principal, OFFICE, COMMITTEE, ALUMNUS)
    if principal.role != ALUMNUS:
        return params
    return {
        **params,
        "alumnus_id": _as_themselves(principal, params.get("alumnus_id"), "alumnus_id"),
    }


def _required_alumnus(data: dict[str, Any]) -> str:
    if not data.get("alumnus_id"):
        raise ValidationFailed(
            "请求数据校验失败。", {"fields": {"alumnus_id": ["代校友提交须指定校友 ID。"]}}
        )
    return str(data["alumnus_id"])


# ---- events --------------------------------------------------------------------


def organises(principal: Principal, event: dict[str, Any]) -> bool:
    """The liaison of the department that organises the event."""
    return (
        principal.role == LIAISON
        and event.get("organiser_type") == "department"
        and event.get("organiser_id") == principal.department_id
    )


def manages_event(principal: Principal, event: dict[str, Any]) -> bool:
    return principal.role == OFFICE or organises(principal, event)


def check_event_read(principal: Principal, event: dict[str, Any]) -> None:
    """Drafts for the office, the committee and the organiser; other statuses for everyone."""
    require_role(principal, *ALL_ROLES)
    if event["status"] != DRAFT or principal.role in (OFFICE, COMMITTEE):
        return
    if not organises(principal, event):
        raise NotFound("活动不存在。", {"event_id": event["id"]})


def scope_event_search(principal: Principal, params: dict[str, Any]) -> dict[str, Any]:
    """The drafts a caller may see (contract EventListQuery): all, their department's, none."""
    require_role(principal, *ALL_ROLES)
    if principal.role in (OFFICE, COMMITTEE):
        return params
    if principal.role == LIAISON:
        return {**params, "drafts": "department", "drafts_department_id": principal.department_id}
    return {**params, "drafts": "none"}


def check_event_create(principal: Principal, data: dict[str, Any]) -> None:
    require_role(principal, OFFICE, LIAISON)
    if principal.role == LIAISON and not _own_department_organiser(principal, data):
        raise PermissionDenied("联络员只能创建本院系主办的活动。")


def check_event_manage(principal: Principal, event: dict[str, Any]) -> None:
    """Edit, publish, close, finish, cancel, check in, report: the office or the organiser."""
    check_event_read(principal, event)
    require_role(principal, OFFICE, LIAISON)
    if not manages_event(principal, event):
        raise PermissionDenied("联络员只能管理本院系主办的活动。", {"event_id": event["id"]})


def check_event_update(principal: Principal, event: dict[str, Any], patch: dict[str, Any]) -> None:
    check_event_manage(principal, event)
    if principal.role == LIAISON and not _own_department_organiser(principal, {**event, **patch}):
        raise PermissionDenied("联络员不能把活动交给其他主办方。")


def check_event_staff_read(principal: Principal, event: dict[str, Any]) -> None:
    """Registrations, roster, statistics, report: staff who read everything, or the organiser."""
    check_event_read(principal, event)
    require_role(principal, *STAFF_ROLES)
    if principal.role == LIAISON and not organises(principal, event):
        raise PermissionDenied(
            "联络员只能查看本院系主办活动的报名情况。", {"event_id": event["id"]}
        )


def sign_up_as(principal: Principal, event: dict[str, Any], data: dict[str, Any]) -> str:
    """Whom a sign-up is for: an alumnus themselves; staff who manage the event, anyone."""
    check_event_read(principal, event)
    if principal.role == ALUMNUS:
        return _as_themselves(principal, data.get("alumnus_id"), "alumnus_id")
    check_event_manage(principal, event)
    return _required_alumnus(data)


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
        raise PermissionDenied("联络员只能查看本院系主办活动的报告。")
    scoped = _scope_department(principal, {"department_id": params.get("organiser_id")})
    return {
        **params,
        "organiser_type": "department",
        "organiser_id": scoped["department_id"],
    }


def check_manage_series(principal: Principal) -> None:
    """Lecture series are the office's: create, edit, delete."""
    require_role(principal, OFFICE)


def _own_department_organiser(principal: Principal, event: dict[str, Any]) -> bool:
    return event.get("organiser_type") == "department" and str(event.get("organiser_id")) == str(
        principal.department_id
    )


# ---- department-scoped records: visits, plans, projects ---------------------------


def _scope_department(principal: Principal, params: dict[str, Any]) -> dict[str, Any]:
    """A liaison lists only their own department's records (asking for another's: 403)."""
    asked = params.get("department_id")
    if asked is not None and str(asked) != principal.department_id:
        raise PermissionDenied("联络员只能查看本院系的记录。")
    return {**params, "department_id": principal.department_id}


def _in_own_department(principal: Principal, record: dict[str, Any]) -> bool:
    return principal.role != LIAISON or record.get("department_id") == principal.department_id


def _require_own_department(principal: Principal, department_id: Any, what: str) -> None:
    if principal.role == LIAISON and str(department_id) != principal.department_id:
        raise PermissionDenied(f"联络员只能{what}本院系的记录。", {"field": "department_id"})


# Visits (return-visit receptions).


def scope_visit_search(principal: Principal, params: dict[str, Any]) -> dict[str, Any]:
    require_role(principal, *ALL_ROLES)
    if principal.role == LIAISON:
        return _scope_department(principal, params)
    if principal.role == ALUMNUS:
        asked = params.get("requester_alumnus_id")
        return {
            **params,
            "requester_alumnus_id": _as_themselves(principal, asked, "requester_alumnus_id"),
        }
    return params


def visit_request_as(principal: Principal, data: dict[str, Any]) -> dict[str, Any]:
    """What the gateway sets in a visit request: an alumnus asks as themselves; a liaison for
    their department; the office for anyone."""
    require_role(principal, OFFICE, LIAISON, ALUMNUS)
    if principal.role == ALUMNUS:
        asked = data.get("requester_alumnus_id")
        return {"requester_alumnus_id": _as_themselves(principal, asked, "requester_alumnus_id")}
    if principal.role == LIAISON:
        _require_own_department(principal, data.get("department_id"), "登记")
    return {}


def check_visit_handle(principal: Principal, reception: dict[str, Any]) -> None:
    """Decide and complete: the office, or the liaison of the visit's department."""
    require_role(principal, OFFICE, LIAISON)
    if not _in_own_department(principal, reception):
        raise NotFound("接待申请不存在。", {"reception_id": reception["id"]})


def check_visit_cancel(principal: Principal, reception: dict[str, Any]) -> None:
    """Call a visit off: the office, the liaison of the visit's department, or the alumnus who
    asked for it. Another alumnus's request (or a class's) answers 404, as one that does not
    exist."""
    require_role(principal, OFFICE, LIAISON, ALUMNUS)
    if principal.role == ALUMNUS:
        if reception.get("requester_alumnus_id") != own_alumnus_id(principal):
            raise NotFound("接待申请不存在。", {"reception_id": reception["id"]})
        return
    check_visit_handle(principal, reception)


def may_see_visit_contact(principal: Principal, reception: dict[str, Any]) -> bool:
    if principal.role == ALUMNUS:
        return reception.get("requester_alumnus_id") == principal.alumnus_id
    return may_see_contacts_in(principal, [reception.get("department_id")])


# Work plans and tasks: the committee writes these too.


def scope_plan_search(principal: Principal, params: dict[str, Any]) -> dict[str, Any]:
    require_role(principal, *STAFF_ROLES)
    if principal.role != LIAISON:
        return params
    if params.get("office"):
        raise PermissionDenied("联络员只能查看本院系的工作计划。")
    return _scope_department(principal, params)


def check_plan_create(principal: Principal, data: dict[str, Any]) -> None:
    require_role(principal, *STAFF_ROLES)
    _require_own_department(principal, data.get("department_id"), "制定")


def check_plan_access(principal: Principal, plan: dict[str, Any]) -> None:
    """Read a plan, add and advance its tasks: office, committee, its department's liaison."""
    require_role(principal, *STAFF_ROLES)
    if not _in_own_department(principal, plan):
        raise NotFound("工作计划不存在。", {"plan_id": plan["id"]})


def check_summary_read(principal: Principal) -> None:
    require_role(principal, OFFICE, COMMITTEE)


def check_run_overdue_scan(principal: Principal) -> None:
    """The overdue-task scan on demand (it also runs by itself on a timer)."""
    require_role(principal, OFFICE)


# Suggestions and service requests are answered and handled (assigned, moved on, noted) by
# the office.


def check_handle_submissions(principal: Principal) -> None:
    require_role(principal, OFFICE)


# Cooperation projects.


def scope_project_search(principal: Principal, params: dict[str, Any]) -> dict[str, Any]:
    require_role(principal, *STAFF_ROLES)
    return _scope_department(principal, params) if principal.role == LIAISON else params


def check_project_create(principal: Principal, data: dict[str, Any]) -> None:
    require_role(principal, OFFICE, LIAISON)
    _require_own_department(principal, data.get("department_id"), "登记")


def check_project_write(
    principal: Principal, project: dict[str, Any], patch: dict[str, Any] | None = None
) -> None:
    require_role(principal, OFFICE, LIAISON)
    if not _in_own_department(principal, project):
        raise NotFound("合作项目不存在。", {"project_id": project["id"]})
    if patch and "department_id" in patch:
        _require_own_department(principal, patch["department_id"], "管理")


def may_see_project_contacts(principal: Principal, project: dict[str, Any]) -> bool:
    return may_see_contacts_in(principal, [project.get("department_id")])
