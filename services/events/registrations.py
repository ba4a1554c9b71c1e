"""Registrations: sign-up with capacity and the waitlist, cancellation, check-in and
its QR code, attendance, and an event's roster (names and contacts from the local copy).

Sign-up and cancellation change an event's seats, so they start by locking the event
(`events.lock_event`); see services/events/waitlist.py for what happens under it.
"""

from __future__ import annotations

import io
import secrets
from datetime import datetime
from typing import Any

import segno
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from services.common.contracts.base import iso_utc
from services.common.contracts.events import registrations as registration_contracts
from services.common.errors import Conflict, NotFound, ValidationFailed
from services.events.common import as_utc, page_in_order
from services.events.events import LIVE_STATUSES, PUBLISHED, STATUS_NAMES, find_event, lock_event
from services.events.models import Event, OutboxMessage, Registration, RosterEntry
from services.events.waitlist import (
    CANCELLED,
    CONFIRMED,
    WAITLISTED,
    fill_free_seats,
    next_waitlist_position,
)

CHECKIN_TOKEN_BYTES = 24
QR_CONTENT_TYPE = "image/png"

REGISTRATION = registration_contracts.Registration()
CHECK_IN_RESULT = registration_contracts.CheckInResult()
REGISTRATION_EVENT = registration_contracts.RegistrationEventData()
REGISTRATION_CANCELLED = registration_contracts.RegistrationCancelledData()
CHECKIN_RECORDED = registration_contracts.CheckinRecordedData()


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
        raise ValidationFailed(
            "报名人数超过活动容量。",
            {"fields": {"guests": [message]}},
            reason="party_exceeds_capacity",
        )
    fits = event.seats_taken + seats <= event.capacity
    position = None if fits else next_waitlist_position(session, event)
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
