"""The roster: a local copy of the alumni fields rosters need (names, contacts,
departments), fed by the registry's events and by the operator's backfill."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from services.events.common import as_utc
from services.events.models import RosterEntry


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
