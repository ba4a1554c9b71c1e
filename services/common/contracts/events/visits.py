"""Return visits (校友返校接待, 三.1 and 三.4): request, decision, completion, cancellation."""

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
from services.common.contracts.events.common import (
    ContactInput,
    ContactOut,
    page_limit,
)

VISIT_STATUSES = ["requested", "approved", "declined", "done", "cancelled"]
VISIT_DECISIONS = ["approved", "declined"]
REQUESTER_TYPES = ["alumnus", "class"]
MAX_GROUP_SIZE = 10_000


def _require(problems: dict[str, list[str]], field: str, message: str) -> None:
    problems.setdefault(field, []).append(message)


class VisitInput(StrictSchema):
    """A request to visit the campus (校友返校接待), from an alumnus or on behalf of a class.

    `department_id` names the department whose liaison may handle it (the
    class's department for a class visit); without it the office handles it.
    """

    requester_alumnus_id = fields.UUID(allow_none=True, load_default=None)
    department_id = fields.UUID(allow_none=True, load_default=None)
    class_year = fields.Integer(
        allow_none=True, load_default=None, strict=True, validate=in_range(1900, 2100)
    )
    class_name = Name(allow_none=True, load_default=None, validate=length(1, 100))
    visit_date = fields.Date(required=True)
    group_size = fields.Integer(required=True, strict=True, validate=in_range(1, MAX_GROUP_SIZE))
    purpose = Text(required=True, validate=length(1, 2_000))
    contact = fields.Nested(ContactInput, required=True)

    @validates_schema
    def _requester(self, data, **_kwargs) -> None:
        problems: dict[str, list[str]] = {}
        is_class = data.get("class_year") is not None or data.get("class_name") is not None
        if is_class:
            if data.get("class_year") is None:
                _require(problems, "class_year", "班级来访须同时填写届别和班级。")
            if data.get("class_name") is None:
                _require(problems, "class_name", "班级来访须同时填写届别和班级。")
            if data.get("department_id") is None:
                _require(problems, "department_id", "班级来访须填写所属院系。")
        elif data.get("requester_alumnus_id") is None:
            _require(problems, "requester_alumnus_id", "校友 ID 或班级信息至少填写一项。")
        if problems:
            raise ValidationError(problems)


class VisitDecision(StrictSchema):
    """Approve (naming the host who receives the visitors) or decline (saying why)."""

    decision = fields.String(required=True, validate=one_of(VISIT_DECISIONS))
    host = Name(allow_none=True, load_default=None, validate=length(1, 50))
    note = Text(allow_none=True, load_default=None, validate=length(1, 2_000))

    @validates_schema
    def _consistent(self, data, **_kwargs) -> None:
        if data.get("decision") == "approved" and not data.get("host"):
            raise ValidationError("批准接待须指定接待人。", "host")
        if data.get("decision") == "declined":
            if data.get("host"):
                raise ValidationError("婉拒的申请不指定接待人。", "host")
            if not data.get("note"):
                raise ValidationError("婉拒须说明原因。", "note")


class VisitCompletion(StrictSchema):
    notes = Text(required=True, validate=length(1, 10_000))


class VisitCancellation(StrictSchema):
    reason = Text(allow_none=True, load_default=None, validate=length(max_len=500))


class VisitSearch(PageQuery):
    status = fields.String(validate=one_of(VISIT_STATUSES))
    department_id = fields.UUID()
    requester_alumnus_id = fields.UUID()
    visit_from = fields.Date()
    visit_to = fields.Date()
    limit = page_limit(20)


class VisitBrief(StrictSchema):
    """A visit without contact details or staff notes: what events carry."""

    id = fields.String(required=True)
    requester_type = fields.String(required=True, validate=one_of(REQUESTER_TYPES))
    requester_alumnus_id = fields.String(allow_none=True, required=True)
    department_id = fields.String(allow_none=True, required=True)
    class_year = fields.Integer(allow_none=True, required=True)
    class_name = fields.String(allow_none=True, required=True)
    visit_date = fields.Date(required=True)
    group_size = fields.Integer(required=True)
    purpose = fields.String(required=True)
    status = fields.String(required=True, validate=one_of(VISIT_STATUSES))
    host = fields.String(allow_none=True, required=True)
    created_at = UtcDateTime(required=True)


class Visit(VisitBrief):
    contact = fields.Nested(ContactOut, required=True)
    decision_note = fields.String(allow_none=True, required=True)
    decided_by = fields.String(allow_none=True, required=True)
    decided_at = UtcDateTime(allow_none=True, required=True)
    outcome_notes = fields.String(allow_none=True, required=True)
    completed_by = fields.String(allow_none=True, required=True)
    completed_at = UtcDateTime(allow_none=True, required=True)
    cancel_reason = fields.String(allow_none=True, required=True)
    cancelled_by = fields.String(allow_none=True, required=True)
    cancelled_at = UtcDateTime(allow_none=True, required=True)
    updated_at = UtcDateTime(required=True)


class VisitDecidedData(StrictSchema):
    """`reception` is the visit: the key keeps the name it was first published with."""

    reception = fields.Nested(VisitBrief, required=True)
    decision = fields.String(required=True, validate=one_of(VISIT_DECISIONS))
    host = fields.String(allow_none=True, required=True)
    note = fields.String(allow_none=True, required=True)
    decided_by = fields.String(required=True)
    decided_at = UtcDateTime(required=True)


EVENTS = (
    EventContract(
        "visit_requested",
        1,
        VisitBrief,
        "An alumnus or a class asked to visit the campus (校友返校接待); `data.department_id` "
        "says whose liaison handles it (null: the office). Contact details stay in the service.",
    ),
    EventContract(
        "visit_decided",
        1,
        VisitDecidedData,
        "A visit request was approved (with the host who receives the visitors) or declined "
        "(with the reason in `data.note`).",
    ),
)
