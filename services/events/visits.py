"""Return visits (校友返校接待, 三.1 and 三.4): request, decision, completion, cancellation.

    requested ──approve──▶ approved ──complete──▶ done
        │ └────decline──▶ declined        │
        └──────cancel──▶ cancelled ◀──cancel─┘

An alumnus asks for themselves, or anyone asks on behalf of a class (届别 and
班级 of a department). `department_id` says whose liaison may handle the
request; the gateway decides who may act, the service records who did.
Contact details stay in this service: events carry ids, dates and the purpose.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.contracts.events import visits as contract
from services.common.errors import Conflict, NotFound, ValidationFailed
from services.common.statemachine import StateMachine
from services.events.common import id_or_none, page_in_order, school_date, set_status
from services.events.models import OutboxMessage, Visit

REQUESTED, APPROVED, DECLINED, DONE, CANCELLED = (
    "requested",
    "approved",
    "declined",
    "done",
    "cancelled",
)
VISIT_STATUS = StateMachine(
    "接待申请",
    {
        REQUESTED: "待审批",
        APPROVED: "已批准",
        DECLINED: "已婉拒",
        DONE: "已完成",
        CANCELLED: "已取消",
    },
    {
        "approve": (REQUESTED, APPROVED),
        "decline": (REQUESTED, DECLINED),
        "complete": (APPROVED, DONE),
        "cancel": ({REQUESTED, APPROVED}, CANCELLED),
    },
)
VISIT = contract.Visit()
VISIT_BRIEF = contract.VisitBrief()
VISIT_DECIDED = contract.VisitDecidedData()


def request_visit(session: Session, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A new request, waiting for the office's or the department's decision."""
    if data["visit_date"] < school_date(now):
        raise ValidationFailed(
            "接待申请校验失败。",
            {"fields": {"visit_date": ["来访日期不能早于今天。"]}},
            reason="visit_date_in_past",
        )
    contact = data["contact"]
    visit = Visit(
        requester_alumnus_id=id_or_none(data.get("requester_alumnus_id")),
        department_id=id_or_none(data.get("department_id")),
        class_year=data.get("class_year"),
        class_name=data.get("class_name"),
        visit_date=data["visit_date"],
        group_size=data["group_size"],
        purpose=data["purpose"],
        contact={
            "name": contact["name"],
            "phone": contact.get("phone"),
            "email": contact.get("email"),
        },
        status=REQUESTED,
        created_at=now,
        updated_at=now,
    )
    session.add(visit)
    session.flush()
    OutboxMessage.record(session, "visit_requested", VISIT_BRIEF.dump(visit))
    return VISIT.dump(visit)


def decide_visit(
    session: Session,
    visit_id: str,
    data: dict[str, Any],
    actor: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """Approve with a host, or decline with a reason; the requester is told either way."""
    visit = _visit(session, visit_id)
    approved = data["decision"] == APPROVED
    step = "approve" if approved else "decline"
    VISIT_STATUS.target(visit.status, step)  # the table first: a decided visit, whatever its date
    if approved and visit.visit_date < school_date(now):
        raise Conflict(
            "来访日期已过，不能批准。",
            {"visit_date": visit.visit_date.isoformat()},
            reason="visit_date_passed",
        )
    set_status(
        session,
        visit,
        VISIT_STATUS,
        step,
        {
            "host": data["host"] if approved else None,
            "decision_note": data.get("note"),
            "decided_by": actor["username"],
            "decided_at": now,
            "updated_at": now,
        },
    )
    OutboxMessage.record(
        session,
        "visit_decided",
        VISIT_DECIDED.dump(
            {
                "reception": visit,
                "decision": visit.status,
                "host": visit.host,
                "note": visit.decision_note,
                "decided_by": visit.decided_by,
                "decided_at": visit.decided_at,
            }
        ),
    )
    return VISIT.dump(visit)


def complete_visit(
    session: Session,
    visit_id: str,
    data: dict[str, Any],
    actor: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """Approved → done, with notes on how the visit went; not before the visit day."""
    visit = _visit(session, visit_id)
    VISIT_STATUS.target(visit.status, "complete")  # the table first, then the date
    if school_date(now) < visit.visit_date:
        raise Conflict(
            "来访日期未到，不能标记为已完成。",
            {"visit_date": visit.visit_date.isoformat()},
            reason="visit_day_not_reached",
        )
    set_status(
        session,
        visit,
        VISIT_STATUS,
        "complete",
        {
            "outcome_notes": data["notes"],
            "completed_by": actor["username"],
            "completed_at": now,
            "updated_at": now,
        },
    )
    return VISIT.dump(visit)


def cancel_visit(
    session: Session,
    visit_id: str,
    data: dict[str, Any],
    actor: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """A request still waiting, or an approved visit, is called off."""
    visit = _visit(session, visit_id)
    set_status(
        session,
        visit,
        VISIT_STATUS,
        "cancel",
        {
            "cancel_reason": data.get("reason"),
            "cancelled_by": actor["username"],
            "cancelled_at": now,
            "updated_at": now,
        },
    )
    return VISIT.dump(visit)


def get_visit(session: Session, visit_id: str) -> dict[str, Any]:
    return VISIT.dump(_visit(session, visit_id))


def list_visits(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    """Requests in the order they came; filter by status, department, requester, visit dates."""
    query = select(Visit)
    if params.get("status"):
        query = query.where(Visit.status == params["status"])
    for field in ("department_id", "requester_alumnus_id"):
        if params.get(field):
            query = query.where(getattr(Visit, field) == str(params[field]))
    if params.get("visit_from"):
        query = query.where(Visit.visit_date >= params["visit_from"])
    if params.get("visit_to"):
        query = query.where(Visit.visit_date <= params["visit_to"])
    return page_in_order(session, query, Visit, params, VISIT)


def _visit(session: Session, visit_id: str) -> Visit:
    visit = session.scalars(select(Visit).where(Visit.id == str(visit_id))).first()
    if visit is None:
        raise NotFound("接待申请不存在。", {"visit_id": str(visit_id)})
    return visit
