"""Registrations: sign-up with capacity and the waitlist, cancellation, check-in and
its QR code, attendance, and an event's roster (names and contacts from the local copy).

Sign-up decides in one conditional UPDATE of the event's row (`sign_up`); cancellation
changes an event's seats and waitlist, so it starts by locking the event
(`events.lock_event`); see services/events/waitlist.py for what happens under it.
"""

from __future__ import annotations

import io
import secrets
from datetime import datetime
from typing import Any

import segno
from cachetools import TTLCache
from sqlalchemy import Text, and_, bindparam, cast, func, literal_column, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common.columns import new_id, utcnow
from services.common.contracts.base import iso_utc
from services.common.contracts.events import registrations as registration_contracts
from services.common.db import (
    BEGIN_FIRST,
    PREPARED,
    THEN_COMMIT,
    autocommit,
    roll_back_by_hand,
)
from services.common.errors import Conflict, NotFound, ValidationFailed
from services.events.common import as_utc, page_in_order
from services.events.events import LIVE_STATUSES, PUBLISHED, STATUS_NAMES, find_event, lock_event
from services.events.models import Event, OutboxMessage, Registration, RosterEntry
from services.events.waitlist import (
    CANCELLED,
    CONFIRMED,
    WAITLISTED,
    fill_free_seats,
)

CHECKIN_TOKEN_BYTES = 24
QR_CONTENT_TYPE = "image/png"

REGISTRATION = registration_contracts.Registration()
CHECK_IN_RESULT = registration_contracts.CheckInResult()
REGISTRATION_CANCELLED = registration_contracts.RegistrationCancelledData()
CHECKIN_RECORDED = registration_contracts.CheckinRecordedData()


def sign_up(
    session: Session, event_id: str, alumnus_id: str, guests: int, now: datetime
) -> dict[str, Any]:
    """Register an alumnus (and guests): a seat if all fit, else the end of the waitlist.

    Signing up again gives back the live registration unchanged; after a
    cancellation the same row is used again, with a new check-in token.

    The seat decision is one conditional UPDATE of the event's row (`_decide`), which
    takes the row's lock until the transaction ends; every sign-up for the event waits
    for it, so the time from that UPDATE to COMMIT is what limits one event's rate.
    On PostgreSQL, for a new alumnus: a seat is taken by a single statement that the
    server commits by itself (`_seat_at_once`), and a place on the waitlist likewise
    (`_queue_in_one_statement`), or, when that matched nothing, by the UPDATE, then one
    statement that writes the rows and commits (`_queue_at_once`): the lock waits for no
    round trip to this process, or for one. Everything that does not depend on the
    decision is done before it. A cancelled registration signed up again,
    and SQLite, take `_sign_up_in_transaction`. Core statements, not the ORM: this is
    the path of the anniversary rush (docs/performance/signups.md).

    So on PostgreSQL a new alumnus's sign-up commits on a connection of its own, not in
    `session`: it must be the only work of the caller's transaction (as in the `sign_up`
    RPC).

    While an event's sign-ups in this process end on its waitlist (`FULL_LATELY`), the
    read is skipped: `_queue` decides alone, with the event's brief as the last decision
    here returned it, as it does after the read, and the unique key finds an alumnus
    already registered.
    """
    event_id, alumnus_id = str(event_id), str(alumnus_id)
    engine = session.get_bind()
    if engine.dialect.name == "postgresql":
        with autocommit(engine) as connection:
            known = FULL_LATELY.get(event_id)
            if known is not None:
                answer = _queue(connection, known, alumnus_id, guests, now)
                if answer["status"] != CANCELLED:
                    return answer
            else:
                seen = connection.execute(
                    _SEEN, {"event_id": event_id, "alumnus_id": alumnus_id}
                ).first()
                if seen is not None and seen.registration_status is None:
                    if _looks_open(seen, 1 + guests, now):
                        answer = _seat_at_once(connection, seen, alumnus_id, guests, now)
                        if answer is not None:
                            return answer
                    return _queue(connection, seen, alumnus_id, guests, now)
                if seen is not None and seen.registration_status != CANCELLED:
                    return _registration_dict(_registration_seen(seen))
    return _sign_up_in_transaction(session, event_id, alumnus_id, guests, now)


FULL_LATELY_SECONDS = 1.0
FULL_LATELY: TTLCache[str, Any] = TTLCache(maxsize=256, ttl=FULL_LATELY_SECONDS)
"""The events whose last sign-up in this process, within FULL_LATELY_SECONDS, ended on the
waitlist, each with its brief as that decision returned it: during a rush, once the seats
are gone, nearly every sign-up does, and skipping the read before the decision saves it
a round trip and a statement (docs/performance/signups.md). Only a hint: the deciding
statements' conditions seat a party that fits, refuse a closed event and check the brief
whatever it says; a stale one costs the one-statement seat, or the one-statement place."""


def _queue(
    connection: Any, known: Any, alumnus_id: str, guests: int, now: datetime
) -> dict[str, Any]:
    """A new alumnus's sign-up for an event that looked full (`known`: its brief as read
    or last decided here): the place in one statement, else `_queue_at_once` decides;
    `FULL_LATELY` then notes how it ended."""
    answer = _queue_in_one_statement(connection, known, alumnus_id, guests, now)
    if answer is None:
        answer, decided = _queue_at_once(connection, known.id, alumnus_id, guests, now)
        known = decided or known
    if answer["status"] == WAITLISTED:
        FULL_LATELY[known.id] = known
    else:
        FULL_LATELY.pop(known.id, None)
    return answer


def _sign_up_in_transaction(
    session: Session, event_id: str, alumnus_id: str, guests: int, now: datetime
) -> dict[str, Any]:
    """`sign_up` in the session's transaction: the lookup of an earlier registration, the
    new row's id, token and times before the decision; after it, only the writes."""
    connection = session.connection()
    earlier = connection.execute(_EARLIER, {"event_id": event_id, "alumnus_id": alumnus_id}).first()
    if earlier is not None and earlier.status != CANCELLED:
        return _registration_dict(earlier._asdict())
    seats = 1 + guests
    registration = _new_registration(event_id, alumnus_id, guests)
    if earlier is not None:
        registration |= {"id": earlier.id, "created_at": earlier.created_at}
    event, position = _decide(connection, event_id, seats, now)
    registration["status"] = CONFIRMED if position is None else WAITLISTED
    registration["position"] = position
    answer = _registration_dict(registration)
    message = _outbox_row(answer, event)
    try:
        if earlier is not None:
            written = connection.execute(
                _REVIVE, {f"b_{k}": v for k, v in registration.items()} | {"b_seq": earlier.seq}
            ).rowcount
            if written:
                connection.execute(_OUTBOX.insert(), message)
        else:
            connection.execute(_REGISTRATIONS.insert(), registration)
            connection.execute(_OUTBOX.insert(), message)
            written = True
    except IntegrityError:
        written = False  # the same alumnus signed up at the same moment, and got there first
    if not written:
        # Undo the seat or place just taken and answer with the registration that won.
        session.rollback()
        return get_registration_of(session, event_id, alumnus_id)
    return answer


def _queue_in_one_statement(
    connection: Any, known: Any, alumnus_id: str, guests: int, now: datetime
) -> dict[str, Any] | None:
    """A new alumnus's place at the end of the waitlist of an event whose seats are gone,
    in one statement on an autocommit `connection` (`_QUEUE_AT_ONCE`) that the server
    commits by itself: the event's row is locked only inside the server. The outbox
    event, with `known`'s brief, is built and encrypted before the place is known; the
    statement writes the place into the row's `late_data` (services/common/outbox.py).
    None when the statement matched nothing: a seat is free, the event is closed, its
    brief changed since `known`, or the party does not fit it (`_queue_at_once` decides).
    """
    registration = _new_registration(known.id, alumnus_id, guests)
    registration |= {"status": WAITLISTED, "position": None}
    answer = _registration_dict(registration)
    message = _outbox_row(answer, known)
    params = (
        _deciding(known, guests, now)
        | {f"r_{name}": registration[name] for name in _SEATED_COLUMNS}
        | {f"o_{name}": message[name] for name in _OUTBOX_COLUMNS}
    )
    try:
        position = connection.execute(_QUEUE_AT_ONCE, params).scalar()
    except IntegrityError:
        return _winner(connection, known.id, alumnus_id)
    if position is None:
        return None
    answer["position"] = position
    return answer


def _queue_at_once(
    connection: Any, event_id: str, alumnus_id: str, guests: int, now: datetime
) -> tuple[dict[str, Any], Any]:
    """A new alumnus's sign-up when the event looked full (or a seat just went) and the
    place could not be taken in one statement, on an autocommit PostgreSQL `connection`,
    in a transaction begun by hand so that the last statement can carry the COMMIT
    (services/common/db.py `THEN_COMMIT`): the deciding UPDATE (`_decide`, the
    waitlist's first) sent with the BEGIN (`BEGIN_FIRST`), then one statement for the
    registration and its outbox row, with the COMMIT. The event's row is locked from the
    UPDATE to that COMMIT: one round trip and the building of the outbox row (its place
    comes from the UPDATE). With the answer, the event's row as decided (None when the
    same alumnus's other sign-up won)."""
    registration = _new_registration(event_id, alumnus_id, guests)
    try:
        event, position = _decide(
            connection, event_id, 1 + guests, now, looks_full=True, begins=True
        )
        registration["status"] = CONFIRMED if position is None else WAITLISTED
        registration["position"] = position
        answer = _registration_dict(registration)
        message = _outbox_row(answer, event)
        connection.execute(
            _ENTER,
            {f"r_{name}": registration[name] for name in _ENTERED_COLUMNS}
            | {f"o_{name}": message[name] for name in _OUTBOX_COLUMNS},
            execution_options={THEN_COMMIT: True},
        )
    except BaseException as error:
        roll_back_by_hand(connection)
        if not isinstance(error, IntegrityError):
            raise
        # The same alumnus signed up at the same moment, and got there first.
        earlier = connection.execute(_EARLIER, {"event_id": event_id, "alumnus_id": alumnus_id})
        return _registration_dict(earlier.one()._asdict()), None
    return answer, event


def _new_registration(event_id: str, alumnus_id: str, guests: int) -> dict[str, Any]:
    """A new registration's columns but its status and place: what needs no decision."""
    return {
        "id": new_id(),
        "event_id": event_id,
        "alumnus_id": alumnus_id,
        "guests": guests,
        "checkin_token": new_checkin_token(),
        "checked_in_at": None,
        "created_at": utcnow(),
    }


def _seat_at_once(
    connection: Any, seen: Any, alumnus_id: str, guests: int, now: datetime
) -> dict[str, Any] | None:
    """Seat a new alumnus with one statement on an autocommit `connection`: the
    conditional UPDATE of the event's row, the registration and its outbox event
    (`_SEAT_AT_ONCE`), committed by the server as soon as it has run. None when the
    UPDATE matched nothing: the seats were taken, the event closed, or its brief (which
    the outbox event carries, built here before the statement) changed since `seen`.

    PostgreSQL re-checks the UPDATE's condition on the newest version of the row after
    waiting for its lock, so the seat is decided as atomically as by `_decide`."""
    registration = _new_registration(seen.id, alumnus_id, guests)
    registration |= {"status": CONFIRMED, "position": None}
    answer = _registration_dict(registration)
    message = _outbox_row(answer, seen)
    params = (
        _deciding(seen, guests, now)
        | {f"r_{name}": registration[name] for name in _SEATED_COLUMNS}
        | {f"o_{name}": message[name] for name in _OUTBOX_COLUMNS}
    )
    try:
        seated = connection.execute(_SEAT_AT_ONCE, params).first()
    except IntegrityError:
        return _winner(connection, seen.id, alumnus_id)
    return None if seated is None else answer


def _deciding(known: Any, guests: int, now: datetime) -> dict[str, Any]:
    """The parameters of a one-statement decision for a party on the event `known`, whose
    brief (which its outbox event carries) it must still have (`_BRIEF_AS_KNOWN`)."""
    return {"event_id": known.id, "seats": 1 + guests, "now": now} | {
        f"was_{column.name}": getattr(known, column.name) for column in _BRIEF_COLUMNS[1:]
    }


def _winner(connection: Any, event_id: str, alumnus_id: str) -> dict[str, Any] | None:
    """After a one-statement decision broke the unique key: the same alumnus signed up at
    the same moment and got there first (the statement, seat or place included, was
    rolled back whole). The registration that won; None if there is none."""
    earlier = connection.execute(_EARLIER, {"event_id": event_id, "alumnus_id": alumnus_id})
    row = earlier.first()
    return None if row is None else _registration_dict(row._asdict())


def _registration_seen(seen: Any) -> dict[str, Any] | None:
    """The earlier registration in a `_SEEN` row, as `_EARLIER` reads it; None if none."""
    if seen.registration_status is None:
        return None
    return {
        column.name: getattr(seen, f"registration_{column.name}") for column in _EARLIER_COLUMNS
    }


def _looks_open(seen: Any, seats: int, now: datetime) -> bool:
    """Whether `seen` (read without a lock) promises a seat for `seats` now."""
    return (
        seen.event_status == PUBLISHED
        and as_utc(seen.registration_opens_at) <= now < as_utc(seen.registration_closes_at)
        and seen.seats_taken + seats <= seen.capacity
    )


def _outbox_row(answer: dict[str, Any], event: Any) -> dict[str, Any]:
    """The outbox row of a sign-up's event: confirmed, or waitlisted at its place."""
    summary = {k: v for k, v in answer.items() if k != "checkin_token"}
    return OutboxMessage.row(
        "registration_confirmed" if answer["status"] == CONFIRMED else "registration_waitlisted",
        {"registration": summary, "event": _brief(event)},
    )


def get_registration_of(session: Session, event_id: str, alumnus_id: str) -> dict[str, Any]:
    """The registration of `alumnus_id` for `event_id` (NotFound when there is none)."""
    row = (
        session.connection()
        .execute(_EARLIER, {"event_id": str(event_id), "alumnus_id": str(alumnus_id)})
        .first()
    )
    if row is None:
        raise NotFound("报名记录不存在。", {"event_id": str(event_id)})
    return _registration_dict(row._asdict())


# ---- the seat decision: statements built once, run with parameters --------------

_EVENTS = Event.__table__
_REGISTRATIONS = Registration.__table__
_OUTBOX = OutboxMessage.__table__
_BRIEF_COLUMNS = (
    _EVENTS.c.id,
    _EVENTS.c.kind,
    _EVENTS.c.title,
    _EVENTS.c.organiser_type,
    _EVENTS.c.organiser_id,
    _EVENTS.c.venue,
    _EVENTS.c.starts_at,
    _EVENTS.c.ends_at,
)
_OPEN = and_(
    _EVENTS.c.id == bindparam("event_id"),
    _EVENTS.c.status == PUBLISHED,
    _EVENTS.c.registration_opens_at <= bindparam("now"),
    _EVENTS.c.registration_closes_at > bindparam("now"),
)
# A seat when the party fits the seats left ...
_TAKE_SEATS = (
    update(_EVENTS)
    .where(_OPEN, _EVENTS.c.seats_taken + bindparam("seats") <= _EVENTS.c.capacity)
    .values(seats_taken=_EVENTS.c.seats_taken + bindparam("seats"))
)
# ... else the next place on the waitlist, when the party fits the event at all.
_JOIN_WAITLIST = (
    update(_EVENTS)
    .where(
        _OPEN,
        bindparam("seats") <= _EVENTS.c.capacity,
        _EVENTS.c.seats_taken + bindparam("seats") > _EVENTS.c.capacity,
    )
    .values(waitlist_length=_EVENTS.c.waitlist_length + 1)
)
_DECIDED = select(*_BRIEF_COLUMNS, _EVENTS.c.waitlist_length).where(
    _EVENTS.c.id == bindparam("event_id")
)
# The deciding UPDATEs returning what `_DECIDED` reads, built once: built at each call, a
# statement's cache key was computed again each time. This and a sign-up's other
# statements on PostgreSQL are prepared once a connection (`_AS_PREPARED`).
_AS_PREPARED = {PREPARED: True}
_TAKE_SEATS_RETURNING = _TAKE_SEATS.returning(*_DECIDED.selected_columns).execution_options(
    **_AS_PREPARED
)
_JOIN_WAITLIST_RETURNING = _JOIN_WAITLIST.returning(*_DECIDED.selected_columns).execution_options(
    **_AS_PREPARED
)
_LOCK = (
    select(
        _EVENTS.c.status,
        _EVENTS.c.capacity,
        _EVENTS.c.registration_opens_at,
        _EVENTS.c.registration_closes_at,
    )
    .where(_EVENTS.c.id == bindparam("event_id"))
    .with_for_update()
)
_EARLIER_COLUMNS = (
    _REGISTRATIONS.c.seq,
    _REGISTRATIONS.c.id,
    _REGISTRATIONS.c.event_id,
    _REGISTRATIONS.c.alumnus_id,
    _REGISTRATIONS.c.guests,
    _REGISTRATIONS.c.status,
    _REGISTRATIONS.c.position,
    _REGISTRATIONS.c.checkin_token,
    _REGISTRATIONS.c.checked_in_at,
    _REGISTRATIONS.c.created_at,
)
_OF_ALUMNUS = and_(
    _REGISTRATIONS.c.event_id == bindparam("event_id"),
    _REGISTRATIONS.c.alumnus_id == bindparam("alumnus_id"),
)
_EARLIER = select(*_EARLIER_COLUMNS).where(_OF_ALUMNUS)
# What a PostgreSQL sign-up reads first, without a lock: the event's brief and what
# promises a seat, and the alumnus's earlier registration for it, if any.
_SEEN = (
    select(
        *_BRIEF_COLUMNS,
        _EVENTS.c.status.label("event_status"),
        _EVENTS.c.seats_taken,
        _EVENTS.c.capacity,
        _EVENTS.c.registration_opens_at,
        _EVENTS.c.registration_closes_at,
        *(column.label(f"registration_{column.name}") for column in _EARLIER_COLUMNS),
    )
    .select_from(_EVENTS.outerjoin(_REGISTRATIONS, _OF_ALUMNUS))
    .where(_EVENTS.c.id == bindparam("event_id"))
    .execution_options(**_AS_PREPARED)
)
# Seating at once (PostgreSQL): the seat, unless the event changed its brief since it was
# read (the outbox event carries it), then the registration and its outbox row, all in one
# statement, so in one transaction that the server commits without waiting for us.
_SEATED_COLUMNS = (
    "id",
    "event_id",
    "alumnus_id",
    "guests",
    "status",
    "checkin_token",
    "created_at",
)
_OUTBOX_COLUMNS = ("event_id", "event_type", "payload", "created_at")
_BRIEF_AS_KNOWN = tuple(
    column.is_not_distinct_from(bindparam(f"was_{column.name}", type_=column.type))
    for column in _BRIEF_COLUMNS[1:]
)
_SEAT = _TAKE_SEATS.where(*_BRIEF_AS_KNOWN).returning(_EVENTS.c.id).cte("seat")


def _bound(table: Any, prefix: str, names: tuple[str, ...]) -> dict[str, Any]:
    """Parameters `<prefix><name>` typed as `table`'s columns (so that the payload is
    encrypted as the column says), for statements built once."""
    return {name: bindparam(f"{prefix}{name}", type_=table.c[name].type) for name in names}


def _typed(table: Any, prefix: str, names: tuple[str, ...], decided: Any, *more: Any) -> Any:
    """A SELECT of `_bound` values and `more`, one row for each row `decided` returns."""
    return select(*_bound(table, prefix, names).values(), *more).select_from(decided)


_SEAT_AT_ONCE = (
    _OUTBOX.insert()
    .from_select(_OUTBOX_COLUMNS, _typed(_OUTBOX, "o_", _OUTBOX_COLUMNS, _SEAT))
    .add_cte(
        _REGISTRATIONS.insert()
        .from_select(_SEATED_COLUMNS, _typed(_REGISTRATIONS, "r_", _SEATED_COLUMNS, _SEAT))
        .cte("registration")
    )
    .returning(_OUTBOX.c.id)
    .execution_options(**_AS_PREPARED)
)
# Queueing at once (PostgreSQL), likewise: the next place on the waitlist unless the brief
# changed, the registration at that place, and its outbox row, whose payload was encrypted
# before the place was known: the place goes into the row's `late_data` (services/common/
# outbox.py). The statement answers with the place.
_PLACE = (
    _JOIN_WAITLIST.where(*_BRIEF_AS_KNOWN)
    .returning(_EVENTS.c.waitlist_length.label("position"))
    .cte("place")
)
_PLACE_AS_LATE_DATA = cast(
    func.json_build_object(
        literal_column("'registration'"),
        func.json_build_object(literal_column("'position'"), _PLACE.c.position),
    ),
    Text,
)
_QUEUE_AT_ONCE = (
    select(_PLACE.c.position)
    .add_cte(
        _REGISTRATIONS.insert()
        .from_select(
            (*_SEATED_COLUMNS, "position"),
            _typed(_REGISTRATIONS, "r_", _SEATED_COLUMNS, _PLACE, _PLACE.c.position),
        )
        .cte("registration")
    )
    .add_cte(
        _OUTBOX.insert()
        .from_select(
            (*_OUTBOX_COLUMNS, "late_data"),
            _typed(_OUTBOX, "o_", _OUTBOX_COLUMNS, _PLACE, _PLACE_AS_LATE_DATA),
        )
        .cte("message")
    )
    .execution_options(**_AS_PREPARED)
)
# After the decision under the lock (PostgreSQL): the registration and its outbox row in
# one statement, built once (building and compiling it per sign-up would be done while
# the event's row is locked).
_ENTERED_COLUMNS = (*_SEATED_COLUMNS, "position")
_ENTER = (
    _OUTBOX.insert()
    .values(_bound(_OUTBOX, "o_", _OUTBOX_COLUMNS))
    .add_cte(
        _REGISTRATIONS.insert()
        .values(_bound(_REGISTRATIONS, "r_", _ENTERED_COLUMNS))
        .cte("registration")
    )
    .execution_options(**_AS_PREPARED)
)
# A cancelled registration signed up again, unless another sign-up revived it first.
_REVIVE = (
    update(_REGISTRATIONS)
    .where(_REGISTRATIONS.c.seq == bindparam("b_seq"), _REGISTRATIONS.c.status == CANCELLED)
    .values(
        guests=bindparam("b_guests"),
        status=bindparam("b_status"),
        position=bindparam("b_position"),
        checkin_token=bindparam("b_checkin_token"),
        checked_in_at=None,
    )
)


def _decide(
    connection: Any,
    event_id: str,
    seats: int,
    now: datetime,
    looks_full: bool = False,
    begins: bool = False,
) -> tuple[Any, int | None]:
    """Take `seats` on the event, or its next waitlist place: the event's brief and the
    place (None for seats). One statement decides, atomically: the conditional UPDATE of
    the event's row (PostgreSQL re-checks its condition on the newest row version
    after waiting for the lock; SQLite runs one writer at a time). At most one of the two
    UPDATEs can match; `looks_full` tries the waitlist's first, saving the seat's
    round trip while an event is full (the anniversary rush, once the seats are gone).

    When neither UPDATE matched, the event is closed, unknown or too small for the party
    (refused here, under the row's lock), or a cancellation freed seats between the two
    statements: then both are tried again under the lock, where one of them must match.
    `begins`: the first statement begins the transaction, on an autocommit PostgreSQL
    connection (`BEGIN_FIRST`).
    """
    params = {"event_id": event_id, "seats": seats, "now": now}
    tries = (_join_waitlist, _take_seats) if looks_full else (_take_seats, _join_waitlist)
    options = {BEGIN_FIRST: True} if begins else {}
    for attempt in range(2):
        for decide in tries:
            decided = decide(connection, params, options)
            options = {}
            if decided is not None:
                return decided
        if attempt == 0:
            _refuse_unless_open(connection, event_id, seats, now)
    raise RuntimeError(f"sign-up for event {event_id}: no decision under the event's lock")


def _take_seats(
    connection: Any, params: dict[str, Any], options: dict[str, Any]
) -> tuple[Any, None] | None:
    event = _update_returning(connection, _TAKE_SEATS, _TAKE_SEATS_RETURNING, params, options)
    return None if event is None else (event, None)


def _join_waitlist(
    connection: Any, params: dict[str, Any], options: dict[str, Any]
) -> tuple[Any, int] | None:
    event = _update_returning(connection, _JOIN_WAITLIST, _JOIN_WAITLIST_RETURNING, params, options)
    return None if event is None else (event, event.waitlist_length)


def _update_returning(
    connection: Any,
    statement: Any,
    returning: Any,
    params: dict[str, Any],
    options: dict[str, Any],
) -> Any:
    """The event's brief and waitlist length after `statement` (`returning`: the same
    UPDATE returning them), or None when it matched no row. SQLite before 3.35 has no
    RETURNING: there the UPDATE holds the database's write lock, so reading the row right
    after it is as good."""
    if connection.dialect.update_returning:
        return connection.execute(returning, params, execution_options=options).first()
    if connection.execute(statement, params).rowcount != 1:
        return None
    return connection.execute(_DECIDED, params).first()


def _refuse_unless_open(connection: Any, event_id: str, seats: int, now: datetime) -> None:
    """Lock the event's row and raise why a sign-up for `seats` cannot be taken, if so."""
    event = connection.execute(_LOCK, {"event_id": event_id}).first()
    if event is None:
        raise NotFound("活动不存在。", {"event_id": event_id})
    _ensure_sign_up_open(event, now)
    if seats > event.capacity:
        message = f"本人加同行 {seats - 1} 人共 {seats} 人，活动容量 {event.capacity}。"
        raise ValidationFailed(
            "报名人数超过活动容量。",
            {"fields": {"guests": [message]}},
            reason="party_exceeds_capacity",
        )


def _registration_dict(row: dict[str, Any]) -> dict[str, Any]:
    """A registration as the contract `Registration` dumps it, from its column values."""
    checked_in_at = row["checked_in_at"]
    return {
        "id": row["id"],
        "event_id": row["event_id"],
        "alumnus_id": row["alumnus_id"],
        "guests": row["guests"],
        "status": row["status"],
        "position": row["position"],
        "checked_in_at": None if checked_in_at is None else iso_utc(checked_in_at),
        "created_at": iso_utc(row["created_at"]),
        "checkin_token": row["checkin_token"],
    }


def _brief(event: Any) -> dict[str, Any]:
    """The event as `EventBrief` dumps it, from the row the deciding UPDATE returned."""
    return {
        "id": event.id,
        "kind": event.kind,
        "title": event.title,
        "organiser_type": event.organiser_type,
        "organiser_id": event.organiser_id,
        "venue": event.venue,
        "starts_at": iso_utc(event.starts_at),
        "ends_at": iso_utc(event.ends_at),
    }


def cancel_registration(session: Session, event_id: str, registration_id: str) -> dict[str, Any]:
    """Cancel; freed seats go at once to the waitlist, in order. Cancelling again is a no-op."""
    event = lock_event(session, event_id)
    registration = _registration(session, registration_id, event_id=event.id)
    if registration.status == CANCELLED:
        return REGISTRATION.dump(registration)
    if event.status not in LIVE_STATUSES:
        raise Conflict(
            f"活动{STATUS_NAMES[event.status]}，不能再取消报名。",
            {"status": event.status},
            reason="event_not_live",
        )
    if registration.checked_in_at is not None:
        raise Conflict(
            "已签到的报名不能取消。",
            {"registration_id": registration.id},
            reason="already_checked_in",
        )
    previous_status, previous_position = registration.status, registration.position
    if previous_status == CONFIRMED:
        event.seats_taken -= registration.seats
    elif previous_status == WAITLISTED:
        event.waitlist_length -= 1
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
    fill_free_seats(session, event, vacated)
    return REGISTRATION.dump(registration)


def get_registration(session: Session, registration_id: str) -> dict[str, Any]:
    return REGISTRATION.dump(_registration(session, registration_id))


def list_registrations(session: Session, event_id: str, params: dict[str, Any]) -> dict[str, Any]:
    event = find_event(session, event_id)
    query = select(Registration).where(Registration.event_id == event.id)
    if params.get("status"):
        query = query.where(Registration.status == params["status"])
    return page_in_order(session, query, Registration, params, REGISTRATION)


def list_alumnus_registrations(
    session: Session, alumnus_id: str, params: dict[str, Any]
) -> dict[str, Any]:
    """An alumnus's registrations, a page at a time, in the order they were made."""
    query = select(Registration).where(Registration.alumnus_id == str(alumnus_id))
    if params.get("status"):
        query = query.where(Registration.status == params["status"])
    return page_in_order(session, query, Registration, params, REGISTRATION)


def check_in(session: Session, event_id: str, token: str, now: datetime) -> dict[str, Any]:
    """Record arrival once; a second scan says it was already recorded (not an error)."""
    registration = session.scalars(
        select(Registration).where(Registration.checkin_token == token)
    ).first()
    if registration is None or registration.event_id != str(event_id):
        raise NotFound("签到码无效。", {"event_id": str(event_id)}, reason="unknown_checkin_token")
    event = find_event(session, registration.event_id)
    if event.status not in LIVE_STATUSES:
        raise Conflict(
            f"活动{STATUS_NAMES[event.status]}，不能签到。",
            {"status": event.status},
            reason="event_not_live",
        )
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
    event = find_event(session, event_id)
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
    event = find_event(session, event_id)
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
            {"status": event.status},
            reason="event_not_open",
        )
    opens, closes = as_utc(event.registration_opens_at), as_utc(event.registration_closes_at)
    if now < opens:
        raise Conflict(
            f"报名尚未开始，开始时间为 {iso_utc(opens)}。",
            {"registration_opens_at": iso_utc(opens)},
            reason="registration_not_started",
        )
    if now >= closes:
        raise Conflict(
            "报名已截止。",
            {"registration_closes_at": iso_utc(closes)},
            reason="registration_closed",
        )


def _ensure_confirmed(registration: Registration) -> None:
    if registration.status != CONFIRMED:
        raise Conflict(
            "只有已确认的报名可以签到。",
            {"registration_id": registration.id, "status": registration.status},
            reason="registration_not_confirmed",
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
