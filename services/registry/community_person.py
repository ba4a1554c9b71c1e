"""What alumni verification, the alumni card and the directory hold on one person, for the
registry's part of the PIPL rights (services/registry/rights.py): the copy (art. 45) and
erasure (art. 47). docs/community.md.

Plain functions over a SQLAlchemy session; the caller commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from services.common.contracts.base import iso_utc
from services.registry import card_workflow, directory
from services.registry.identity_models import AlumniCard, AlumnusClaim, ClaimVouch, DirectoryChoice

ERASED_NAME = "已注销校友"


def export_person(session: Session, alumnus_id: str) -> dict[str, Any]:
    """The person's claims of their record, the vouches asked of them and given, their
    cards, and their directory choice."""
    claims = session.scalars(
        select(AlumnusClaim).where(AlumnusClaim.alumnus_id == alumnus_id).order_by(AlumnusClaim.seq)
    ).all()
    vouches = session.scalars(
        select(ClaimVouch)
        .where(ClaimVouch.voucher_alumnus_id == alumnus_id)
        .order_by(ClaimVouch.seq)
    ).all()
    cards = session.scalars(
        select(AlumniCard).where(AlumniCard.alumnus_id == alumnus_id).order_by(AlumniCard.seq)
    ).all()
    return {
        "claims": [
            {
                "claim_id": c.id,
                "method": c.method,
                "status": c.status,
                "created_at": iso_utc(c.created_at),
                "verified_at": iso_utc(c.verified_at) if c.verified_at else None,
                "activated_at": iso_utc(c.activated_at) if c.activated_at else None,
            }
            for c in claims
        ],
        "vouches_asked": [
            {
                "id": v.id,
                "claim_id": v.claim_id,
                "status": v.status,
                "requested_at": iso_utc(v.requested_at),
                "decided_at": iso_utc(v.decided_at) if v.decided_at else None,
            }
            for v in vouches
        ],
        "cards": [card_workflow.card_to_dict(session, c) for c in cards],
        "directory_privacy": directory.get_privacy(session, alumnus_id),
    }


def erase_person(session: Session, alumnus_id: str, at: datetime) -> None:
    """On an approved erasure: the person's cards stop (an active one is revoked, so a QR
    code kept on a phone fails at the gates; an application is rejected), their directory
    choice goes, the names typed into their claims are blanked and the vouch requests about
    those claims go."""
    session.execute(
        update(AlumniCard)
        .where(AlumniCard.alumnus_id == alumnus_id, AlumniCard.status == "active")
        .values(status="revoked", revoked_at=at, reason="校友信息已注销", decided_at=at)
    )
    session.execute(
        update(AlumniCard)
        .where(AlumniCard.alumnus_id == alumnus_id, AlumniCard.status == "applied")
        .values(status="rejected", reason="校友信息已注销", decided_at=at)
    )
    session.execute(delete(DirectoryChoice).where(DirectoryChoice.alumnus_id == alumnus_id))
    claim_ids = select(AlumnusClaim.id).where(AlumnusClaim.alumnus_id == alumnus_id)
    session.execute(delete(ClaimVouch).where(ClaimVouch.claim_id.in_(claim_ids)))
    session.execute(
        update(AlumnusClaim)
        .where(AlumnusClaim.alumnus_id == alumnus_id)
        .values(claimed_name=ERASED_NAME, code_hash=None)
    )
