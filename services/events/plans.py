"""Yearly work plans and their tasks (工作计划：有布置、有检查、有落实, 三.2), and the
per-department assessment view (四).

A plan belongs to a department, or to the office (`department_id` null), for
one year. Its tasks move forward one step at a time, assigned → checked →
done, each step with its evidence note in `task_steps`. A task whose due date
(a day on the school's calendar, Beijing time) has passed without it being
done is flagged once, and its `task_overdue` event recorded in the same
transaction (`flag_overdue_tasks`, run by the service's timer).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from services.common.contracts.events import plans as contract
from services.common.errors import Conflict, NotFound
from services.common.statemachine import StateMachine
from services.events.common import (
    as_utc,
    flush_or_conflict,
    id_or_none,
    page_in_order,
    school_date,
    school_year_bounds,
    set_status,
)
from services.events.events import FINISHED
from services.events.models import (
    ActivityReport,
    Event,
    OutboxMessage,
    PlanTask,
    TaskStep,
    WorkPlan,
)

ASSIGNED, CHECKED, DONE = "assigned", "checked", "done"
TASK_STATUS = StateMachine(
    "任务",
    {ASSIGNED: "已布置", CHECKED: "已检查", DONE: "已落实"},
    {"check": (ASSIGNED, CHECKED), "complete": (CHECKED, DONE)},
)
OFFICE_OWNER = "office"


PLAN = contract.Plan()
TASK = contract.Task()
TASK_OVERDUE = contract.TaskOverdueData()


# ---- plans -------------------------------------------------------------------


def create_plan(
    session: Session, data: dict[str, Any], actor: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """One plan per department (or the office) per year."""
    department_id = id_or_none(data.get("department_id"))
    owner_key = department_id or OFFICE_OWNER
    message = (
        f"该院系 {data['year']} 年的工作计划已存在。"
        if department_id
        else f"校友会办公室 {data['year']} 年的工作计划已存在。"
    )
    existing = session.scalars(
        select(WorkPlan.id).where(WorkPlan.owner_key == owner_key, WorkPlan.year == data["year"])
    ).first()
    if existing:
        raise Conflict(message, {"plan_id": existing}, reason="plan_exists")
    plan = WorkPlan(
        department_id=department_id,
        owner_key=owner_key,
        year=data["year"],
        title=data["title"],
        created_by=actor["username"],
        created_at=now,
    )
    session.add(plan)
    # The unique key decides between two at once.
    flush_or_conflict(session, message, reason="plan_exists")
    return PLAN.dump(plan)


def get_plan(session: Session, plan_id: str) -> dict[str, Any]:
    return PLAN.dump(_plan(session, plan_id))


def list_plans(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    query = select(WorkPlan)
    if params.get("year"):
        query = query.where(WorkPlan.year == params["year"])
    if params.get("department_id"):
        query = query.where(WorkPlan.department_id == str(params["department_id"]))
    if params.get("office"):
        query = query.where(WorkPlan.department_id.is_(None))
    return page_in_order(session, query, WorkPlan, params, PLAN)


# ---- tasks -------------------------------------------------------------------


def add_task(
    session: Session,
    plan_id: str,
    data: dict[str, Any],
    actor: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """布置: a task with its owner and due date; the first step of its history."""
    plan = _plan(session, plan_id)
    task = PlanTask(
        plan_id=plan.id,
        title=data["title"],
        owner=data["owner"],
        due_date=data["due_date"],
        status=ASSIGNED,
        created_at=now,
    )
    task.steps.append(
        TaskStep(status=ASSIGNED, note=data.get("note"), actor=actor["username"], at=now)
    )
    session.add(task)
    session.flush()
    return TASK.dump(task)


def advance_task(
    session: Session,
    task_id: str,
    data: dict[str, Any],
    actor: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """检查, then 落实: one step forward, with its evidence; never back, never skipping."""
    task = _task(session, task_id)
    target = data["status"]
    step = TASK_STATUS.step_to(task.status, target)
    set_status(session, task, TASK_STATUS, step, {"done_at": now if target == DONE else None})
    task.steps.append(TaskStep(status=target, note=data["note"], actor=actor["username"], at=now))
    session.flush()
    return TASK.dump(task)


def get_task(session: Session, task_id: str) -> dict[str, Any]:
    return TASK.dump(_task(session, task_id))


def list_tasks(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    query = select(PlanTask)
    if params.get("plan_id"):
        query = query.where(PlanTask.plan_id == str(params["plan_id"]))
    if params.get("owner"):
        query = query.where(PlanTask.owner == params["owner"])
    if params.get("status"):
        query = query.where(PlanTask.status == params["status"])
    return page_in_order(session, query, PlanTask, params, TASK)


def flag_overdue_tasks(
    session: Session, today: date, now: datetime | None = None
) -> dict[str, Any]:
    """Flag every task past its due date and not done, once, recording `task_overdue`.

    Safe to run from several instances at once: each flag is a conditional
    UPDATE (`overdue_flagged_at IS NULL`), so a task is flagged, and its event
    recorded, by exactly one transaction.
    """
    now = now or datetime.now(UTC)
    candidates = session.execute(
        select(PlanTask, WorkPlan)
        .join(WorkPlan, WorkPlan.id == PlanTask.plan_id)
        .where(
            PlanTask.overdue_flagged_at.is_(None),
            PlanTask.status != DONE,
            PlanTask.due_date < today,
        )
        .order_by(PlanTask.seq)
    ).all()
    flagged: list[str] = []
    for task, plan in candidates:
        claimed = session.execute(
            update(PlanTask)
            .where(
                PlanTask.seq == task.seq,
                PlanTask.overdue_flagged_at.is_(None),
                PlanTask.status != DONE,
            )
            .values(overdue_flagged_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:
            continue
        session.refresh(task)
        OutboxMessage.record(
            session,
            "task_overdue",
            TASK_OVERDUE.dump({"task": task, "plan": plan, "flagged_at": task.overdue_flagged_at}),
        )
        flagged.append(task.id)
    return {"flagged": len(flagged), "task_ids": flagged}


# ---- assessment (四) -----------------------------------------------------------


def department_summary(session: Session, year: int, today: date) -> dict[str, Any]:
    """Per department, for `year`: its plan's tasks, and the events it held and reported.

    Tasks are those of the department's plan for `year`; done on time means
    done on or before the due date (Beijing time); overdue means not done and
    past the due date on `today`. Events held are finished events the
    department organised that began in `year` (Beijing time); reported ones
    have an activity report. The office's own plan is not a department's.
    """
    lines: dict[str, dict[str, int]] = defaultdict(
        lambda: {
            "tasks_total": 0,
            "tasks_done": 0,
            "tasks_done_on_time": 0,
            "tasks_overdue": 0,
            "events_held": 0,
            "events_reported": 0,
        }
    )
    tasks = session.execute(
        select(WorkPlan.department_id, PlanTask.status, PlanTask.due_date, PlanTask.done_at)
        .join(WorkPlan, WorkPlan.id == PlanTask.plan_id)
        .where(WorkPlan.year == year, WorkPlan.department_id.is_not(None))
    )
    for department_id, status, due_date, done_at in tasks:
        line = lines[department_id]
        line["tasks_total"] += 1
        if status == DONE:
            line["tasks_done"] += 1
            if school_date(done_at) <= due_date:
                line["tasks_done_on_time"] += 1
        elif due_date < today:
            line["tasks_overdue"] += 1

    starts, ends = school_year_bounds(year)
    held = session.execute(
        select(Event.organiser_id, func.count(Event.id), func.count(ActivityReport.id))
        .outerjoin(ActivityReport, ActivityReport.event_id == Event.id)
        .where(
            Event.organiser_type == "department",
            Event.organiser_id.is_not(None),
            Event.status == FINISHED,
            Event.starts_at >= as_utc(starts),
            Event.starts_at < as_utc(ends),
        )
        .group_by(Event.organiser_id)
    )
    for department_id, events_held, events_reported in held:
        line = lines[department_id]
        line["events_held"] = events_held
        line["events_reported"] = events_reported

    return {
        "year": year,
        "as_of": today.isoformat(),
        "departments": [
            {"department_id": department_id, **lines[department_id]}
            for department_id in sorted(lines)
        ],
    }


def _plan(session: Session, plan_id: str) -> WorkPlan:
    plan = session.scalars(select(WorkPlan).where(WorkPlan.id == str(plan_id))).first()
    if plan is None:
        raise NotFound("工作计划不存在。", {"plan_id": str(plan_id)})
    return plan


def _task(session: Session, task_id: str) -> PlanTask:
    task = session.scalars(select(PlanTask).where(PlanTask.id == str(task_id))).first()
    if task is None:
        raise NotFound("任务不存在。", {"task_id": str(task_id)})
    return task
