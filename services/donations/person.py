"""One person in the donations service: all it holds on them (PIPL art. 45), and their
erasure on the registry's `alumnus_erased` (art. 47).

Money records are kept (the law on accounts, and the ledger must still balance): gifts,
allocations, refunds and ledger lines are not touched, only the names on them. A gift of
an erased alumnus stays theirs by id (participation counts it) with the donor, receipt and
payer names replaced, the ID-card number dropped, and its receipts named alike; the same
for their pledges, agreements, payment orders, in-kind gifts and namings. The local copy
of the registry keeps a tombstone at the erasure's version, so that an older
`alumnus_updated` arriving late changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.erasure import ERASED_NAME, forget_events, identity_values, scrub
from services.donations import agreements, gifts, inkind, naming, payments, pledges
from services.donations.models import (
    Agreement,
    AlumnusCopy,
    Gift,
    InkindGift,
    Naming,
    OutboxMessage,
    PaymentOrder,
    Pledge,
    Receipt,
)


def export_person(session: Session, alumnus_id: str) -> dict[str, Any]:
    copy = session.get(AlumnusCopy, alumnus_id)
    own_gifts = _of(session, Gift, alumnus_id)
    return {
        "alumni_copy": None if copy is None else {"name": copy.name},
        "gifts": gifts.gift_dicts(session, own_gifts),
        "receipts": [
            {
                "number": r.number,
                "gift_id": r.gift_id,
                "name": r.name,
                "amount_fen": r.amount_fen,
                "currency": r.currency,
                "issued_on": r.issued_on.isoformat(),
                "status": r.status,
            }
            for r in _receipts(session, own_gifts)
        ],
        "pledges": [pledges.to_dict(session, p) for p in _of(session, Pledge, alumnus_id)],
        "agreements": [agreements.to_dict(a) for a in _of(session, Agreement, alumnus_id)],
        "payment_orders": [payments.to_dict(o) for o in _of(session, PaymentOrder, alumnus_id)],
        "inkind_gifts": [inkind.to_dict(session, g) for g in _of(session, InkindGift, alumnus_id)],
        "namings": [naming.to_dict(session, n) for n in _of(session, Naming, alumnus_id)],
    }


def erase_alumnus(session: Session, alumnus_id: str, erased_at: datetime) -> None:
    """Replace the person's name wherever a record names them; idempotent."""
    version = erased_at.astimezone(UTC)
    copy = session.get(AlumnusCopy, alumnus_id)
    names = [copy.name if copy else None]
    own_gifts = _of(session, Gift, alumnus_id)
    for gift in own_gifts:
        names += [gift.donor_name, gift.receipt_name, gift.payer_name]
    identity = identity_values(*names)
    for gift in own_gifts:
        gift.donor_name = gift.receipt_name = gift.payer_name = ERASED_NAME
        gift.id_number_ciphertext = gift.id_number_masked = gift.id_number_consent_at = None
        gift.note = scrub(gift.note, identity)
    for receipt in _receipts(session, own_gifts):
        receipt.name = ERASED_NAME
    for model in (Pledge, Agreement, PaymentOrder, InkindGift, Naming):
        for row in _of(session, model, alumnus_id):
            row.donor_name = ERASED_NAME
            if isinstance(row, Agreement):
                row.signer_name = ERASED_NAME
            if isinstance(row, PaymentOrder):
                row.receipt_name = ERASED_NAME
            if isinstance(row, Naming):
                row.plaque_text = scrub(row.plaque_text, identity)
            if hasattr(row, "note"):
                row.note = scrub(row.note, identity)
    if copy is None:
        session.add(AlumnusCopy(alumnus_id=alumnus_id, name=ERASED_NAME, updated_at=version))
    else:
        copy.name = ERASED_NAME
        copy.updated_at = max(version, _utc(copy.updated_at))
    session.flush()
    forget_events(session, OutboxMessage, alumnus_id, identity)


def _of(session: Session, model: type, alumnus_id: str) -> list[Any]:
    """The rows of `model` the alumnus gave (an organisation's soft credit names the
    organisation, not them: its name stays)."""
    return session.scalars(
        select(model)
        .where(model.donor_alumnus_id == alumnus_id, model.donor_type == "alumnus")
        .order_by(model.seq)
    ).all()


def _receipts(session: Session, own_gifts: list[Gift]) -> list[Receipt]:
    return session.scalars(
        select(Receipt).where(Receipt.gift_id.in_([g.id for g in own_gifts])).order_by(Receipt.seq)
    ).all()


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
