"""The sign-up's one-statement seat decision (services/events/registrations.py): the
event's `waitlist_length` counter stays equal to the waitlist, and a sign-up that loses
a race to the same alumnus's simultaneous sign-up gives back the registration that won,
taking neither a seat nor a place. On SQLite, through the service's own migrations."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from services.common.contracts import check_event
from services.events import events, registrations
from services.events.models import Event, OutboxMessage, Registration
from tests.unit.test_events_domain import NOW, outbox, published, sign_up


def counters(run, event_id: str) -> tuple[int, int, int, int]:
    """(seats_taken, waitlist_length) as stored, and as the registrations say."""

    def read(session):
        event = session.get(Event, event_id)
        waiting = session.scalar(
            select(func.count()).where(
                Registration.event_id == event_id, Registration.status == "waitlisted"
            )
        )
        seats = session.scalar(
            select(func.coalesce(func.sum(Registration.guests + 1), 0)).where(
                Registration.event_id == event_id, Registration.status == "confirmed"
            )
        )
        return event.seats_taken, seats, event.waitlist_length, waiting

    return run(read)


def test_the_waitlist_counter_follows_sign_ups_cancellations_and_promotions(run):
    event_id = published(run, capacity=3)
    made = [sign_up(run, event_id, guests=i % 2) for i in range(10)]
    taken, seats, length, waiting = counters(run, event_id)
    assert (taken, length) == (seats, waiting)
    for victim in made[::3]:
        run(registrations.cancel_registration, event_id, victim["id"])
        taken, seats, length, waiting = counters(run, event_id)
        assert (taken, length) == (seats, waiting)
    run(events.update_event, event_id, {"capacity": 6})
    taken, seats, length, waiting = counters(run, event_id)
    assert (taken, length) == (seats, waiting)
    again = sign_up(run, event_id)
    if again["status"] == "waitlisted":
        assert again["position"] == waiting + 1
    for event in outbox(run):
        assert check_event(event) == event


def test_a_sign_up_that_loses_the_race_answers_with_the_winner(run, monkeypatch):
    event_id = published(run, capacity=5)
    alumnus_id = str(uuid.uuid4())
    decide = registrations._decide
    winners = []

    def competitor_first(connection, *args):
        # The same alumnus's other sign-up commits between this one's lookup and its
        # seat decision.
        if not winners:
            winners.append(None)
            winners[0] = sign_up(run, event_id, alumnus_id=alumnus_id)
        return decide(connection, *args)

    monkeypatch.setattr(registrations, "_decide", competitor_first)
    answer = sign_up(run, event_id, alumnus_id=alumnus_id)

    assert answer == winners[0]
    taken, seats, length, waiting = counters(run, event_id)
    assert (taken, seats, length, waiting) == (1, 1, 0, 0)
    assert [e["event_type"] for e in outbox(run)] == ["event_published", "registration_confirmed"]


def test_a_closed_or_unknown_event_refuses_without_taking_anything(run):
    event_id = published(run, capacity=1)
    run(events.close_event, event_id)
    for unknown_or_closed in (event_id, str(uuid.uuid4())):
        try:
            sign_up(run, unknown_or_closed)
        except Exception as error:  # Conflict for the closed one, NotFound for the other
            assert getattr(error, "reason", None) in ("event_not_open", None), error
        else:
            raise AssertionError("signed up for a closed or unknown event")
    assert counters(run, event_id) == (0, 0, 0, 0)
    assert run(lambda s: s.scalar(select(func.count()).select_from(OutboxMessage))) == 1
    assert NOW  # the window is open at NOW: only the status refused


def test_without_returning_the_decision_reads_the_row_back(run, monkeypatch):
    """SQLite before 3.35 has no RETURNING: the UPDATE, then a SELECT under its lock."""
    monkeypatch.setattr(run.session_factory.kw["bind"].dialect, "update_returning", False)
    event_id = published(run, capacity=2)
    made = [sign_up(run, event_id) for _ in range(4)]

    assert [(r["status"], r["position"]) for r in made] == [
        ("confirmed", None),
        ("confirmed", None),
        ("waitlisted", 1),
        ("waitlisted", 2),
    ]
    assert counters(run, event_id) == (2, 2, 2, 2)
    for event in outbox(run):
        assert check_event(event) == event
