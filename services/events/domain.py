"""The events service's domain logic: plain functions over a SQLAlchemy session.

Inputs arrive already shaped by the contract schemas (services/common/contracts/
events.py); these functions enforce what needs the database (schedules,
status transitions, seats, the waitlist) and record events in the outbox
within the caller's transaction.

Seats are counted under a per-event lock. Every transaction that changes an
event's seats or waitlist (sign-up, cancellation, capacity change) starts by
locking the event's row (`lock_event`), so such transactions run one at a time
per event, across threads, processes and service instances alike, and each
sees everything the previous one committed. Events do not block each other.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import secrets
from datetime import UTC, datetime
from typing import Any

import segno
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common.contracts.base import iso_utc
from services.common.contracts.events import events as event_contracts
from services.common.contracts.events import registrations as registration_contracts
from services.common.contracts.events import reports as report_contracts
from services.common.errors import Conflict, NotFound, ValidationFailed
from services.events.models import (
    ActivityReport,
    Event,
    LectureSeries,
    OutboxMessage,
    Registration,
    RosterEntry,
)

DRAFT, PUBLISHED, CLOSED, FINISHED, CANCELLED = (
    "draft",
    "published",
    "closed",
    "finished",
    "cancelled",
)
CONFIRMED, WAITLISTED = "confirmed", "waitlisted"

# Read after "活动…": 活动尚未发布，不接受报名。
STATUS_NAMES = {
    DRAFT: "尚未发布",
    PUBLISHED: "已发布",
    CLOSED: "报名已截止",
    FINISHED: "已结束",
    CANCELLED: "已取消",
}
# action: (statuses it may start from, status it leads to, what it is called)
TRANSITIONS: dict[str, tuple[frozenset[str], str, str]] = {
    "publish": (frozenset({DRAFT}), PUBLISHED, "发布"),
    "close": (frozenset({PUBLISHED}), CLOSED, "截止报名"),
    "finish": (frozenset({PUBLISHED, CLOSED}), FINISHED, "标记为已结束"),
    "cancel": (frozenset({DRAFT, PUBLISHED, CLOSED}), CANCELLED, "取消"),
}
EDITABLE_STATUSES = frozenset({DRAFT, PUBLISHED, CLOSED})
# Registrations change (cancel, check in) only while the event is on.
LIVE_STATUSES = frozenset({PUBLISHED, CLOSED})
EVENT_FIELDS = (
    "kind",
    "title",
    "description",
    "organiser_type",
    "organiser_id",
    "venue",
    "starts_at",
    "ends_at",
    "capacity",
    "registration_opens_at",
    "registration_closes_at",
    "series_id",
    "speaker_alumnus_id",
)
TIME_FIELDS = ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at")
ID_FIELDS = ("organiser_id", "series_id", "speaker_alumnus_id")
CHECKIN_TOKEN_BYTES = 24
QR_CONTENT_TYPE = "image/png"


# ---- shapes on the wire ----------------------------------------------------


def as_utc(moment: datetime) -> datetime:
    """An aware UTC datetime; SQLite hands back naive datetimes that were stored as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


EVENT = event_contracts.Event()
SERIES = event_contracts.LectureSeries()
EVENT_CANCELLED = event_contracts.EventCancelledData()
REGISTRATION = registration_contracts.Registration()
CHECK_IN_RESULT = registration_contracts.CheckInResult()
REGISTRATION_EVENT = registration_contracts.RegistrationEventData()
REGISTRATION_PROMOTED = registration_contracts.RegistrationPromotedData()
REGISTRATION_CANCELLED = registration_contracts.RegistrationCancelledData()
CHECKIN_RECORDED = registration_contracts.CheckinRecordedData()
REPORT = report_contracts.ActivityReport()
ACTIVITY_REPORTED = report_contracts.ActivityReportedData()


# ---- events ----------------------------------------------------------------


def create_event(session: Session, data: dict[str, Any]) -> dict[str, Any]:
    """A new event, in draft until published."""
    values = _normalised(data)
    _check_event(session, values)
    event = Event(status=DRAFT, seats_taken=0, **values)
    session.add(event)
    session.flush()
    return EVENT.dump(event)


def update_event(session: Session, event_id: str, patch: dict[str, Any]) -> dict[str, Any]:
    """Apply a partial update; a larger capacity promotes from the waitlist at once."""
    event = lock_event(session, event_id)
    if event.status not in EDITABLE_STATUSES:
        raise Conflict(f"活动{STATUS_NAMES[event.status]}，不能再修改。", {"status": event.status})
    values = {**{field: getattr(event, field) for field in EVENT_FIELDS}, **_normalised(patch)}
    _check_event(session, values)
    if values["capacity"] < event.seats_taken:
        raise ValidationFailed(
            "活动容量不能少于已确认的座位数。",
            {"fields": {"capacity": [f"已有 {event.seats_taken} 个座位被确认。"]}},
        )
    for field, value in values.items():
        setattr(event, field, value)
    session.flush()
    if event.status in LIVE_STATUSES:
        _fill_free_seats(session, event)
    return EVENT.dump(event)


def get_event(session: Session, event_id: str) -> dict[str, Any]:
    return EVENT.dump(_event(session, event_id))


def list_events(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    """Filter and page events by start time; `next_cursor` is opaque to clients.

    `drafts` (contract `EventListQuery`) hides drafts: `none`, or all but those
    of the department `drafts_department_id` (`department`).
    """
    limit = params.get("limit", 20)
    query = select(Event).order_by(Event.starts_at, Event.id).limit(limit + 1)
    for field in ("kind", "status", "organiser_type"):
        if params.get(field):
            query = query.where(getattr(Event, field) == params[field])
    for field in ("organiser_id", "series_id"):
        if params.get(field):
            query = query.where(getattr(Event, field) == str(params[field]))
    if params.get("drafts") == "none":
        query = query.where(Event.status != DRAFT)
    elif params.get("drafts") == "department":
        query = query.where(
            or_(
                Event.status != DRAFT,
                and_(
                    Event.organiser_type == "department",
                    Event.organiser_id == str(params["drafts_department_id"]),
                ),
            )
        )
    if params.get("starts_after"):
        query = query.where(Event.starts_at >= as_utc(params["starts_after"]))
    if params.get("starts_before"):
        query = query.where(Event.starts_at < as_utc(params["starts_before"]))
    if params.get("cursor"):
        starts_at, last_id = decode_time_cursor(params["cursor"])
        query = query.where(
            or_(Event.starts_at > starts_at, and_(Event.starts_at == starts_at, Event.id > last_id))
        )
    rows = session.scalars(query).all()
    page, more = rows[:limit], len(rows) > limit
    return {
        "items": EVENT.dump(page, many=True),
        "next_cursor": encode_cursor([iso_utc(page[-1].starts_at), page[-1].id]) if more else None,
    }


def publish_event(session: Session, event_id: str, now: datetime) -> dict[str, Any]:
    """Draft → published: the event becomes public and takes sign-ups inside its window."""
    event = _transition(session, event_id, "publish")
    if as_utc(event.ends_at) <= now:
        raise Conflict("活动已经结束，不能发布。", {"ends_at": iso_utc(event.ends_at)})
    snapshot = EVENT.dump(event)
    OutboxMessage.record(session, "event_published", snapshot)
    return snapshot


def close_event(session: Session, event_id: str) -> dict[str, Any]:
    """Published → closed: no more sign-ups; cancellations and promotions go on."""
    return EVENT.dump(_transition(session, event_id, "close"))


def finish_event(session: Session, event_id: str, now: datetime) -> dict[str, Any]:
    event = _transition(session, event_id, "finish")
    if as_utc(event.starts_at) > now:
        raise Conflict("活动尚未开始，不能标记为已结束。", {"starts_at": iso_utc(event.starts_at)})
    return EVENT.dump(event)


def cancel_event(session: Session, event_id: str, reason: str | None = None) -> dict[str, Any]:
    """→ cancelled; registrations stay as they were, and the event names whom to tell."""
    event = _transition(session, event_id, "cancel")
    alumnus_ids = session.scalars(
        select(Registration.alumnus_id)
        .where(Registration.event_id == event.id, Registration.status != CANCELLED)
        .order_by(Registration.seq)
    ).all()
    OutboxMessage.record(
        session,
        "event_cancelled",
        EVENT_CANCELLED.dump({"event": event, "reason": reason, "alumnus_ids": alumnus_ids}),
    )
    return EVENT.dump(event)


def lock_event(session: Session, event_id: str) -> Event:
    """The event, locked until the transaction ends.

    PostgreSQL: `SELECT … FOR UPDATE` on the event's row; a second transaction
    locking the same event waits for the first to commit and then reads what
    it wrote. SQLite has no row locks and ignores FOR UPDATE, and pysqlite
    begins a transaction only at the first write, so a no-op UPDATE first takes
    the database's write lock before anything is read.
    """
    event_id = str(event_id)
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            update(Event)
            .where(Event.id == event_id)
            .values(seats_taken=Event.seats_taken)
            .execution_options(synchronize_session=False)
        )
    event = session.scalars(
        select(Event)
        .where(Event.id == event_id)
        .with_for_update()
        # An event loaded earlier in this session must not hide what others committed.
        .execution_options(populate_existing=True)
    ).first()
    if event is None:
        raise NotFound("活动不存在。", {"event_id": event_id})
    return event


def _transition(session: Session, event_id: str, action: str) -> Event:
    event = lock_event(session, event_id)
    allowed, target, name = TRANSITIONS[action]
    if event.status not in allowed:
        raise Conflict(
            f"活动当前状态为“{STATUS_NAMES[event.status]}”，不能{name}。",
            {"status": event.status, "action": action},
        )
    event.status = target
    session.flush()
    return event


def _event(session: Session, event_id: str) -> Event:
    event = session.get(Event, str(event_id))
    if event is None:
        raise NotFound("活动不存在。", {"event_id": str(event_id)})
    return event


def _normalised(data: dict[str, Any]) -> dict[str, Any]:
    """Contract values as stored: times in UTC (SQLite keeps no offset), ids as strings."""
    values = {field: data[field] for field in EVENT_FIELDS if field in data}
    for field in TIME_FIELDS:
        if field in values:
            values[field] = as_utc(values[field])
    for field in ID_FIELDS:
        if values.get(field) is not None:
            values[field] = str(values[field])
    return values


def _check_event(session: Session, values: dict[str, Any]) -> None:
    """The rules between fields; every broken one is reported at once, by field."""
    problems: dict[str, list[str]] = {}

    def broken(field: str, message: str) -> None:
        problems.setdefault(field, []).append(message)

    starts, ends = as_utc(values["starts_at"]), as_utc(values["ends_at"])
    opens = as_utc(values["registration_opens_at"])
    closes = as_utc(values["registration_closes_at"])
    if ends <= starts:
        broken("ends_at", "结束时间应晚于开始时间。")
    if closes <= opens:
        broken("registration_closes_at", "报名截止时间应晚于报名开始时间。")
    if closes > ends:
        broken("registration_closes_at", "报名截止时间不能晚于活动结束时间。")
    if values["organiser_type"] == "office" and values.get("organiser_id"):
        broken("organiser_id", "校友会办公室主办的活动不填主办方 ID。")
    if values["organiser_type"] != "office" and not values.get("organiser_id"):
        broken("organiser_id", "院系或校友会主办的活动须填写主办方 ID。")
    if values.get("series_id"):
        if values["kind"] != "lecture":
            broken("series_id", "只有讲座可以归入讲座系列。")
        elif session.get(LectureSeries, values["series_id"]) is None:
            broken("series_id", "讲座系列不存在。")
    if problems:
        raise ValidationFailed("活动信息校验失败。", {"fields": problems})


# ---- lecture series --------------------------------------------------------


def create_series(session: Session, data: dict[str, Any]) -> dict[str, Any]:
    _ensure_series_title_free(session, data["title"])
    series = LectureSeries(title=data["title"], description=data.get("description", ""))
    session.add(series)
    _flush_or_conflict(session, "讲座系列名称已存在。")
    return SERIES.dump(series)


def update_series(session: Session, series_id: str, patch: dict[str, Any]) -> dict[str, Any]:
    series = _series(session, series_id)
    if "title" in patch and patch["title"] != series.title:
        _ensure_series_title_free(session, patch["title"])
    for field in ("title", "description"):
        if field in patch:
            setattr(series, field, patch[field])
    _flush_or_conflict(session, "讲座系列名称已存在。")
    return SERIES.dump(series)


def get_series(session: Session, series_id: str) -> dict[str, Any]:
    return SERIES.dump(_series(session, series_id))


def list_series(session: Session) -> list[dict[str, Any]]:
    return SERIES.dump(
        session.scalars(select(LectureSeries).order_by(LectureSeries.created_at)), many=True
    )


def delete_series(session: Session, series_id: str) -> None:
    """Only an empty series goes; lectures keep their series otherwise."""
    series = _series(session, series_id)
    lectures = session.scalar(
        select(func.count()).select_from(Event).where(Event.series_id == series.id)
    )
    if lectures:
        raise Conflict("该系列下还有讲座，不能删除。", {"events": lectures})
    session.delete(series)
    session.flush()


def _series(session: Session, series_id: str) -> LectureSeries:
    series = session.get(LectureSeries, str(series_id))
    if series is None:
        raise NotFound("讲座系列不存在。", {"series_id": str(series_id)})
    return series


def _ensure_series_title_free(session: Session, title: str) -> None:
    if session.scalars(select(LectureSeries.id).where(LectureSeries.title == title)).first():
        raise Conflict("讲座系列名称已存在。", {"title": title})


# ---- registrations ---------------------------------------------------------


def sign_up(
    session: Session, event_id: str, alumnus_id: str, guests: int, now: datetime
) -> dict[str, Any]:
    """Register an alumnus (and guests): a seat if all fit, else the end of the waitlist.

    Signing up again gives back the live registration unchanged; after a
    cancellation the same row is used again, with a new check-in token.
    """
    event = lock_event(session, event_id)
    alumnus_id = str(alumnus_id)
    registration = session.scalars(
        select(Registration).where(
            Registration.event_id == event.id, Registration.alumnus_id == alumnus_id
        )
    ).first()
    if registration is not None and registration.status != CANCELLED:
        return REGISTRATION.dump(registration)
    _ensure_sign_up_open(event, now)
    seats = 1 + guests
    if seats > event.capacity:
        message = f"本人加同行 {guests} 人共 {seats} 人，活动容量 {event.capacity}。"
        raise ValidationFailed("报名人数超过活动容量。", {"fields": {"guests": [message]}})
    fits = event.seats_taken + seats <= event.capacity
    position = None if fits else _next_waitlist_position(session, event)
    if registration is None:
        registration = Registration(event_id=event.id, alumnus_id=alumnus_id)
    registration.guests = guests
    registration.status = CONFIRMED if fits else WAITLISTED
    registration.position = position
    registration.checkin_token = new_checkin_token()
    registration.checked_in_at = None
    if fits:
        event.seats_taken += seats
    session.add(registration)
    session.flush()
    OutboxMessage.record(
        session,
        "registration_confirmed" if fits else "registration_waitlisted",
        REGISTRATION_EVENT.dump({"registration": registration, "event": event}),
    )
    return REGISTRATION.dump(registration)


def cancel_registration(session: Session, event_id: str, registration_id: str) -> dict[str, Any]:
    """Cancel; freed seats go at once to the waitlist, in order. Cancelling again is a no-op."""
    event = lock_event(session, event_id)
    registration = _registration(session, registration_id, event_id=event.id)
    if registration.status == CANCELLED:
        return REGISTRATION.dump(registration)
    if event.status not in LIVE_STATUSES:
        raise Conflict(
            f"活动{STATUS_NAMES[event.status]}，不能再取消报名。", {"status": event.status}
        )
    if registration.checked_in_at is not None:
        raise Conflict("已签到的报名不能取消。", {"registration_id": registration.id})
    previous_status, previous_position = registration.status, registration.position
    if previous_status == CONFIRMED:
        event.seats_taken -= registration.seats
    registration.status = CANCELLED
    registration.position = None
    session.flush()
    OutboxMessage.record(
        session,
        "registration_cancelled",
        REGISTRATION_CANCELLED.dump(
            {"registration": registration, "event": event, "previous_status": previous_status}
        ),
    )
    vacated = (previous_position,) if previous_position is not None else ()
    _fill_free_seats(session, event, vacated)
    return REGISTRATION.dump(registration)


def get_registration(session: Session, registration_id: str) -> dict[str, Any]:
    return REGISTRATION.dump(_registration(session, registration_id))


def list_registrations(session: Session, event_id: str, params: dict[str, Any]) -> dict[str, Any]:
    event = _event(session, event_id)
    limit = params.get("limit", 50)
    query = (
        select(Registration)
        .where(Registration.event_id == event.id)
        .order_by(Registration.seq)
        .limit(limit + 1)
    )
    if params.get("status"):
        query = query.where(Registration.status == params["status"])
    if params.get("cursor"):
        query = query.where(Registration.seq > decode_seq_cursor(params["cursor"]))
    rows = session.scalars(query).all()
    page, more = rows[:limit], len(rows) > limit
    return {
        "items": REGISTRATION.dump(page, many=True),
        "next_cursor": encode_cursor([page[-1].seq]) if more else None,
    }


def alumnus_registrations(session: Session, alumnus_id: str) -> list[dict[str, Any]]:
    """An alumnus's own registrations, newest first."""
    return [
        REGISTRATION.dump(r)
        for r in session.scalars(
            select(Registration)
            .where(Registration.alumnus_id == str(alumnus_id))
            .order_by(Registration.seq.desc())
        )
    ]


def list_alumnus_registrations(
    session: Session, alumnus_id: str, params: dict[str, Any]
) -> dict[str, Any]:
    """An alumnus's registrations, a page at a time, in the order they were made."""
    limit = params.get("limit", 50)
    query = (
        select(Registration)
        .where(Registration.alumnus_id == str(alumnus_id))
        .order_by(Registration.seq)
        .limit(limit + 1)
    )
    if params.get("status"):
        query = query.where(Registration.status == params["status"])
    if params.get("cursor"):
        query = query.where(Registration.seq > decode_seq_cursor(params["cursor"]))
    rows = session.scalars(query).all()
    page, more = rows[:limit], len(rows) > limit
    return {
        "items": REGISTRATION.dump(page, many=True),
        "next_cursor": encode_cursor([page[-1].seq]) if more else None,
    }


def check_in(session: Session, event_id: str, token: str, now: datetime) -> dict[str, Any]:
    """Record arrival once; a second scan says it was already recorded (not an error)."""
    registration = session.scalars(
        select(Registration).where(Registration.checkin_token == token)
    ).first()
    if registration is None or registration.event_id != str(event_id):
        raise NotFound("签到码无效。", {"event_id": str(event_id)})
    event = _event(session, registration.event_id)
    if event.status not in LIVE_STATUSES:
        raise Conflict(f"活动{STATUS_NAMES[event.status]}，不能签到。", {"status": event.status})
    _ensure_confirmed(registration)
    # The conditional UPDATE decides atomically which of two simultaneous scans records it.
    recorded = (
        session.execute(
            update(Registration)
            .where(
                Registration.id == registration.id,
                Registration.status == CONFIRMED,
                Registration.checked_in_at.is_(None),
            )
            .values(checked_in_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        == 1
    )
    session.refresh(registration)
    if recorded:
        OutboxMessage.record(
            session,
            "checkin_recorded",
            CHECKIN_RECORDED.dump(registration),
        )
    else:
        _ensure_confirmed(registration)  # cancelled in the meantime
    return CHECK_IN_RESULT.dump({"registration": registration, "already_checked_in": not recorded})


def registration_qr_png(session: Session, registration_id: str) -> bytes:
    """A PNG QR code of the check-in token, for a registration that holds a seat."""
    registration = _registration(session, registration_id)
    _ensure_confirmed(registration)
    buffer = io.BytesIO()
    # make_qr, not make: a short token could otherwise become a Micro QR few phones read.
    segno.make_qr(registration.checkin_token, error="m").save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()


def attendance_stats(session: Session, event_id: str) -> dict[str, Any]:
    event = _event(session, event_id)
    counts = {CONFIRMED: 0, WAITLISTED: 0, CANCELLED: 0}
    guests = checked_in = 0
    rows = session.execute(
        select(
            Registration.status,
            func.count(),
            func.coalesce(func.sum(Registration.guests), 0),
            func.count(Registration.checked_in_at),
        )
        .where(Registration.event_id == event.id)
        .group_by(Registration.status)
    )
    for status, count, status_guests, status_checked_in in rows:
        counts[status] = count
        if status == CONFIRMED:
            guests, checked_in = int(status_guests), status_checked_in
    seats = counts[CONFIRMED] + guests
    return {
        "event_id": event.id,
        "capacity": event.capacity,
        "confirmed": counts[CONFIRMED],
        "waitlisted": counts[WAITLISTED],
        "cancelled": counts[CANCELLED],
        "checked_in": checked_in,
        "guests": guests,
        "seats": seats,
        "seats_left": max(event.capacity - seats, 0),
    }


def event_roster(session: Session, event_id: str) -> list[dict[str, Any]]:
    """Confirmed registrations with the names and contacts the local roster holds."""
    event = _event(session, event_id)
    rows = session.execute(
        select(Registration, RosterEntry)
        .outerjoin(RosterEntry, RosterEntry.alumnus_id == Registration.alumnus_id)
        .where(Registration.event_id == event.id, Registration.status == CONFIRMED)
        .order_by(Registration.seq)
    )
    return [
        {
            "registration": REGISTRATION.dump(registration),
            "name": entry.name if entry else None,
            "phone": entry.phone if entry else None,
            "email": entry.email if entry else None,
            "department_ids": list(entry.department_ids or []) if entry else [],
        }
        for registration, entry in rows
    ]


def new_checkin_token() -> str:
    return secrets.token_urlsafe(CHECKIN_TOKEN_BYTES)


def _ensure_sign_up_open(event: Event, now: datetime) -> None:
    if event.status != PUBLISHED:
        raise Conflict(
            f"活动{STATUS_NAMES[event.status]}，不接受报名。",
            {"reason": "event_not_open", "status": event.status},
        )
    opens, closes = as_utc(event.registration_opens_at), as_utc(event.registration_closes_at)
    if now < opens:
        raise Conflict(
            f"报名尚未开始，开始时间为 {iso_utc(opens)}。",
            {"reason": "registration_not_started", "registration_opens_at": iso_utc(opens)},
        )
    if now >= closes:
        raise Conflict(
            "报名已截止。",
            {"reason": "registration_closed", "registration_closes_at": iso_utc(closes)},
        )


def _ensure_confirmed(registration: Registration) -> None:
    if registration.status != CONFIRMED:
        raise Conflict(
            "只有已确认的报名可以签到。",
            {"registration_id": registration.id, "status": registration.status},
        )


def _next_waitlist_position(session: Session, event: Event) -> int:
    last = session.scalar(
        select(func.max(Registration.position)).where(
            Registration.event_id == event.id, Registration.status == WAITLISTED
        )
    )
    return (last or 0) + 1


def _fill_free_seats(
    session: Session, event: Event, vacated: tuple[int, ...] = ()
) -> list[Registration]:
    """Promote, in waitlist order, each registration whose party fits the free seats.

    A party too large for the seats now free keeps its place at the head of the
    line while smaller ones behind it are seated (seats are not left empty).
    Runs under the event lock, so each promotion happens exactly once.
    `vacated` are waitlist positions the caller has just emptied.
    """
    free = event.capacity - event.seats_taken
    candidates = (
        session.scalars(
            select(Registration)
            .where(
                Registration.event_id == event.id,
                Registration.status == WAITLISTED,
                Registration.guests + 1 <= free,
            )
            .order_by(Registration.position)
        ).all()
        if free > 0
        else []
    )
    promoted: list[tuple[Registration, int]] = []
    for registration in candidates:
        if event.seats_taken + registration.seats <= event.capacity:
            promoted.append((registration, registration.position))
            registration.status = CONFIRMED
            registration.position = None
            event.seats_taken += registration.seats
    session.flush()
    _close_waitlist_gaps(session, event, (*vacated, *(position for _, position in promoted)))
    for registration, previous in promoted:
        promotion = {"registration": registration, "event": event, "previous_position": previous}
        OutboxMessage.record(
            session, "registration_promoted", REGISTRATION_PROMOTED.dump(promotion)
        )
    return [registration for registration, _ in promoted]


def _close_waitlist_gaps(session: Session, event: Event, vacated: tuple[int, ...]) -> None:
    """Move everyone behind each vacated place one up, so positions stay 1, 2, 3, ….

    One set-based UPDATE per vacated place, highest first (so that each
    threshold still means the original position), instead of rewriting every
    row of a long waitlist.
    """
    for position in sorted(vacated, reverse=True):
        session.execute(
            update(Registration)
            .where(
                Registration.event_id == event.id,
                Registration.status == WAITLISTED,
                Registration.position > position,
            )
            .values(position=Registration.position - 1)
            # Registrations already loaded in this session get their new position too.
            .execution_options(synchronize_session="evaluate")
        )


def _registration(
    session: Session, registration_id: str, event_id: str | None = None
) -> Registration:
    registration = session.scalars(
        select(Registration).where(Registration.id == str(registration_id))
    ).first()
    if registration is None or (event_id is not None and registration.event_id != event_id):
        raise NotFound("报名记录不存在。", {"registration_id": str(registration_id)})
    return registration


# ---- activity reports ------------------------------------------------------


def file_activity_report(
    session: Session,
    event_id: str,
    data: dict[str, Any],
    actor: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """The organiser's report after the event (活动通报); one per event.

    Attendance and participants default to who checked in.
    """
    event = _event(session, event_id)
    if event.status in (DRAFT, CANCELLED):
        raise Conflict(
            f"活动{STATUS_NAMES[event.status]}，没有可报告的活动。", {"status": event.status}
        )
    if event.status != FINISHED and now < as_utc(event.ends_at):
        raise Conflict("活动结束后才能提交活动报告。", {"ends_at": iso_utc(event.ends_at)})
    if session.scalars(
        select(ActivityReport.id).where(ActivityReport.event_id == event.id)
    ).first():
        raise Conflict("该活动已提交过活动报告。", {"event_id": event.id})
    attended = session.scalars(
        select(Registration)
        .where(
            Registration.event_id == event.id,
            Registration.status == CONFIRMED,
            Registration.checked_in_at.is_not(None),
        )
        .order_by(Registration.checked_in_at)
    ).all()
    if "participants" in data:
        participants = [_participant(p) for p in data["participants"]]
    else:
        participants = _participants_from_roster(session, attended)
    report = ActivityReport(
        event_id=event.id,
        summary=data["summary"],
        attendance=data.get("attendance", sum(r.seats for r in attended)),
        participants=participants,
        filed_by=actor["username"],
        filed_at=now,
    )
    session.add(report)
    _flush_or_conflict(session, "该活动已提交过活动报告。")
    OutboxMessage.record(
        session, "activity_reported", ACTIVITY_REPORTED.dump({"report": report, "event": event})
    )
    return REPORT.dump(report)


def get_activity_report(session: Session, event_id: str) -> dict[str, Any]:
    event = _event(session, event_id)
    report = session.scalars(
        select(ActivityReport).where(ActivityReport.event_id == event.id)
    ).first()
    if report is None:
        raise NotFound("该活动尚未提交活动报告。", {"event_id": event.id})
    return REPORT.dump(report)


def list_activity_reports(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    """Reports newest first, as the office reads them; filter by organiser."""
    limit = params.get("limit", 20)
    query = (
        select(ActivityReport)
        .join(Event, Event.id == ActivityReport.event_id)
        .order_by(ActivityReport.filed_at.desc(), ActivityReport.id.desc())
        .limit(limit + 1)
    )
    if params.get("organiser_type"):
        query = query.where(Event.organiser_type == params["organiser_type"])
    if params.get("organiser_id"):
        query = query.where(Event.organiser_id == str(params["organiser_id"]))
    if params.get("cursor"):
        filed_at, last_id = decode_time_cursor(params["cursor"])
        query = query.where(
            or_(
                ActivityReport.filed_at < filed_at,
                and_(ActivityReport.filed_at == filed_at, ActivityReport.id < last_id),
            )
        )
    rows = session.scalars(query).all()
    page, more = rows[:limit], len(rows) > limit
    return {
        "items": REPORT.dump(page, many=True),
        "next_cursor": encode_cursor([iso_utc(page[-1].filed_at), page[-1].id]) if more else None,
    }


def _participant(data: dict[str, Any]) -> dict[str, Any]:
    alumnus_id = data.get("alumnus_id")
    return {
        "alumnus_id": str(alumnus_id) if alumnus_id else None,
        "name": data.get("name"),
        "role": data.get("role"),
    }


def _participants_from_roster(
    session: Session, registrations: list[Registration]
) -> list[dict[str, Any]]:
    ids = [r.alumnus_id for r in registrations]
    names = dict(
        session.execute(
            select(RosterEntry.alumnus_id, RosterEntry.name).where(RosterEntry.alumnus_id.in_(ids))
        ).all()
    )
    return [{"alumnus_id": i, "name": names.get(i), "role": None} for i in ids]


# ---- roster (local copy of alumni, fed by the registry's events) -----------


def apply_alumnus_registered(session: Session, data: dict[str, Any]) -> bool:
    return upsert_roster_entry(session, data)


def apply_alumnus_updated(session: Session, data: dict[str, Any]) -> bool:
    return upsert_roster_entry(session, data["alumnus"])


def upsert_roster_entry(session: Session, alumnus: dict[str, Any]) -> bool:
    """Keep the newest snapshot of an alumnus; False when this one is older than what we hold.

    The registry's events arrive on separate queues, so an `alumnus_updated`
    may be handled before the `alumnus_registered` it follows.
    """
    version = as_utc(datetime.fromisoformat(alumnus["updated_at"]))
    entry = session.get(RosterEntry, alumnus["id"])
    if entry is not None and as_utc(entry.updated_at) > version:
        return False
    if entry is None:
        entry = RosterEntry(alumnus_id=alumnus["id"])
        session.add(entry)
    entry.name = alumnus["name"]
    entry.phone = alumnus.get("phone")
    entry.email = alumnus.get("email")
    entry.department_ids = sorted({g["department_id"] for g in alumnus.get("graduations", [])})
    entry.updated_at = version
    session.flush()
    return True


def get_roster_entry(session: Session, alumnus_id: str) -> dict[str, Any]:
    entry = session.get(RosterEntry, str(alumnus_id))
    if entry is None:
        raise NotFound("花名册中没有该校友。", {"alumnus_id": str(alumnus_id)})
    return {
        "alumnus_id": entry.alumnus_id,
        "name": entry.name,
        "phone": entry.phone,
        "email": entry.email,
        "department_ids": list(entry.department_ids or []),
        "updated_at": iso_utc(entry.updated_at),
    }


# ---- helpers ----------------------------------------------------------------


def encode_cursor(position: list[Any]) -> str:
    raw = json.dumps(position, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_seq_cursor(cursor: str) -> int:
    """The last row's internal sequence number, from a cursor of `encode_cursor([seq])`."""
    position = _decode_cursor(cursor)
    if len(position) != 1 or type(position[0]) is not int:
        raise _bad_cursor()
    return position[0]


def decode_time_cursor(cursor: str) -> tuple[datetime, str]:
    """(time, id) of the last row, from a cursor of `encode_cursor([iso time, id])`."""
    position = _decode_cursor(cursor)
    if len(position) != 2 or not all(isinstance(part, str) for part in position):
        raise _bad_cursor()
    try:
        return as_utc(datetime.fromisoformat(position[0])), position[1]
    except ValueError:
        raise _bad_cursor() from None


def _decode_cursor(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise _bad_cursor() from None
    if not isinstance(position, list):
        raise _bad_cursor()
    return position


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed("分页游标无效。", {"fields": {"cursor": ["分页游标无效。"]}})


def _flush_or_conflict(session: Session, message: str) -> None:
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(message) from None
