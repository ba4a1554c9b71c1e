"""Contracts of the events service: its RPC payloads and the events it publishes.

Registration events carry no check-in token: events go to a topic exchange
that other campus systems may read, and the token admits its holder at the
door. A consumer that must show the QR code (notify) asks for it by RPC
(`events.registration_qr`).

Likewise the engagement workflows' events (visits, overdue tasks, answered
suggestions) carry ids, dates and what staff wrote, never a visitor's phone or
e-mail; a consumer that must reach a class's contact asks `events.get_reception`.
"""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from services.common.contracts.base import (
    EventContract,
    StrictSchema,
    china_mobile,
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


DRAFT_VIEWS = ["all", "none", "department"]


class EventListQuery(EventSearch):
    """`EventSearch` as the gateway sends it: with the caller's view of drafts.

    Which drafts a caller may see is decided in gateway/authz.py: `all` (the
    default), `none`, or `department` — only drafts that department organises.
    Clients never send these two fields themselves.
    """

    drafts = fields.String(load_default="all", validate=one_of(DRAFT_VIEWS))
    drafts_department_id = fields.UUID(allow_none=True, load_default=None)

    @validates_schema
    def _department_named(self, data, **_kwargs) -> None:
        if data.get("drafts") == "department" and not data.get("drafts_department_id"):
            raise ValidationError("须指定可见草稿的院系。", "drafts_department_id")


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
    department_ids = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "the alumnus's departments, as the local roster holds them"},
    )


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


# ---- engagement workflows: receptions, work plans, suggestions, service requests,
# ---- cooperation projects (三.1, 三.2, 三.4, 三.7, 三.8) ------------------------

RECEPTION_STATUSES = ["requested", "approved", "declined", "done", "cancelled"]
RECEPTION_DECISIONS = ["approved", "declined"]
REQUESTER_TYPES = ["alumnus", "class"]
TASK_STATUSES = ["assigned", "checked", "done"]
SUGGESTION_STATUSES = ["open", "answered"]
SERVICE_REQUEST_KINDS = ["talent_training", "technology_consulting", "other"]
SERVICE_REQUEST_STATUSES = ["open", "assigned", "in_progress", "resolved", "closed"]
PROJECT_STATUSES = ["proposed", "active", "completed", "suspended"]
MAX_GROUP_SIZE = 10_000
MAX_CONTACTS = 50
STAFF_USERNAME = validate.Regexp(
    r"^[A-Za-z0-9_.-]{3,50}$", error="应为员工用户名：3 到 50 位字母、数字或 _.-。"
)


def _require(problems: dict[str, list[str]], field: str, message: str) -> None:
    problems.setdefault(field, []).append(message)


class ContactInput(StrictSchema):
    """A person to reach; at least a phone number or an e-mail address."""

    name = fields.String(required=True, validate=length(1, 50))
    phone = fields.String(allow_none=True, load_default=None, validate=china_mobile())
    email = fields.Email(allow_none=True, load_default=None, validate=length(max_len=254))

    @validates_schema
    def _reachable(self, data, **_kwargs) -> None:
        if not data.get("phone") and not data.get("email"):
            raise ValidationError("联系电话或电子邮箱至少填写一项。", "phone")


class ReceptionInput(StrictSchema):
    """A request to visit the campus (校友返校接待), from an alumnus or on behalf of a class.

    `department_id` names the department whose liaison may handle it (the
    class's department for a class visit); without it the office handles it.
    """

    requester_alumnus_id = fields.UUID(allow_none=True, load_default=None)
    department_id = fields.UUID(allow_none=True, load_default=None)
    class_year = fields.Integer(
        allow_none=True, load_default=None, strict=True, validate=in_range(1900, 2100)
    )
    class_name = fields.String(allow_none=True, load_default=None, validate=length(1, 100))
    visit_date = fields.Date(required=True)
    group_size = fields.Integer(required=True, strict=True, validate=in_range(1, MAX_GROUP_SIZE))
    purpose = fields.String(required=True, validate=length(1, 2_000))
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


class ReceptionDecision(StrictSchema):
    """Approve (naming the host who receives the visitors) or decline (saying why)."""

    decision = fields.String(required=True, validate=one_of(RECEPTION_DECISIONS))
    host = fields.String(allow_none=True, load_default=None, validate=length(1, 50))
    note = fields.String(allow_none=True, load_default=None, validate=length(1, 2_000))

    @validates_schema
    def _consistent(self, data, **_kwargs) -> None:
        if data.get("decision") == "approved" and not data.get("host"):
            raise ValidationError("批准接待须指定接待人。", "host")
        if data.get("decision") == "declined":
            if data.get("host"):
                raise ValidationError("婉拒的申请不指定接待人。", "host")
            if not data.get("note"):
                raise ValidationError("婉拒须说明原因。", "note")


class ReceptionCompletion(StrictSchema):
    notes = fields.String(required=True, validate=length(1, 10_000))


class ReceptionCancellation(StrictSchema):
    reason = fields.String(allow_none=True, load_default=None, validate=length(max_len=500))


class ReceptionSearch(StrictSchema):
    status = fields.String(validate=one_of(RECEPTION_STATUSES))
    department_id = fields.UUID()
    requester_alumnus_id = fields.UUID()
    visit_from = fields.Date()
    visit_to = fields.Date()
    limit = fields.Integer(load_default=20, validate=in_range(1, MAX_PAGE_SIZE))
    cursor = fields.String(validate=length(1, 200))


class PlanInput(StrictSchema):
    """A year's work plan of a department, or of the office when `department_id` is null."""

    department_id = fields.UUID(allow_none=True, load_default=None)
    year = fields.Integer(required=True, strict=True, validate=in_range(2000, 2100))
    title = fields.String(required=True, validate=length(1, 200))


class PlanSearch(StrictSchema):
    year = fields.Integer(strict=True, validate=in_range(2000, 2100))
    department_id = fields.UUID()
    office = fields.Boolean(metadata={"description": "only the office's own plans"})
    limit = fields.Integer(load_default=20, validate=in_range(1, MAX_PAGE_SIZE))
    cursor = fields.String(validate=length(1, 200))


class TaskInput(StrictSchema):
    title = fields.String(required=True, validate=length(1, 200))
    owner = fields.String(required=True, validate=STAFF_USERNAME)
    due_date = fields.Date(required=True)
    note = fields.String(allow_none=True, load_default=None, validate=length(1, 2_000))


class TaskAdvance(StrictSchema):
    """The next step (assigned → checked → done) and its evidence (有检查、有落实)."""

    status = fields.String(required=True, validate=one_of(TASK_STATUSES))
    note = fields.String(required=True, validate=length(1, 2_000))


class TaskSearch(StrictSchema):
    plan_id = fields.UUID()
    owner = fields.String(validate=length(1, 50))
    status = fields.String(validate=one_of(TASK_STATUSES))
    limit = fields.Integer(load_default=50, validate=in_range(1, MAX_PAGE_SIZE))
    cursor = fields.String(validate=length(1, 200))


class SummaryQuery(StrictSchema):
    year = fields.Integer(required=True, strict=True, validate=in_range(2000, 2100))


class SuggestionInput(StrictSchema):
    alumnus_id = fields.UUID(required=True)
    subject = fields.String(required=True, validate=length(1, 200))
    body = fields.String(required=True, validate=length(1, 10_000))


class SuggestionAnswer(StrictSchema):
    answer = fields.String(required=True, validate=length(1, 10_000))


class SuggestionSearch(StrictSchema):
    status = fields.String(validate=one_of(SUGGESTION_STATUSES))
    alumnus_id = fields.UUID()
    limit = fields.Integer(load_default=20, validate=in_range(1, MAX_PAGE_SIZE))
    cursor = fields.String(validate=length(1, 200))


class ServiceRequestInput(StrictSchema):
    """An alumni company asks the school for help (三.7)."""

    alumnus_id = fields.UUID(required=True)
    company = fields.String(required=True, validate=length(1, 200))
    kind = fields.String(required=True, validate=one_of(SERVICE_REQUEST_KINDS))
    description = fields.String(required=True, validate=length(1, 10_000))


class ServiceRequestAssignment(StrictSchema):
    assignee = fields.String(required=True, validate=STAFF_USERNAME)
    note = fields.String(allow_none=True, load_default=None, validate=length(1, 2_000))


class ServiceRequestProgress(StrictSchema):
    """Move a request on: in_progress, resolved or closed; the last two say how."""

    status = fields.String(required=True, validate=one_of(["in_progress", "resolved", "closed"]))
    note = fields.String(allow_none=True, load_default=None, validate=length(1, 2_000))

    @validates_schema
    def _explained(self, data, **_kwargs) -> None:
        if data.get("status") in ("resolved", "closed") and not data.get("note"):
            raise ValidationError("办结或关闭须填写说明。", "note")


class NoteInput(StrictSchema):
    note = fields.String(required=True, validate=length(1, 5_000))


class ServiceRequestSearch(StrictSchema):
    status = fields.String(validate=one_of(SERVICE_REQUEST_STATUSES))
    kind = fields.String(validate=one_of(SERVICE_REQUEST_KINDS))
    assignee = fields.String(validate=length(1, 50))
    alumnus_id = fields.UUID()
    limit = fields.Integer(load_default=20, validate=in_range(1, MAX_PAGE_SIZE))
    cursor = fields.String(validate=length(1, 200))


class ProjectContactInput(StrictSchema):
    name = fields.String(required=True, validate=length(1, 50))
    phone = fields.String(allow_none=True, load_default=None, validate=china_mobile())
    email = fields.Email(allow_none=True, load_default=None, validate=length(max_len=254))
    alumnus_id = fields.UUID(allow_none=True, load_default=None)


class ProjectFields(StrictSchema):
    title = fields.String(validate=length(1, 200))
    partner = fields.String(validate=length(1, 200))
    contacts = fields.List(
        fields.Nested(ProjectContactInput), validate=length(max_len=MAX_CONTACTS)
    )
    department_id = fields.UUID(allow_none=True)


class ProjectInput(ProjectFields):
    """A school–alumni cooperation project (三.8); `department_id` when a department runs it."""

    title = fields.String(required=True, validate=length(1, 200))
    partner = fields.String(required=True, validate=length(1, 200))
    contacts = fields.List(
        fields.Nested(ProjectContactInput), load_default=list, validate=length(max_len=MAX_CONTACTS)
    )
    department_id = fields.UUID(allow_none=True, load_default=None)
    status = fields.String(load_default="proposed", validate=one_of(PROJECT_STATUSES))


class ProjectPatch(ProjectFields):
    """A partial update of title, partner, contacts or department; status has its own call."""


class ProjectStatusChange(StrictSchema):
    status = fields.String(required=True, validate=one_of(PROJECT_STATUSES))
    note = fields.String(allow_none=True, load_default=None, validate=length(1, 5_000))


class ProjectSearch(StrictSchema):
    status = fields.String(validate=one_of(PROJECT_STATUSES))
    department_id = fields.UUID()
    limit = fields.Integer(load_default=20, validate=in_range(1, MAX_PAGE_SIZE))
    cursor = fields.String(validate=length(1, 200))


# Outputs (RPC results and event payloads, JSON-native).


class ContactOut(StrictSchema):
    name = fields.String(required=True)
    phone = fields.String(allow_none=True, required=True)
    email = fields.String(allow_none=True, required=True)


class ReceptionBrief(StrictSchema):
    """A reception without contact details or staff notes: what events carry."""

    id = fields.String(required=True)
    requester_type = fields.String(required=True, validate=one_of(REQUESTER_TYPES))
    requester_alumnus_id = fields.String(allow_none=True, required=True)
    department_id = fields.String(allow_none=True, required=True)
    class_year = fields.Integer(allow_none=True, required=True)
    class_name = fields.String(allow_none=True, required=True)
    visit_date = fields.String(required=True, metadata={"format": "date"})
    group_size = fields.Integer(required=True)
    purpose = fields.String(required=True)
    status = fields.String(required=True, validate=one_of(RECEPTION_STATUSES))
    host = fields.String(allow_none=True, required=True)
    created_at = fields.String(required=True, metadata={"format": "date-time"})


class Reception(ReceptionBrief):
    contact = fields.Nested(ContactOut, required=True)
    decision_note = fields.String(allow_none=True, required=True)
    decided_by = fields.String(allow_none=True, required=True)
    decided_at = fields.String(allow_none=True, required=True, metadata={"format": "date-time"})
    outcome_notes = fields.String(allow_none=True, required=True)
    completed_by = fields.String(allow_none=True, required=True)
    completed_at = fields.String(allow_none=True, required=True, metadata={"format": "date-time"})
    cancel_reason = fields.String(allow_none=True, required=True)
    cancelled_by = fields.String(allow_none=True, required=True)
    cancelled_at = fields.String(allow_none=True, required=True, metadata={"format": "date-time"})
    updated_at = fields.String(required=True, metadata={"format": "date-time"})


class VisitDecidedData(StrictSchema):
    reception = fields.Nested(ReceptionBrief, required=True)
    decision = fields.String(required=True, validate=one_of(RECEPTION_DECISIONS))
    host = fields.String(allow_none=True, required=True)
    note = fields.String(allow_none=True, required=True)
    decided_by = fields.String(required=True)
    decided_at = fields.String(required=True, metadata={"format": "date-time"})


class PlanBrief(StrictSchema):
    id = fields.String(required=True)
    department_id = fields.String(allow_none=True, required=True)
    year = fields.Integer(required=True)
    title = fields.String(required=True)


class Plan(PlanBrief):
    created_by = fields.String(required=True)
    created_at = fields.String(required=True, metadata={"format": "date-time"})


class Step(StrictSchema):
    """One entry of a history: the status after it, its note, who and when."""

    status = fields.String(required=True)
    note = fields.String(allow_none=True, required=True)
    actor = fields.String(required=True)
    at = fields.String(required=True, metadata={"format": "date-time"})


class TaskBrief(StrictSchema):
    id = fields.String(required=True)
    plan_id = fields.String(required=True)
    title = fields.String(required=True)
    owner = fields.String(required=True)
    due_date = fields.String(required=True, metadata={"format": "date"})
    status = fields.String(required=True, validate=one_of(TASK_STATUSES))


class Task(TaskBrief):
    done_at = fields.String(allow_none=True, required=True, metadata={"format": "date-time"})
    overdue_flagged_at = fields.String(
        allow_none=True, required=True, metadata={"format": "date-time"}
    )
    created_at = fields.String(required=True, metadata={"format": "date-time"})
    steps = fields.List(fields.Nested(Step), required=True)


class TaskOverdueData(StrictSchema):
    task = fields.Nested(TaskBrief, required=True)
    plan = fields.Nested(PlanBrief, required=True)
    flagged_at = fields.String(required=True, metadata={"format": "date-time"})


class OverdueScan(StrictSchema):
    flagged = fields.Integer(required=True)
    task_ids = fields.List(fields.String(), required=True)


class DepartmentSummaryLine(StrictSchema):
    department_id = fields.String(required=True)
    tasks_total = fields.Integer(required=True)
    tasks_done = fields.Integer(required=True)
    tasks_done_on_time = fields.Integer(
        required=True, metadata={"description": "done on or before the due date (Beijing time)"}
    )
    tasks_overdue = fields.Integer(
        required=True, metadata={"description": "not done and past the due date on `as_of`"}
    )
    events_held = fields.Integer(
        required=True,
        metadata={"description": "finished events it organised that began in the year"},
    )
    events_reported = fields.Integer(
        required=True, metadata={"description": "of those, how many have an activity report"}
    )


class DepartmentSummary(StrictSchema):
    year = fields.Integer(required=True)
    as_of = fields.String(required=True, metadata={"format": "date"})
    departments = fields.List(fields.Nested(DepartmentSummaryLine), required=True)


class Suggestion(StrictSchema):
    id = fields.String(required=True)
    alumnus_id = fields.String(required=True)
    subject = fields.String(required=True)
    body = fields.String(required=True)
    status = fields.String(required=True, validate=one_of(SUGGESTION_STATUSES))
    answer = fields.String(allow_none=True, required=True)
    answered_by = fields.String(allow_none=True, required=True)
    answered_at = fields.String(allow_none=True, required=True, metadata={"format": "date-time"})
    created_at = fields.String(required=True, metadata={"format": "date-time"})


class SuggestionAnsweredData(StrictSchema):
    """Enough for notify to tell the alumnus the reply; the suggestion's body stays home."""

    suggestion_id = fields.String(required=True)
    alumnus_id = fields.String(required=True)
    subject = fields.String(required=True)
    answer = fields.String(required=True)
    answered_by = fields.String(required=True)
    answered_at = fields.String(required=True, metadata={"format": "date-time"})


class ServiceRequest(StrictSchema):
    id = fields.String(required=True)
    alumnus_id = fields.String(required=True)
    company = fields.String(required=True)
    kind = fields.String(required=True, validate=one_of(SERVICE_REQUEST_KINDS))
    description = fields.String(required=True)
    status = fields.String(required=True, validate=one_of(SERVICE_REQUEST_STATUSES))
    assignee = fields.String(allow_none=True, required=True)
    history = fields.List(fields.Nested(Step), required=True)
    created_at = fields.String(required=True, metadata={"format": "date-time"})
    updated_at = fields.String(required=True, metadata={"format": "date-time"})


class ProjectContact(ContactOut):
    alumnus_id = fields.String(allow_none=True, required=True)


class ProjectNote(StrictSchema):
    note = fields.String(required=True)
    author = fields.String(required=True)
    at = fields.String(required=True, metadata={"format": "date-time"})


class Project(StrictSchema):
    id = fields.String(required=True)
    title = fields.String(required=True)
    partner = fields.String(required=True)
    contacts = fields.List(fields.Nested(ProjectContact), required=True)
    status = fields.String(required=True, validate=one_of(PROJECT_STATUSES))
    department_id = fields.String(allow_none=True, required=True)
    notes = fields.List(fields.Nested(ProjectNote), required=True)
    created_by = fields.String(required=True)
    created_at = fields.String(required=True, metadata={"format": "date-time"})
    updated_at = fields.String(required=True, metadata={"format": "date-time"})


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
    EventContract(
        "visit_requested",
        1,
        ReceptionBrief,
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
    EventContract(
        "task_overdue",
        1,
        TaskOverdueData,
        "A work-plan task passed its due date (Beijing time) without being done; sent once "
        "per task, to its owner's attention.",
    ),
    EventContract(
        "suggestion_answered",
        1,
        SuggestionAnsweredData,
        "Staff answered an alumnus's suggestion (建议); sent once per suggestion.",
    ),
)
