"""Seating at once on PostgreSQL (services/events/registrations.py `_seat_at_once`): a new
alumnus who finds seats left is seated by one statement that the server commits on its
own, so the event's row is not locked while a round trip to the service is outstanding.
What it must keep: the seat decided atomically, the outbox event in the same commit and
carrying the event's brief as it was when the seat was taken, the same alumnus's race
answered with the winner, refusals unchanged, and the waitlist after the last seat. A
place on the waitlist is taken the same way (`_queue_in_one_statement`), its place
written into the outbox row's `late_data`; when that statement matches nothing, the
transaction of `_queue_at_once` decides."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from services.common.contracts import check_event
from services.common.db import make_engine
from services.common.errors import Conflict, NotFound, ValidationFailed
from services.common.migrate import upgrade
from services.events import events, registrations
from tests.conftest import DatabaseFactory
from tests.support.transactions import in_transaction, statements_sent
from tests.unit.test_events_domain import NOW, outbox, published, sign_up
from tests.unit.test_events_signup_counters import counters

pytestmark = pytest.mark.postgres


@pytest.fixture
def run(tmp_path_factory):
    """`fn(session, *args)` in a transaction of its own, on a fresh migrated PostgreSQL
    database (as tests/unit/conftest.py's `run` on SQLite)."""
    factory = DatabaseFactory("postgres", tmp_path_factory)
    url = factory.new("seat")
    upgrade("events", url)
    engine = make_engine(url, pool_size=2)
    sessions = sessionmaker(engine, expire_on_commit=False)

    def run_in_transaction(fn, *args, **kwargs):
        return in_transaction(sessions, fn, *args, **kwargs)

    run_in_transaction.session_factory = sessions
    run_in_transaction.engine = engine
    yield run_in_transaction
    engine.dispose()
    factory.drop_all()


def registrations_of(run, event_id: str) -> int:
    return run(
        lambda s: s.scalar(
            text("SELECT count(*) FROM registrations WHERE event_id = :e"), {"e": event_id}
        )
    )


def test_a_seat_is_committed_before_the_callers_transaction_ends(run):
    event_id = published(run, capacity=2)
    with run.session_factory() as session:
        answer = registrations.sign_up(session, event_id, str(uuid.uuid4()), 0, NOW)
        # The caller has not committed: another connection sees the seat already, so the
        # event's row lock was not held across a round trip to the caller.
        assert registrations_of(run, event_id) == 1
        assert counters(run, event_id) == (1, 1, 0, 0)
        session.rollback()  # and nothing of the sign-up hangs on the session
    assert answer["status"] == "confirmed" and answer["position"] is None
    (event,) = outbox(run, "registration_confirmed")
    assert check_event(event) == event
    assert event["data"]["registration"]["id"] == answer["id"]
    assert "checkin_token" not in event["data"]["registration"]


def test_seats_then_the_waitlist_in_order(run):
    event_id = published(run, capacity=3)
    made = [sign_up(run, event_id, guests=g) for g in (1, 1, 0, 0, 2)]
    assert [(r["status"], r["position"]) for r in made] == [
        ("confirmed", None),
        ("waitlisted", 1),  # two seats do not fit the one left
        ("confirmed", None),  # one does
        ("waitlisted", 2),
        ("waitlisted", 3),
    ]
    taken, seats, length, waiting = counters(run, event_id)
    assert (taken, seats, length, waiting) == (3, 3, 3, 3)
    assert [e["event_type"] for e in outbox(run)][1:] == [
        f"registration_{r['status']}" for r in made
    ]
    for event in outbox(run):
        assert check_event(event) == event


def test_the_outbox_event_carries_the_brief_of_when_the_seat_was_taken(run, monkeypatch):
    event_id = published(run, capacity=5)
    looks_open = registrations._looks_open
    renamed = []

    def renamed_meanwhile(seen, *args):
        # The office renames the event between the sign-up's read and its seat.
        if not renamed:
            renamed.append(run(events.update_event, event_id, {"title": "2000 级返校聚会（改期）"}))
        return looks_open(seen, *args)

    monkeypatch.setattr(registrations, "_looks_open", renamed_meanwhile)
    answer = sign_up(run, event_id)

    assert answer["status"] == "confirmed"
    (event,) = outbox(run, "registration_confirmed")
    assert event["data"]["event"]["title"] == "2000 级返校聚会（改期）"
    assert counters(run, event_id) == (1, 1, 0, 0)


def test_the_same_alumnus_at_the_same_moment_gets_the_winners_registration(run, monkeypatch):
    event_id = published(run, capacity=5)
    alumnus_id = str(uuid.uuid4())
    looks_open = registrations._looks_open
    winners = []

    def competitor_first(seen, *args):
        # The same alumnus's other sign-up commits between this one's read and its seat.
        if not winners:
            winners.append(None)
            winners[0] = sign_up(run, event_id, alumnus_id=alumnus_id)
        return looks_open(seen, *args)

    monkeypatch.setattr(registrations, "_looks_open", competitor_first)
    answer = sign_up(run, event_id, alumnus_id=alumnus_id)

    assert answer == winners[0]
    assert counters(run, event_id) == (1, 1, 0, 0)
    assert [e["event_type"] for e in outbox(run)] == ["event_published", "registration_confirmed"]


def test_refusals_and_signing_up_again_are_unchanged(run):
    event_id = published(run, capacity=1)
    first = sign_up(run, event_id)
    assert sign_up(run, event_id, alumnus_id=first["alumnus_id"]) == first
    with pytest.raises(ValidationFailed) as too_large:
        sign_up(run, event_id, guests=1)
    assert too_large.value.reason == "party_exceeds_capacity"
    run(registrations.cancel_registration, event_id, first["id"])
    again = sign_up(run, event_id, alumnus_id=first["alumnus_id"])
    assert (again["id"], again["status"]) == (first["id"], "confirmed")
    assert again["checkin_token"] != first["checkin_token"]
    run(events.close_event, event_id)
    with pytest.raises(Conflict) as closed:
        sign_up(run, event_id)
    assert closed.value.reason == "event_not_open"
    with pytest.raises(NotFound):
        sign_up(run, str(uuid.uuid4()))
    assert counters(run, event_id) == (1, 1, 0, 0)
    assert [e["event_type"] for e in outbox(run) if e["event_type"].startswith("registration")] == [
        "registration_confirmed",
        "registration_cancelled",
        "registration_confirmed",
    ]


def in_transaction_elsewhere(run) -> int:
    """The database's other sessions left inside a transaction (none should be)."""
    return run(
        lambda s: s.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
            )
        )
    )


def in_a_transaction_only(monkeypatch) -> None:
    """Every waitlisted sign-up decided by `_queue_at_once`'s transaction, as when the
    one-statement place matches nothing."""
    monkeypatch.setattr(registrations, "_queue_in_one_statement", lambda *args: None)


def test_a_failure_after_the_waitlist_decision_rolls_it_back(run, monkeypatch):
    """The waitlist's transaction is begun by hand on an autocommit connection: whatever
    fails inside it must not leave it open (with the event's row locked) in the pool. (The
    one-statement place builds its outbox row before it sends anything.)"""
    event_id = published(run, capacity=1)
    sign_up(run, event_id)
    in_a_transaction_only(monkeypatch)

    def broken(*args):
        raise RuntimeError("the outbox row could not be built")

    monkeypatch.setattr(registrations, "_outbox_row", broken)
    with pytest.raises(RuntimeError):
        sign_up(run, event_id)
    with pytest.raises(ValidationFailed):  # refused under the lock
        sign_up(run, event_id, guests=1)
    assert in_transaction_elsewhere(run) == 0
    assert counters(run, event_id) == (1, 1, 0, 0)
    monkeypatch.undo()
    assert sign_up(run, event_id)["position"] == 1


@pytest.mark.parametrize("one_statement", [True, False], ids=["one statement", "transaction"])
def test_the_same_alumnus_twice_on_the_waitlist_gets_the_winners_place(
    run, monkeypatch, one_statement
):
    event_id = published(run, capacity=1)
    sign_up(run, event_id)
    if not one_statement:
        in_a_transaction_only(monkeypatch)
    alumnus_id = str(uuid.uuid4())
    new_registration = registrations._new_registration
    winners = []

    def competitor_first(*args):
        # The same alumnus's other sign-up commits before this one's decision.
        if not winners:
            winners.append(None)
            winners[0] = sign_up(run, event_id, alumnus_id=alumnus_id)
        return new_registration(*args)

    monkeypatch.setattr(registrations, "_new_registration", competitor_first)
    answer = sign_up(run, event_id, alumnus_id=alumnus_id)

    assert answer == winners[0] and answer["position"] == 1
    assert counters(run, event_id) == (1, 1, 1, 1)
    assert in_transaction_elsewhere(run) == 0


class NeverFull(dict):
    """`registrations.FULL_LATELY` that never holds an event: every sign-up reads first."""

    def __setitem__(self, _key, _value) -> None:
        pass


def reads_before_deciding(run, fn):
    """`fn()`'s result, and how many of its statements were the read before the decision
    (`registrations._SEEN`)."""
    seen = str(registrations._SEEN.compile(dialect=run.engine.dialect))
    with statements_sent(run.engine) as sent:
        result = fn()
    return result, sent.count(seen)


def test_once_a_sign_up_ends_on_the_waitlist_the_next_decides_without_reading_first(run):
    event_id = published(run, capacity=1)
    sign_up(run, event_id)
    first, reads = reads_before_deciding(run, lambda: sign_up(run, event_id))
    assert (first["position"], reads) == (1, 1)
    second, reads = reads_before_deciding(run, lambda: sign_up(run, event_id))
    assert (second["status"], second["position"], reads) == ("waitlisted", 2, 0)
    assert counters(run, event_id) == (1, 1, 2, 2)
    assert in_transaction_elsewhere(run) == 0


def rush(run) -> tuple[list, tuple, list[str]]:
    """A rush on an event of 2 seats with every kind of sign-up: seats, the waitlist, a
    party that still fits, an alumnus signing up again, cancelled ones signing up again,
    seats freed, the event closed; each answer's (status, position) or refusal, the
    counters, and the outbox's event types."""
    event_id = published(run, capacity=2)
    answers = []

    def attempt(**kwargs):
        try:
            answer = sign_up(run, event_id, **kwargs)
        except (Conflict, ValidationFailed) as refusal:
            answers.append(refusal.reason)
            return None
        answers.append((answer["status"], answer["position"]))
        return answer

    first = attempt()
    party = attempt(guests=1)  # two seats do not fit the one left: the waitlist
    attempt()  # one does
    waiting = attempt()
    attempt(alumnus_id=party["alumnus_id"])  # again: the same registration
    attempt(guests=2)  # larger than the event
    run(registrations.cancel_registration, event_id, waiting["id"])
    attempt(alumnus_id=waiting["alumnus_id"])  # back, at the end of the waitlist
    run(registrations.cancel_registration, event_id, first["id"])  # a seat for the list
    attempt(alumnus_id=first["alumnus_id"])
    attempt()
    run(events.close_event, event_id)
    attempt()
    ours = [e for e in outbox(run) if e["data"].get("event", {}).get("id") == event_id]
    return answers, counters(run, event_id), [e["event_type"] for e in ours]


def test_a_rush_answers_the_same_whether_or_not_sign_ups_decide_without_reading(run, monkeypatch):
    hinted = rush(run)
    monkeypatch.setattr(registrations, "FULL_LATELY", NeverFull())
    read_first = rush(run)
    assert hinted == read_first
    assert "event_not_open" in hinted[0] and "party_exceeds_capacity" in hinted[0]
    assert len(hinted[2]) >= 8, hinted
    assert in_transaction_elsewhere(run) == 0


def brief_of(run, event_id: str):
    """The event's brief as a sign-up's read gives it (what `FULL_LATELY` keeps)."""
    return run(
        lambda s: (
            s.connection()
            .execute(registrations._SEEN, {"event_id": event_id, "alumnus_id": ""})
            .first()
        )
    )


def test_a_stale_hint_still_seats_a_party_that_fits(run):
    event_id = published(run, capacity=2)
    sign_up(run, event_id)
    registrations.FULL_LATELY[event_id] = brief_of(run, event_id)
    assert sign_up(run, event_id)["status"] == "confirmed"
    assert event_id not in registrations.FULL_LATELY
    assert counters(run, event_id) == (2, 2, 0, 0)


def test_a_place_on_the_waitlist_is_taken_by_one_statement_that_carries_it_to_the_event(run):
    event_id = published(run, capacity=1)
    sign_up(run, event_id)
    sign_up(run, event_id)  # waitlisted after the read: the hint is set
    queue = str(registrations._QUEUE_AT_ONCE.compile(dialect=run.engine.dialect))
    with statements_sent(run.engine) as sent:
        third = sign_up(run, event_id)
    assert (third["status"], third["position"]) == ("waitlisted", 2)
    assert sent == [queue]  # no read, no transaction: the lock is held inside the server
    events_sent = outbox(run, "registration_waitlisted")
    assert [e["data"]["registration"]["position"] for e in events_sent] == [1, 2]
    assert events_sent[1]["data"]["registration"]["id"] == third["id"]
    for event in events_sent:
        assert check_event(event) == event
    late = run(
        lambda s: s.scalars(text("SELECT late_data FROM outbox WHERE late_data IS NOT NULL")).all()
    )
    assert [json.loads(value) for value in late] == [
        {"registration": {"position": 1}},
        {"registration": {"position": 2}},
    ]
    assert counters(run, event_id) == (1, 1, 2, 2)


def test_the_waitlisted_event_carries_the_brief_of_when_the_place_was_taken(run):
    event_id = published(run, capacity=1)
    sign_up(run, event_id)
    sign_up(run, event_id)  # the hint holds the brief as this decision returned it
    run(events.update_event, event_id, {"title": "2000 级返校聚会（改期）"})
    answer = sign_up(run, event_id)
    assert (answer["status"], answer["position"]) == ("waitlisted", 2)
    last = outbox(run, "registration_waitlisted")[-1]
    assert last["data"]["event"]["title"] == "2000 级返校聚会（改期）"
    assert last["data"]["registration"]["position"] == 2
    assert registrations.FULL_LATELY[event_id].title == "2000 级返校聚会（改期）"
    assert counters(run, event_id) == (1, 1, 2, 2)
