"""Online giving: payment orders and the provider's notifications.

An order is written first (`created`), then made at the provider, whose `code_url` is
stored on it. The gift is recorded from the provider's signed notification, never from
the donor's browser: the order moves `created` (or `expired`: the money arrived anyway)
→ `paid` by compare-and-set, in the same transaction as the gift, so a notification
delivered ten times — or ten at once — records one gift, and the other nine are
acknowledged as duplicates. Every notification is logged with its outcome; a bad
signature, an unknown order or an amount that is not the order's is refused (and the
provider retries it, as it would a lost answer). Unpaid orders expire after
`PAYMENT_ORDER_TTL_SECONDS` and are closed at the provider.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.common.chinatime import china_date
from services.common.contracts.base import iso_utc
from services.common.errors import AppError, Conflict, NotFound, ValidationFailed
from services.donations import funds, gifts
from services.donations.adapters.payment import SUCCESS, PaymentNotice
from services.donations.donors import donor_dict, resolve_donor
from services.donations.models import PaymentNotificationLog, PaymentOrder

log = logging.getLogger(__name__)

CREATED = "created"
PAID = "paid"
EXPIRED = "expired"
EXPIRY_BATCH = 200


@dataclass(frozen=True)
class Outcome:
    """What became of a notification: taken (the provider gets SUCCESS) or refused."""

    outcome: str
    refusal: AppError | None = None


def new_out_trade_no() -> str:
    """A merchant order number as API v3 allows them (6–32 of [A-Za-z0-9_-])."""
    return "DN" + uuid.uuid4().hex[:30]


def create_order(
    session: Session,
    data: dict[str, Any],
    ctx: gifts.Recording,
    provider: str,
    ttl_seconds: int,
) -> dict[str, Any]:
    """An order for an online gift (contract PaymentOrderInput, loaded), not yet at the
    provider. Online gifts at or above the agreement threshold are refused: those need a
    signed agreement first and are given offline."""
    donor = resolve_donor(session, data["donor"], ctx.lookup)
    allocations = [
        {"fund_id": str(a["fund_id"]), "amount_fen": a["amount_fen"]} for a in data["allocations"]
    ]
    funds.funds_for_allocations(session, [a["fund_id"] for a in allocations])
    if data["amount_fen"] >= ctx.agreement_threshold_fen:
        raise ValidationFailed(
            "该金额须先签订捐赠协议，请线下办理。",
            {"fields": {"amount_fen": ["超过网上捐赠的上限。"]}},
            reason="agreement_required",
        )
    order = PaymentOrder(
        out_trade_no=new_out_trade_no(),
        provider=provider,
        **donor.columns(),
        amount_fen=data["amount_fen"],
        currency=data["currency"],
        allocations=allocations,
        disclosure=data["disclosure"],
        receipt_name=data.get("receipt_name") or donor.receipt_name,
        note=data.get("note", ""),
        status=CREATED,
        expires_at=ctx.now + timedelta(seconds=ttl_seconds),
        created_by=ctx.actor["username"],
        created_at=ctx.now,
    )
    session.add(order)
    session.flush()
    return to_dict(order)


def attach_code_url(session: Session, order_id: str, code_url: str) -> dict[str, Any]:
    order = order_row(session, order_id)
    order.code_url = code_url
    session.flush()
    return to_dict(order)


def abandon(session: Session, order_id: str) -> None:
    """The provider never took the order: it can only expire."""
    session.execute(
        update(PaymentOrder)
        .where(PaymentOrder.id == order_id, PaymentOrder.status == CREATED)
        .values(status=EXPIRED)
    )


def order_row(session: Session, order_id: str) -> PaymentOrder:
    order = session.scalars(
        select(PaymentOrder).where(PaymentOrder.id == str(order_id))
    ).one_or_none()
    if order is None:
        raise NotFound("支付订单不存在。", {"payment_order_id": str(order_id)})
    return order


def get_order(session: Session, order_id: str) -> dict[str, Any]:
    return to_dict(order_row(session, order_id))


# ---- notifications ---------------------------------------------------------------------


def log_notification(
    session: Session,
    outcome: str,
    detail: str = "",
    notice: PaymentNotice | None = None,
) -> None:
    session.add(
        PaymentNotificationLog(
            out_trade_no=notice.out_trade_no if notice else None,
            provider_transaction_id=notice.transaction_id if notice else None,
            outcome=outcome,
            detail=detail[:500],
        )
    )
    session.flush()
    if outcome not in ("accepted", "accepted_after_expiry", "duplicate", "ignored"):
        log.warning("payment notification refused: %s (%s) %s", outcome, detail, notice)


def receive(session: Session, notice: PaymentNotice, ctx: gifts.Recording) -> Outcome:
    """Record the gift a verified notification reports, once; log every outcome."""
    if notice.trade_state != SUCCESS:
        log_notification(session, "ignored", notice.trade_state, notice)
        return Outcome("ignored")
    order = session.scalars(
        select(PaymentOrder).where(PaymentOrder.out_trade_no == notice.out_trade_no)
    ).one_or_none()
    if order is None:
        log_notification(session, "unknown_order", "", notice)
        return Outcome(
            "unknown_order",
            NotFound(
                "支付订单不存在。", {"out_trade_no": notice.out_trade_no}, reason="unknown_order"
            ),
        )
    if (notice.amount_fen, notice.currency) != (order.amount_fen, order.currency):
        detail = f"notified {notice.amount_fen} {notice.currency}, ordered {order.amount_fen}"
        log_notification(session, "amount_mismatch", detail, notice)
        return Outcome(
            "amount_mismatch",
            Conflict(
                "支付金额与订单金额不符。",
                {"out_trade_no": order.out_trade_no, "amount_fen": order.amount_fen},
                reason="amount_mismatch",
            ),
        )
    paid_at = notice.success_time or ctx.now
    previous = order.status
    changed = session.execute(
        update(PaymentOrder)
        .where(PaymentOrder.seq == order.seq, PaymentOrder.status.in_((CREATED, EXPIRED)))
        .values(status=PAID, paid_at=paid_at, provider_transaction_id=notice.transaction_id)
    ).rowcount
    if changed != 1:
        log_notification(session, "duplicate", "", notice)
        return Outcome("duplicate")
    gift = gifts.record_gift(
        session,
        {
            "gift_type": gifts.DONATION,
            "donor": donor_dict(order),
            "amount_fen": order.amount_fen,
            "currency": order.currency,
            "allocations": order.allocations,
            "channel": "online",
            "received_on": min(china_date(paid_at), ctx.today),
            "note": order.note,
            "disclosure": order.disclosure,
            "receipt_name": order.receipt_name,
        },
        ctx,
        payment_order_id=order.id,
    )
    session.execute(
        update(PaymentOrder).where(PaymentOrder.seq == order.seq).values(gift_id=gift["id"])
    )
    outcome = "accepted_after_expiry" if previous == EXPIRED else "accepted"
    log_notification(session, outcome, f"gift {gift['id']}", notice)
    return Outcome(outcome)


def expire_orders(session: Session, now: datetime) -> list[str]:
    """Mark unpaid orders past their expiry `expired`; returns their numbers, for the
    service to close at the provider."""
    due = session.scalars(
        select(PaymentOrder.seq)
        .where(PaymentOrder.status == CREATED, PaymentOrder.expires_at <= now)
        .order_by(PaymentOrder.expires_at)
        .limit(EXPIRY_BATCH)
    ).all()
    expired = []
    for seq in due:
        number = session.execute(
            update(PaymentOrder)
            .where(PaymentOrder.seq == seq, PaymentOrder.status == CREATED)
            .values(status=EXPIRED)
            .returning(PaymentOrder.out_trade_no)
        ).scalar_one_or_none()
        if number is not None:
            expired.append(number)
    return expired


def to_dict(order: PaymentOrder) -> dict[str, Any]:
    return {
        "id": order.id,
        "out_trade_no": order.out_trade_no,
        "provider": order.provider,
        "donor": donor_dict(order),
        "amount_fen": order.amount_fen,
        "currency": order.currency,
        "allocations": list(order.allocations),
        "status": order.status,
        "code_url": order.code_url,
        "expires_at": iso_utc(order.expires_at),
        "gift_id": order.gift_id,
        "paid_at": iso_utc(order.paid_at) if order.paid_at else None,
        "created_at": iso_utc(order.created_at),
    }
