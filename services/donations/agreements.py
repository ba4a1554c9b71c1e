"""Donation agreements (捐赠协议): required for gifts at or above the threshold (default
¥100,000: “十万元以上” includes the amount itself), for every in-kind gift and every
pledge. The agreement's donor must be the gift's, and the signer's name must be both the
payer's and the name on the receipt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.contracts.base import iso_utc
from services.common.errors import NotFound, ValidationFailed
from services.common.paging import each, page, paged_select
from services.donations.donors import AlumnusLookup, Donor, donor_dict, donor_of, resolve_donor
from services.donations.models import Agreement


@dataclass(frozen=True)
class AgreementRules:
    threshold_fen: int


def create(
    session: Session, data: dict[str, Any], actor: dict[str, Any], lookup: AlumnusLookup
) -> dict[str, Any]:
    donor = resolve_donor(session, data["donor"], lookup)
    agreement = Agreement(
        **donor.columns(),
        signer_name=data["signer_name"],
        amount_fen=data.get("amount_fen"),
        currency=data["currency"],
        purpose=data["purpose"],
        signed_on=data["signed_on"],
        document_ref=data.get("document_ref", ""),
        created_by=actor["username"],
    )
    session.add(agreement)
    session.flush()
    return to_dict(agreement)


def get(session: Session, agreement_id: str) -> dict[str, Any]:
    return to_dict(_row(session, agreement_id))


def list_agreements(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    query = paged_select(select(Agreement), [Agreement.seq], params, (int,), descending=True)
    rows = session.scalars(query).all()
    return page(rows, params["limit"], lambda row: [row.seq], each(to_dict))


def _row(session: Session, agreement_id: str) -> Agreement:
    agreement = session.scalars(
        select(Agreement).where(Agreement.id == str(agreement_id))
    ).one_or_none()
    if agreement is None:
        raise NotFound("捐赠协议不存在。", {"agreement_id": str(agreement_id)})
    return agreement


def check(
    session: Session,
    agreement_id: Any,
    donor: Donor,
    names: dict[str, str],
    required: bool,
) -> str | None:
    """The agreement a record rests on: required or not, it must be the donor's and its
    signer must be each of `names` (payer, receipt, …). Returns its id."""
    if agreement_id is None:
        if required:
            raise ValidationFailed(
                "请求数据校验失败。",
                {"fields": {"agreement_id": ["须先签订捐赠协议。"]}},
                reason="agreement_required",
            )
        return None
    agreement = session.scalars(
        select(Agreement).where(Agreement.id == str(agreement_id))
    ).one_or_none()
    if agreement is None:
        raise ValidationFailed(
            "请求数据校验失败。",
            {"fields": {"agreement_id": ["捐赠协议不存在。"]}},
            reason="unknown_agreement",
        )
    mismatched = [field for field, name in names.items() if name != agreement.signer_name]
    if not donor_of(agreement).same_party(donor) or mismatched:
        raise ValidationFailed(
            "协议签署人、付款人与收据抬头须一致。",
            {
                "fields": {
                    field: ["与捐赠协议签署人不一致。"] for field in mismatched or ["donor"]
                },
                "signer_name": agreement.signer_name,
            },
            reason="agreement_mismatch",
        )
    return agreement.id


def to_dict(agreement: Agreement) -> dict[str, Any]:
    return {
        "id": agreement.id,
        "donor": donor_dict(agreement),
        "signer_name": agreement.signer_name,
        "amount_fen": agreement.amount_fen,
        "currency": agreement.currency,
        "purpose": agreement.purpose,
        "signed_on": agreement.signed_on.isoformat(),
        "document_ref": agreement.document_ref,
        "created_by": agreement.created_by,
        "created_at": iso_utc(agreement.created_at),
    }
