"""Department lineage: renames keep the old names, merges name a successor.

A graduation keeps the department it graduated from (history stays true, a mistaken merge
is undone by one row, imported rows' keys stay valid). What changes is where a department
belongs now: `department_successions.current_id`, the end of its successor chain. "Alumni
of X" are those whose graduation's department is X or any department whose current one is
X, in search, statistics and a liaison's scope alike (docs/stewardship.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, bindparam, or_, select, update
from sqlalchemy.orm import Session

from services.common.db import PREPARED
from services.common.errors import Conflict, ValidationFailed
from services.registry import domain
from services.registry.models import (
    Department,
    DepartmentName,
    DepartmentSuccession,
    OutboxMessage,
    utcnow,
)

SUCCESSIONS = DepartmentSuccession.__table__


def lineage_ids(department_id: str) -> Select:
    """The ids of a department and of every department merged (however indirectly) into it,
    as a subquery for `IN`."""
    return (
        select(Department.id)
        .outerjoin(SUCCESSIONS, SUCCESSIONS.c.department_id == Department.id)
        .where(
            or_(Department.id == str(department_id), SUCCESSIONS.c.current_id == str(department_id))
        )
    )


CURRENT_IDS = select(SUCCESSIONS.c.department_id, SUCCESSIONS.c.current_id).where(
    SUCCESSIONS.c.department_id.in_(bindparam("ids", expanding=True))
)
"""Prebuilt: every record a write returns runs it (reads take the current department with
their graduations, `domain.GRADUATIONS_OF`), and building it cost more than running it."""


def current_ids(session: Session, department_ids: Iterable[str]) -> dict[str, str]:
    """Each department's current department (itself unless merged)."""
    ids = {str(d) for d in department_ids}
    found = dict(session.execute(CURRENT_IDS, {"ids": list(ids)}).all())
    return {d: found.get(d, d) for d in ids}


# Read at every registration: prepared on PostgreSQL once a connection and number of ids.
EXISTING_CURRENT_IDS = (
    select(Department.id, SUCCESSIONS.c.current_id)
    .outerjoin(SUCCESSIONS, SUCCESSIONS.c.department_id == Department.id)
    .where(Department.id.in_(bindparam("ids", expanding=True)))
    .execution_options(**{PREPARED: True})
)


def existing_current_ids(
    connection: Session | Connection, department_ids: Iterable[str]
) -> dict[str, str]:
    """Each of these departments that exists, with its current department: `current_ids`
    and the check that they exist, in one prebuilt query (registering an alumnus)."""
    rows = connection.execute(EXISTING_CURRENT_IDS, {"ids": list({str(d) for d in department_ids})})
    return {row.id: row.current_id or row.id for row in rows}


def with_current_departments(session: Session, records: list[dict[str, Any]]) -> None:
    """Set `current_department_id` on every graduation of the records (one query)."""
    graduations = [g for record in records for g in record["graduations"]]
    current = current_ids(session, {g["department_id"] for g in graduations})
    for graduation in graduations:
        graduation["current_department_id"] = current[graduation["department_id"]]


def resolver(session: Session, scope: Iterable[str] | None = None) -> DepartmentNames:
    """Department name, code or former name as a registrar writes it → its id (the
    `ImportOptions.resolve_department` of an import), from one read of the tables; with
    `scope`, only those departments are known (a liaison's lineage)."""
    names: dict[str, str] = {}
    for department in session.execute(select(Department.id, Department.name, Department.code)):
        names[department.name.strip().lower()] = department.id
        names[department.code.strip().lower()] = department.id
    for former in session.execute(select(DepartmentName.name, DepartmentName.department_id)):
        names.setdefault(former.name.strip().lower(), former.department_id)
    if scope is not None:
        known = set(scope)
        names = {name: id for name, id in names.items() if id in known}
    return DepartmentNames(names)


@dataclass(frozen=True)
class DepartmentNames:
    """A department lookup as data, so that it can go to the process that parses an
    import (services/common/offload.py)."""

    names: dict[str, str]

    def __call__(self, text: str) -> str | None:
        return self.names.get(text.strip().lower())


def rename_department(
    session: Session, department_id: str, data: dict[str, Any], actor: dict[str, Any]
) -> dict[str, Any]:
    """A new name and/or code; the old ones stay findable as former names."""
    department = _department(session, department_id)
    changes = {
        k: v for k, v in data.items() if k in ("name", "code") and v != getattr(department, k)
    }
    if not changes:
        return lineage(session, department.id)
    for field, value in changes.items():
        taken = (
            session.scalars(
                select(Department.id).where(
                    getattr(Department, field) == value, Department.id != department.id
                )
            ).first()
            or session.scalars(
                select(DepartmentName.id).where(
                    DepartmentName.name == value, DepartmentName.department_id != department.id
                )
            ).first()
        )
        if taken:
            raise Conflict("院系名称或代码已被使用。", {field: value}, reason="department_taken")
    for field, value in changes.items():
        old = getattr(department, field)
        # A name given back to its department is current again, not former.
        session.query(DepartmentName).filter(DepartmentName.name == value).delete()
        if not session.scalars(select(DepartmentName.id).where(DepartmentName.name == old)).first():
            session.add(DepartmentName(name=old, department_id=department.id))
        setattr(department, field, value)
    session.flush()
    result = lineage(session, department.id)
    _announce(session, department.id, "renamed", None)
    return result


def merge_departments(
    session: Session, data: dict[str, Any], actor: dict[str, Any]
) -> dict[str, Any]:
    """Merge departments into a successor (an existing department or a new one).

    The merged departments stay (their graduations keep them); each gets the successor and
    the end of the chain as its current department, and so does every department that was
    already merged into one of them.
    """
    sources = [
        _department(session, d) for d in dict.fromkeys(str(d) for d in data["department_ids"])
    ]
    if ("successor_id" in data) == ("successor" in data):
        raise ValidationFailed(
            "请指定一个已有的院系作为合并后的院系，或给出新院系。",
            {"fields": {"successor_id": ["二者必须且只能给出一个。"]}},
            reason="successor_required",
        )
    if "successor" in data:
        successor_id = domain.create_department(session, data["successor"])["id"]
    else:
        successor_id = _department(session, data["successor_id"]).id
    if current_ids(session, [successor_id])[successor_id] != successor_id:
        raise Conflict("合并后的院系本身已被合并。", reason="successor_merged")
    source_ids = {d.id for d in sources}
    if successor_id in source_ids:
        raise ValidationFailed(
            "院系不能合并到自身。",
            {"fields": {"successor_id": ["不能是被合并的院系。"]}},
            reason="merge_into_itself",
        )
    merged = session.scalars(
        select(DepartmentSuccession.department_id).where(
            DepartmentSuccession.department_id.in_(source_ids)
        )
    ).all()
    if merged:
        raise Conflict(
            "院系已被合并过。", {"department_ids": sorted(merged)}, reason="already_merged"
        )
    for source in sources:
        session.add(
            DepartmentSuccession(
                department_id=source.id,
                successor_id=successor_id,
                current_id=successor_id,
                changed_by=actor["username"],
            )
        )
    session.execute(
        update(DepartmentSuccession)
        .where(DepartmentSuccession.current_id.in_(source_ids))
        .values(current_id=successor_id, changed_at=utcnow())
    )
    session.flush()
    for source in sources:
        _announce(session, source.id, "merged", successor_id)
    return lineage(session, successor_id)


def lineage(session: Session, department_id: str) -> dict[str, Any]:
    department = _department(session, department_id)
    succession = session.get(DepartmentSuccession, department.id)
    predecessors = session.scalars(
        select(Department)
        .join(DepartmentSuccession, DepartmentSuccession.department_id == Department.id)
        .where(DepartmentSuccession.current_id == department.id)
        .order_by(Department.code)
    ).all()
    return {
        **domain.department_to_dict(department),
        "current_id": succession.current_id if succession else department.id,
        "successor_id": succession.successor_id if succession else None,
        "former_names": _former_names(session, department.id),
        "predecessors": [domain.department_to_dict(d) for d in predecessors],
    }


def _former_names(session: Session, department_id: str) -> list[str]:
    return list(
        session.scalars(
            select(DepartmentName.name)
            .where(DepartmentName.department_id == department_id)
            .order_by(DepartmentName.used_until, DepartmentName.id)
        )
    )


def _announce(session: Session, department_id: str, kind: str, successor_id: str | None) -> None:
    department = session.get(Department, department_id)
    names = [department.name, department.code, *_former_names(session, department_id)]
    OutboxMessage.record(
        session,
        "department_changed",
        {
            "department_id": department_id,
            "kind": kind,
            "successor_id": successor_id,
            "names": names,
        },
    )


def _department(session: Session, department_id: Any) -> Department:
    domain.get_department(session, str(department_id))  # 404 for an unknown one
    return session.get(Department, str(department_id))
