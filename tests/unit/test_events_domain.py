"""The events service's domain on SQLite: schedules, transitions, seats, waitlist, check-in.

Each `run(...)` call is one transaction, as an RPC method's would be, on a
database brought up by the service's own migrations.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from unittest.mock import ANY

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from services.common.contracts import check_event
from services.common.contracts import events as contracts
from services.common.contracts.base import load_or_raise
from services.common.errors import AppError, Conflict, NotFound, ValidationFailed
from services.common.paging import encode_cursor
from services.events import events, registrations, reports, roster
from services.events.common import as_utc
from services.events.models import OutboxMessage, Registration, RosterEntry
from tests.support.events_data import listed

NOW = datetime(2030, 5, 1, 9, 0, tzinfo=UTC)
CJK = re.compile(r"[\u4e00-\u9fff]")
OFFICE = {"account_id": "a1", "username": "office1", "role": "office", "department_id": None}


def event_input(**overrides):
    """A valid event, as the contract loads it; times given in Beijing time (+08:00)."""
    raw = {
        "kind": "reunion",
        "title": "2000 级返校聚会",
        "description": "毕业三十周年",
        "organiser_type": "office",
        "venue": "图书馆报告厅",
        "starts_at": "2030-06-01T14:00:00+08:00",
        "ends_at": "2030-06-01T17:00:00+08:00",
        "capacity": 2,
        "registration_opens_at": "2030-04-01T00:00:00+08:00",
        "registration_closes_at": "2030-05-31T00:00:00+08:00",
        **overrides,
    }
    return load_or_raise(contracts.events.EventInput(), raw)


def published(run, **overrides) -> str:
    event = run(events.create_event, event_input(**overrides))
    run(events.publish_event, event["id"], NOW)
    return event["id"]


def sign_up(run, event_id: str, guests: int = 0, alumnus_id: str | None = None, now=NOW):
    return run(registrations.sign_up, event_id, alumnus_id or str(uuid.uuid4()), guests, now)


def outbox(run, event_type: str | None = None) -> list[dict]:
    def rows(session):
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if event_type:
            query = query.where(OutboxMessage.event_type == event_type)
        # As relayed: with the values its statement decided (a waitlist place) merged in.
        return [
            json.loads(OutboxMessage.event_text(row.payload, row.late_data))
            for row in session.scalars(query)
        ]

    return run(rows)


def refused(error: type[AppError], reason: str, run, function, *args) -> dict:
    """`function(*args)` in a transaction of its own, refused with `reason`; the details."""
    with pytest.raises(error) as caught:
        run(function, *args)
    assert caught.value.reason == reason, caught.value.details
    return caught.value.details


def registration(run, registration_id: str) -> dict:
    return run(registrations.get_registration, registration_id)


# ---- events: schedule, organiser, series ------------------------------------


def test_a_new_event_is_a_draft_with_times_in_utc(run):
    event = run(events.create_event, event_input())

    assert event["status"] == "draft"
    assert event["starts_at"] == "2030-06-01T06:00:00+00:00"
    assert event["seats_taken"] == 0
    assert run(events.get_event, event["id"]) == event
    assert outbox(run) == []  # a draft is nobody's business yet


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"ends_at": "2030-06-01T14:00:00+08:00"}, "ends_at"),
        ({"registration_closes_at": "2030-06-01T18:00:00+08:00"}, "registration_closes_at"),
        ({"registration_opens_at": "2030-05-31T00:00:00+08:00"}, "registration_closes_at"),
        ({"organiser_id": str(uuid.uuid4())}, "organiser_id"),
        ({"organiser_type": "department"}, "organiser_id"),
        ({"series_id": str(uuid.uuid4())}, "series_id"),
        ({"kind": "lecture", "series_id": str(uuid.uuid4())}, "series_id"),
    ],
)
def test_event_rules_are_reported_by_field(run, overrides, field):
    with pytest.raises(ValidationFailed) as caught:
        run(events.create_event, event_input(**overrides))

    assert caught.value.reason == "invalid_event"
    [problem] = caught.value.details["fields"].pop(field)
    assert CJK.search(problem)
    assert caught.value.details["fields"] == {}  # that rule alone is broken


def test_registration_may_close_exactly_when_the_event_ends(run):
    event = run(
        events.create_event, event_input(registration_closes_at="2030-06-01T17:00:00+08:00")
    )
    assert event["registration_closes_at"] == event["ends_at"]


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"colour": "red"}, "colour"),
        ({"kind": "party"}, "kind"),
        ({"capacity": -1}, "capacity"),
        ({"capacity": "10"}, "capacity"),
        ({"starts_at": "2030-06-01T14:00:00"}, "starts_at"),
        ({"starts_at": "next tuesday"}, "starts_at"),
        ({"title": ""}, "title"),
        ({"organiser_id": "dept-1"}, "organiser_id"),
    ],
)
def test_bad_event_input_is_refused_in_chinese(raw, field):
    with pytest.raises(ValidationFailed) as caught:
        event_input(**raw)

    [problem] = caught.value.details["fields"][field]
    assert list(caught.value.details["fields"]) == [field]
    assert CJK.search(problem), problem  # marshmallow's English messages are replaced


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"guests": 1}, "alumnus_id"),
        ({"alumnus_id": "someone"}, "alumnus_id"),
        ({"alumnus_id": str(uuid.uuid4()), "guests": -1}, "guests"),
        (
            {"alumnus_id": str(uuid.uuid4()), "guests": contracts.registrations.MAX_GUESTS + 1},
            "guests",
        ),
        ({"alumnus_id": str(uuid.uuid4()), "guests": 1.5}, "guests"),
    ],
)
def test_bad_sign_up_input_is_refused(raw, field):
    with pytest.raises(ValidationFailed) as caught:
        load_or_raise(contracts.registrations.SignUpInput(), raw)

    assert field in caught.value.details["fields"]


def test_a_lecture_belongs_to_an_existing_series(run):
    series = run(events.create_series, {"title": "校友大讲堂", "description": "每月一讲"})
    speaker = str(uuid.uuid4())

    lecture = run(
        events.create_event,
        event_input(kind="lecture", series_id=series["id"], speaker_alumnus_id=speaker),
    )

    assert (lecture["series_id"], lecture["speaker_alumnus_id"]) == (series["id"], speaker)
    found = listed(
        run, events.list_events, contracts.events.EventListQuery, series_id=series["id"], limit=10
    )
    assert [e["id"] for e in found["items"]] == [lecture["id"]]


def test_series_crud(run):
    series = run(events.create_series, {"title": "校友大讲堂"})
    refused(Conflict, "series_title_taken", run, events.create_series, {"title": "校友大讲堂"})

    renamed = run(events.update_series, series["id"], {"title": "校友大讲堂（第二季）"})
    assert renamed["title"] == "校友大讲堂（第二季）"
    assert run(events.list_series) == [renamed]

    run(events.create_event, event_input(kind="lecture", series_id=series["id"]))
    assert (
        refused(Conflict, "series_not_empty", run, events.delete_series, series["id"])["events"]
        == 1
    )

    empty = run(events.create_series, {"title": "创业讲坛"})
    run(events.delete_series, empty["id"])
    with pytest.raises(NotFound) as caught:
        run(events.get_series, empty["id"])
    assert caught.value.details == {"series_id": empty["id"]}


def test_list_events_pages_by_start_time(run):
    ids = [
        run(
            events.create_event,
            event_input(
                starts_at=f"2030-06-0{day}T14:00:00+08:00",
                ends_at=f"2030-06-0{day}T17:00:00+08:00",
            ),
        )["id"]
        for day in (3, 1, 2)
    ]

    def page_of(**params):
        query = load_or_raise(contracts.events.EventListQuery, {"limit": 2, **params})
        return run(events.list_events, query)

    first = page_of()
    second = page_of(cursor=first["next_cursor"])

    assert [e["id"] for e in first["items"] + second["items"]] == [ids[1], ids[2], ids[0]]
    assert second["next_cursor"] is None
    for forged in ("not-a-cursor", encode_cursor([7])):  # [7]: a registrations cursor
        with pytest.raises(ValidationFailed) as caught:
            page_of(cursor=forged)
        assert caught.value.reason == "bad_cursor"


def test_a_time_cursor_fits_the_shared_page_query():
    """The longest position a list by time gives: microseconds, an offset, a UUID."""
    position = [datetime(2030, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), str(uuid.uuid4())]

    query = load_or_raise(contracts.reports.ReportSearch, {"cursor": encode_cursor(position)})

    assert query["cursor"] == encode_cursor(position)


def test_list_events_hides_drafts_as_the_gateway_asks(run):
    ours, theirs = str(uuid.uuid4()), str(uuid.uuid4())
    office_draft = run(events.create_event, event_input())["id"]
    our_draft = run(
        events.create_event, event_input(organiser_type="department", organiser_id=ours)
    )["id"]
    their_draft = run(
        events.create_event, event_input(organiser_type="department", organiser_id=theirs)
    )["id"]
    public = published(run)

    def listed(**scope):
        query = load_or_raise(contracts.events.EventListQuery(), {"limit": 100, **scope})
        return {e["id"] for e in run(events.list_events, query)["items"]}

    assert listed() == {office_draft, our_draft, their_draft, public}
    assert listed(drafts="none") == {public}
    assert listed(drafts="department", drafts_department_id=ours) == {our_draft, public}
    with pytest.raises(ValidationFailed) as caught:
        listed(drafts="department")
    assert list(caught.value.details["fields"]) == ["drafts_department_id"]
    with pytest.raises(ValidationFailed) as caught:  # clients send EventSearch, without the scope
        load_or_raise(contracts.events.EventSearch(), {"drafts": "all"})
    assert list(caught.value.details["fields"]) == ["drafts"]


# ---- status transitions ----------------------------------------------------


@pytest.mark.parametrize(
    ("path", "action", "allowed"),
    [
        ([], "publish", True),
        ([], "close", False),
        ([], "finish", False),
        ([], "cancel", True),
        (["publish"], "publish", False),
        (["publish"], "close", True),
        (["publish"], "finish", True),
        (["publish"], "cancel", True),
        (["publish", "close"], "finish", True),
        (["publish", "close"], "cancel", True),
        (["publish", "close"], "publish", False),
        (["publish", "close", "finish"], "cancel", False),
        (["publish", "close", "finish"], "close", False),
        (["cancel"], "publish", False),
        (["cancel"], "cancel", False),
    ],
)
def test_only_the_allowed_transitions(run, path, action, allowed):
    event_id = run(events.create_event, event_input())["id"]
    after_start = NOW + timedelta(days=60)
    actions = {
        "publish": lambda s, i: events.publish_event(s, i, NOW),
        "close": events.close_event,
        "finish": lambda s, i: events.finish_event(s, i, after_start),
        "cancel": events.cancel_event,
    }
    for step in path:
        run(actions[step], event_id)

    if allowed:
        assert run(actions[action], event_id)["status"] == events.EVENT_STATUS.steps[action][1]
    else:
        before = run(events.get_event, event_id)["status"]
        details = refused(Conflict, "invalid_transition", run, actions[action], event_id)
        assert (details["status"], details["requested"]) == (before, action)
        assert details["allowed_steps"] == events.EVENT_STATUS.allowed_steps(before)
        assert run(events.get_event, event_id)["status"] == before


def test_the_event_table_knows_every_status_of_the_contract():
    assert events.EVENT_STATUS.statuses == contracts.events.EVENT_STATUSES


def test_publishing_announces_the_event(run):
    event_id = published(run)

    [announced] = outbox(run, "event_published")
    assert announced["data"]["id"] == event_id
    assert announced["data"]["status"] == "published"


def test_an_event_that_is_over_cannot_be_published_nor_finished_before_it_starts(run):
    event_id = run(events.create_event, event_input())["id"]
    a_year_on = NOW + timedelta(days=365)
    refused(Conflict, "event_over", run, events.publish_event, event_id, a_year_on)
    run(events.publish_event, event_id, NOW)
    refused(Conflict, "event_not_started", run, events.finish_event, event_id, NOW)


def test_cancelling_an_event_names_whom_to_tell(run):
    event_id = published(run, capacity=1)
    confirmed, waiting, gone = (sign_up(run, event_id) for _ in range(3))
    run(registrations.cancel_registration, event_id, gone["id"])

    run(events.cancel_event, event_id, "场地维修")

    [cancelled] = outbox(run, "event_cancelled")
    assert cancelled["data"]["reason"] == "场地维修"
    assert cancelled["data"]["alumnus_ids"] == [confirmed["alumnus_id"], waiting["alumnus_id"]]
    with pytest.raises(Conflict) as caught:
        sign_up(run, event_id)
    assert caught.value.reason == "event_not_open"


# ---- sign-up ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "reason"),
    [
        (datetime(2030, 3, 31, 15, 59, tzinfo=UTC), "registration_not_started"),
        (datetime(2030, 5, 30, 16, 0, tzinfo=UTC), "registration_closed"),
        (datetime(2030, 6, 2, tzinfo=UTC), "registration_closed"),
    ],
)
def test_sign_up_only_inside_the_registration_window(run, now, reason):
    event_id = published(run)

    with pytest.raises(Conflict) as caught:
        sign_up(run, event_id, now=now)

    assert caught.value.reason == reason
    assert run(registrations.attendance_stats, event_id)["confirmed"] == 0


def test_the_window_opens_on_the_dot(run):
    event_id = published(run)
    opens = datetime(2030, 3, 31, 16, 0, tzinfo=UTC)  # 2030-04-01T00:00+08:00

    assert sign_up(run, event_id, now=opens)["status"] == "confirmed"


@pytest.mark.parametrize("path", [[], ["publish", "close"]])
def test_sign_up_only_for_a_published_event(run, path):
    event_id = run(events.create_event, event_input())["id"]
    if path:
        run(events.publish_event, event_id, NOW)
        run(events.close_event, event_id)

    with pytest.raises(Conflict) as caught:
        sign_up(run, event_id)

    assert caught.value.details["reason"] == "event_not_open"


def test_sign_up_for_an_unknown_event_is_not_found(run):
    unknown = str(uuid.uuid4())
    with pytest.raises(NotFound) as caught:
        sign_up(run, unknown)
    assert caught.value.details == {"event_id": unknown}


def test_signing_up_twice_gives_back_the_first_registration(run):
    event_id = published(run)
    alumnus_id = str(uuid.uuid4())

    first = sign_up(run, event_id, guests=1, alumnus_id=alumnus_id)
    again = sign_up(run, event_id, guests=0, alumnus_id=alumnus_id)

    assert again == first
    assert run(registrations.attendance_stats, event_id)["seats"] == 2
    assert len(outbox(run, "registration_confirmed")) == 1


def test_a_confirmed_registration_has_an_unguessable_token(run):
    event_id = published(run, capacity=10)

    tokens = {sign_up(run, event_id)["checkin_token"] for _ in range(5)}

    assert len(tokens) == 5
    assert all(len(token) >= 32 for token in tokens)


def test_past_capacity_sign_ups_join_the_waitlist_in_order(run):
    event_id = published(run, capacity=2)

    results = [sign_up(run, event_id) for _ in range(5)]

    assert [r["status"] for r in results] == ["confirmed"] * 2 + ["waitlisted"] * 3
    assert [r["position"] for r in results] == [None, None, 1, 2, 3]
    waitlisted = outbox(run, "registration_waitlisted")
    assert [e["data"]["registration"]["position"] for e in waitlisted] == [1, 2, 3]
    assert all("checkin_token" not in e["data"]["registration"] for e in waitlisted)


def test_guests_take_seats(run):
    event_id = published(run, capacity=3)

    pair = sign_up(run, event_id, guests=1)
    another_pair = sign_up(run, event_id, guests=1)
    single = sign_up(run, event_id)

    assert (pair["status"], another_pair["status"], single["status"]) == (
        "confirmed",
        "waitlisted",
        "confirmed",
    )
    assert run(events.get_event, event_id)["seats_taken"] == 3


def test_a_party_larger_than_the_event_is_refused(run):
    event_id = published(run, capacity=2)

    with pytest.raises(ValidationFailed) as caught:
        sign_up(run, event_id, guests=2)

    assert caught.value.reason == "party_exceeds_capacity"
    assert list(caught.value.details["fields"]) == ["guests"]


def test_signing_up_again_after_cancelling_queues_afresh_with_a_new_token(run):
    event_id = published(run, capacity=1)
    alumnus_id = str(uuid.uuid4())
    first = sign_up(run, event_id, alumnus_id=alumnus_id)
    run(registrations.cancel_registration, event_id, first["id"])
    sign_up(run, event_id)  # takes the freed seat

    again = sign_up(run, event_id, alumnus_id=alumnus_id)

    assert again["id"] == first["id"]
    assert (again["status"], again["position"]) == ("waitlisted", 1)
    assert again["checkin_token"] != first["checkin_token"]


# ---- cancellation and promotion ----------------------------------------------


def test_cancellation_promotes_the_first_waitlisted_exactly_once(run):
    event_id = published(run, capacity=2)
    confirmed = [sign_up(run, event_id) for _ in range(2)]
    waiting = [sign_up(run, event_id) for _ in range(3)]

    cancelled = run(registrations.cancel_registration, event_id, confirmed[0]["id"])
    again = run(registrations.cancel_registration, event_id, confirmed[0]["id"])

    assert cancelled["status"] == again["status"] == "cancelled"
    assert registration(run, waiting[0]["id"])["status"] == "confirmed"
    assert registration(run, waiting[0]["id"])["position"] is None
    assert [registration(run, w["id"])["position"] for w in waiting[1:]] == [1, 2]
    [promoted] = outbox(run, "registration_promoted")
    assert promoted["data"]["registration"]["id"] == waiting[0]["id"]
    assert promoted["data"]["previous_position"] == 1
    assert len(outbox(run, "registration_cancelled")) == 1
    assert run(events.get_event, event_id)["seats_taken"] == 2


def test_freed_seats_go_to_the_first_waitlisted_party_that_fits(run):
    event_id = published(run, capacity=3)
    singles = [sign_up(run, event_id) for _ in range(3)]
    family = sign_up(run, event_id, guests=2)  # three seats
    next_single, last_single = sign_up(run, event_id), sign_up(run, event_id)

    run(registrations.cancel_registration, event_id, singles[0]["id"])

    assert registration(run, next_single["id"])["status"] == "confirmed"
    assert registration(run, family["id"])["position"] == 1  # keeps its place at the head
    assert registration(run, last_single["id"])["position"] == 2

    for single in (singles[1], singles[2], next_single):
        run(registrations.cancel_registration, event_id, single["id"])

    assert registration(run, last_single["id"])["status"] == "confirmed"
    assert registration(run, family["id"])["status"] == "waitlisted"
    run(registrations.cancel_registration, event_id, last_single["id"])
    assert registration(run, family["id"])["status"] == "confirmed"
    promoted = [e["data"]["registration"]["id"] for e in outbox(run, "registration_promoted")]
    assert promoted == [next_single["id"], last_single["id"], family["id"]]
    assert run(events.get_event, event_id)["seats_taken"] == 3


def test_cancelling_a_waitlisted_registration_closes_the_gap(run):
    event_id = published(run, capacity=1)
    sign_up(run, event_id)
    waiting = [sign_up(run, event_id) for _ in range(3)]

    run(registrations.cancel_registration, event_id, waiting[1]["id"])

    assert [registration(run, w["id"])["position"] for w in waiting] == [1, None, 2]
    assert outbox(run, "registration_promoted") == []
    [cancelled] = outbox(run, "registration_cancelled")
    assert cancelled["data"]["previous_status"] == "waitlisted"


def test_cancelling_needs_the_registrations_own_event(run):
    event_id, other_id = published(run), published(run)
    mine = sign_up(run, event_id)

    with pytest.raises(NotFound) as caught:
        run(registrations.cancel_registration, other_id, mine["id"])
    assert caught.value.details == {"registration_id": mine["id"]}


def test_a_larger_capacity_promotes_and_a_smaller_one_cannot_unseat(run):
    event_id = published(run, capacity=1)
    sign_up(run, event_id)
    waiting = sign_up(run, event_id)

    details = refused(
        ValidationFailed,
        "capacity_below_seats_taken",
        run,
        events.update_event,
        event_id,
        {"capacity": 0},
    )
    assert list(details["fields"]) == ["capacity"]

    run(events.update_event, event_id, {"capacity": 2})
    assert registration(run, waiting["id"])["status"] == "confirmed"


def test_several_promotions_at_once_keep_the_waitlist_without_gaps(run):
    event_id = published(run, capacity=3)
    sign_up(run, event_id, guests=2)
    family = sign_up(run, event_id, guests=2)  # three seats
    singles = [sign_up(run, event_id) for _ in range(3)]

    run(events.update_event, event_id, {"capacity": 5})

    assert [registration(run, r["id"])["status"] for r in singles] == [
        "confirmed",
        "confirmed",
        "waitlisted",
    ]
    assert registration(run, family["id"])["position"] == 1
    assert registration(run, singles[2]["id"])["position"] == 2
    promoted = outbox(run, "registration_promoted")
    assert [e["data"]["previous_position"] for e in promoted] == [2, 3]


def test_on_sqlite_the_event_lock_is_taken_before_anything_is_read(run):
    """SQLite ignores FOR UPDATE; lock_event must still keep a second writer out."""
    event_id = published(run)
    impatient = create_engine(run.url, connect_args={"timeout": 0.05})
    try:
        with run.session_factory() as holder, Session(impatient) as other:
            events.lock_event(holder, event_id)
            with pytest.raises(OperationalError, match="locked"):
                events.lock_event(other, event_id)
            holder.rollback()
            assert events.lock_event(other, event_id).id == event_id
            other.rollback()
    finally:
        impatient.dispose()


def test_a_finished_event_cannot_be_edited(run):
    event_id = published(run)
    run(events.finish_event, event_id, NOW + timedelta(days=60))

    refused(Conflict, "event_not_editable", run, events.update_event, event_id, {"title": "改名"})


# ---- check-in, QR code, statistics ---------------------------------------------


def test_check_in_is_recorded_once(run):
    event_id = published(run)
    mine = sign_up(run, event_id)
    at_the_door = NOW + timedelta(days=31)

    first = run(registrations.check_in, event_id, mine["checkin_token"], at_the_door)
    second = run(
        registrations.check_in, event_id, mine["checkin_token"], at_the_door + timedelta(1)
    )

    assert first["already_checked_in"] is False
    assert second["already_checked_in"] is True
    assert first["registration"]["checked_in_at"] == second["registration"]["checked_in_at"]
    assert first["registration"]["checked_in_at"] == at_the_door.isoformat()
    assert len(outbox(run, "checkin_recorded")) == 1
    cancel = registrations.cancel_registration
    refused(Conflict, "already_checked_in", run, cancel, event_id, mine["id"])


def test_check_in_refuses_unknown_foreign_and_waitlisted_tokens(run):
    event_id, other_id = published(run, capacity=1), published(run)
    seated, waiting = sign_up(run, event_id), sign_up(run, event_id)

    check_in = registrations.check_in
    refused(NotFound, "unknown_checkin_token", run, check_in, event_id, "no-such-token", NOW)
    refused(
        NotFound, "unknown_checkin_token", run, check_in, other_id, seated["checkin_token"], NOW
    )
    token = waiting["checkin_token"]
    refused(Conflict, "registration_not_confirmed", run, check_in, event_id, token, NOW)


def test_a_confirmed_registration_has_a_qr_code(run):
    event_id = published(run, capacity=1)
    seated, waiting = sign_up(run, event_id), sign_up(run, event_id)

    png = run(registrations.registration_qr_png, seated["id"])

    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    qr = registrations.registration_qr_png
    refused(Conflict, "registration_not_confirmed", run, qr, waiting["id"])
    unknown = str(uuid.uuid4())
    with pytest.raises(NotFound) as caught:
        run(qr, unknown)
    assert caught.value.details == {"registration_id": unknown}


def test_attendance_statistics(run):
    event_id = published(run, capacity=5)
    a = sign_up(run, event_id, guests=2)
    sign_up(run, event_id)
    gone = sign_up(run, event_id)
    sign_up(run, event_id, guests=1)  # waitlisted: all 5 seats taken
    run(registrations.cancel_registration, event_id, gone["id"])  # frees 1, the pair still waits
    run(registrations.check_in, event_id, a["checkin_token"], NOW)

    assert run(registrations.attendance_stats, event_id) == {
        "event_id": event_id,
        "capacity": 5,
        "confirmed": 2,
        "waitlisted": 1,
        "cancelled": 1,
        "checked_in": 1,
        "guests": 2,
        "seats": 4,
        "seats_left": 1,
    }


def test_lists_of_registrations_page_and_filter(run):
    event_id = published(run, capacity=2)
    made = [sign_up(run, event_id) for _ in range(5)]

    first = listed(
        run,
        registrations.list_registrations,
        event_id,
        contracts.registrations.RegistrationSearch,
        limit=3,
    )
    rest = listed(
        run,
        registrations.list_registrations,
        event_id,
        contracts.registrations.RegistrationSearch,
        limit=3,
        cursor=first["next_cursor"],
    )
    waiting = listed(
        run,
        registrations.list_registrations,
        event_id,
        contracts.registrations.RegistrationSearch,
        status="waitlisted",
    )

    assert [r["id"] for r in first["items"] + rest["items"]] == [r["id"] for r in made]
    assert [r["position"] for r in waiting["items"]] == [1, 2, 3]
    alumnus_id = made[0]["alumnus_id"]
    other_event = published(run, capacity=5)
    second = sign_up(run, other_event, alumnus_id=alumnus_id)
    page = listed(
        run,
        registrations.list_alumnus_registrations,
        alumnus_id,
        contracts.registrations.RegistrationSearch,
        limit=1,
    )
    rest = listed(
        run,
        registrations.list_alumnus_registrations,
        alumnus_id,
        contracts.registrations.RegistrationSearch,
        cursor=page["next_cursor"],
    )
    assert [r["id"] for r in page["items"] + rest["items"]] == [made[0]["id"], second["id"]]
    assert rest["next_cursor"] is None
    only_waiting = listed(
        run,
        registrations.list_alumnus_registrations,
        made[4]["alumnus_id"],
        contracts.registrations.RegistrationSearch,
        status="waitlisted",
    )
    assert [r["id"] for r in only_waiting["items"]] == [made[4]["id"]]


# ---- activity reports --------------------------------------------------------


def test_the_organiser_reports_after_the_event(run):
    department = str(uuid.uuid4())
    event_id = published(run, organiser_type="department", organiser_id=department, capacity=5)
    came = sign_up(run, event_id, guests=1)
    sign_up(run, event_id)  # did not come
    run(roster.upsert_roster_entry, alumnus(came["alumnus_id"], "张三"))
    run(registrations.check_in, event_id, came["checkin_token"], NOW)
    report = {"summary": "座谈会顺利举行。"}

    refused(
        Conflict, "event_not_over", run, reports.file_activity_report, event_id, report, OFFICE, NOW
    )

    after = datetime(2030, 6, 1, 10, tzinfo=UTC)
    filed = run(reports.file_activity_report, event_id, report, OFFICE, after)

    assert filed["attendance"] == 2
    assert filed["participants"] == [
        {"alumnus_id": came["alumnus_id"], "name": "张三", "role": None}
    ]
    assert filed["filed_by"] == "office1"
    assert run(reports.get_activity_report, event_id) == filed
    refused(
        Conflict,
        "report_exists",
        run,
        reports.file_activity_report,
        event_id,
        report,
        OFFICE,
        after,
    )
    [reported] = outbox(run, "activity_reported")
    assert reported["data"]["event"]["organiser_id"] == department
    page = listed(
        run,
        reports.list_activity_reports,
        contracts.reports.ReportSearch,
        organiser_id=department,
        limit=5,
    )
    assert page["items"] == [filed]
    assert (
        listed(
            run,
            reports.list_activity_reports,
            contracts.reports.ReportSearch,
            organiser_type="chapter",
        )["items"]
        == []
    )


def test_a_report_may_name_its_own_attendance_and_participants(run):
    event_id = published(run)
    run(events.finish_event, event_id, datetime(2030, 6, 1, 7, tzinfo=UTC))
    data = load_or_raise(
        contracts.reports.ActivityReportInput(),
        {"summary": "讲座", "attendance": 120, "participants": [{"name": "李四", "role": "主讲"}]},
    )

    filed = run(reports.file_activity_report, event_id, data, OFFICE, NOW)

    assert filed["attendance"] == 120
    assert filed["participants"] == [{"alumnus_id": None, "name": "李四", "role": "主讲"}]


def test_a_participant_needs_a_name_or_an_id():
    with pytest.raises(ValidationFailed) as caught:
        load_or_raise(
            contracts.reports.ActivityReportInput(),
            {"summary": "x", "participants": [{"role": "嘉宾"}]},
        )
    assert caught.value.details["fields"] == {"participants": {0: {"name": [ANY]}}}


# ---- roster from the registry's events ----------------------------------------


def alumnus(alumnus_id: str, name: str, updated_at: str = "2020-01-01T00:00:00+00:00") -> dict:
    return {
        "id": alumnus_id,
        "name": name,
        "phone": "13800138000",
        "email": "a@example.com",
        "graduations": [{"department_id": "d2"}, {"department_id": "d1"}],
        "updated_at": updated_at,
    }


def test_the_roster_keeps_the_newest_snapshot_whatever_the_arrival_order(run):
    alumnus_id = str(uuid.uuid4())
    newer = alumnus(alumnus_id, "王五（新）", "2020-01-02T00:00:00+00:00")
    older = alumnus(alumnus_id, "王五", "2020-01-01T00:00:00+00:00")

    assert run(roster.upsert_roster_entry, newer) is True
    assert run(roster.upsert_roster_entry, older) is False

    entry = run(lambda session: session.get(RosterEntry, alumnus_id))
    assert (entry.name, entry.department_ids) == ("王五（新）", ["d1", "d2"])
    assert as_utc(entry.updated_at) == datetime(2020, 1, 2, tzinfo=UTC)


def test_a_snapshot_from_the_future_is_refused_and_a_later_real_change_still_applies(run):
    alumnus_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    run(
        roster.upsert_roster_entry,
        alumnus(alumnus_id, "王五", (now - timedelta(hours=1)).isoformat()),
    )
    forged = alumnus(alumnus_id, "冒名", (now + timedelta(days=3650)).isoformat())

    refused(ValidationFailed, "snapshot_from_the_future", run, roster.upsert_roster_entry, forged)
    real = alumnus(alumnus_id, "王五（改）", now.isoformat())
    assert run(roster.upsert_roster_entry, real) is True

    entry = run(lambda session: session.get(RosterEntry, alumnus_id))
    assert entry.name == "王五（改）"


def test_a_little_clock_skew_is_not_the_future(run):
    alumnus_id = str(uuid.uuid4())
    ahead = (datetime.now(UTC) + timedelta(seconds=30)).isoformat()
    assert run(roster.upsert_roster_entry, alumnus(alumnus_id, "赵六", ahead)) is True


# ---- every event written conforms to its contract ----------------------------


def test_every_outbox_event_conforms_to_its_contract(run):
    event_id = published(run, capacity=1)
    seated, waiting = sign_up(run, event_id), sign_up(run, event_id)
    run(registrations.cancel_registration, event_id, seated["id"])
    run(registrations.check_in, event_id, waiting["checkin_token"], NOW)
    run(events.finish_event, event_id, datetime(2030, 6, 1, 7, tzinfo=UTC))
    run(reports.file_activity_report, event_id, {"summary": "好"}, OFFICE, NOW)
    run(events.cancel_event, published(run))

    recorded = outbox(run)

    assert [e["event_type"] for e in recorded] == [
        "event_published",
        "registration_confirmed",
        "registration_waitlisted",
        "registration_cancelled",
        "registration_promoted",
        "checkin_recorded",
        "activity_reported",
        "event_published",
        "event_cancelled",
    ]
    for event in recorded:
        assert check_event(event) == event


def test_the_waitlist_has_no_gaps_after_many_changes(run):
    event_id = published(run, capacity=3)
    made = [sign_up(run, event_id, guests=i % 2) for i in range(12)]
    for victim in made[::3]:
        run(registrations.cancel_registration, event_id, victim["id"])

    def positions(session):
        return session.scalars(
            select(Registration.position)
            .where(Registration.event_id == event_id, Registration.status == "waitlisted")
            .order_by(Registration.position)
        ).all()

    def seats(session):
        return session.scalar(
            select(func.coalesce(func.sum(Registration.guests + 1), 0)).where(
                Registration.event_id == event_id, Registration.status == "confirmed"
            )
        )

    waiting = run(positions)
    assert waiting == list(range(1, len(waiting) + 1))
    assert run(seats) == run(events.get_event, event_id)["seats_taken"] <= 3
