"""Registrations: sign-up and the waitlist, check-in, the QR ticket, attendance, the roster."""

from __future__ import annotations

from marshmallow import fields

from services.common.contracts.base import (
    EventContract,
    PageQuery,
    StrictSchema,
    UtcDateTime,
    in_range,
    length,
    one_of,
)
from services.common.contracts.events.events import EventBrief

REGISTRATION_STATUSES = ["confirmed", "waitlisted", "cancelled"]
MAX_GUESTS = 20


class SignUpInput(StrictSchema):
    """Who signs up (the alumnus, or staff on their behalf) and how many guests come along."""

    alumnus_id = fields.UUID(required=True)
    guests = fields.Integer(load_default=0, strict=True, validate=in_range(0, MAX_GUESTS))


class RegistrationSearch(PageQuery):
    status = fields.String(validate=one_of(REGISTRATION_STATUSES))


class CheckInInput(StrictSchema):
    token = fields.String(required=True, validate=length(1, 100))


class RegistrationSummary(StrictSchema):
    """A registration without its check-in token: what events carry."""

    id = fields.String(required=True)
    event_id = fields.String(required=True)
    alumnus_id = fields.String(required=True)
    guests = fields.Integer(required=True)
    status = fields.String(required=True, validate=one_of(REGISTRATION_STATUSES))
    position = fields.Integer(allow_none=True, required=True)
    checked_in_at = UtcDateTime(allow_none=True, required=True)
    created_at = UtcDateTime(required=True)


class Registration(RegistrationSummary):
    checkin_token = fields.String(required=True)


class CheckInResult(StrictSchema):
    registration = fields.Nested(Registration, required=True)
    already_checked_in = fields.Boolean(required=True)


class AttendanceStats(StrictSchema):
    event_id = fields.String(required=True)
    capacity = fields.Integer(required=True)
    confirmed = fields.Integer(required=True)
    waitlisted = fields.Integer(required=True)
    cancelled = fields.Integer(required=True)
    checked_in = fields.Integer(required=True)
    guests = fields.Integer(required=True, metadata={"description": "guests of confirmed"})
    seats = fields.Integer(required=True, metadata={"description": "seats held by confirmed"})
    seats_left = fields.Integer(required=True)


class RosterLine(StrictSchema):
    registration = fields.Nested(Registration, required=True)
    name = fields.String(allow_none=True, required=True)
    phone = fields.String(allow_none=True, required=True)
    email = fields.String(allow_none=True, required=True)
    department_ids = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "the alumnus's departments, as the local roster holds them"},
    )


class RegistrationEventData(StrictSchema):
    registration = fields.Nested(RegistrationSummary, required=True)
    event = fields.Nested(EventBrief, required=True)


class RegistrationPromotedData(RegistrationEventData):
    previous_position = fields.Integer(required=True)


class RegistrationCancelledData(RegistrationEventData):
    previous_status = fields.String(required=True, validate=one_of(REGISTRATION_STATUSES))


class CheckinRecordedData(StrictSchema):
    """Dumped from the registration itself."""

    registration_id = fields.String(required=True, attribute="id")
    event_id = fields.String(required=True)
    alumnus_id = fields.String(required=True)
    guests = fields.Integer(required=True)
    checked_in_at = UtcDateTime(required=True)


EVENTS = (
    EventContract(
        "registration_confirmed",
        1,
        RegistrationEventData,
        "A sign-up got a seat.",
    ),
    EventContract(
        "registration_waitlisted",
        1,
        RegistrationEventData,
        "A sign-up joined the waitlist; `data.registration.position` is its place.",
    ),
    EventContract(
        "registration_promoted",
        1,
        RegistrationPromotedData,
        "A waitlisted registration got a seat that a cancellation (or a larger capacity) "
        "freed; sent once per promotion.",
    ),
    EventContract(
        "registration_cancelled",
        1,
        RegistrationCancelledData,
        "A registration was cancelled; `data.previous_status` says whether it held a seat.",
    ),
    EventContract(
        "checkin_recorded",
        1,
        CheckinRecordedData,
        "An attendee's check-in was recorded (once per registration).",
    ),
)
