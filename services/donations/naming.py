"""Naming opportunities (冠名, 认养花木): buildings, rooms, trees, benches.

`available → reserved → named → expired`: a donor reserves one with the plaque text
(standard Chinese characters only; the contract checks); it is named once gifts of
that donor to its fund, net of refunds, reach its minimum; a term (trees: always 10
years) then runs, `naming_renewal_due` is raised once 90 days before it ends, a renewal
paid the same way adds another term, and a term that ends unrenewed expires. A
reservation may be released, and an expired naming offered again.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common.chinatime import add_years
from services.common.contracts.base import iso_utc
from services.common.contracts.donations import TREE_TERM_YEARS
from services.common.errors import Conflict, NotFound, ValidationFailed
from services.common.paging import page, paged_select
from services.common.statemachine import StateMachine
from services.donations import funds
from services.donations.donors import AlumnusLookup, Donor, donor_of, resolve_donor
from services.donations.models import Gift, GiftAllocation, Naming, NamingGift, OutboxMessage

RENEWAL_NOTICE_DAYS = 90
SCAN_BATCH = 500
TREE = "tree"

NAMING = StateMachine(
    "冠名项目",
    {"available": "可认捐", "reserved": "已预留", "named": "已冠名", "expired": "已到期"},
    {
        "reserve": ("available", "reserved"),
        "complete": ("reserved", "named"),
        "renew": ("named", "named"),
        "expire": ("named", "expired"),
        "release": (("reserved", "expired"), "available"),
    },
)
DONOR_COLUMNS = ("donor_type", "donor_alumnus_id", "donor_name", "donor_soft_credit_alumnus_id")


def create(session: Session, data: dict[str, Any]) -> dict[str, Any]:
    term_years = data.get("term_years")
    if data["kind"] == TREE:
        if term_years not in (None, TREE_TERM_YEARS):
            raise ValidationFailed(
                "请求数据校验失败。",
                {"fields": {"term_years": [f"认养花木的期限为 {TREE_TERM_YEARS} 年。"]}},
                reason="tree_term",
            )
        term_years = TREE_TERM_YEARS
    fund = funds.fund_row(session, data["fund_id"])
    naming = Naming(
        kind=data["kind"],
        name=data["name"],
        location=data.get("location", ""),
        fund_id=fund.id,
        minimum_gift_fen=data["minimum_gift_fen"],
        currency=data["currency"],
        term_years=term_years,
        status="available",
    )
    session.add(naming)
    session.flush()
    return to_dict(session, naming)


def reserve(
    session: Session, naming_id: str, data: dict[str, Any], lookup: AlumnusLookup
) -> dict[str, Any]:
    naming = row(session, naming_id)
    donor = resolve_donor(session, data["donor"], lookup)
    _move(session, naming, "reserve", plaque_text=data["plaque_text"], **donor.columns())
    OutboxMessage.record(session, "naming_reserved", {"naming": summary(naming)})
    return to_dict(session, naming)


def complete(session: Session, naming_id: str, gift_ids: list[Any], today: date) -> dict[str, Any]:
    """Named, paid by `gift_ids`: the donor's gifts to its fund, net at least the minimum."""
    naming = row(session, naming_id)
    NAMING.target(naming.status, "complete")
    ids = _pay(session, naming, gift_ids)
    ends = add_years(today, naming.term_years) if naming.term_years else None
    _move(session, naming, "complete", term_starts_on=today, term_ends_on=ends)
    OutboxMessage.record(session, "naming_completed", {"naming": summary(naming), "gift_ids": ids})
    return to_dict(session, naming)


def renew(session: Session, naming_id: str, gift_ids: list[Any]) -> dict[str, Any]:
    """Another term, paid as the first was, from where the current one ends."""
    naming = row(session, naming_id)
    NAMING.target(naming.status, "renew")
    if not naming.term_years:
        raise Conflict("永久冠名无需续期。", {"naming_id": naming.id}, reason="permanent_naming")
    _pay(session, naming, gift_ids)
    _move(
        session,
        naming,
        "renew",
        term_ends_on=add_years(naming.term_ends_on, naming.term_years),
        renewal_flagged_for=None,
    )
    return to_dict(session, naming)


def release(session: Session, naming_id: str) -> dict[str, Any]:
    naming = row(session, naming_id)
    _move(
        session,
        naming,
        "release",
        plaque_text=None,
        term_starts_on=None,
        term_ends_on=None,
        renewal_flagged_for=None,
        **dict.fromkeys(DONOR_COLUMNS),
    )
    return to_dict(session, naming)


def _move(session: Session, naming: Naming, step: str, **values: Any) -> None:
    """Take `step` by compare-and-set on the status the naming was read in."""
    target = NAMING.target(naming.status, step)
    changed = session.execute(
        update(Naming)
        .where(Naming.seq == naming.seq, Naming.status == naming.status)
        .values(status=target, **values)
    ).rowcount
    if changed != 1:
        raise Conflict("冠名项目已被他人处理，请刷新后重试。", {"naming_id": naming.id})
    session.refresh(naming)


def _pay(session: Session, naming: Naming, gift_ids: list[Any]) -> list[str]:
    """Link `gift_ids` to the naming: the naming donor's, to its fund, net ≥ the minimum,
    each paying for no other naming (nor for an earlier term of this one)."""
    ids = list(dict.fromkeys(str(gift_id) for gift_id in gift_ids))
    found = session.scalars(select(Gift).where(Gift.id.in_(ids))).all()
    donor = donor_of(naming)
    if len(found) != len(ids) or not all(_pays_for(gift, donor) for gift in found):
        raise ValidationFailed(
            "请求数据校验失败。",
            {"fields": {"gift_ids": ["须为冠名捐赠人本人的捐赠。"]}},
            reason="not_the_donors_gifts",
        )
    if session.scalars(select(NamingGift.gift_id).where(NamingGift.gift_id.in_(ids))).first():
        raise _gift_used(ids)
    net = session.execute(
        select(
            func.coalesce(func.sum(GiftAllocation.amount_fen - GiftAllocation.refunded_fen), 0)
        ).where(
            GiftAllocation.gift_seq.in_([gift.seq for gift in found]),
            GiftAllocation.fund_id == naming.fund_id,
        )
    ).scalar_one()
    if net < naming.minimum_gift_fen:
        raise ValidationFailed(
            "请求数据校验失败。",
            {
                "fields": {"gift_ids": ["捐入该基金的金额未达到冠名最低额。"]},
                "minimum_gift_fen": naming.minimum_gift_fen,
                "paid_fen": int(net),
            },
            reason="below_minimum",
        )
    try:
        session.add_all([NamingGift(gift_id=gift_id, naming_seq=naming.seq) for gift_id in ids])
        session.flush()
    except IntegrityError:  # another naming took one of them meanwhile
        raise _gift_used(ids) from None
    return ids


def _gift_used(ids: list[str]) -> Conflict:
    return Conflict("捐赠已用于冠名。", {"gift_ids": ids}, reason="gift_already_used")


def _pays_for(gift: Gift, donor: Donor) -> bool:
    return gift.gift_type == "donation" and donor_of(gift).same_party(donor)


def flag_renewals_and_expire(session: Session, today: date) -> dict[str, int]:
    """Raise `naming_renewal_due` for terms ending within 90 days (once per term) and
    expire the terms that have ended."""
    horizon = today + timedelta(days=RENEWAL_NOTICE_DAYS)
    due = session.scalars(
        select(Naming)
        .where(Naming.status == "named", Naming.term_ends_on <= horizon)
        .order_by(Naming.term_ends_on)
        .limit(SCAN_BATCH)
    ).all()
    counts = {"renewal_due": 0, "expired": 0}
    for naming in due:
        if naming.term_ends_on <= today:
            _move(session, naming, "expire")
            counts["expired"] += 1
            continue
        if naming.renewal_flagged_for == naming.term_ends_on:
            continue
        changed = session.execute(
            update(Naming)
            .where(Naming.seq == naming.seq, Naming.term_ends_on == naming.term_ends_on)
            .where(
                (Naming.renewal_flagged_for.is_(None))
                | (Naming.renewal_flagged_for != naming.term_ends_on)
            )
            .values(renewal_flagged_for=naming.term_ends_on)
        ).rowcount
        if changed == 1:
            counts["renewal_due"] += 1
            OutboxMessage.record(
                session,
                "naming_renewal_due",
                {"naming": summary(naming), "term_ends_on": naming.term_ends_on.isoformat()},
            )
    return counts


def row(session: Session, naming_id: str) -> Naming:
    naming = session.scalars(select(Naming).where(Naming.id == str(naming_id))).one_or_none()
    if naming is None:
        raise NotFound("冠名项目不存在。", {"naming_id": str(naming_id)})
    return naming


def get(session: Session, naming_id: str) -> dict[str, Any]:
    return to_dict(session, row(session, naming_id))


def list_namings(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    query = select(Naming)
    for name in ("kind", "status"):
        if params.get(name):
            query = query.where(getattr(Naming, name) == params[name])
    rows = session.scalars(paged_select(query, [Naming.seq], params, (int,))).all()
    return page(
        rows, params["limit"], lambda r: [r.seq], lambda rs: [to_dict(session, r) for r in rs]
    )


def _donor(naming: Naming) -> dict[str, Any] | None:
    return donor_of(naming).as_dict() if naming.donor_type else None


def summary(naming: Naming) -> dict[str, Any]:
    return {
        "id": naming.id,
        "kind": naming.kind,
        "name": naming.name,
        "fund_id": naming.fund_id,
        "status": naming.status,
        "donor": _donor(naming),
        "plaque_text": naming.plaque_text,
        "term_starts_on": naming.term_starts_on.isoformat() if naming.term_starts_on else None,
        "term_ends_on": naming.term_ends_on.isoformat() if naming.term_ends_on else None,
    }


def to_dict(session: Session, naming: Naming) -> dict[str, Any]:
    gift_ids = session.scalars(
        select(NamingGift.gift_id).where(NamingGift.naming_seq == naming.seq)
    ).all()
    return {
        **summary(naming),
        "location": naming.location,
        "minimum_gift_fen": naming.minimum_gift_fen,
        "currency": naming.currency,
        "term_years": naming.term_years,
        "gift_ids": list(gift_ids),
        "created_at": iso_utc(naming.created_at),
    }
