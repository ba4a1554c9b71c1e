"""The registry merged two records of one person, or undid a merge: references follow.

On `alumni_merged` the absorbed alumnus's registrations become the survivor's, except for
an event the survivor is registered for already (one registration per alumnus and event:
the absorbed one stays, and goes back with it), and each moved registration is recorded
under the merge. On `alumni_unmerged` exactly those move back; registrations made since
the merge stay with the survivor. The roster (the local copy of the records) takes the
records the events carry.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.events import roster
from services.events.models import MergedReference, Registration

REGISTRATIONS = "registrations"


def move_to_survivor(session: Session, data: dict[str, Any]) -> int:
    """Registrations of `absorbed_id` to `survivor_id`; returns how many moved."""
    survivor, absorbed = data["survivor_id"], data["absorbed_id"]
    taken = select(Registration.event_id).where(Registration.alumnus_id == survivor)
    moving = session.scalars(
        select(Registration).where(
            Registration.alumnus_id == absorbed, Registration.event_id.not_in(taken)
        )
    ).all()
    for registration in moving:
        registration.alumnus_id = survivor
        session.add(
            MergedReference(
                merge_id=data["merge_id"], table_name=REGISTRATIONS, row_id=registration.id
            )
        )
    roster.upsert_roster_entry(session, data["survivor"])
    session.flush()
    return len(moving)


def move_back(session: Session, data: dict[str, Any]) -> int:
    """The registrations moved for `merge_id` back to `absorbed_id`; returns how many."""
    moved = session.scalars(
        select(MergedReference.row_id).where(
            MergedReference.merge_id == data["merge_id"],
            MergedReference.table_name == REGISTRATIONS,
        )
    ).all()
    if moved:
        session.execute(
            update(Registration)
            .where(Registration.id.in_(moved), Registration.alumnus_id == data["survivor_id"])
            .values(alumnus_id=data["absorbed_id"])
        )
        session.execute(
            MergedReference.__table__.delete().where(MergedReference.merge_id == data["merge_id"])
        )
    roster.upsert_roster_entry(session, data["survivor"])
    roster.upsert_roster_entry(session, data["absorbed"])
    session.flush()
    return len(moved)
