"""Events (活动) and lecture series (校友大讲堂): inputs, outputs, and the events they announce."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validates_schema

from services.common.contracts.base import (
    EventContract,
    Name,
    PageQuery,
    StrictSchema,
    Text,
    UtcDateTime,
    in_range,
    length,
    one_of,
)
from services.common.contracts.events.common import page_limit

EVENT_KINDS = ["reunion", "lecture", "visit", "chapter", "student_visit", "other"]
ORGANISER_TYPES = ["office", "department", "chapter"]
EVENT_STATUSES = ["draft", "published", "closed", "finished", "cancelled"]
MAX_CAPACITY = 100_000


class EventFields(StrictSchema):
    """Every editable field of an event; creation requires most of them."""

    kind = fields.String(validate=one_of(EVENT_KINDS))
    title = Name(validate=length(1, 200))
    description = Text(validate=length(max_len=10_000))
    organiser_type = fields.String(validate=one_of(ORGANISER_TYPES))
    organiser_id = fields.UUID(allow_none=True)
    venue = Name(validate=length(1, 200))
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    capacity = fields.Integer(strict=True, validate=in_range(0, MAX_CAPACITY))
    registration_opens_at = fields.AwareDateTime()
    registration_closes_at = fields.AwareDateTime()
    series_id = fields.UUID(allow_none=True)
    speaker_alumnus_id = fields.UUID(allow_none=True)


class EventInput(EventFields):
    kind = fields.String(required=True, validate=one_of(EVENT_KINDS))
    title = Name(required=True, validate=length(1, 200))
    description = Text(load_default="", validate=length(max_len=10_000))
    organiser_type = fields.String(required=True, validate=one_of(ORGANISER_TYPES))
    organiser_id = fields.UUID(allow_none=True, load_default=None)
    venue = Name(required=True, validate=length(1, 200))
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)
    capacity = fields.Integer(required=True, strict=True, validate=in_range(0, MAX_CAPACITY))
    registration_opens_at = fields.AwareDateTime(required=True)
    registration_closes_at = fields.AwareDateTime(required=True)
    series_id = fields.UUID(allow_none=True, load_default=None)
    speaker_alumnus_id = fields.UUID(allow_none=True, load_default=None)


class EventPatch(EventFields):
    """A partial update: only the fields present change."""


class EventSearch(PageQuery):
    kind = fields.String(validate=one_of(EVENT_KINDS))
    status = fields.String(validate=one_of(EVENT_STATUSES))
    organiser_type = fields.String(validate=one_of(ORGANISER_TYPES))
    organiser_id = fields.UUID()
    series_id = fields.UUID()
    starts_after = fields.AwareDateTime()
    starts_before = fields.AwareDateTime()
    limit = page_limit(20)


DRAFT_VIEWS = ["all", "none", "department", "chapter"]


class EventListQuery(EventSearch):
    """`EventSearch` as the gateway sends it: with the caller's view of drafts.

    Which drafts a caller may see is decided in gateway/authz.py: `all` (the
    default), `none`, `department` — only drafts that department organises — or
    `chapter` — only drafts that chapter organises (a chapter officer's view).
    Clients never send these fields themselves.
    """

    drafts = fields.String(load_default="all", validate=one_of(DRAFT_VIEWS))
    drafts_department_id = fields.UUID(allow_none=True, load_default=None)
    drafts_chapter_id = fields.UUID(allow_none=True, load_default=None)

    @validates_schema
    def _department_named(self, data, **_kwargs) -> None:
        if data.get("drafts") == "department" and not data.get("drafts_department_id"):
            raise ValidationError("须指定可见草稿的院系。", "drafts_department_id")
        if data.get("drafts") == "chapter" and not data.get("drafts_chapter_id"):
            raise ValidationError("须指定可见草稿的分会。", "drafts_chapter_id")


class EventCancellation(StrictSchema):
    reason = Text(allow_none=True, load_default=None, validate=length(max_len=500))


class SeriesInput(StrictSchema):
    title = Name(required=True, validate=length(1, 200))
    description = Text(load_default="", validate=length(max_len=10_000))


class SeriesPatch(StrictSchema):
    title = Name(validate=length(1, 200))
    description = Text(validate=length(max_len=10_000))


class EventBrief(StrictSchema):
    """What a message about a registration needs to say which event it is."""

    id = fields.String(required=True)
    kind = fields.String(required=True)
    title = fields.String(required=True)
    organiser_type = fields.String(required=True)
    organiser_id = fields.String(allow_none=True, required=True)
    venue = fields.String(required=True)
    starts_at = UtcDateTime(required=True)
    ends_at = UtcDateTime(required=True)


class Event(EventBrief):
    description = fields.String(required=True)
    capacity = fields.Integer(required=True)
    registration_opens_at = UtcDateTime(required=True)
    registration_closes_at = UtcDateTime(required=True)
    status = fields.String(required=True, validate=one_of(EVENT_STATUSES))
    series_id = fields.String(allow_none=True, required=True)
    speaker_alumnus_id = fields.String(allow_none=True, required=True)
    seats_taken = fields.Integer(required=True)
    created_at = UtcDateTime(required=True)


class LectureSeries(StrictSchema):
    id = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    created_at = UtcDateTime(required=True)


class EventCancelledData(StrictSchema):
    event = fields.Nested(Event, required=True)
    reason = fields.String(allow_none=True, required=True)
    alumnus_ids = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "alumni whose registration was live when it was cancelled"},
    )


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
)
