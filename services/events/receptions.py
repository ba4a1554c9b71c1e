"""Return-visit receptions (校友返校接待, 三.1 and 三.4): request, decision, visit.

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
from services.events.common import (
    id_or_none,
    page_by_seq,
    school_date,
    set_status,
)
from services.events.models import OutboxMessage, Reception

REQUESTED, APPROVED, DECLINED, DONE, CANCELLED = (
    "requested",
    "approved",
    "declined",
    "done",
    "cancelled",
)
# Read after "接待申请": 接待申请已婉拒，不能再审批。
STATUS_NAMES = {
    REQUESTED: "待审批",
    APPROVED: "已批准",
    DECLINED: "已婉拒",
    DONE: "已完成",
    CANCELLED: "已取消",
}
CANCELLABLE = (REQUESTED, APPROVED)
WHAT = "接待申请"


RECEPTION = contract.Reception()
RECEPTION_BRIEF = contract.ReceptionBrief()
VISIT_DECIDED = contract.VisitDecidedData()


def request_reception(session: Session, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A new request, waiting for the office's or the department's decision."""
    if data["visit_date"] < school_date(now):
        raise ValidationFailed(
            "接待申请校验失败。", {"fields": {"visit_date": ["来访日期不能早于今天。"]}}
        )
    contact = data["contact"]
    reception = Reception(
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
    session.add(reception)
    session.flush()
    OutboxMessage.record(session, "visit_requested", RECEPTION_BRIEF.dump(reception))
    return RECEPTION.dump(reception)


def decide_reception(
    session: Session,
    reception_id: str,
    data: dict[str, Any],
    actor: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """Approve with a host, or decline with a reason; the requester is told either way."""
    reception = _reception(session, reception_id)
    if reception.status != REQUESTED:
        raise Conflict(
            f"接待申请{STATUS_NAMES[reception.status]}，不能再审批。",
            {"status": reception.status},
        )
    approved = data["decision"] == APPROVED
    if approved and reception.visit_date < school_date(now):
        raise Conflict("来访日期已过，不能批准。", {"visit_date": reception.visit_date.isoformat()})
    set_status(
        session,
        reception,
        REQUESTED,
        {
            "status": APPROVED if approved else DECLINED,
            "host": data["host"] if approved else None,
            "decision_note": data.get("note"),
            "decided_by": actor["username"],
            "decided_at": now,
            "updated_at": now,
        },
        WHAT,
    )
    OutboxMessage.record(
        session,
        "visit_decided",
        VISIT_DECIDED.dump(
            {
                "reception": reception,
                "decision": reception.status,
                "host": reception.host,
                "note": reception.decision_note,
                "decided_by": reception.decided_by,
                "decided_at": reception.decided_at,
            }
        ),
    )
    return RECEPTION.dump(reception)


def complete_reception(
    session: Session,
    reception_id: str,
    data: dict[str, Any],
    actor: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """Approved → done, with notes on how the visit went; not before the visit day."""
    reception = _reception(session, reception_id)
    if reception.status != APPROVED:
        raise Conflict(
            f"接待申请{STATUS_NAMES[reception.status]}，只有已批准的接待可以标记为完成。",
            {"status": reception.status},
        )
    if school_date(now) < reception.visit_date:
        raise Conflict(
            "来访日期未到，不能标记为已完成。",
            {"visit_date": reception.visit_date.isoformat()},
        )
    set_status(
        session,
        reception,
        APPROVED,
        {
            "status": DONE,
            "outcome_notes": data["notes"],
            "completed_by": actor["username"],
            "completed_at": now,
            "updated_at": now,
        },
        WHAT,
    )
    return RECEPTION.dump(reception)


def cancel_reception(
    session: Session,
    reception_id: str,
    data: dict[str, Any],
    actor: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """A request still waiting, or an approved visit, is called off."""
    reception = _reception(session, reception_id)
    if reception.status not in CANCELLABLE:
        raise Conflict(
            f"接待申请{STATUS_NAMES[reception.status]}，不能取消。", {"status": reception.status}
        )
    set_status(
        session,
        reception,
        reception.status,
        {
            "status": CANCELLED,
            "cancel_reason": data.get("reason"),
            "cancelled_by": actor["username"],
            "cancelled_at": now,
            "updated_at": now,
        },
        WHAT,
    )
    return RECEPTION.dump(reception)


def get_reception(session: Session, reception_id: str) -> dict[str, Any]:
    return RECEPTION.dump(_reception(session, reception_id))


def list_receptions(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    """Requests in the order they came; filter by status, department, requester, visit dates."""
    query = select(Reception)
    if params.get("status"):
        query = query.where(Reception.status == params["status"])
    for field in ("department_id", "requester_alumnus_id"):
        if params.get(field):
            query = query.where(getattr(Reception, field) == str(params[field]))
    if params.get("visit_from"):
        query = query.where(Reception.visit_date >= params["visit_from"])
    if params.get("visit_to"):
        query = query.where(Reception.visit_date <= params["visit_to"])
    return page_by_seq(session, query, Reception, params, RECEPTION.dump)


def _reception(session: Session, reception_id: str) -> Reception:
    reception = session.scalars(select(Reception).where(Reception.id == str(reception_id))).first()
    if reception is None:
        raise NotFound("接待申请不存在。", {"reception_id": str(reception_id)})
    return reception
