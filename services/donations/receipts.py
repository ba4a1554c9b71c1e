"""Donation receipts (捐赠收据): numbered gaplessly per year, voided but never deleted.

A receipt's number is `<year>-<serial>` (`2026-000001`), the year being the China local
year of issue. The serial comes from the year's counter row, raised by one UPDATE in
the same transaction as the gift: a gift that rolls back takes its number back with it,
so the numbers of a year have no gap, and the counter's row lock (PostgreSQL) or the
database's write lock (SQLite) keeps two gifts from taking the same one. The counter is
raised as the last write of the transaction, so the lock is held as briefly as can be.

A refund voids the gift's live receipt (the void is recorded on it) and, while part of
the gift remains, issues a new one for what remains, naming the one it replaces.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from services.common.columns import utcnow
from services.common.contracts.base import iso_utc
from services.common.db import dialect_insert
from services.common.errors import Conflict, NotFound
from services.donations.adapters.ebill import EBillRequest
from services.donations.donors import donor_dict
from services.donations.identity import IdNumberCipher
from services.donations.models import (
    Fund,
    Gift,
    GiftAllocation,
    OutboxMessage,
    Receipt,
    ReceiptCounter,
)

ISSUED = "issued"
VOID = "void"
SERIAL_DIGITS = 6
_counters = ReceiptCounter.__table__
# Built once (Core statements, compiled once): each gift only binds its values.
RAISE_COUNTER = (
    update(_counters)
    .where(_counters.c.year == bindparam("counter_year"))
    .values(last_serial=_counters.c.last_serial + 1)
    .returning(_counters.c.last_serial)
)
INSERT_RECEIPT = insert(Receipt.__table__)


@dataclass(frozen=True)
class ReceiptRules:
    certificate_minimum_fen: int


def receipt_number(year: int, serial: int) -> str:
    return f"{year}-{serial:0{SERIAL_DIGITS}d}"


def next_serial(session: Session, year: int) -> int:
    """Raise the year's counter by one and return it (creating the year's row at need)."""
    connection = session.connection()
    serial = connection.execute(RAISE_COUNTER, {"counter_year": year}).scalar_one_or_none()
    if serial is None:
        connection.execute(_insert_ignoring_conflict(session, year))
        serial = connection.execute(RAISE_COUNTER, {"counter_year": year}).scalar_one()
    return serial


def _insert_ignoring_conflict(session: Session, year: int):
    """The year's counter row, unless a concurrent first gift of the year made it first."""
    return (
        dialect_insert(session, ReceiptCounter)
        .values(year=year, last_serial=0)
        .on_conflict_do_nothing(index_elements=["year"])
    )


def issue(
    session: Session,
    gift: Gift,
    amount_fen: int,
    issued_on: date,
    donor: dict[str, Any],
    replaces: str | None = None,
) -> str:
    """Number and record a receipt for `amount_fen` of `gift`; records `receipt_issued`."""
    year = issued_on.year
    # What is pending goes first: from the counter's UPDATE to the commit, every other gift
    # of the year waits for this one (PostgreSQL's row lock).
    session.flush()
    serial = next_serial(session, year)
    number = receipt_number(year, serial)
    session.connection().execute(
        INSERT_RECEIPT,
        {
            "created_at": utcnow(),
            "number": number,
            "year": year,
            "serial": serial,
            "gift_id": gift.id,
            "name": gift.receipt_name,
            "amount_fen": amount_fen,
            "currency": gift.currency,
            "issued_on": issued_on,
            "status": ISSUED,
            "replaces": replaces,
        },
    )
    OutboxMessage.record(
        session,
        "receipt_issued",
        {
            "receipt": {
                "number": number,
                "year": year,
                "gift_id": gift.id,
                "name": gift.receipt_name,
                "amount_fen": amount_fen,
                "currency": gift.currency,
                "issued_on": issued_on.isoformat(),
                "replaces": replaces,
            },
            "donor": donor,
        },
    )
    return number


def void_live_receipt(
    session: Session, gift_id: str, reason: str, actor: str, now: datetime
) -> str | None:
    """Void the gift's live receipt, if it has one; returns its number."""
    number = session.execute(
        update(Receipt)
        .where(Receipt.gift_id == gift_id, Receipt.status == ISSUED)
        .values(status=VOID, void_reason=reason, voided_at=now, voided_by=actor)
        .returning(Receipt.number)
    ).scalar_one_or_none()
    return number


def void(
    session: Session,
    number: str,
    reason: str,
    actor: str,
    now: datetime,
    reissue_on: date | None = None,
) -> Receipt:
    """Void a live receipt (recorded on it, never deleted); with `reissue_on`, issue a new
    receipt for what remains of the gift that day, naming the voided one."""
    receipt = get_row(session, number)
    changed = session.execute(
        update(Receipt)
        .where(Receipt.seq == receipt.seq, Receipt.status == ISSUED)
        .values(status=VOID, void_reason=reason, voided_at=now, voided_by=actor)
    ).rowcount
    if changed != 1:
        raise Conflict("收据已作废。", {"number": number}, reason="receipt_void")
    session.refresh(receipt)
    if reissue_on is not None:
        gift = session.scalars(select(Gift).where(Gift.id == receipt.gift_id)).one()
        remaining = remaining_fen(session, gift)
        if remaining > 0:
            issue(session, gift, remaining, reissue_on, donor_dict(gift), replaces=number)
    return receipt


def remaining_fen(session: Session, gift: Gift) -> int:
    """What is left of a gift after its refunds."""
    return int(
        session.execute(
            select(func.sum(GiftAllocation.amount_fen - GiftAllocation.refunded_fen)).where(
                GiftAllocation.gift_seq == gift.seq
            )
        ).scalar_one()
    )


def ebill_request(session: Session, receipt: Receipt, cipher: IdNumberCipher) -> EBillRequest:
    """What the e-bill platform needs for a receipt, the donor's ID number decrypted for it
    (and for nothing else)."""
    gift = session.scalars(select(Gift).where(Gift.id == receipt.gift_id)).one()
    items = session.execute(
        select(Fund.name, GiftAllocation.amount_fen - GiftAllocation.refunded_fen)
        .join(GiftAllocation, GiftAllocation.fund_id == Fund.id)
        .where(GiftAllocation.gift_seq == gift.seq)
        .order_by(GiftAllocation.seq)
    ).all()
    id_number = None
    if gift.id_number_ciphertext:
        id_number = cipher.decrypt(gift.id_number_ciphertext, gift.id)
    return EBillRequest(
        receipt_number=receipt.number,
        payer_name=receipt.name,
        payer_id_number=id_number,
        amount_fen=receipt.amount_fen,
        currency=receipt.currency,
        issued_on=receipt.issued_on.isoformat(),
        items=tuple((name, int(amount)) for name, amount in items if amount),
    )


def get_row(session: Session, number: str) -> Receipt:
    receipt = session.scalars(select(Receipt).where(Receipt.number == number)).one_or_none()
    if receipt is None:
        raise NotFound("收据不存在。", {"number": number})
    return receipt


def live_numbers(session: Session, gift_ids: list[str]) -> dict[str, str]:
    if not gift_ids:
        return {}
    rows = session.execute(
        select(Receipt.gift_id, Receipt.number).where(
            Receipt.gift_id.in_(gift_ids), Receipt.status == ISSUED
        )
    ).all()
    return dict(rows)


def record_ebill(session: Session, number: str, ebill: dict[str, Any]) -> Receipt:
    """Store the e-bill fields the platform issued (once: a second issue keeps the first)."""
    receipt = get_row(session, number)
    session.execute(
        update(Receipt)
        .where(Receipt.seq == receipt.seq, Receipt.ebill_number.is_(None))
        .values(
            ebill_code=ebill["code"],
            ebill_number=ebill["number"],
            ebill_check_code=ebill["check_code"],
            ebill_issued_at=datetime.fromisoformat(ebill["issued_at"]),
        )
    )
    session.refresh(receipt)
    return receipt


def to_dict(session: Session, receipt: Receipt, rules: ReceiptRules) -> dict[str, Any]:
    """A receipt with what a reader needs: its gift's donor, funds and departments."""
    gift = session.scalars(select(Gift).where(Gift.id == receipt.gift_id)).one()
    funds = session.execute(
        select(Fund.name, Fund.department_id)
        .join(GiftAllocation, GiftAllocation.fund_id == Fund.id)
        .where(GiftAllocation.gift_seq == gift.seq)
        .order_by(GiftAllocation.seq)
    ).all()
    ebill = None
    if receipt.ebill_number is not None:
        ebill = {
            "code": receipt.ebill_code,
            "number": receipt.ebill_number,
            "check_code": receipt.ebill_check_code,
            "issued_at": iso_utc(receipt.ebill_issued_at),
        }
    return {
        "number": receipt.number,
        "year": receipt.year,
        "gift_id": receipt.gift_id,
        "donor": donor_dict(gift),
        "name": receipt.name,
        "amount_fen": receipt.amount_fen,
        "currency": receipt.currency,
        "fund_names": [name for name, _ in funds],
        "department_ids": sorted({d for _, d in funds if d}),
        "issued_on": receipt.issued_on.isoformat(),
        "status": receipt.status,
        "void_reason": receipt.void_reason,
        "voided_at": iso_utc(receipt.voided_at) if receipt.voided_at else None,
        "replaces": receipt.replaces,
        "donor_id_number_masked": gift.id_number_masked,
        "certificate_eligible": receipt.amount_fen >= rules.certificate_minimum_fen,
        "ebill": ebill,
    }
