"""The registry's domain logic: plain functions over a SQLAlchemy session.

Inputs arrive already shaped by the contract schemas (services/common/contracts/
registry.py); these functions enforce what only the database can tell (unknown
departments, duplicates), keep the field-level history, and record events in
the outbox within the caller's transaction.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from sqlalchemy import Row, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common import crypto
from services.common.contracts.base import iso_utc
from services.common.errors import Conflict, NotFound, ValidationFailed
from services.common.paging import each, page, paged_select
from services.registry import departments, namekeys, passwords
from services.registry.community_accounts import community_scope
from services.registry.models import (
    Account,
    Alumnus,
    ChangeRecord,
    Department,
    Graduation,
    OutboxMessage,
    utcnow,
)

PROFILE_FIELDS = (
    "name",
    "gender",
    "birth_date",
    "phone",
    "email",
    "wechat",
    "province",
    "city",
    "employer",
    "industry",
    "title",
    "tags",
)
# A service writing records for itself is a bulk load: the registrar's import, the demo.
SOURCE_BY_ROLE = {
    "office": "office",
    "liaison": "liaison",
    "alumnus": "self_service",
    "service": "import",
}
SYSTEM_ACTOR = {
    "account_id": "system",
    "username": "system",
    "role": "office",
    "department_id": None,
}


# ---- departments -----------------------------------------------------------


def department_to_dict(department: Department) -> dict[str, Any]:
    return {"id": department.id, "name": department.name, "code": department.code}


def create_department(session: Session, data: dict[str, Any]) -> dict[str, Any]:
    taken = session.scalars(
        select(Department).where(
            (Department.name == data["name"]) | (Department.code == data["code"])
        )
    ).first()
    if taken is not None:
        raise Conflict(
            "院系名称或代码已存在。",
            {"name": data["name"], "code": data["code"]},
            reason="department_taken",
        )
    department = Department(name=data["name"], code=data["code"])
    session.add(department)
    _flush_or_conflict(session, "院系名称或代码已存在。", "department_taken")
    return department_to_dict(department)


def list_departments(session: Session) -> list[dict[str, Any]]:
    return [
        department_to_dict(d) for d in session.scalars(select(Department).order_by(Department.code))
    ]


def get_department(session: Session, department_id: str) -> dict[str, Any]:
    department = session.get(Department, str(department_id))
    if department is None:
        raise NotFound(
            "院系不存在。", {"department_id": str(department_id)}, reason="department_not_found"
        )
    return department_to_dict(department)


# ---- alumni ----------------------------------------------------------------


def alumnus_to_dict(
    alumnus: Alumnus | Row, graduations: Iterable[Graduation | Row]
) -> dict[str, Any]:
    """The record as the RPCs answer and events carry it.

    Takes an ORM `Alumnus` with its `graduations` (the write paths) or a Core row of
    `alumni` with the rows of its graduations (the read paths): both have these attributes.
    """
    return {
        "id": alumnus.id,
        "name": alumnus.name,
        "gender": alumnus.gender,
        "birth_date": alumnus.birth_date.isoformat() if alumnus.birth_date else None,
        "phone": alumnus.phone,
        "email": alumnus.email,
        "wechat": alumnus.wechat,
        "province": alumnus.province,
        "city": alumnus.city,
        "employer": alumnus.employer,
        "industry": alumnus.industry,
        "title": alumnus.title,
        "tags": list(alumnus.tags or []),
        # A canonical order, so that the same records listed differently are no change.
        "graduations": sorted((graduation_to_dict(g) for g in graduations), key=_graduation_order),
        "created_at": iso_utc(alumnus.created_at),
        "updated_at": iso_utc(alumnus.updated_at),
    }


def _graduation_order(record: dict[str, Any]) -> tuple:
    return (
        record["class_year"],
        record["department_id"],
        record["degree"],
        record["major"],
        record["class_name"] or "",
    )


def graduation_to_dict(graduation: Graduation | Row) -> dict[str, Any]:
    return {
        "department_id": graduation.department_id,
        "major": graduation.major,
        "degree": graduation.degree,
        "class_year": graduation.class_year,
        "class_name": graduation.class_name,
        "student_number": graduation.student_number,
        "enrolment_year": graduation.enrolment_year,
    }


def register_alumnus(
    session: Session, data: dict[str, Any], actor: dict[str, Any]
) -> dict[str, Any]:
    """Create an alumnus; every supplied field enters the history with its provenance."""
    alumnus = Alumnus(tags=[])
    for field in PROFILE_FIELDS:
        if field in data:
            setattr(alumnus, field, _normalise(field, data[field]))
    alumnus.graduations = _graduations(session, data["graduations"])
    session.add(alumnus)
    _flush_or_conflict(session, "学号已被本院系同届的其他校友使用。", "student_number_taken")
    namekeys.write(session, alumnus.seq, alumnus.name)
    snapshot = alumnus_to_dict(alumnus, alumnus.graduations)
    source = change_source(actor)
    for field, value in snapshot.items():
        if field in PROFILE_FIELDS + ("graduations",) and value not in (None, [], ""):
            _record_change(session, alumnus, field, None, value, actor, source)
    departments.with_current_departments(session, [snapshot])
    OutboxMessage.record(session, "alumnus_registered", snapshot)
    return snapshot


def update_alumnus(
    session: Session, alumnus_id: str, patch: dict[str, Any], actor: dict[str, Any]
) -> dict[str, Any]:
    """Apply a partial update; unchanged fields make no history and no event."""
    alumnus = _alumnus(session, alumnus_id)
    if alumnus.erased_at is not None:
        raise Conflict("该校友的个人信息已删除。", {"alumnus_id": alumnus.id}, reason="erased")
    before = alumnus_to_dict(alumnus, alumnus.graduations)
    for field in PROFILE_FIELDS:
        if field in patch:
            setattr(alumnus, field, _normalise(field, patch[field]))
    if "graduations" in patch:
        kept_keys = {_graduation_identity(g): g.import_key for g in alumnus.graduations}
        # The old records go first: a student number kept must not meet itself in the index.
        alumnus.graduations = []
        session.flush()
        alumnus.graduations = _graduations(session, patch["graduations"], alumnus.seq)
        for graduation in alumnus.graduations:
            graduation.import_key = kept_keys.get(_graduation_identity(graduation))
    _flush_or_conflict(session, "学号已被本院系同届的其他校友使用。", "student_number_taken")
    after = alumnus_to_dict(alumnus, alumnus.graduations)
    changes = {
        field: {"old": before[field], "new": after[field]}
        for field in PROFILE_FIELDS + ("graduations",)
        if before[field] != after[field]
    }
    if not changes:
        departments.with_current_departments(session, [before])
        return before
    source = change_source(actor)
    if "name" in changes:
        namekeys.write(session, alumnus.seq, alumnus.name)
    for field, change in changes.items():
        _record_change(session, alumnus, field, change["old"], change["new"], actor, source)
    # Graduations live in their own table: a change to them alone updates no `alumni` row,
    # so `onupdate` would leave updated_at (and the event's copy of it) stale.
    alumnus.updated_at = utcnow()
    session.flush()
    after = alumnus_to_dict(alumnus, alumnus.graduations)
    departments.with_current_departments(session, [after])
    OutboxMessage.record(
        session,
        "alumnus_updated",
        {"id": alumnus.id, "changes": changes, "source": source, "alumnus": after},
    )
    return after


# Reads go through SQLAlchemy Core: the ORM's identity map, change tracking and `selectin`
# loader cost more than the query itself for records that are only turned into dicts.
ALUMNI = Alumnus.__table__
GRADUATIONS = Graduation.__table__


def get_alumnus(session: Session, alumnus_id: str) -> dict[str, Any]:
    row = None
    if _is_uuid(alumnus_id):
        row = session.execute(select(ALUMNI).where(ALUMNI.c.id == str(alumnus_id))).first()
    if row is None:
        raise _unknown_alumnus(alumnus_id)
    if row.merged_into is not None:
        raise NotFound(
            "该校友记录已合并到另一条记录。",
            {"alumnus_id": row.id, "survivor_id": row.merged_into},
            reason="merged",
        )
    return _alumni_records(session, [row])[0]


def search_alumni(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    """Filter and page alumni in a stable order; `next_cursor` is opaque to clients."""
    query = select(ALUMNI).where(ALUMNI.c.merged_into.is_(None))
    if params.get("q"):
        # Any part of the name, its pinyin or initials from the start (services/registry/
        # namekeys.py), a student number; contacts are encrypted: a phone number or e-mail
        # address is found whole, through its blind index (under every configured key).
        indexes = crypto.blind_indexes(params["q"])
        matches = [
            ALUMNI.c.name.contains(params["q"], autoescape=True),
            ALUMNI.c.phone_index.in_(indexes),
            ALUMNI.c.email_index.in_(indexes),
        ]
        keyed = namekeys.matching(params["q"])
        if keyed is not None:
            matches.append(ALUMNI.c.seq.in_(keyed))
        query = query.where(or_(*matches))
    if params.get("city"):
        query = query.where(ALUMNI.c.city == params["city"])
    if params.get("industry"):
        query = query.where(ALUMNI.c.industry == params["industry"])
    if params.get("employer"):
        query = query.where(
            func.lower(ALUMNI.c.employer).contains(params["employer"].lower(), autoescape=True)
        )
    if params.get("department_id") or params.get("class_year"):
        graduation = select(GRADUATIONS.c.alumnus_seq)
        if params.get("department_id"):
            # The department's lineage: alumni of departments merged into it are its own.
            graduation = graduation.where(
                GRADUATIONS.c.department_id.in_(departments.lineage_ids(params["department_id"]))
            )
        if params.get("class_year"):
            graduation = graduation.where(GRADUATIONS.c.class_year == params["class_year"])
        query = query.where(ALUMNI.c.seq.in_(graduation))
    rows = session.execute(paged_select(query, [ALUMNI.c.seq], params, (int,))).all()
    return page(rows, params["limit"], _seq_position, lambda shown: _alumni_records(session, shown))


def _seq_position(row: Row) -> list[int]:
    return [row.seq]


def _alumni_records(session: Session, rows: list[Row]) -> list[dict[str, Any]]:
    """`alumni` rows as records, with the graduations of all of them read in one SELECT."""
    if not rows:
        return []
    graduations: dict[int, list[Row]] = {row.seq: [] for row in rows}
    for graduation in session.execute(
        select(GRADUATIONS)
        .where(GRADUATIONS.c.alumnus_seq.in_(graduations))
        .order_by(GRADUATIONS.c.id)
    ):
        graduations[graduation.alumnus_seq].append(graduation)
    records = [alumnus_to_dict(row, graduations[row.seq]) for row in rows]
    departments.with_current_departments(session, records)
    return records


def alumnus_history(session: Session, alumnus_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """The alumnus's field-level changes, oldest first, a page (`params`: the page query)."""
    alumnus = _alumnus(session, alumnus_id)
    query = select(ChangeRecord).where(ChangeRecord.alumnus_seq == alumnus.seq)
    rows = session.scalars(paged_select(query, [ChangeRecord.id], params, (int,))).all()
    return page(rows, params["limit"], lambda r: [r.id], each(change_to_dict))


def change_to_dict(change: ChangeRecord) -> dict[str, Any]:
    return {
        "field": change.field,
        "old_value": json.loads(change.old_value) if change.old_value is not None else None,
        "new_value": json.loads(change.new_value) if change.new_value is not None else None,
        "actor": change.actor,
        "source": change.source,
        "changed_at": iso_utc(change.changed_at),
    }


def change_source(actor: dict[str, Any]) -> str:
    return actor.get("source") or SOURCE_BY_ROLE.get(actor["role"], "office")


def _alumnus(session: Session, alumnus_id: str) -> Alumnus:
    alumnus = None
    if _is_uuid(alumnus_id):
        alumnus = session.scalars(select(Alumnus).where(Alumnus.id == str(alumnus_id))).first()
    if alumnus is None:
        raise _unknown_alumnus(alumnus_id)
    return alumnus


def _unknown_alumnus(alumnus_id: str) -> NotFound:
    return NotFound("校友不存在。", {"alumnus_id": str(alumnus_id)}, reason="alumnus_not_found")


def _graduation_identity(graduation: Graduation) -> tuple:
    return (graduation.department_id, graduation.degree, graduation.class_year)


def _graduations(
    session: Session, records: list[dict[str, Any]], alumnus_seq: int | None = None
) -> list[Graduation]:
    department_ids = {str(r["department_id"]) for r in records}
    known = set(session.scalars(select(Department.id).where(Department.id.in_(department_ids))))
    unknown = sorted(department_ids - known)
    if unknown:
        raise ValidationFailed(
            "毕业记录中的院系不存在。",
            {"fields": {"graduations": [f"院系 {d} 不存在。" for d in unknown]}},
            reason="unknown_department",
        )
    _check_student_numbers(session, records, alumnus_seq)
    return [
        Graduation(
            department_id=str(r["department_id"]),
            major=r["major"],
            degree=r["degree"],
            class_year=r["class_year"],
            class_name=r.get("class_name"),
            student_number=r.get("student_number"),
            enrolment_year=r.get("enrolment_year"),
        )
        for r in records
    ]


def _check_student_numbers(
    session: Session, records: list[dict[str, Any]], alumnus_seq: int | None
) -> None:
    """409 for a student number another alumnus has in the same department and class year."""
    numbered = {
        (str(r["department_id"]), r["class_year"], r["student_number"])
        for r in records
        if r.get("student_number")
    }
    for department_id, class_year, number in numbered:
        holder = session.scalars(
            select(GRADUATIONS.c.alumnus_seq).where(
                GRADUATIONS.c.department_id == department_id,
                GRADUATIONS.c.class_year == class_year,
                GRADUATIONS.c.student_number == number,
            )
        ).first()
        if holder is not None and holder != alumnus_seq:
            raise Conflict(
                "学号已被本院系同届的其他校友使用。",
                {"student_number": number, "class_year": class_year},
                reason="student_number_taken",
            )


def _normalise(field: str, value: Any) -> Any:
    if field == "phone" and value:
        return value.removeprefix("+86")
    if field == "email" and value:
        return value.lower()
    if field == "tags":
        return sorted(set(value or []))
    if field == "birth_date" and isinstance(value, str):
        return date.fromisoformat(value)
    return value


def _record_change(
    session: Session,
    alumnus: Alumnus,
    field: str,
    old: Any,
    new: Any,
    actor: dict[str, Any],
    source: str,
) -> None:
    session.add(
        ChangeRecord(
            alumnus_seq=alumnus.seq,
            field=field,
            old_value=None if old is None else json.dumps(old, ensure_ascii=False),
            new_value=None if new is None else json.dumps(new, ensure_ascii=False),
            actor=actor["username"],
            source=source,
        )
    )


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _flush_or_conflict(session: Session, message: str, reason: str) -> None:
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(message, reason=reason) from None


# ---- staff accounts --------------------------------------------------------


ALUMNUS_ROLE = "alumnus"


def account_to_dict(account: Account) -> dict[str, Any]:
    return {
        "id": account.id,
        "username": account.username,
        "role": account.role,
        "department_id": account.department_id,
        "alumnus_id": account.alumnus_id,
        "chapter_id": account.chapter_id,
        "messenger_id": account.messenger_id,
        "active": account.active,
    }


def create_account(
    session: Session,
    data: dict[str, Any],
    hash_password: Callable[[str], str] = passwords.hash_password,
) -> dict[str, Any]:
    """A staff account; its password meets the policy (services/registry/passwords.py)."""
    passwords.check_policy(data["password"], data["username"])
    department_id = str(data["department_id"]) if data.get("department_id") else None
    if data["role"] == "liaison" and department_id is None:
        raise ValidationFailed(
            "联络员账号必须关联一个院系。",
            {"fields": {"department_id": ["联络员必须指定院系。"]}},
            reason="liaison_needs_department",
        )
    if data["role"] != "liaison" and department_id is not None:
        raise ValidationFailed(
            "只有联络员账号关联院系。",
            {"fields": {"department_id": ["该角色不关联院系。"]}},
            reason="department_only_for_liaison",
        )
    if department_id is not None:
        get_department(session, department_id)
    # A chapter officer's chapter, a messenger's appointment (docs/community.md).
    scope = community_scope(session, data)
    _ensure_username_free(session, data["username"])
    account = Account(
        username=data["username"],
        password_hash=hash_password(data["password"]),
        role=data["role"],
        department_id=department_id,
        **scope,
    )
    session.add(account)
    _flush_or_conflict(session, "用户名已存在。", "username_taken")
    return account_to_dict(account)


def create_alumnus_account(
    session: Session,
    alumnus_id: str,
    data: dict[str, Any],
    hash_password: Callable[[str], str] = passwords.hash_password,
) -> dict[str, Any]:
    """A login for an existing alumnus record; one per record."""
    passwords.check_policy(data["password"], data["username"])
    alumnus = _alumnus(session, alumnus_id)
    if session.scalars(select(Account.id).where(Account.alumnus_id == alumnus.id)).first():
        raise Conflict(
            "该校友已有登录账号。", {"alumnus_id": alumnus.id}, reason="alumnus_has_account"
        )
    _ensure_username_free(session, data["username"])
    account = Account(
        username=data["username"],
        password_hash=hash_password(data["password"]),
        role=ALUMNUS_ROLE,
        alumnus_id=alumnus.id,
    )
    session.add(account)
    # Two requests at once for one record or one username: the unique keys decide.
    _flush_or_conflict(session, "用户名已存在，或该校友已有登录账号。", "account_taken")
    return account_to_dict(account)


def _ensure_username_free(session: Session, username: str) -> None:
    if session.scalars(select(Account).where(Account.username == username)).first():
        raise Conflict("用户名已存在。", {"username": username}, reason="username_taken")


def list_accounts(session: Session) -> list[dict[str, Any]]:
    """Staff accounts; alumni's logins are reached through their records."""
    return [
        account_to_dict(a)
        for a in session.scalars(
            select(Account).where(Account.role != ALUMNUS_ROLE).order_by(Account.username)
        )
    ]


def get_account(session: Session, account_id: str) -> dict[str, Any]:
    account = session.get(Account, str(account_id))
    if account is None or not account.active:
        raise NotFound("账号不存在。", reason="account_not_found")
    return account_to_dict(account)


def has_office_account(session: Session) -> bool:
    return session.scalars(select(Account.id).where(Account.role == "office")).first() is not None


def ensure_admin(session: Session, username: str, password: str) -> bool:
    """Create the first office account unless one exists; True when it created one."""
    if has_office_account(session):
        return False
    create_account(session, {"username": username, "password": password, "role": "office"})
    return True
