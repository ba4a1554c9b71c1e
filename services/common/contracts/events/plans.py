"""Yearly work plans and their tasks (工作计划, 三.2), and the per-department summary (四)."""

from __future__ import annotations

from marshmallow import fields

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
from services.common.contracts.events.common import STAFF_USERNAME, Step, page_limit

TASK_STATUSES = ["assigned", "checked", "done"]


class PlanInput(StrictSchema):
    """A year's work plan of a department, or of the office when `department_id` is null."""

    department_id = fields.UUID(allow_none=True, load_default=None)
    year = fields.Integer(required=True, strict=True, validate=in_range(2000, 2100))
    title = Name(required=True, validate=length(1, 200))


class PlanSearch(PageQuery):
    year = fields.Integer(strict=True, validate=in_range(2000, 2100))
    department_id = fields.UUID()
    office = fields.Boolean(metadata={"description": "only the office's own plans"})
    limit = page_limit(20)


class TaskInput(StrictSchema):
    title = Name(required=True, validate=length(1, 200))
    owner = fields.String(required=True, validate=STAFF_USERNAME)
    due_date = fields.Date(required=True)
    note = Text(allow_none=True, load_default=None, validate=length(1, 2_000))


class TaskAdvance(StrictSchema):
    """The next step (assigned → checked → done) and its evidence (有检查、有落实)."""

    status = fields.String(required=True, validate=one_of(TASK_STATUSES))
    note = Text(required=True, validate=length(1, 2_000))


class TaskSearch(PageQuery):
    plan_id = fields.UUID()
    owner = Name(validate=length(1, 50))
    status = fields.String(validate=one_of(TASK_STATUSES))


class SummaryQuery(StrictSchema):
    year = fields.Integer(required=True, strict=True, validate=in_range(2000, 2100))


class PlanBrief(StrictSchema):
    id = fields.String(required=True)
    department_id = fields.String(allow_none=True, required=True)
    year = fields.Integer(required=True)
    title = fields.String(required=True)


class Plan(PlanBrief):
    created_by = fields.String(required=True)
    created_at = UtcDateTime(required=True)


class TaskBrief(StrictSchema):
    id = fields.String(required=True)
    plan_id = fields.String(required=True)
    title = fields.String(required=True)
    owner = fields.String(required=True)
    due_date = fields.Date(required=True)
    status = fields.String(required=True, validate=one_of(TASK_STATUSES))


class Task(TaskBrief):
    done_at = UtcDateTime(allow_none=True, required=True)
    overdue_flagged_at = UtcDateTime(allow_none=True, required=True)
    created_at = UtcDateTime(required=True)
    steps = fields.List(fields.Nested(Step), required=True)


class TaskOverdueData(StrictSchema):
    task = fields.Nested(TaskBrief, required=True)
    plan = fields.Nested(PlanBrief, required=True)
    flagged_at = UtcDateTime(required=True)


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
    as_of = fields.Date(required=True)
    departments = fields.List(fields.Nested(DepartmentSummaryLine), required=True)


EVENTS = (
    EventContract(
        "task_overdue",
        1,
        TaskOverdueData,
        "A work-plan task passed its due date (Beijing time) without being done; sent once "
        "per task, to its owner's attention.",
    ),
)
