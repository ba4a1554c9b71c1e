"""Alumni messengers (校友信使) of graduating classes, their classmates, and the student alumni
volunteer association (学生校友志愿者协会). Policy clause 三.6.

A messenger is an alumnus of the class (a graduation record with the class's department,
class year and class name), appointed by the office or the department's liaison. A
`messenger` account is bound to one appointment (`Account.messenger_id`, in the access
token) and sees only the classmates of that class, with contacts masked
(services/common/visibility.py `mask`): the list is for staying in touch through the
school, not a copy of the roster. An appointment that has ended shows nothing more.

Framework-free: plain functions over a SQLAlchemy session (docs/community.md).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from services.common.caller import Caller
from services.common.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from services.common.paging import each, page, paged_select
from services.common.visibility import mask
from services.registry.models import Alumnus, Department, Graduation, Messenger, StudentVolunteer

MESSENGER = "messenger"
LIAISON = "liaison"


# ---- scope ----------------------------------------------------------------------------------


def messenger_not_found(messenger_id: Any) -> NotFound:
    return NotFound(
        "信使不存在。", {"messenger_id": str(messenger_id)}, reason="messenger_not_found"
    )


def check_messenger_scope(caller: Caller, messenger: dict[str, Any]) -> None:
    """A messenger sees their own appointment only; a liaison their department's. Another
    answers as a missing one (404), so that its existence does not leak."""
    if caller.role == MESSENGER and caller.messenger_id != messenger["id"]:
        raise messenger_not_found(messenger["id"])
    if caller.role == LIAISON and caller.department_id != messenger["department_id"]:
        raise messenger_not_found(messenger["id"])


# ---- appointments ---------------------------------------------------------------------------


def messenger_to_dict(messenger: Messenger, name: str) -> dict[str, Any]:
    return {
        "id": messenger.id,
        "alumnus_id": messenger.alumnus_id,
        "name": name,
        "department_id": messenger.department_id,
        "class_year": messenger.class_year,
        "class_name": messenger.class_name,
        "appointed_on": messenger.appointed_on.isoformat(),
        "appointed_by": messenger.appointed_by,
        "ended_on": messenger.ended_on.isoformat() if messenger.ended_on else None,
        "active": messenger.ended_on is None,
    }


def appoint_messenger(
    session: Session, data: dict[str, Any], actor: str, today: date
) -> dict[str, Any]:
    """Appoint an alumnus of the class as its messenger (the class is named by department,
    class year and class name, and the alumnus must have a graduation record in it)."""
    department_id = str(data["department_id"])
    if session.get(Department, department_id) is None:
        raise _invalid({"department_id": ["院系不存在。"]})
    alumnus = session.scalars(select(Alumnus).where(Alumnus.id == str(data["alumnus_id"]))).first()
    if alumnus is None or alumnus.merged_into or alumnus.erased_at:
        raise _invalid({"alumnus_id": ["校友不存在。"]})
    in_class = any(
        g.department_id == department_id
        and g.class_year == data["class_year"]
        and (g.class_name or "") == data["class_name"]
        for g in alumnus.graduations
    )
    if not in_class:
        raise _invalid({"alumnus_id": ["该校友不在此毕业班级中。"]})
    appointed_on = data.get("appointed_on") or today
    if appointed_on > today:
        raise _invalid({"appointed_on": ["任命日期不能晚于今天。"]})
    active = session.scalars(
        select(Messenger.id).where(
            Messenger.alumnus_id == alumnus.id,
            Messenger.department_id == department_id,
            Messenger.class_year == data["class_year"],
            Messenger.class_name == data["class_name"],
            Messenger.ended_on.is_(None),
        )
    ).first()
    if active is not None:
        raise Conflict(
            "该校友已是本班在任信使。", {"messenger_id": active}, reason="already_messenger"
        )
    messenger = Messenger(
        alumnus_id=alumnus.id,
        department_id=department_id,
        class_year=data["class_year"],
        class_name=data["class_name"],
        appointed_on=appointed_on,
        appointed_by=actor,
    )
    session.add(messenger)
    session.flush()
    return messenger_to_dict(messenger, alumnus.name)


def end_messenger(
    session: Session, messenger_id: str, data: dict[str, Any], today: date
) -> dict[str, Any]:
    messenger = find_messenger(session, messenger_id)
    if messenger.ended_on is not None:
        raise Conflict("该信使任期已结束。", {"messenger_id": messenger.id}, reason="already_ended")
    ended_on = data.get("ended_on") or today
    if ended_on < messenger.appointed_on:
        raise _invalid({"ended_on": ["结束日期不能早于任命日期。"]})
    if ended_on > today:
        # Ending takes effect at once (the account's scope ends with it): no future date.
        raise _invalid({"ended_on": ["结束日期不能晚于今天。"]})
    messenger.ended_on = ended_on
    session.flush()
    return messenger_to_dict(messenger, _name(session, messenger.alumnus_id))


def get_messenger(session: Session, messenger_id: str) -> dict[str, Any]:
    messenger = find_messenger(session, messenger_id)
    return messenger_to_dict(messenger, _name(session, messenger.alumnus_id))


def list_messengers(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    query = select(Messenger, Alumnus.name).join(Alumnus, Alumnus.id == Messenger.alumnus_id)
    if params.get("department_id"):
        query = query.where(Messenger.department_id == str(params["department_id"]))
    if params.get("class_year"):
        query = query.where(Messenger.class_year == params["class_year"])
    if params.get("active") is not None:
        ended = Messenger.ended_on.is_not(None)
        query = query.where(~ended if params["active"] else ended)
    query = paged_select(query, [Messenger.seq], params, (int,))
    rows = session.execute(query).all()
    return page(rows, params["limit"], lambda r: [r[0].seq], each(lambda r: messenger_to_dict(*r)))


def classmates(
    session: Session, messenger_id: str, params: dict[str, Any], caller_role: str
) -> dict[str, Any]:
    """The alumni of the messenger's class (the messenger among them), contacts masked.

    A messenger whose appointment has ended is refused (403): the scope ends with it.
    """
    messenger = find_messenger(session, messenger_id)
    if caller_role == MESSENGER and messenger.ended_on is not None:
        raise PermissionDenied("信使任期已结束，不能再查看同班校友。", reason="messenger_ended")
    in_class = (
        select(Graduation.alumnus_seq)
        .where(
            Graduation.department_id == messenger.department_id,
            Graduation.class_year == messenger.class_year,
            Graduation.class_name == messenger.class_name,
        )
        .scalar_subquery()
    )
    query = select(Alumnus).where(
        Alumnus.seq.in_(in_class), Alumnus.merged_into.is_(None), Alumnus.erased_at.is_(None)
    )
    query = paged_select(query, [Alumnus.seq], params, (int,))
    rows = session.scalars(query).all()
    return page(rows, params["limit"], lambda a: [a.seq], each(lambda a: _classmate(a, messenger)))


def _classmate(alumnus: Alumnus, messenger: Messenger) -> dict[str, Any]:
    graduation = next(
        g
        for g in alumnus.graduations
        if g.department_id == messenger.department_id
        and g.class_year == messenger.class_year
        and g.class_name == messenger.class_name
    )
    return {
        "id": alumnus.id,
        "name": alumnus.name,
        "major": graduation.major,
        "degree": graduation.degree,
        "city": alumnus.city,
        "phone": mask("phone", alumnus.phone),
        "email": mask("email", alumnus.email),
    }


def find_messenger(session: Session, messenger_id: Any) -> Messenger:
    messenger = None
    if _is_uuid(messenger_id):
        messenger = session.scalars(
            select(Messenger).where(Messenger.id == str(messenger_id))
        ).first()
    if messenger is None:
        raise messenger_not_found(messenger_id)
    return messenger


def check_messenger_exists(session: Session, messenger_id: Any) -> str:
    """The appointment a new `messenger` account is bound to: one that exists and is on."""
    try:
        messenger = find_messenger(session, messenger_id)
    except NotFound:
        raise _invalid({"messenger_id": ["信使任命不存在。"]}) from None
    if messenger.ended_on is not None:
        raise _invalid({"messenger_id": ["该信使任期已结束。"]})
    return messenger.id


def _name(session: Session, alumnus_id: str) -> str:
    return session.scalars(select(Alumnus.name).where(Alumnus.id == alumnus_id)).one()


# ---- the student alumni volunteer association -----------------------------------------------

VOLUNTEER_FIELDS = ("name", "class_year", "position", "term_start", "term_end", "note")


def volunteer_to_dict(volunteer: StudentVolunteer, today: date) -> dict[str, Any]:
    return {
        "id": volunteer.id,
        "name": volunteer.name,
        "department_id": volunteer.department_id,
        "class_year": volunteer.class_year,
        "position": volunteer.position,
        "term_start": volunteer.term_start.isoformat(),
        "term_end": volunteer.term_end.isoformat() if volunteer.term_end else None,
        "note": volunteer.note,
        "current": volunteer.term_start <= today
        and (volunteer.term_end is None or volunteer.term_end >= today),
    }


def add_volunteer(session: Session, data: dict[str, Any], today: date) -> dict[str, Any]:
    department_id = str(data["department_id"])
    if session.get(Department, department_id) is None:
        raise _invalid({"department_id": ["院系不存在。"]})
    values = {name: data.get(name) for name in VOLUNTEER_FIELDS}
    values["position"] = values["position"] or "member"
    _check_term(values)
    volunteer = StudentVolunteer(department_id=department_id, **values)
    session.add(volunteer)
    session.flush()
    return volunteer_to_dict(volunteer, today)


def update_volunteer(
    session: Session, volunteer_id: str, patch: dict[str, Any], today: date
) -> dict[str, Any]:
    volunteer = find_volunteer(session, volunteer_id)
    values = {name: getattr(volunteer, name) for name in VOLUNTEER_FIELDS}
    values.update({name: patch[name] for name in VOLUNTEER_FIELDS if name in patch})
    for required in ("name", "class_year", "position", "term_start"):
        if values[required] is None:
            raise _invalid({required: ["不能为空。"]})
    _check_term(values)
    for name, value in values.items():
        setattr(volunteer, name, value)
    session.flush()
    return volunteer_to_dict(volunteer, today)


def get_volunteer(session: Session, volunteer_id: str, today: date) -> dict[str, Any]:
    return volunteer_to_dict(find_volunteer(session, volunteer_id), today)


def list_volunteers(session: Session, params: dict[str, Any], today: date) -> dict[str, Any]:
    query = select(StudentVolunteer)
    if params.get("department_id"):
        query = query.where(StudentVolunteer.department_id == str(params["department_id"]))
    if params.get("position"):
        query = query.where(StudentVolunteer.position == params["position"])
    if params.get("current") is not None:
        current = and_(
            StudentVolunteer.term_start <= today,
            or_(StudentVolunteer.term_end.is_(None), StudentVolunteer.term_end >= today),
        )
        query = query.where(current if params["current"] else ~current)
    query = paged_select(query, [StudentVolunteer.seq], params, (int,))
    rows = session.scalars(query).all()
    return page(
        rows, params["limit"], lambda v: [v.seq], each(lambda v: volunteer_to_dict(v, today))
    )


def find_volunteer(session: Session, volunteer_id: Any) -> StudentVolunteer:
    volunteer = None
    if _is_uuid(volunteer_id):
        volunteer = session.scalars(
            select(StudentVolunteer).where(StudentVolunteer.id == str(volunteer_id))
        ).first()
    if volunteer is None:
        raise volunteer_not_found(volunteer_id)
    return volunteer


def volunteer_not_found(volunteer_id: Any) -> NotFound:
    return NotFound(
        "志愿者不存在。", {"volunteer_id": str(volunteer_id)}, reason="volunteer_not_found"
    )


def _check_term(values: dict[str, Any]) -> None:
    if values.get("term_end") is not None and values["term_end"] < values["term_start"]:
        raise _invalid({"term_end": ["任期结束日期不能早于开始日期。"]})


def _invalid(problems: dict[str, list[str]]) -> ValidationFailed:
    return ValidationFailed("请求数据校验失败。", {"fields": problems})


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
