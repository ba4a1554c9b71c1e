"""The notify service's copy of an event, for its reminders (services/notify/triggers.py
`remember_event`): the latest title, venue and time, cancelled for good once cancelled,
and one row however many instances write it at once."""

from __future__ import annotations

import eventlet
import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from services.common.db import make_engine
from services.notify import triggers
from services.notify.clock import as_utc
from services.notify.models import EventCopy


@pytest.fixture
def factory(databases):
    engine = make_engine(databases.migrated("notify"), pool_size=2)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


def event(title: str = "校友大讲堂", starts_at: str = "2026-03-03T10:00:00+08:00") -> dict:
    return {"id": "ev-1", "title": title, "venue": "大礼堂", "starts_at": starts_at}


def copies(factory) -> list[tuple]:
    with factory() as session:
        return [
            (c.title, as_utc(c.starts_at).isoformat(), c.cancelled)
            for c in session.scalars(select(EventCopy))
        ]


def test_the_copy_follows_the_event_and_stays_cancelled(factory):
    with factory() as session:
        triggers.remember_event(session, event())
        triggers.remember_event(session, event("校友大讲堂（改期）", "2026-03-04T10:00:00+08:00"))
        session.commit()
    assert copies(factory) == [("校友大讲堂（改期）", "2026-03-04T02:00:00+00:00", False)]
    with factory() as session:
        triggers.remember_event(session, event(), cancelled=True)
        triggers.remember_event(session, event("又一次改名"))  # a late sign-up's event
        session.commit()
    assert copies(factory) == [("又一次改名", "2026-03-03T02:00:00+00:00", True)]


def test_two_instances_remembering_a_new_event_at_once_both_commit(factory, backend):
    """The second insert waits for the first's transaction (PostgreSQL's unique index) and
    then updates the row: no unique-key error, one copy, the later write's values."""
    first = factory()
    triggers.remember_event(first, event("第一份"))
    first.flush()
    with factory() as second:
        if backend == "postgres":
            racing = eventlet.spawn(triggers.remember_event, second, event("第二份"))
            eventlet.sleep(0.2)
            assert not racing.dead  # waiting for the first's row
            first.commit()
            racing.wait()
        else:
            first.commit()  # SQLite has one writer at a time: the second comes after
            triggers.remember_event(second, event("第二份"))
        second.commit()
    first.close()
    assert copies(factory) == [("第二份", "2026-03-03T02:00:00+00:00", False)]
