"""A chapter officer's view of events in the events service: published events, and the
drafts of their own chapter only (contract EventListQuery `drafts=chapter`)."""

from __future__ import annotations

import uuid

import pytest

from services.common.contracts import events as contracts
from services.common.contracts.base import load_or_raise
from services.common.errors import ValidationFailed
from services.events import events
from tests.unit.test_events_domain import NOW, event_input


def test_a_chapter_sees_its_own_drafts_only(run):
    ours, theirs = str(uuid.uuid4()), str(uuid.uuid4())
    our_draft = run(events.create_event, event_input(organiser_type="chapter", organiser_id=ours))[
        "id"
    ]
    run(events.create_event, event_input(organiser_type="chapter", organiser_id=theirs))
    run(events.create_event, event_input(organiser_type="department", organiser_id=ours))
    public = run(events.create_event, event_input())["id"]
    run(events.publish_event, public, NOW)

    def listed(**scope):
        query = load_or_raise(contracts.events.EventListQuery(), {"limit": 100, **scope})
        return {e["id"] for e in run(events.list_events, query)["items"]}

    assert listed(drafts="chapter", drafts_chapter_id=ours) == {our_draft, public}
    with pytest.raises(ValidationFailed) as caught:
        listed(drafts="chapter")
    assert list(caught.value.details["fields"]) == ["drafts_chapter_id"]
