"""The alumni card's workflow in the registry: application, the office's review, revocation,
the privileges the office configures, and what the public routes publish (the key, the
revocation list). Tokens and keys are services/registry/cards.py.

Plain functions over a SQLAlchemy session; the caller commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.contracts.base import iso_utc
from services.common.errors import Conflict, NotFound, ValidationFailed
from services.common.paging import page, paged_select
from services.common.statemachine import StateMachine
from services.registry.cards import CardKey, card_token, signed_revocation_list
from services.registry.identity_models import AlumniCard, CardPrivilege
from services.registry.models import Alumnus
from services.registry.sessions import aware

CARD = StateMachine(
    "校友卡",
    {"applied": "待审核", "active": "有效", "rejected": "已驳回", "revoked": "已注销"},
    {
        "approve": ("applied", "active"),
        "reject": ("applied", "rejected"),
        "revoke": ("active", "revoked"),
    },
)
OPEN_STATUSES = ("applied", "active")
DEFAULT_PRIVILEGES = (
    ("library", "图书馆"),
    ("gym", "体育馆"),
    ("campus_entry", "校园出入"),
)
"""What a fresh deployment grants until the office configures its own list."""


# ---- privileges --------------------------------------------------------------------------


def list_privileges(session: Session) -> list[dict[str, str]]:
    rows = session.scalars(select(CardPrivilege).order_by(CardPrivilege.position)).all()
    if not rows:  # never configured
        return [{"code": c, "name": n} for c, n in DEFAULT_PRIVILEGES]
    return [{"code": r.code, "name": r.name} for r in rows if r.active]


def set_privileges(session: Session, privileges: list[dict[str, str]]) -> list[dict[str, str]]:
    """The office's list, in its order; cards approved before keep what they were given."""
    existing = {row.code: row for row in session.scalars(select(CardPrivilege))}
    wanted = {p["code"] for p in privileges}
    for row in existing.values():
        if row.code not in wanted:
            row.active = False
    for position, item in enumerate(privileges):
        row = existing.get(item["code"])
        if row is None:
            row = CardPrivilege(code=item["code"])
            session.add(row)
        row.name, row.active, row.position = item["name"], True, position
    if not privileges and not existing:
        # An empty list chosen on purpose: one inactive row marks "configured".
        session.add(CardPrivilege(code="none", name="无", active=False, position=0))
    session.flush()
    return list_privileges(session)


# ---- the workflow ------------------------------------------------------------------------


def apply(session: Session, alumnus_id: str, now: datetime) -> dict[str, Any]:
    """An alumnus applies; one open card (applied or active) at a time."""
    open_card = session.scalars(
        select(AlumniCard).where(
            AlumniCard.alumnus_id == alumnus_id, AlumniCard.status.in_(OPEN_STATUSES)
        )
    ).first()
    if open_card is not None:
        raise Conflict(
            "您已有待审核或有效的校友卡。",
            {"card_id": open_card.id, "status": open_card.status},
            reason="card_exists",
        )
    card = AlumniCard(alumnus_id=alumnus_id, status="applied", privileges=[], applied_at=now)
    session.add(card)
    session.flush()
    return card_to_dict(session, card)


def decide(
    session: Session,
    card_id: str,
    step: str,
    reason: str | None,
    actor: dict[str, Any],
    now: datetime,
    validity: timedelta,
) -> dict[str, Any]:
    """approve, reject (with a reason) or revoke (with a reason): the office's steps."""
    card = _card(session, card_id, lock=True)
    target = CARD.target(card.status, step)
    if step in ("reject", "revoke") and not reason:
        message = "驳回或注销须说明原因。"
        raise ValidationFailed(message, {"fields": {"reason": [message]}}, reason="reason_needed")
    if step == "approve":
        card.privileges = list_privileges(session)
        card.expires_at = now + validity
    if step == "revoke":
        card.revoked_at = now
    card.status = target
    card.reason = reason
    card.decided_by = actor["username"]
    card.decided_at = now
    session.flush()
    return card_to_dict(session, card)


def _card(session: Session, card_id: str, lock: bool = False) -> AlumniCard:
    query = select(AlumniCard).where(AlumniCard.id == str(card_id))
    if lock:
        query = query.with_for_update()
    card = session.scalars(query).first()
    if card is None:
        raise NotFound("校友卡不存在。", reason="card_not_found")
    return card


def get_card(session: Session, card_id: str) -> dict[str, Any]:
    return card_to_dict(session, _card(session, card_id))


def own_card(session: Session, alumnus_id: str, key: CardKey, now: datetime) -> dict[str, Any]:
    """The alumnus's latest card, with its QR token while it is active."""
    card = session.scalars(
        select(AlumniCard)
        .where(AlumniCard.alumnus_id == alumnus_id)
        .order_by(AlumniCard.seq.desc())
        .limit(1)
    ).first()
    if card is None:
        raise NotFound("您还没有申请校友卡。", reason="card_not_found")
    shown = card_to_dict(session, card)
    if card.status == "active" and aware(card.expires_at) > now:
        shown["token"] = card_token(key, shown, now)
    return shown


def search_cards(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    query = select(AlumniCard)
    if params.get("status"):
        query = query.where(AlumniCard.status == params["status"])
    rows = session.scalars(paged_select(query, [AlumniCard.seq], params, (int,))).all()
    return page(rows, params["limit"], lambda c: [c.seq], lambda cs: _cards(session, cs))


def _cards(session: Session, cards: list[AlumniCard]) -> list[dict[str, Any]]:
    names = _names(session, {c.alumnus_id for c in cards})
    return [card_to_dict(session, c, names) for c in cards]


def _names(session: Session, alumnus_ids: set[str]) -> dict[str, str]:
    if not alumnus_ids:
        return {}
    return dict(
        session.execute(select(Alumnus.id, Alumnus.name).where(Alumnus.id.in_(alumnus_ids))).all()
    )


def card_to_dict(
    session: Session, card: AlumniCard, names: dict[str, str] | None = None
) -> dict[str, Any]:
    names = names if names is not None else _names(session, {card.alumnus_id})
    return {
        "id": card.id,
        "alumnus_id": card.alumnus_id,
        "name": names.get(card.alumnus_id, ""),
        "status": card.status,
        "privileges": list(card.privileges or []),
        "applied_at": iso_utc(card.applied_at),
        "decided_by": card.decided_by,
        "decided_at": iso_utc(card.decided_at) if card.decided_at else None,
        "reason": card.reason,
        "expires_at": iso_utc(card.expires_at) if card.expires_at else None,
        "revoked_at": iso_utc(card.revoked_at) if card.revoked_at else None,
        "token": None,
    }


def revocation_list(session: Session, key: CardKey, now: datetime) -> dict[str, Any]:
    """Every revoked card that has not expired yet (an expired one fails anyway), signed."""
    rows = session.execute(
        select(AlumniCard.id, AlumniCard.revoked_at, AlumniCard.expires_at)
        .where(AlumniCard.status == "revoked")
        .order_by(AlumniCard.revoked_at)
    ).all()
    revoked = [
        {"card_id": row.id, "revoked_at": iso_utc(row.revoked_at)}
        for row in rows
        if row.expires_at is None or aware(row.expires_at) > now
    ]
    return signed_revocation_list(key, revoked, now)
