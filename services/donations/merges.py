"""The registry merged two records of one person, or undid a merge: donors follow.

On `alumni_merged` every gift, agreement, pledge, payment order, in-kind gift and naming of
the absorbed alumnus (as donor or as soft credit) becomes the survivor's, so the person's
giving history and totals are one; each moved row is recorded under the merge
(services/common/merged_references.py) and `alumni_unmerged` moves exactly those back.
What was issued stays as issued: a receipt keeps the name and number it was printed with,
and the ledger does not change (the money did not move, only whose it is said to be).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from services.common import merged_references
from services.common.merged_references import Reference
from services.donations.donors import upsert_alumnus
from services.donations.models import (
    Agreement,
    Gift,
    InkindGift,
    MergedReference,
    Naming,
    PaymentOrder,
    Pledge,
)

DONOR_REFERENCES = [
    Reference(model, column)
    for model in (Gift, Agreement, Pledge, PaymentOrder, InkindGift, Naming)
    for column in ("donor_alumnus_id", "donor_soft_credit_alumnus_id")
]


def move_to_survivor(session: Session, data: dict[str, Any]) -> int:
    """The absorbed alumnus's donor references to `survivor_id`; returns how many moved."""
    moved = merged_references.move_to_survivor(session, MergedReference, DONOR_REFERENCES, data)
    upsert_alumnus(session, data["survivor"])
    return moved


def move_back(session: Session, data: dict[str, Any]) -> int:
    """The references moved for `merge_id` back to `absorbed_id`; returns how many."""
    moved = merged_references.move_back(session, MergedReference, DONOR_REFERENCES, data)
    upsert_alumnus(session, data["survivor"])
    upsert_alumnus(session, data["absorbed"])
    return moved
