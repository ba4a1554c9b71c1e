"""The waitlist of an event: places 1, 2, 3, … without gaps, and promotion into the
seats that free up, in order.

Every function here runs under the event's row lock (`events.lock_event`), taken by
the caller, so each promotion happens exactly once. The event's `waitlist_length` counts
the waiting registrations (a sign-up takes the next place from it,
services/events/registrations.py); whoever moves a registration off the waitlist lowers it.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.common.contracts.events import registrations as registration_contracts
from services.events.models import Event, OutboxMessage, Registration

CONFIRMED, WAITLISTED, CANCELLED = "confirmed", "waitlisted", "cancelled"

REGISTRATION_PROMOTED = registration_contracts.RegistrationPromotedData()


def fill_free_seats(
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
            event.waitlist_length -= 1
    session.flush()
    close_waitlist_gaps(session, event, (*vacated, *(position for _, position in promoted)))
    for registration, previous in promoted:
        promotion = {"registration": registration, "event": event, "previous_position": previous}
        OutboxMessage.record(
            session, "registration_promoted", REGISTRATION_PROMOTED.dump(promotion)
        )
    return [registration for registration, _ in promoted]


def close_waitlist_gaps(session: Session, event: Event, vacated: tuple[int, ...]) -> None:
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
