"""The roster: a local copy of the alumni fields rosters need (names, contacts,
departments), fed by the registry's events and by the operator's backfill."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from services.common.contracts.base import iso_utc
from services.common.errors import NotFound
from services.events.common import (
    as_utc,
)
from services.events.models import (
    RosterEntry,
)


def apply_alumnus_registered(session: Session, data: dict[str, Any]) -> bool:
    return upsert_roster_entry(session, data)


def apply_alumnus_updated(session: Session, data: dict[str, Any]) -> bool:
    return upsert_roster_entry(session, data["alumnus"])


def upsert_roster_entry(session: Session, alumnus: dict[str, Any]) -> bool:
    """Keep the newest snapshot of an alumnus; False when this one is older than what we hold.

    The registry's events arrive on separate queues, so an `alumnus_updated`
    may be handled before the `alumnus_registered` it follows.
    """
    version = as_utc(datetime.fromisoformat(alumnus["updated_at"]))
    entry = session.get(RosterEntry, alumnus["id"])
    if entry is not None and as_utc(entry.updated_at) > version:
        return False
    if entry is None:
        entry = RosterEntry(alumnus_id=alumnus["id"])
        session.add(entry)
    entry.name = alumnus["name"]
    entry.phone = alumnus.get("phone")
    entry.email = alumnus.get("email")
    entry.department_ids = sorted({g["department_id"] for g in alumnus.get("graduations", [])})
    entry.updated_at = version
    session.flush()
    return True


def get_roster_entry(session: Session, alumnus_id: str) -> dict[str, Any]:
    entry = session.get(RosterEntry, str(alumnus_id))
    if entry is None:
        raise NotFound("花名册中没有该校友。", {"alumnus_id": str(alumnus_id)})
    return {
        "alumnus_id": entry.alumnus_id,
        "name": entry.name,
        "phone": entry.phone,
        "email": entry.email,
        "department_ids": list(entry.department_ids or []),
        "updated_at": iso_utc(entry.updated_at),
    }
