"""The alumni directory and its privacy choices (docs/community.md, "Directory privacy").

Each alumnus chooses what other verified alumni may see of them: `name_only` (name and
class), `work` (plus employer and city) or `contacts` (plus phone, e-mail, WeChat ID); a
record without a choice gets `name_only`. A look-up, for verified alumni only, lists
verified alumni (those with a login) by name or class, each under their own choice
(services/common/visibility.py `directory_entry`); every entry that shows contacts is
written to the access log in the same transaction (services/common/access_log.py).

Plain functions over a SQLAlchemy session; the caller commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from services.common import access_log
from services.common.contracts.base import iso_utc
from services.common.paging import page, paged_select
from services.common.visibility import (
    DIRECTORY_DEFAULT,
    PERSONAL_FIELDS,
    Viewer,
    directory_entry,
    is_logged,
    shown_fields,
)
from services.registry import departments
from services.registry.identity_models import DirectoryChoice
from services.registry.models import AccessLogEntry, Account, Alumnus, Graduation


def get_privacy(session: Session, alumnus_id: str) -> dict[str, Any]:
    choice = session.get(DirectoryChoice, alumnus_id)
    if choice is None:
        return {"level": DIRECTORY_DEFAULT, "chosen": False, "chosen_at": None}
    return {"level": choice.level, "chosen": True, "chosen_at": iso_utc(choice.chosen_at)}


def set_privacy(session: Session, alumnus_id: str, level: str, now: datetime) -> dict[str, Any]:
    choice = session.get(DirectoryChoice, alumnus_id)
    if choice is None:
        choice = DirectoryChoice(alumnus_id=alumnus_id)
        session.add(choice)
    choice.level, choice.chosen_at = level, now
    session.flush()
    return get_privacy(session, alumnus_id)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(
    session: Session, params: dict[str, Any], viewer: Viewer, purpose: str
) -> dict[str, Any]:
    """Verified alumni by name (prefix) and/or class (year, department lineage), each shown
    under their own choice."""
    verified = exists().where(Account.alumnus_id == Alumnus.id, Account.active.is_(True))
    query = select(Alumnus, DirectoryChoice.level).outerjoin(
        DirectoryChoice, DirectoryChoice.alumnus_id == Alumnus.id
    )
    query = query.where(verified, Alumnus.merged_into.is_(None), Alumnus.erased_at.is_(None))
    if params.get("name"):
        query = query.where(Alumnus.name.like(_escape_like(params["name"].strip()) + "%", "\\"))
    if params.get("class_year") or params.get("department_id"):
        in_class = exists().where(Graduation.alumnus_seq == Alumnus.seq)
        if params.get("class_year"):
            in_class = in_class.where(Graduation.class_year == int(params["class_year"]))
        if params.get("department_id"):
            in_class = in_class.where(
                Graduation.department_id.in_(departments.lineage_ids(params["department_id"]))
            )
        query = query.where(in_class)
    rows = session.execute(paged_select(query, [Alumnus.seq], params, (int,))).all()
    shape = lambda found: _entries(session, found, viewer, purpose)  # noqa: E731
    return page(rows, params["limit"], lambda r: [r[0].seq], shape)


def _entries(session: Session, rows: list, viewer: Viewer, purpose: str) -> list[dict[str, Any]]:
    seqs = [alumnus.seq for alumnus, _ in rows]
    classes: dict[int, list[dict[str, Any]]] = {seq: [] for seq in seqs}
    if seqs:
        for g in session.scalars(
            select(Graduation)
            .where(Graduation.alumnus_seq.in_(seqs))
            .order_by(Graduation.class_year, Graduation.id)
        ):
            classes[g.alumnus_seq].append(
                {
                    "department_id": g.department_id,
                    "class_year": g.class_year,
                    "class_name": g.class_name,
                    "major": g.major,
                    "degree": g.degree,
                }
            )
    entries = []
    for alumnus, level in rows:
        record = {
            "id": alumnus.id,
            "name": alumnus.name,
            "employer": alumnus.employer,
            "city": alumnus.city,
            **{name: getattr(alumnus, name) for name in PERSONAL_FIELDS},
        }
        entry = {**directory_entry(record, level), "classes": classes[alumnus.seq]}
        disclosed = shown_fields(entry, PERSONAL_FIELDS)
        if disclosed and is_logged(viewer, alumnus.id):
            access_log.record(
                session,
                AccessLogEntry,
                viewer,
                f"alumnus:{alumnus.id}",
                alumnus.id,
                disclosed,
                purpose or "GET /api/v1/directory",
            )
        entries.append(entry)
    return entries
