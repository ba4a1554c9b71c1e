"""Activity reports (活动通报): what the organiser reports after an event."""

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
from services.common.contracts.events.events import MAX_CAPACITY, ORGANISER_TYPES, EventBrief


class Participant(StrictSchema):
    alumnus_id = fields.UUID(allow_none=True, load_default=None)
    name = Name(allow_none=True, load_default=None, validate=length(1, 50))
    role = fields.String(allow_none=True, load_default=None, validate=length(max_len=50))

    @validates_schema
    def _someone(self, data, **_kwargs) -> None:
        if not data.get("alumnus_id") and not data.get("name"):
            raise ValidationError("姓名或校友 ID 至少填写一项。", "name")


class ActivityReportInput(StrictSchema):
    """`attendance` and `participants` default to who checked in when left out."""

    summary = Text(required=True, validate=length(1, 10_000))
    attendance = fields.Integer(strict=True, validate=in_range(0, MAX_CAPACITY))
    participants = fields.List(fields.Nested(Participant), validate=length(max_len=5_000))


class ReportSearch(PageQuery):
    organiser_type = fields.String(validate=one_of(ORGANISER_TYPES))
    organiser_id = fields.UUID()
    limit = page_limit(20)


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
    filed_at = UtcDateTime(required=True)


class ActivityReportedData(StrictSchema):
    report = fields.Nested(ActivityReport, required=True)
    event = fields.Nested(EventBrief, required=True)


EVENTS = (
    EventContract(
        "activity_reported",
        1,
        ActivityReportedData,
        "The organiser filed the report of an event that took place (活动通报).",
    ),
)
