"""The distinguished-alumni archive (杰出校友档案, policy clause 三.3): nominations, the
office's decision, the steward (专人负责), the interaction log and honours (表彰).

Who may see or change an entry is the gateway's decision (gateway/authz/community_archive.py);
these functions keep the records and the workflow (`ENTRY`). docs/community.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from services.common.columns import utcnow
from services.common.contracts.base import iso_utc
from services.common.errors import Conflict, NotFound, ValidationFailed
from services.common.paging import page, paged_select
from services.common.statemachine import StateMachine
from services.registry import domain
from services.registry.community_archive_models import (
    DistinguishedEntry,
    DistinguishedHonour,
    DistinguishedInteraction,
)
from services.registry.models import Account, Alumnus

ENTRY = StateMachine(
    "杰出校友提名",
    {"nominated": "待审批", "approved": "已入档", "rejected": "未通过"},
    {"approve": ("nominated", "approved"), "reject": ("nominated", "rejected")},
)
OPEN = ("nominated", "approved")
# Who may look after a distinguished alumnus: staff who write. The committee writes nothing
# but plans (DESIGN.md), so it cannot keep the interaction log.
STEWARD_ROLES = ("office", "liaison")


# ---- nominations and decisions -----------------------------------------------------------


def nominate(session: Session, data: dict[str, Any], actor: dict[str, Any]) -> dict[str, Any]:
    """A nomination of an alumnus, with reasons; one open (nominated or approved) per alumnus."""
    alumnus_id = str(data["alumnus_id"])
    domain.get_alumnus(session, alumnus_id)  # 404 for an unknown or merged record
    taken = session.scalars(
        select(DistinguishedEntry.id)
        .where(DistinguishedEntry.alumnus_id == alumnus_id, DistinguishedEntry.status.in_(OPEN))
        .with_for_update()
    ).first()
    if taken is not None:
        raise Conflict(
            "该校友已被提名或已列入杰出校友档案。",
            {"entry_id": taken},
            reason="already_nominated",
        )
    entry = DistinguishedEntry(
        alumnus_id=alumnus_id,
        status="nominated",
        reasons=data["reasons"],
        department_id=actor.get("department_id") if actor["role"] == "liaison" else None,
        nominated_by=actor["account_id"],
        nominated_by_name=actor["username"],
        nominated_at=utcnow(),
    )
    session.add(entry)
    session.flush()
    return entry_to_dict(session, entry)


def decide(
    session: Session,
    entry_id: str,
    step: str,
    actor: dict[str, Any],
    note: str = "",
    steward_id: str | None = None,
) -> dict[str, Any]:
    """approve (optionally naming the steward at once) or reject (with the reason in `note`)."""
    entry = _entry(session, entry_id, lock=True)
    target = ENTRY.target(entry.status, step)
    if steward_id:
        _assign(session, entry, steward_id)
    entry.status = target
    entry.decided_by = actor["username"]
    entry.decided_at = utcnow()
    entry.decision_note = note or None
    session.flush()
    return entry_to_dict(session, entry)


def assign_steward(session: Session, entry_id: str, steward_id: str) -> dict[str, Any]:
    """Name (or change) the staff member who looks after an archived alumnus."""
    entry = _entry(session, entry_id, lock=True)
    _require_archived(entry)
    _assign(session, entry, steward_id)
    session.flush()
    return entry_to_dict(session, entry)


def _assign(session: Session, entry: DistinguishedEntry, steward_id: str) -> None:
    account = session.get(Account, str(steward_id)) if domain._is_uuid(steward_id) else None
    if account is None or not account.active or account.role not in STEWARD_ROLES:
        message = "负责人须为在用的校友会办公室或联络员账号。"
        raise ValidationFailed(
            message, {"fields": {"steward_id": [message]}}, reason="not_a_steward"
        )
    entry.steward_id = account.id
    entry.steward_assigned_at = utcnow()


# ---- reads ---------------------------------------------------------------------------------


def get_entry(session: Session, entry_id: str) -> dict[str, Any]:
    """A nomination or archive entry, whatever its status (the gateway decides who sees it)."""
    return entry_to_dict(session, _entry(session, entry_id))


def list_entries(
    session: Session,
    params: dict[str, Any],
    *,
    archived: bool,
    nominator_id: str | None = None,
    steward_id: str | None = None,
) -> dict[str, Any]:
    """Nominations (any status, `params["status"]`) or the archive (approved entries only),
    newest first; `nominator_id` / `steward_id` narrow it to one account's."""
    query = select(DistinguishedEntry)
    if archived:
        query = query.where(DistinguishedEntry.status == "approved")
    elif params.get("status"):
        query = query.where(DistinguishedEntry.status == params["status"])
    if nominator_id:
        query = query.where(DistinguishedEntry.nominated_by == str(nominator_id))
    if steward_id:
        query = query.where(DistinguishedEntry.steward_id == str(steward_id))
    rows = session.scalars(
        paged_select(query, [DistinguishedEntry.seq], params, (int,), descending=True)
    ).all()
    return page(rows, params["limit"], lambda r: [r.seq], lambda rows: _entries(session, rows))


def _entries(session: Session, rows: Sequence[DistinguishedEntry]) -> list[dict[str, Any]]:
    """A page of entries, with what they show of others read in one query each."""
    if not rows:
        return []
    seqs = [row.seq for row in rows]
    names = _names(session, {row.alumnus_id for row in rows})
    stewards = _accounts(session, {row.steward_id for row in rows if row.steward_id})
    honours = dict(
        session.execute(
            select(DistinguishedHonour.entry_seq, func.count())
            .where(DistinguishedHonour.entry_seq.in_(seqs))
            .group_by(DistinguishedHonour.entry_seq)
        ).all()
    )
    interactions = {
        seq: (count, last)
        for seq, count, last in session.execute(
            select(
                DistinguishedInteraction.entry_seq,
                func.count(),
                func.max(DistinguishedInteraction.occurred_on),
            )
            .where(DistinguishedInteraction.entry_seq.in_(seqs))
            .group_by(DistinguishedInteraction.entry_seq)
        ).all()
    }
    return [
        _shape(row, names, stewards, honours.get(row.seq, 0), interactions.get(row.seq, (0, None)))
        for row in rows
    ]


def entry_to_dict(session: Session, entry: DistinguishedEntry) -> dict[str, Any]:
    return _entries(session, [entry])[0]


def _shape(
    row: DistinguishedEntry,
    names: dict[str, str],
    stewards: dict[str, Account],
    honours: int,
    interactions: tuple[int, Any],
) -> dict[str, Any]:
    steward = stewards.get(row.steward_id) if row.steward_id else None
    count, last = interactions
    return {
        "id": row.id,
        "alumnus_id": row.alumnus_id,
        "alumnus_name": names.get(row.alumnus_id),
        "status": row.status,
        "reasons": row.reasons,
        "department_id": row.department_id,
        "nominated_by": row.nominated_by_name,
        "nominator_id": row.nominated_by,
        "nominated_at": iso_utc(row.nominated_at),
        "decided_by": row.decided_by,
        "decided_at": iso_utc(row.decided_at) if row.decided_at else None,
        "decision_note": row.decision_note,
        "steward": (
            {"id": steward.id, "username": steward.username, "role": steward.role}
            if steward is not None
            else None
        ),
        "steward_assigned_at": (
            iso_utc(row.steward_assigned_at) if row.steward_assigned_at else None
        ),
        "honours_count": int(honours),
        "interactions_count": int(count),
        "last_interaction_on": _date_text(last),
    }


def _date_text(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)[:10]


def _names(session: Session, alumnus_ids: set[str]) -> dict[str, str]:
    if not alumnus_ids:
        return {}
    rows = session.execute(select(Alumnus.id, Alumnus.name).where(Alumnus.id.in_(alumnus_ids)))
    return {row.id: row.name for row in rows}


def _accounts(session: Session, account_ids: set[str]) -> dict[str, Account]:
    if not account_ids:
        return {}
    return {a.id: a for a in session.scalars(select(Account).where(Account.id.in_(account_ids)))}


# ---- the interaction log and honours ---------------------------------------------------------


def add_interaction(
    session: Session, entry_id: str, data: dict[str, Any], actor: dict[str, Any]
) -> dict[str, Any]:
    entry = _entry(session, entry_id)
    _require_archived(entry)
    row = DistinguishedInteraction(
        entry_seq=entry.seq,
        kind=data["kind"],
        occurred_on=_as_date(data["occurred_on"]),
        summary=data["summary"],
        gift_id=str(data["gift_id"]) if data.get("gift_id") else None,
        recorded_by=actor["username"],
        recorded_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return interaction_to_dict(row, entry.id)


def list_interactions(session: Session, entry_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """The log, latest recorded first."""
    entry = _entry(session, entry_id)
    query = select(DistinguishedInteraction).where(DistinguishedInteraction.entry_seq == entry.seq)
    rows = session.scalars(
        paged_select(query, [DistinguishedInteraction.seq], params, (int,), descending=True)
    ).all()
    return page(
        rows,
        params["limit"],
        lambda r: [r.seq],
        lambda rows: [interaction_to_dict(r, entry.id) for r in rows],
    )


def interaction_to_dict(row: DistinguishedInteraction, entry_id: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "entry_id": entry_id,
        "kind": row.kind,
        "occurred_on": _date_text(row.occurred_on),
        "summary": row.summary,
        "gift_id": row.gift_id,
        "recorded_by": row.recorded_by,
        "recorded_at": iso_utc(row.recorded_at),
    }


def add_honour(
    session: Session, entry_id: str, data: dict[str, Any], actor: dict[str, Any]
) -> dict[str, Any]:
    entry = _entry(session, entry_id)
    _require_archived(entry)
    row = DistinguishedHonour(
        entry_seq=entry.seq,
        year=data["year"],
        title=data["title"],
        citation=data["citation"],
        recorded_by=actor["username"],
        recorded_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return honour_to_dict(row, entry.id)


def list_honours(session: Session, entry_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """Honours, latest recorded first."""
    entry = _entry(session, entry_id)
    query = select(DistinguishedHonour).where(DistinguishedHonour.entry_seq == entry.seq)
    rows = session.scalars(
        paged_select(query, [DistinguishedHonour.seq], params, (int,), descending=True)
    ).all()
    return page(
        rows,
        params["limit"],
        lambda r: [r.seq],
        lambda rows: [honour_to_dict(r, entry.id) for r in rows],
    )


def honour_to_dict(row: DistinguishedHonour, entry_id: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "entry_id": entry_id,
        "year": row.year,
        "title": row.title,
        "citation": row.citation,
        "recorded_by": row.recorded_by,
        "recorded_at": iso_utc(row.recorded_at),
    }


# ---- helpers -------------------------------------------------------------------------------


def _entry(session: Session, entry_id: str, lock: bool = False) -> DistinguishedEntry:
    entry = None
    if domain._is_uuid(entry_id):
        query = select(DistinguishedEntry).where(DistinguishedEntry.id == str(entry_id))
        if lock:
            query = query.with_for_update()
        entry = session.scalars(query).first()
    if entry is None:
        raise not_found(entry_id)
    return entry


def not_found(entry_id: str) -> NotFound:
    """The one answer for an entry that does not exist or that the caller may not see."""
    return NotFound(
        "杰出校友档案不存在。", {"entry_id": str(entry_id)}, reason="distinguished_not_found"
    )


def _require_archived(entry: DistinguishedEntry) -> None:
    if entry.status != "approved":
        raise Conflict(
            f"该提名当前状态为“{ENTRY.names[entry.status]}”，尚未列入档案。",
            {"status": entry.status},
            reason="not_archived",
        )


def _as_date(value: Any):
    from datetime import date

    return value if isinstance(value, date) else date.fromisoformat(str(value))


def held_on(session: Session, alumnus_id: str) -> list[dict[str, Any]]:
    """Every nomination and archive entry of one alumnus, with its log and honours: their
    part of the person's export (PIPL art. 45, services/registry/rights.py)."""
    entries = session.scalars(
        select(DistinguishedEntry)
        .where(DistinguishedEntry.alumnus_id == str(alumnus_id))
        .order_by(DistinguishedEntry.seq)
    ).all()
    held = []
    for entry, shown in zip(entries, _entries(session, entries), strict=True):
        log = session.scalars(
            select(DistinguishedInteraction)
            .where(DistinguishedInteraction.entry_seq == entry.seq)
            .order_by(DistinguishedInteraction.seq)
        )
        honours = session.scalars(
            select(DistinguishedHonour)
            .where(DistinguishedHonour.entry_seq == entry.seq)
            .order_by(DistinguishedHonour.seq)
        )
        held.append(
            {
                **shown,
                "interactions": [interaction_to_dict(row, entry.id) for row in log],
                "honours": [honour_to_dict(row, entry.id) for row in honours],
            }
        )
    return held


def forget(session: Session, alumnus_id: str) -> None:
    """An approved erasure (services/registry/rights.py): the person's archive entry goes
    whole, with its log and honours; the office keeps no file on someone who asked to be
    forgotten."""
    entries = select(DistinguishedEntry.seq).where(DistinguishedEntry.alumnus_id == alumnus_id)
    for model in (DistinguishedInteraction, DistinguishedHonour):
        session.execute(delete(model).where(model.entry_seq.in_(entries)))
    session.execute(delete(DistinguishedEntry).where(DistinguishedEntry.alumnus_id == alumnus_id))
