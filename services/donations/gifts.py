"""Gifts and refunds: the money records of the donations service.

A gift is recorded once and never edited: its allocations across funds sum to its
amount (the contract checks), it posts one balanced ledger transaction, a donation gets
its numbered receipt in the same transaction, and `gift_received` / `receipt_issued` go
to the outbox with it. A refund is a reversing entry linked to the gift, never more
than what is left of it (per fund, by compare-and-set on the allocation, so two refunds
at once cannot both take the last yuan).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import exists, insert, select, update
from sqlalchemy.orm import Session

from services.common.columns import new_id
from services.common.contracts.base import iso_utc
from services.common.errors import NotFound, ValidationFailed
from services.common.paging import page, paged_select
from services.donations import agreements, funds, ledger, pledges, receipts
from services.donations.donors import AlumnusLookup, donor_dict, resolve_donor
from services.donations.identity import IdNumberCipher, mask_id_number
from services.donations.models import Fund, Gift, GiftAllocation, OutboxMessage, Refund
from services.donations.money import split_proportionally

DONATION = "donation"
# Statements of the hottest path built once, as Core (not ORM) statements: each call only
# binds its parameters, and SQLAlchemy's compiled cache does the rest.
INSERT_GIFT = insert(Gift.__table__).returning(Gift.__table__.c.seq)
INSERT_ALLOCATION = insert(GiftAllocation.__table__)


@dataclass(frozen=True)
class Recording:
    """What recording money needs besides the request: who, when (China local date and
    UTC instant), how to ask the registry about an alumnus, the ID-number cipher, the rules."""

    actor: dict[str, Any]
    today: date
    now: datetime
    lookup: AlumnusLookup
    cipher: IdNumberCipher
    agreement_threshold_fen: int


def record_gift(
    session: Session,
    data: dict[str, Any],
    ctx: Recording,
    payment_order_id: str | None = None,
) -> dict[str, Any]:
    """Record a gift (contract GiftInput, loaded; or an online order's, with
    `payment_order_id`, whose money has already arrived and so goes to its funds even if
    one closed meanwhile)."""
    amount = data["amount_fen"]
    received_on = funds.not_in_future(data.get("received_on"), ctx.today, "received_on")
    donor = resolve_donor(session, data["donor"], ctx.lookup)
    allocations = [(str(a["fund_id"]), a["amount_fen"]) for a in data["allocations"]]
    fund_rows = funds.funds_for_allocations(
        session, [fund_id for fund_id, _ in allocations], allow_closed=payment_order_id is not None
    )
    receipt_name = data.get("receipt_name") or donor.receipt_name
    payer_name = data.get("payer_name") or donor.receipt_name
    pledge = None
    if data.get("pledge_id"):
        pledge = pledges.pledge_for_payment(session, data["pledge_id"], donor, allocations, amount)
    agreement_id = agreements.check(
        session,
        data.get("agreement_id") or (pledge.agreement_id if pledge else None),
        donor,
        {"payer_name": payer_name, "receipt_name": receipt_name},
        required=amount >= ctx.agreement_threshold_fen,
    )
    # A transient row: the values it holds are inserted with Core (much cheaper than the
    # ORM's unit of work on this, the hottest path), and read back as attributes.
    gift = Gift(
        id=new_id(),
        gift_type=data["gift_type"],
        **donor.columns(),
        amount_fen=amount,
        currency=data["currency"],
        channel=data["channel"],
        received_on=received_on,
        note=data.get("note", ""),
        disclosure=data["disclosure"],
        receipt_name=receipt_name,
        payer_name=payer_name,
        pledge_id=pledge.id if pledge else None,
        payment_order_id=payment_order_id,
        agreement_id=agreement_id,
        created_by=ctx.actor["username"],
        created_at=ctx.now,
    )
    if data.get("donor_id_number"):
        number = data["donor_id_number"].upper()
        gift.id_number_ciphertext = ctx.cipher.encrypt(number, gift.id)
        gift.id_number_masked = mask_id_number(number)
        gift.id_number_consent_at = ctx.now
    connection = session.connection()
    gift.seq = connection.execute(INSERT_GIFT, _columns(gift)).scalar_one()
    connection.execute(
        INSERT_ALLOCATION,
        [
            {"gift_seq": gift.seq, "fund_id": fund_id, "amount_fen": part, "refunded_fen": 0}
            for fund_id, part in allocations
        ],
    )
    ledger.post(
        session,
        ledger.GIFT,
        gift.id,
        received_on,
        [ledger.cash(gift.channel, amount)]
        + [ledger.fund(fund_id, -part) for fund_id, part in allocations],
    )
    if pledge is not None:
        pledges.apply_payment(session, pledge, amount)
    OutboxMessage.record(session, "gift_received", {"gift": summary(gift, allocations)})
    number = None
    if gift.gift_type == DONATION:
        number = receipts.issue(session, gift, amount, ctx.today, donor.as_dict())
    shown = [
        {
            "fund_id": fund_id,
            "fund_name": fund_rows[fund_id].name,
            "department_id": fund_rows[fund_id].department_id,
            "amount_fen": part,
            "refunded_fen": 0,
        }
        for fund_id, part in allocations
    ]
    return _gift_dict(gift, shown, number)


def _columns(row: Gift) -> dict[str, Any]:
    return {
        column.key: getattr(row, column.key)
        for column in Gift.__table__.columns
        if column.key != "seq"
    }


def refund_gift(
    session: Session, gift_id: str, data: dict[str, Any], ctx: Recording
) -> dict[str, Any]:
    """A reversing entry of part or all of a gift (contract RefundInput, loaded)."""
    gift = gift_row(session, gift_id)
    rows = session.scalars(
        select(GiftAllocation)
        .where(GiftAllocation.gift_seq == gift.seq)
        .order_by(GiftAllocation.seq)
    ).all()
    left = {row.fund_id: row.amount_fen - row.refunded_fen for row in rows}
    amount = data["amount_fen"]
    if amount > sum(left.values()):
        raise _beyond_gift(sum(left.values()))
    refunded_on = funds.not_in_future(data.get("refunded_on"), ctx.today, "refunded_on")
    if refunded_on < gift.received_on:
        raise ValidationFailed(
            "请求数据校验失败。",
            {"fields": {"refunded_on": ["退款日期不能早于捐赠日期。"]}},
            reason="before_gift",
        )
    parts = _refund_parts(data.get("allocations"), rows, left, amount)
    for fund_id, part in parts:
        changed = session.execute(
            update(GiftAllocation)
            .where(
                GiftAllocation.gift_seq == gift.seq,
                GiftAllocation.fund_id == fund_id,
                GiftAllocation.refunded_fen + part <= GiftAllocation.amount_fen,
            )
            .values(refunded_fen=GiftAllocation.refunded_fen + part)
        ).rowcount
        if changed != 1:
            raise _beyond_gift(left[fund_id])
    refund = Refund(
        gift_id=gift.id,
        amount_fen=amount,
        currency=gift.currency,
        allocations=[{"fund_id": fund_id, "amount_fen": part} for fund_id, part in parts],
        reason=data["reason"],
        refunded_on=refunded_on,
        created_by=ctx.actor["username"],
        created_at=ctx.now,
    )
    session.add(refund)
    session.flush()
    ledger.post(
        session,
        ledger.REFUND,
        refund.id,
        refunded_on,
        [ledger.cash(gift.channel, -amount)]
        + [ledger.fund(fund_id, part) for fund_id, part in parts],
    )
    if gift.pledge_id:
        pledges.unapply_payment(session, gift.pledge_id, amount)
    remaining = sum(left.values()) - amount
    if gift.gift_type == DONATION:
        voided = receipts.void_live_receipt(
            session, gift.id, f"退款：{data['reason']}", ctx.actor["username"], ctx.now
        )
        if voided is not None and remaining > 0:
            receipts.issue(session, gift, remaining, ctx.today, donor_dict(gift), replaces=voided)
    refund_summary = refund_dict(refund)
    del refund_summary["created_by"], refund_summary["created_at"]
    OutboxMessage.record(
        session,
        "gift_refunded",
        {
            "refund": refund_summary,
            "gift": summary(gift, [(row.fund_id, row.amount_fen) for row in rows]),
            "remaining_fen": remaining,
        },
    )
    return {**refund_dict(refund), "gift": get_gift(session, gift.id)}


def _refund_parts(
    asked: list[dict[str, Any]] | None,
    rows: Sequence[GiftAllocation],
    left: dict[str, int],
    amount: int,
) -> list[tuple[str, int]]:
    """Which funds give back how much: as asked, or in proportion to what each has left."""
    if asked:
        parts = [(str(a["fund_id"]), a["amount_fen"]) for a in asked]
        strangers = [fund_id for fund_id, _ in parts if fund_id not in left]
        if strangers:
            raise ValidationFailed(
                "请求数据校验失败。",
                {"fields": {"allocations": ["该笔捐赠没有分配给此基金。"]}, "fund_ids": strangers},
                reason="not_a_gift_fund",
            )
        return parts
    shares = split_proportionally(amount, [left[row.fund_id] for row in rows])
    return [(row.fund_id, share) for row, share in zip(rows, shares, strict=True) if share]


def _beyond_gift(left_fen: int) -> ValidationFailed:
    return ValidationFailed(
        "退款金额超过该笔捐赠的剩余金额。",
        {"fields": {"amount_fen": ["超过可退金额。"]}, "refundable_fen": left_fen},
        reason="refund_exceeds_gift",
    )


# ---- reading ------------------------------------------------------------------------------


def gift_row(session: Session, gift_id: str) -> Gift:
    gift = session.scalars(select(Gift).where(Gift.id == str(gift_id))).one_or_none()
    if gift is None:
        raise NotFound("捐赠记录不存在。", {"gift_id": str(gift_id)})
    return gift


def get_gift(session: Session, gift_id: str) -> dict[str, Any]:
    return gift_dicts(session, [gift_row(session, gift_id)])[0]


def list_gifts(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    """Newest first; filters by fund, by the department that owns a fund, by donor alumnus,
    by channel and by the China local date received."""
    query = select(Gift)
    if params.get("fund_id"):
        query = query.where(_has_allocation(GiftAllocation.fund_id == str(params["fund_id"])))
    if params.get("department_id"):
        department_funds = select(Fund.id).where(Fund.department_id == str(params["department_id"]))
        query = query.where(_has_allocation(GiftAllocation.fund_id.in_(department_funds)))
    if params.get("alumnus_id"):
        query = query.where(Gift.donor_alumnus_id == str(params["alumnus_id"]))
    if params.get("channel"):
        query = query.where(Gift.channel == params["channel"])
    if params.get("received_from"):
        query = query.where(Gift.received_on >= date.fromisoformat(str(params["received_from"])))
    if params.get("received_to"):
        query = query.where(Gift.received_on <= date.fromisoformat(str(params["received_to"])))
    query = paged_select(query, [Gift.seq], params, (int,), descending=True)
    rows = session.scalars(query).all()
    return page(rows, params["limit"], lambda row: [row.seq], lambda rs: gift_dicts(session, rs))


def _has_allocation(condition):
    return exists().where(GiftAllocation.gift_seq == Gift.seq, condition)


def gift_dicts(session: Session, gifts: Sequence[Gift]) -> list[dict[str, Any]]:
    """The answer shape of gifts, their allocations and live receipts read in two queries."""
    if not gifts:
        return []
    rows = session.execute(
        select(GiftAllocation, Fund.name, Fund.department_id)
        .join(Fund, Fund.id == GiftAllocation.fund_id)
        .where(GiftAllocation.gift_seq.in_([gift.seq for gift in gifts]))
        .order_by(GiftAllocation.seq)
    ).all()
    by_gift: dict[int, list[dict[str, Any]]] = {}
    for allocation, fund_name, department_id in rows:
        by_gift.setdefault(allocation.gift_seq, []).append(
            {
                "fund_id": allocation.fund_id,
                "fund_name": fund_name,
                "department_id": department_id,
                "amount_fen": allocation.amount_fen,
                "refunded_fen": allocation.refunded_fen,
            }
        )
    numbers = receipts.live_numbers(session, [gift.id for gift in gifts])
    return [_gift_dict(g, by_gift.get(g.seq, []), numbers.get(g.id)) for g in gifts]


def _gift_dict(
    gift: Gift, allocations: list[dict[str, Any]], receipt_number: str | None
) -> dict[str, Any]:
    """A gift as answers show it (contract Gift): its summary and what staff record."""
    return {
        **summary(gift, ()),
        "allocations": allocations,
        "refunded_fen": sum(a["refunded_fen"] for a in allocations),
        "note": gift.note,
        "receipt_name": gift.receipt_name,
        "payer_name": gift.payer_name,
        "agreement_id": gift.agreement_id,
        "donor_id_number_masked": gift.id_number_masked,
        "receipt_number": receipt_number,
        "created_by": gift.created_by,
        "created_at": iso_utc(gift.created_at),
    }


def summary(gift: Gift, allocations: Sequence[tuple[str, int]]) -> dict[str, Any]:
    """A gift as events carry it (contract GiftSummary)."""
    return {
        "id": gift.id,
        "gift_type": gift.gift_type,
        "donor": donor_dict(gift),
        "amount_fen": gift.amount_fen,
        "currency": gift.currency,
        "allocations": [{"fund_id": f, "amount_fen": a} for f, a in allocations],
        "channel": gift.channel,
        "received_on": gift.received_on.isoformat(),
        "disclosure": gift.disclosure,
        "pledge_id": gift.pledge_id,
        "payment_order_id": gift.payment_order_id,
    }


def refund_dict(refund: Refund) -> dict[str, Any]:
    return {
        "id": refund.id,
        "gift_id": refund.gift_id,
        "amount_fen": refund.amount_fen,
        "currency": refund.currency,
        "allocations": list(refund.allocations),
        "reason": refund.reason,
        "refunded_on": refund.refunded_on.isoformat(),
        "created_by": refund.created_by,
        "created_at": iso_utc(refund.created_at),
    }
