"""Pledges (认捐): a total promised to one fund, an instalment schedule, and the gifts that
pay it, applied to the instalments in due order.

A pledge rests on a donation agreement. A payment is a gift naming the pledge: same
donor, the pledge's fund only, never more than is still owed. The pledge's `paid_fen`
is raised by compare-and-set, which also serialises two payments of one pledge. An
instalment past its due date (Beijing time) and not paid in full raises
`pledge_instalment_overdue` once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.common.contracts.base import iso_utc
from services.common.errors import NotFound, ValidationFailed
from services.common.paging import page, paged_select
from services.donations import agreements, funds
from services.donations.donors import AlumnusLookup, Donor, donor_dict, donor_of, resolve_donor
from services.donations.models import Fund, OutboxMessage, Pledge, PledgeInstalment

ACTIVE = "active"
FULFILLED = "fulfilled"
OVERDUE_BATCH = 500


def create_pledge(
    session: Session, data: dict[str, Any], actor: dict[str, Any], lookup: AlumnusLookup
) -> dict[str, Any]:
    donor = resolve_donor(session, data["donor"], lookup)
    fund = funds.funds_for_allocations(session, [data["fund_id"]])[str(data["fund_id"])]
    agreement_id = agreements.check(
        session,
        data["agreement_id"],
        donor,
        {"donor": donor.receipt_name},
        required=True,
    )
    pledge = Pledge(
        **donor.columns(),
        fund_id=fund.id,
        total_fen=data["total_fen"],
        paid_fen=0,
        currency=data["currency"],
        status=ACTIVE,
        agreement_id=agreement_id,
        note=data.get("note", ""),
        created_by=actor["username"],
    )
    session.add(pledge)
    session.flush()
    for number, instalment in enumerate(data["instalments"], start=1):
        session.add(
            PledgeInstalment(
                pledge_seq=pledge.seq,
                number=number,
                due_on=instalment["due_on"],
                amount_fen=instalment["amount_fen"],
                paid_fen=0,
            )
        )
    session.flush()
    answer = to_dict(session, pledge)
    OutboxMessage.record(
        session,
        "pledge_created",
        {
            "pledge": {
                key: answer[key]
                for key in (
                    "id",
                    "donor",
                    "fund_id",
                    "total_fen",
                    "currency",
                    "instalments",
                    "agreement_id",
                )
            }
        },
    )
    return answer


def pledge_row(session: Session, pledge_id: Any) -> Pledge:
    pledge = session.scalars(select(Pledge).where(Pledge.id == str(pledge_id))).one_or_none()
    if pledge is None:
        raise NotFound("认捐记录不存在。", {"pledge_id": str(pledge_id)})
    return pledge


def get_pledge(session: Session, pledge_id: str) -> dict[str, Any]:
    return to_dict(session, pledge_row(session, pledge_id))


def list_pledges(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    query = select(Pledge)
    if params.get("fund_id"):
        query = query.where(Pledge.fund_id == str(params["fund_id"]))
    if params.get("department_id"):
        query = query.where(
            Pledge.fund_id.in_(
                select(Fund.id).where(Fund.department_id == str(params["department_id"]))
            )
        )
    if params.get("alumnus_id"):
        query = query.where(Pledge.donor_alumnus_id == str(params["alumnus_id"]))
    if params.get("status"):
        query = query.where(Pledge.status == params["status"])
    rows = session.scalars(paged_select(query, [Pledge.seq], params, (int,), descending=True)).all()
    return page(
        rows, params["limit"], lambda row: [row.seq], lambda rs: [to_dict(session, r) for r in rs]
    )


# ---- payments -------------------------------------------------------------------------------


def pledge_for_payment(
    session: Session,
    pledge_id: Any,
    donor: Donor,
    allocations: Sequence[tuple[str, int]],
    amount_fen: int,
) -> Pledge:
    """The pledge a gift pays: the donor's, active, to the gift's one fund, still owed."""
    try:
        pledge = pledge_row(session, pledge_id)
    except NotFound:
        raise _refused("pledge_id", "认捐记录不存在。", "unknown_pledge") from None
    if not donor_of(pledge).same_party(donor):
        raise _refused("pledge_id", "捐赠人与认捐人不一致。", "pledge_donor_mismatch")
    if [fund_id for fund_id, _ in allocations] != [pledge.fund_id]:
        raise _refused("allocations", "认捐付款只能分配给认捐的基金。", "pledge_fund_mismatch")
    if pledge.status != ACTIVE or amount_fen > pledge.total_fen - pledge.paid_fen:
        raise _refused(
            "amount_fen",
            "付款金额超过认捐未付金额。",
            "exceeds_pledge",
            pledge.total_fen - pledge.paid_fen,
        )
    return pledge


def _refused(field: str, message: str, reason: str, owed: int | None = None) -> ValidationFailed:
    details: dict[str, Any] = {"fields": {field: [message]}}
    if owed is not None:
        details["owed_fen"] = owed
    return ValidationFailed("请求数据校验失败。", details, reason=reason)


def apply_payment(session: Session, pledge: Pledge, amount_fen: int) -> None:
    """Raise what was paid (compare-and-set against the total) and fill the instalments in
    due order."""
    changed = session.execute(
        update(Pledge)
        .where(Pledge.seq == pledge.seq, Pledge.paid_fen + amount_fen <= Pledge.total_fen)
        .values(paid_fen=Pledge.paid_fen + amount_fen)
    ).rowcount
    if changed != 1:
        raise _refused("amount_fen", "付款金额超过认捐未付金额。", "exceeds_pledge")
    session.refresh(pledge)
    _spread(session, pledge)


def unapply_payment(session: Session, pledge_id: str, amount_fen: int) -> None:
    """A refunded payment is owed again: taken off the latest instalments first."""
    pledge = pledge_row(session, pledge_id)
    session.execute(
        update(Pledge)
        .where(Pledge.seq == pledge.seq)
        .values(paid_fen=Pledge.paid_fen - min(amount_fen, pledge.paid_fen))
    )
    session.refresh(pledge)
    _spread(session, pledge)


def _spread(session: Session, pledge: Pledge) -> None:
    """What the pledge has been paid, laid over its instalments from the first due."""
    left = pledge.paid_fen
    for instalment in _instalments(session, pledge):
        paid = min(left, instalment.amount_fen)
        left -= paid
        if instalment.paid_fen != paid:
            instalment.paid_fen = paid
    status = FULFILLED if pledge.paid_fen == pledge.total_fen else ACTIVE
    if pledge.status != status:
        pledge.status = status
    session.flush()


def _instalments(session: Session, pledge: Pledge) -> list[PledgeInstalment]:
    return list(
        session.scalars(
            select(PledgeInstalment)
            .where(PledgeInstalment.pledge_seq == pledge.seq)
            .order_by(PledgeInstalment.number)
        )
    )


def flag_overdue(session: Session, today: date, now: datetime) -> int:
    """Record `pledge_instalment_overdue` for each instalment due before `today` and not
    paid in full, once each; returns how many. Compare-and-set on the flag, so two scans
    at once (two instances) cannot both flag one instalment."""
    due = session.execute(
        select(PledgeInstalment, Pledge)
        .join(Pledge, Pledge.seq == PledgeInstalment.pledge_seq)
        .where(
            PledgeInstalment.overdue_flagged_at.is_(None),
            PledgeInstalment.due_on < today,
            PledgeInstalment.paid_fen < PledgeInstalment.amount_fen,
        )
        .order_by(PledgeInstalment.due_on, PledgeInstalment.seq)
        .limit(OVERDUE_BATCH)
    ).all()
    flagged = 0
    for instalment, pledge in due:
        changed = session.execute(
            update(PledgeInstalment)
            .where(
                PledgeInstalment.seq == instalment.seq,
                PledgeInstalment.overdue_flagged_at.is_(None),
            )
            .values(overdue_flagged_at=now)
        ).rowcount
        if changed != 1:
            continue
        flagged += 1
        OutboxMessage.record(
            session,
            "pledge_instalment_overdue",
            {
                "pledge_id": pledge.id,
                "fund_id": pledge.fund_id,
                "donor": donor_dict(pledge),
                "instalment": _instalment_dict(instalment),
                "currency": pledge.currency,
            },
        )
    return flagged


# ---- shapes -------------------------------------------------------------------------------


def _instalment_dict(instalment: PledgeInstalment) -> dict[str, Any]:
    return {
        "id": instalment.id,
        "number": instalment.number,
        "due_on": instalment.due_on.isoformat(),
        "amount_fen": instalment.amount_fen,
        "paid_fen": instalment.paid_fen,
    }


def to_dict(session: Session, pledge: Pledge) -> dict[str, Any]:
    department_id = session.scalar(select(Fund.department_id).where(Fund.id == pledge.fund_id))
    return {
        "id": pledge.id,
        "donor": donor_dict(pledge),
        "fund_id": pledge.fund_id,
        "department_id": department_id,
        "total_fen": pledge.total_fen,
        "paid_fen": pledge.paid_fen,
        "currency": pledge.currency,
        "status": pledge.status,
        "agreement_id": pledge.agreement_id,
        "instalments": [_instalment_dict(i) for i in _instalments(session, pledge)],
        "note": pledge.note,
        "created_at": iso_utc(pledge.created_at),
    }
