"""The roster: a local copy of the alumni fields rosters need (names, contacts,
departments), fed by the registry's events and by the operator's backfill."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from services.common.snapshots import row_to_update
from services.events.models import RosterEntry


def upsert_roster_entry(session: Session, alumnus: dict[str, Any]) -> bool:
    """Keep the newest snapshot of an alumnus; False when this one is older than what we hold.

    The registry's events arrive on separate queues, so an `alumnus_updated`
    may be handled before the `alumnus_registered` it follows; a snapshot from the
    future is refused (services/common/snapshots.py).
    """
    entry = row_to_update(session, RosterEntry, "alumnus_id", alumnus)
    if entry is None:
        return False
    entry.name = alumnus["name"]
    entry.phone = alumnus.get("phone")
    entry.email = alumnus.get("email")
    entry.department_ids = sorted({g["department_id"] for g in alumnus.get("graduations", [])})
    session.flush()
    return True
