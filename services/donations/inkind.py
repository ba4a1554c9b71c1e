"""In-kind gifts (实物捐赠): item, quantity, appraised value in fen with the appraiser and
the date, where it is kept, and its lifecycle `received → appraised → in_use | displayed
→ disposed`, each step recorded with who and when.

Every in-kind gift rests on a donation agreement signed by the donor. Appraised values
are for the records and the annual report; they post nothing to the cash ledger.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.common.contracts.base import iso_utc
from services.common.errors import Conflict, NotFound
from services.common.paging import page, paged_select
from services.common.statemachine import StateMachine
from services.donations import agreements, funds
from services.donations.donors import AlumnusLookup, donor_dict, resolve_donor
from services.donations.models import InkindGift, InkindStep, OutboxMessage

LIFECYCLE = StateMachine(
    "实物捐赠",
    {
        "received": "已接收",
        "appraised": "已评估",
        "in_use": "使用中",
        "displayed": "展示中",
        "disposed": "已处置",
    },
    {
        "appraise": ("received", "appraised"),
        "use": (("appraised", "displayed"), "in_use"),
        "display": (("appraised", "in_use"), "displayed"),
        "dispose": (("appraised", "in_use", "displayed"), "disposed"),
    },
)


def receive(
    session: Session,
    data: dict[str, Any],
    actor: dict[str, Any],
    today: date,
    now: datetime,
    lookup: AlumnusLookup,
) -> dict[str, Any]:
    donor = resolve_donor(session, data["donor"], lookup)
    agreement_id = agreements.check(
        session, data["agreement_id"], donor, {"donor": donor.receipt_name}, required=True
    )
    item = InkindGift(
        **donor.columns(),
        item=data["item"],
        description=data.get("description", ""),
        quantity=data["quantity"],
        unit=data["unit"],
        received_on=funds.not_in_future(data.get("received_on"), today, "received_on"),
        custody_location=data["custody_location"],
        status="received",
        agreement_id=agreement_id,
        disclosure=data["disclosure"],
        created_by=actor["username"],
        created_at=now,
    )
    session.add(item)
    session.flush()
    _record_step(session, item, None, actor, now)
    OutboxMessage.record(
        session,
        "inkind_received",
        {
            "inkind": {
                "id": item.id,
                "donor": donor_dict(item),
                "item": item.item,
                "quantity": item.quantity,
                "unit": item.unit,
                "received_on": item.received_on.isoformat(),
                "custody_location": item.custody_location,
                "agreement_id": item.agreement_id,
            }
        },
    )
    return to_dict(session, item)


def advance(
    session: Session,
    inkind_id: str,
    data: dict[str, Any],
    actor: dict[str, Any],
    today: date,
    now: datetime,
) -> dict[str, Any]:
    """The next step (contract InkindStepInput): compare-and-set on the status."""
    item = row(session, inkind_id)
    LIFECYCLE.step_to(item.status, data["status"])
    values: dict[str, Any] = {"status": data["status"]}
    if data["status"] == "appraised":
        values.update(
            appraised_value_fen=data["appraised_value_fen"],
            appraiser=data["appraiser"],
            appraised_on=funds.not_in_future(data["appraised_on"], today, "appraised_on"),
        )
    if data.get("custody_location"):
        values["custody_location"] = data["custody_location"]
    changed = session.execute(
        update(InkindGift)
        .where(InkindGift.seq == item.seq, InkindGift.status == item.status)
        .values(**values)
    ).rowcount
    if changed != 1:
        raise Conflict("实物捐赠已被他人处理，请刷新后重试。", {"id": item.id})
    session.refresh(item)
    _record_step(session, item, data.get("note"), actor, now)
    return to_dict(session, item)


def _record_step(
    session: Session, item: InkindGift, note: str | None, actor: dict[str, Any], now: datetime
) -> None:
    session.add(
        InkindStep(
            inkind_seq=item.seq,
            status=item.status,
            note=note,
            custody_location=item.custody_location,
            actor=actor["username"],
            at=now,
        )
    )
    session.flush()


def row(session: Session, inkind_id: str) -> InkindGift:
    item = session.scalars(select(InkindGift).where(InkindGift.id == str(inkind_id))).one_or_none()
    if item is None:
        raise NotFound("实物捐赠不存在。", {"inkind_id": str(inkind_id)})
    return item


def get(session: Session, inkind_id: str) -> dict[str, Any]:
    return to_dict(session, row(session, inkind_id))


def list_inkind(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    query = select(InkindGift)
    if params.get("status"):
        query = query.where(InkindGift.status == params["status"])
    rows = session.scalars(
        paged_select(query, [InkindGift.seq], params, (int,), descending=True)
    ).all()
    return page(
        rows, params["limit"], lambda r: [r.seq], lambda rs: [to_dict(session, r) for r in rs]
    )


def to_dict(session: Session, item: InkindGift) -> dict[str, Any]:
    steps = session.scalars(
        select(InkindStep).where(InkindStep.inkind_seq == item.seq).order_by(InkindStep.seq)
    ).all()
    return {
        "id": item.id,
        "donor": donor_dict(item),
        "item": item.item,
        "description": item.description,
        "quantity": item.quantity,
        "unit": item.unit,
        "received_on": item.received_on.isoformat(),
        "custody_location": item.custody_location,
        "status": item.status,
        "appraised_value_fen": item.appraised_value_fen,
        "appraiser": item.appraiser,
        "appraised_on": item.appraised_on.isoformat() if item.appraised_on else None,
        "agreement_id": item.agreement_id,
        "disclosure": item.disclosure,
        "steps": [
            {
                "status": step.status,
                "note": step.note,
                "custody_location": step.custody_location,
                "actor": step.actor,
                "at": iso_utc(step.at),
            }
            for step in steps
        ],
        "created_at": iso_utc(item.created_at),
    }
