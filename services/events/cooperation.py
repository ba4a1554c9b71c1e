"""School–alumni cooperation projects (三.8): partner, contacts, status, notes.

    proposed ──▶ active ──▶ completed
        │          ▲ │          ▲
        ▼          │ ▼          │
        └────▶ suspended ───────┘

A completed project is final. Notes are append-only: each is a row with its
author and time, never edited or removed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.contracts.events import cooperation as contract
from services.common.errors import NotFound
from services.common.statemachine import StateMachine
from services.events.common import id_or_none, page_in_order, set_status
from services.events.models import CooperationProject, ProjectNote

PROPOSED, ACTIVE, COMPLETED, SUSPENDED = "proposed", "active", "completed", "suspended"
PROJECT_STATUS = StateMachine(
    "合作项目",
    {PROPOSED: "筹划中", ACTIVE: "进行中", COMPLETED: "已完成", SUSPENDED: "已暂停"},
    {
        "start": (PROPOSED, ACTIVE),
        "suspend": ({PROPOSED, ACTIVE}, SUSPENDED),
        "resume": (SUSPENDED, ACTIVE),
        "complete": ({ACTIVE, SUSPENDED}, COMPLETED),
    },
)
EDITABLE_FIELDS = ("title", "partner", "contacts", "department_id")


PROJECT = contract.Project()


def create_project(
    session: Session, data: dict[str, Any], actor: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """A project in any status: past and running projects are recorded as they are."""
    project = CooperationProject(
        title=data["title"],
        partner=data["partner"],
        contacts=_contacts(data.get("contacts", [])),
        status=data.get("status", PROPOSED),
        department_id=id_or_none(data.get("department_id")),
        created_by=actor["username"],
        created_at=now,
        updated_at=now,
    )
    session.add(project)
    session.flush()
    return PROJECT.dump(project)


def update_project(
    session: Session, project_id: str, patch: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """Title, partner, contacts (replaced as a whole) or department."""
    project = _project(session, project_id)
    for field in EDITABLE_FIELDS:
        if field not in patch:
            continue
        value = patch[field]
        if field == "contacts":
            value = _contacts(value or [])
        elif field == "department_id":
            value = id_or_none(value)
        setattr(project, field, value)
    project.updated_at = now
    session.flush()
    return PROJECT.dump(project)


def change_project_status(
    session: Session,
    project_id: str,
    data: dict[str, Any],
    actor: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """Move the project on; a note given with the change is appended to its notes."""
    project = _project(session, project_id)
    step = PROJECT_STATUS.step_to(project.status, data["status"])
    set_status(session, project, PROJECT_STATUS, step, {"updated_at": now})
    if data.get("note"):
        _append_note(project, data["note"], actor, now)
    session.flush()
    return PROJECT.dump(project)


def add_project_note(
    session: Session,
    project_id: str,
    data: dict[str, Any],
    actor: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    project = _project(session, project_id)
    _append_note(project, data["note"], actor, now)
    project.updated_at = now
    session.flush()
    return PROJECT.dump(project)


def get_project(session: Session, project_id: str) -> dict[str, Any]:
    return PROJECT.dump(_project(session, project_id))


def list_projects(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    query = select(CooperationProject)
    if params.get("status"):
        query = query.where(CooperationProject.status == params["status"])
    if params.get("department_id"):
        query = query.where(CooperationProject.department_id == str(params["department_id"]))
    return page_in_order(session, query, CooperationProject, params, PROJECT)


def _append_note(
    project: CooperationProject, note: str, actor: dict[str, Any], now: datetime
) -> None:
    project.notes.append(ProjectNote(note=note, author=actor["username"], at=now))


def _contacts(contacts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """As stored and shown: every key present, ids as strings."""
    return [
        {
            "name": c["name"],
            "phone": c.get("phone"),
            "email": c.get("email"),
            "alumnus_id": id_or_none(c.get("alumnus_id")),
        }
        for c in contacts
    ]


def _project(session: Session, project_id: str) -> CooperationProject:
    project = session.scalars(
        select(CooperationProject).where(CooperationProject.id == str(project_id))
    ).first()
    if project is None:
        raise NotFound("合作项目不存在。", {"project_id": str(project_id)})
    return project
