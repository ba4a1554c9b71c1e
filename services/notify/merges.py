"""The registry merged two records of one person, or undid a merge: the directory follows.

On `alumni_merged`:
- the survivor's contact takes the record the event carries and the absorbed contact leaves
  the directory, so a newsletter reaches the person once;
- the absorbed record's messages, in-app inbox and seats held become the survivor's, each
  moved row recorded under the merge (services/common/merged_references.py);
- a consent the absorbed record withdrew is withdrawn for the survivor too: the person said
  no once, and a merge must not make that a yes.

On `alumni_unmerged` the moved rows go back and both contacts take the records the event
carries. A withdrawal made at the merge stays (**Decision**: consent is never given back
on the person's behalf; they may give it again on their preferences page).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.common import merged_references
from services.common.merged_references import Reference
from services.notify.consent import set_consent
from services.notify.directory import upsert_contact
from services.notify.models import (
    Attendance,
    Consent,
    Contact,
    ContactGraduation,
    InboxItem,
    MergedReference,
    Message,
)

MERGE_SOURCE = "registry_merge"

PERSON_REFERENCES = [
    Reference(Message, "alumnus_id"),
    Reference(Attendance, "alumnus_id", key="registration_id"),
    Reference(InboxItem, "audience", stored_as=lambda alumnus_id: f"alumnus:{alumnus_id}"),
]


def move_to_survivor(session: Session, data: dict[str, Any], now: datetime) -> int:
    """The absorbed alumnus's references to `survivor_id`; returns how many rows moved."""
    survivor, absorbed = data["survivor_id"], data["absorbed_id"]
    moved = merged_references.move_to_survivor(session, MergedReference, PERSON_REFERENCES, data)
    withdrawn = session.scalars(
        select(Consent).where(Consent.alumnus_id == absorbed, Consent.granted.is_(False))
    ).all()
    for consent in withdrawn:
        set_consent(session, survivor, consent.channel, consent.purpose, False, MERGE_SOURCE, now)
    upsert_contact(session, data["survivor"])
    session.execute(delete(ContactGraduation).where(ContactGraduation.alumnus_id == absorbed))
    session.execute(delete(Contact).where(Contact.alumnus_id == absorbed))
    session.flush()
    return moved


def move_back(session: Session, data: dict[str, Any]) -> int:
    """The rows moved for `merge_id` back to `absorbed_id`; returns how many."""
    moved = merged_references.move_back(session, MergedReference, PERSON_REFERENCES, data)
    upsert_contact(session, data["survivor"])
    upsert_contact(session, data["absorbed"])
    return moved
