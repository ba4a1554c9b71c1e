"""The registry merged two records of one person, or undid a merge: references follow.

On `alumni_merged` the absorbed alumnus's registrations become the survivor's, except for
an event the survivor is registered for already (one registration per alumnus and event:
the absorbed one stays, and goes back with it), and each moved registration is recorded
under the merge (services/common/merged_references.py). On `alumni_unmerged` exactly those
move back; registrations made since the merge stay with the survivor. The roster (the local
copy of the records) takes the records the events carry.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common import merged_references
from services.common.merged_references import Reference
from services.events import roster
from services.events.models import MergedReference, Registration

REGISTRATIONS = Reference(
    Registration,
    "alumnus_id",
    name="registrations",
    keep_with_absorbed=lambda survivor: Registration.event_id.in_(
        select(Registration.event_id).where(Registration.alumnus_id == survivor)
    ),
)


def move_to_survivor(session: Session, data: dict[str, Any]) -> int:
    """Registrations of `absorbed_id` to `survivor_id`; returns how many moved."""
    moved = merged_references.move_to_survivor(session, MergedReference, [REGISTRATIONS], data)
    roster.upsert_roster_entry(session, data["survivor"])
    session.flush()
    return moved


def move_back(session: Session, data: dict[str, Any]) -> int:
    """The registrations moved for `merge_id` back to `absorbed_id`; returns how many."""
    moved = merged_references.move_back(session, MergedReference, [REGISTRATIONS], data)
    roster.upsert_roster_entry(session, data["survivor"])
    roster.upsert_roster_entry(session, data["absorbed"])
    session.flush()
    return moved
