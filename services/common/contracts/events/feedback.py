"""What alumni bring to the school: suggestions (建议, 三.4) and service requests (三.7)."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validates_schema

from services.common.contracts.base import (
    EventContract,
    Name,
    PageQuery,
    StrictSchema,
    Text,
    UtcDateTime,
    length,
    one_of,
)
from services.common.contracts.events.common import STAFF_USERNAME, Step, page_limit

SUGGESTION_STATUSES = ["open", "answered"]
SERVICE_REQUEST_KINDS = ["talent_training", "technology_consulting", "other"]
SERVICE_REQUEST_STATUSES = ["open", "assigned", "in_progress", "resolved", "closed"]


class SuggestionInput(StrictSchema):
    alumnus_id = fields.UUID(required=True)
    subject = Name(required=True, validate=length(1, 200))
    body = Text(required=True, validate=length(1, 10_000))


class SuggestionAnswer(StrictSchema):
    answer = Text(required=True, validate=length(1, 10_000))


class SuggestionSearch(PageQuery):
    status = fields.String(validate=one_of(SUGGESTION_STATUSES))
    alumnus_id = fields.UUID()
    limit = page_limit(20)


class Suggestion(StrictSchema):
    id = fields.String(required=True)
    alumnus_id = fields.String(required=True)
    subject = fields.String(required=True)
    body = fields.String(required=True)
    status = fields.String(required=True, validate=one_of(SUGGESTION_STATUSES))
    answer = fields.String(allow_none=True, required=True)
    answered_by = fields.String(allow_none=True, required=True)
    answered_at = UtcDateTime(allow_none=True, required=True)
    created_at = UtcDateTime(required=True)


class SuggestionAnsweredData(StrictSchema):
    """Enough for notify to tell the alumnus the reply; the suggestion's body stays home.
    Dumped from the suggestion itself."""

    suggestion_id = fields.String(required=True, attribute="id")
    alumnus_id = fields.String(required=True)
    subject = fields.String(required=True)
    answer = fields.String(required=True)
    answered_by = fields.String(required=True)
    answered_at = UtcDateTime(required=True)


class ServiceRequestInput(StrictSchema):
    """An alumni company asks the school for help (三.7)."""

    alumnus_id = fields.UUID(required=True)
    company = Name(required=True, validate=length(1, 200))
    kind = fields.String(required=True, validate=one_of(SERVICE_REQUEST_KINDS))
    description = Text(required=True, validate=length(1, 10_000))


class ServiceRequestAssignment(StrictSchema):
    assignee = fields.String(required=True, validate=STAFF_USERNAME)
    note = Text(allow_none=True, load_default=None, validate=length(1, 2_000))


class ServiceRequestProgress(StrictSchema):
    """Move a request on: in_progress, resolved or closed; the last two say how."""

    status = fields.String(required=True, validate=one_of(["in_progress", "resolved", "closed"]))
    note = Text(allow_none=True, load_default=None, validate=length(1, 2_000))

    @validates_schema
    def _explained(self, data, **_kwargs) -> None:
        if data.get("status") in ("resolved", "closed") and not data.get("note"):
            raise ValidationError("办结或关闭须填写说明。", "note")


class ServiceRequestSearch(PageQuery):
    status = fields.String(validate=one_of(SERVICE_REQUEST_STATUSES))
    kind = fields.String(validate=one_of(SERVICE_REQUEST_KINDS))
    assignee = Name(validate=length(1, 50))
    alumnus_id = fields.UUID()
    limit = page_limit(20)


class ServiceRequest(StrictSchema):
    id = fields.String(required=True)
    alumnus_id = fields.String(required=True)
    company = fields.String(required=True)
    kind = fields.String(required=True, validate=one_of(SERVICE_REQUEST_KINDS))
    description = fields.String(required=True)
    status = fields.String(required=True, validate=one_of(SERVICE_REQUEST_STATUSES))
    assignee = fields.String(allow_none=True, required=True)
    history = fields.List(fields.Nested(Step), required=True)
    created_at = UtcDateTime(required=True)
    updated_at = UtcDateTime(required=True)


class ServiceRequestProgressedData(StrictSchema):
    """Enough for notify to tell the alumnus where their request stands; the description
    stays home. Dumped from the request itself."""

    request_id = fields.String(required=True, attribute="id")
    alumnus_id = fields.String(required=True)
    company = fields.String(required=True)
    kind = fields.String(required=True, validate=one_of(SERVICE_REQUEST_KINDS))
    status = fields.String(required=True, validate=one_of(SERVICE_REQUEST_STATUSES))
    note = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "what staff wrote with this step (required when resolved or closed)"
        },
    )
    updated_at = UtcDateTime(required=True)


EVENTS = (
    EventContract(
        "service_request_progressed",
        1,
        ServiceRequestProgressedData,
        "A service request (三.7) moved on: assigned, in progress, resolved or closed; sent once "
        "per change of status (not when it is handed from one staff member to another), for "
        "the alumnus to be told.",
    ),
    EventContract(
        "suggestion_answered",
        1,
        SuggestionAnsweredData,
        "Staff answered an alumnus's suggestion (建议); sent once per suggestion.",
    ),
)
