"""An alumnus erased in the events service (services/events/person.py): the roster line
becomes a tombstone that a late, older snapshot cannot overwrite; their name and contacts
leave their own words; a second run changes nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from services.events import feedback, person, roster
from services.events.models import RosterEntry, Suggestion

ALUMNUS_ID = str(uuid.uuid4())
RECORD = {
    "id": ALUMNUS_ID,
    "name": "司马光",
    "phone": "13911112222",
    "email": "sima@example.com",
    "graduations": [{"department_id": str(uuid.uuid4())}],
    "updated_at": "2026-05-01T00:00:00+00:00",
}
ERASED_AT = datetime(2026, 6, 1, tzinfo=UTC)


def state(session) -> tuple:
    entry = session.get(RosterEntry, ALUMNUS_ID)
    suggestion = session.scalars(select(Suggestion)).one()
    return (entry.name, entry.phone, entry.email, suggestion.body)


def test_roster_tombstone_scrubbed_words_and_idempotence(run):
    run(roster.upsert_roster_entry, RECORD)
    body = {"alumnus_id": ALUMNUS_ID, "subject": "建议", "body": "我是司马光，电话13911112222。"}
    run(feedback.submit_suggestion, body, ERASED_AT)

    run(person.erase_alumnus, ALUMNUS_ID, ERASED_AT)
    once = run(state)
    run(person.erase_alumnus, ALUMNUS_ID, ERASED_AT)

    assert once == run(state) == ("已注销", None, None, "我是＊＊＊，电话＊＊＊。")
    # The registry's update of May, delivered after the erasure, changes nothing.
    assert run(roster.upsert_roster_entry, RECORD) is False
    assert run(state)[0] == "已注销"
