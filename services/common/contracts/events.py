"""Contracts of the events service: its RPC payloads and the events it publishes.

Registration events carry no check-in token: events go to a topic exchange
that other campus systems may read, and the token admits its holder at the
door. A consumer that must show the QR code (notify) asks for it by RPC
(`events.registration_qr`).
"""

from __future__ import annotations

from marshmallow import ValidationError, fields, validates_schema

from services.common.contracts.base import (
    EventContract,
    StrictSchema,
    in_range,
    length,
    one_of,
)

EVENT_KINDS = ["reunion", "lecture", "visit", "chapter", "student_visit", "other"]
ORGANISER_TYPES = ["office", "department", "chapter"]
EVENT_STATUSES = ["draft", "published", "closed", "finished", "cancelled"]
REGISTRATION_STATUSES = ["confirmed", "waitlisted", "cancelled"]
MAX_CAPACITY = 100_000
MAX_GUESTS = 20
MAX_PAGE_SIZE = 100


# ---- RPC inputs --------------------------------------------------------------


class EventFields(StrictSchema):
    """Every editable field of an event; creation requires most of them."""

    kind = fields.String(validate=one_of(EVENT_KINDS))
    title = fields.String(validate=length(1, 200))
    description = fields.String(validate=length(max_len=10_000))
    organiser_type = fields.String(validate=one_of(ORGANISER_TYPES))
    organiser_id = fields.UUID(allow_none=True)
    venue = fields.String(validate=length(1, 200))
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    capacity = fields.Integer(strict=True, validate=in_range(0, MAX_CAPACITY))
    registration_opens_at = fields.AwareDateTime()
    registration_closes_at = fields.AwareDateTime()
    series_id = fields.UUID(allow_none=True)
    speaker_alumnus_id = fields.UUID(allow_none=True)


class EventInput(EventFields):
    kind = fields.String(required=True, validate=one_of(EVENT_KINDS))
    title = fields.String(required=True, validate=length(1, 200))
    description = fields.String(load_default="", validate=length(max_len=10_000))
    organiser_type = fields.String(required=True, validate=one_of(ORGANISER_TYPES))
    organiser_id = fields.UUID(allow_none=True, load_default=None)
    venue = fields.String(required=True, validate=length(1, 200))
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)
    capacity = fields.Integer(required=True, strict=True, validate=in_range(0, MAX_CAPACITY))
    registration_opens_at = fields.AwareDateTime(required=True)
    registration_closes_at = fields.AwareDateTime(required=True)
    series_id = fields.UUID(allow_none=True, load_default=None)
    speaker_alumnus_id = fields.UUID(allow_none=True, load_default=None)


class EventPatch(EventFields):
    """A partial update: only the fields present change."""


class EventSearch(StrictSchema):
    kind = fields.String(validate=one_of(EVENT_KINDS))
    status = fields.String(validate=one_of(EVENT_STATUSES))
    organiser_type = fields.String(validate=one_of(ORGANISER_TYPES))
    organiser_id = fields.UUID()
    series_id = fields.UUID()
    starts_after = fields.AwareDateTime()
    starts_before = fields.AwareDateTime()
    limit = fields.Integer(load_default=20, validate=in_range(1, MAX_PAGE_SIZE))
    cursor = fields.String(validate=length(1, 200))


class EventCancellation(StrictSchema):
    reason = fields.String(allow_none=True, load_default=None, validate=length(max_len=500))


class SeriesInput(StrictSchema):
    title = fields.String(required=True, validate=length(1, 200))
    description = fields.String(load_default="", validate=length(max_len=10_000))


class SeriesPatch(StrictSchema):
    title = fields.String(validate=length(1, 200))
    description = fields.String(validate=length(max_len=10_000))


class SignUpInput(StrictSchema):
    """Who signs up (the alumnus, or staff on their behalf) and how many guests come along."""

    alumnus_id = fields.UUID(required=True)
    guests = fields.Integer(load_default=0, strict=True, validate=in_range(0, MAX_GUESTS))


class RegistrationSearch(StrictSchema):
    status = fields.String(validate=one_of(REGISTRATION_STATUSES))
    limit = fields.Integer(load_default=50, validate=in_range(1, MAX_PAGE_SIZE))
    cursor = fields.String(validate=length(1, 200))


class CheckInInput(StrictSchema):
    token = fields.String(required=True, validate=length(1, 100))


class Participant(StrictSchema):
    alumnus_id = fields.UUID(allow_none=True, load_default=None)
    name = fields.String(allow_none=True, load_default=None, validate=length(1, 50))
    role = fields.String(allow_none=True, load_default=None, validate=length(max_len=50))

    @validates_schema
    def _someone(self, data, **_kwargs) -> None:
        if not data.get("alumnus_id") and not data.get("name"):
            raise ValidationError("姓名或校友 ID 至少填写一项。", "name")


class ActivityReportInput(StrictSchema):
    """`attendance` and `participants` default to who checked in when left out."""

    summary = fields.String(required=True, validate=length(1, 10_000))
    attendance = fields.Integer(strict=True, validate=in_range(0, MAX_CAPACITY))
    participants = fields.List(fields.Nested(Participant), validate=length(max_len=5_000))


class ReportSearch(StrictSchema):
    organiser_type = fields.String(validate=one_of(ORGANISER_TYPES))
    organiser_id = fields.UUID()
    limit = fields.Integer(load_default=20, validate=in_range(1, MAX_PAGE_SIZE))
    cursor = fields.String(validate=length(1, 200))


class Actor(StrictSchema):
    """Who asks (the gateway's principal); reports record who filed them."""

    account_id = fields.String(required=True)
    username = fields.String(required=True)
    role = fields.String(required=True)
    department_id = fields.String(allow_none=True)


# ---- RPC outputs and event payloads (JSON-native) ----------------------------


class Event(StrictSchema):
    id = fields.String(required=True)
    kind = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    organiser_type = fields.String(required=True)
    organiser_id = fields.String(allow_none=True, required=True)
    venue = fields.String(required=True)
    starts_at = fields.String(required=True, metadata={"format": "date-time"})
    ends_at = fields.String(required=True, metadata={"format": "date-time"})
    capacity = fields.Integer(required=True)
    registration_opens_at = fields.String(required=True, metadata={"format": "date-time"})
    registration_closes_at = fields.String(required=True, metadata={"format": "date-time"})
    status = fields.String(required=True, validate=one_of(EVENT_STATUSES))
    series_id = fields.String(allow_none=True, required=True)
    speaker_alumnus_id = fields.String(allow_none=True, required=True)
    seats_taken = fields.Integer(required=True)
    created_at = fields.String(required=True, metadata={"format": "date-time"})


class EventPage(StrictSchema):
    items = fields.List(fields.Nested(Event), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class EventBrief(StrictSchema):
    """What a message about a registration needs to say which event it is."""

    id = fields.String(required=True)
    kind = fields.String(required=True)
    title = fields.String(required=True)
    organiser_type = fields.String(required=True)
    organiser_id = fields.String(allow_none=True, required=True)
    venue = fields.String(required=True)
    starts_at = fields.String(required=True, metadata={"format": "date-time"})
    ends_at = fields.String(required=True, metadata={"format": "date-time"})


class LectureSeries(StrictSchema):
    id = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    created_at = fields.String(required=True, metadata={"format": "date-time"})


class RegistrationSummary(StrictSchema):
    """A registration without its check-in token: what events carry."""

    id = fields.String(required=True)
    event_id = fields.String(required=True)
    alumnus_id = fields.String(required=True)
    guests = fields.Integer(required=True)
    status = fields.String(required=True, validate=one_of(REGISTRATION_STATUSES))
    position = fields.Integer(allow_none=True, required=True)
    checked_in_at = fields.String(allow_none=True, required=True, metadata={"format": "date-time"})
    created_at = fields.String(required=True, metadata={"format": "date-time"})


class Registration(RegistrationSummary):
    checkin_token = fields.String(required=True)


class RegistrationPage(StrictSchema):
    items = fields.List(fields.Nested(Registration), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class CheckInResult(StrictSchema):
    registration = fields.Nested(Registration, required=True)
    already_checked_in = fields.Boolean(required=True)


class RegistrationQr(StrictSchema):
    registration_id = fields.String(required=True)
    content_type = fields.String(required=True)
    png_base64 = fields.String(required=True)


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


class ParticipantOut(StrictSchema):
    alumnus_id = fields.String(allow_none=True, required=True)
    name = fields.String(allow_none=True, required=True)
    role = fields.String(allow_none=True, required=True)


class ActivityReport(StrictSchema):
    id = fields.String(required=True)
    event_id = fields.String(required=True)
    summary = fields.String(required=True)
    attendance = fields.Integer(required=True)
    participants = fields.List(fields.Nested(ParticipantOut), required=True)
    filed_by = fields.String(required=True)
    filed_at = fields.String(required=True, metadata={"format": "date-time"})


class ActivityReportPage(StrictSchema):
    items = fields.List(fields.Nested(ActivityReport), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class EventCancelledData(StrictSchema):
    event = fields.Nested(Event, required=True)
    reason = fields.String(allow_none=True, required=True)
    alumnus_ids = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "alumni whose registration was live when it was cancelled"},
    )


class RegistrationEventData(StrictSchema):
    registration = fields.Nested(RegistrationSummary, required=True)
    event = fields.Nested(EventBrief, required=True)


class RegistrationPromotedData(RegistrationEventData):
    previous_position = fields.Integer(required=True)


class RegistrationCancelledData(RegistrationEventData):
    previous_status = fields.String(required=True, validate=one_of(REGISTRATION_STATUSES))


class CheckinRecordedData(StrictSchema):
    registration_id = fields.String(required=True)
    event_id = fields.String(required=True)
    alumnus_id = fields.String(required=True)
    guests = fields.Integer(required=True)
    checked_in_at = fields.String(required=True, metadata={"format": "date-time"})


class ActivityReportedData(StrictSchema):
    report = fields.Nested(ActivityReport, required=True)
    event = fields.Nested(EventBrief, required=True)


EVENTS = (
    EventContract(
        "event_published",
        1,
        Event,
        "An event opened to the public; `data` is the full event.",
    ),
    EventContract(
        "event_cancelled",
        1,
        EventCancelledData,
        "An event was cancelled; `data.alumnus_ids` are the alumni who were confirmed or "
        "waitlisted, to be told.",
    ),
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
    EventContract(
        "activity_reported",
        1,
        ActivityReportedData,
        "The organiser filed the report of an event that took place (活动通报).",
    ),
)
