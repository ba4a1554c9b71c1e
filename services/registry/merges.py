"""The office's duplicates queue, merges of two records of one person, and their undo.

Survivorship and its undo are `duplicates.merge` / `duplicates.undo_merge` (pure); this
module reads the two records with the provenance of each field (the newest history row of
the field: its source and time), writes the outcome, and keeps the merge log.

**Decision: the absorbed record stays as it was**, out of search and reads (`merged_into`;
reading it answers 404 with the survivor's id), with its own history untouched; only the
graduations the merge moved to the survivor change hands (back on undo). So an undo
restores the absorbed record and its history exactly, and the survivor's values except
those changed since the merge (`kept_since_merge`). The survivor's history records the
merge and the undo as changes by the office.
"""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.common.contracts.base import iso_utc
from services.common.errors import Conflict, NotFound, ValidationFailed
from services.common.paging import page, paged_select
from services.registry import domain, duplicates, namekeys, provenance
from services.registry.models import (
    Alumnus,
    AlumnusMerge,
    ChangeRecord,
    DuplicateCandidate,
    Graduation,
    OutboxMessage,
    utcnow,
)

MERGE_SOURCE = "office"


# ---- the review queue -------------------------------------------------------------------


def candidate_to_dict(candidate: DuplicateCandidate) -> dict[str, Any]:
    return {
        "id": candidate.id,
        "first_id": candidate.first_id,
        "second_id": candidate.second_id,
        "score": candidate.score,
        "evidence": candidate.evidence,
        "status": candidate.status,
        "found_by": candidate.found_by,
        "found_at": iso_utc(candidate.found_at),
        "merge_id": candidate.merge_id,
    }


def list_candidates(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    """The queue, most likely pairs first."""
    query = select(DuplicateCandidate).where(DuplicateCandidate.status == params["status"])
    order = [DuplicateCandidate.score, DuplicateCandidate.id]
    rows = session.scalars(paged_select(query, order, params, (float, int), descending=True))
    return page(rows.all(), params["limit"], lambda c: [c.score, c.id], _each_candidate)


def _each_candidate(rows: Any) -> list[dict[str, Any]]:
    return [candidate_to_dict(c) for c in rows]


def dismiss_candidate(session: Session, candidate_id: int, actor: dict[str, Any]) -> dict:
    """Not one person: the pair leaves the queue and is never proposed again."""
    candidate = _candidate(session, candidate_id)
    if candidate.status != "open":
        raise Conflict("该疑似重复已处理。", {"status": candidate.status}, reason="not_open")
    candidate.status = "dismissed"
    candidate.decided_by = actor["username"]
    candidate.decided_at = utcnow()
    session.flush()
    return candidate_to_dict(candidate)


# ---- merge and undo -----------------------------------------------------------------------


def merge(session: Session, data: dict[str, Any], actor: dict[str, Any]) -> dict[str, Any]:
    survivor = _live(session, str(data["survivor_id"]))
    absorbed = _live(session, str(data["absorbed_id"]))
    if survivor.id == absorbed.id:
        raise ValidationFailed(
            "不能把记录与自身合并。",
            {"fields": {"absorbed_id": ["须与保留的记录不同。"]}},
            reason="merge_with_itself",
        )
    now = utcnow()
    try:
        result = duplicates.merge(
            _side(session, survivor),
            _side(session, absorbed),
            merged_at=now.astimezone(UTC).isoformat(),
            choices=data.get("choices") or {},
        )
    except ValueError as error:
        raise ValidationFailed(
            "合并选择中有未知的字段或取值。",
            {"fields": {"choices": [str(error)]}},
            reason="bad_choices",
        ) from None
    before = _record(session, survivor)
    moved = [int(g) for g in result.moved_graduations]
    by_id = {str(g.id): g for g in absorbed.graduations}
    for absorbed_id, own_id in result.folded_graduations.items():
        theirs = by_id[absorbed_id]
        ours = next(g for g in result.survivor.graduations if g["id"] == own_id)
        if theirs.student_number and ours.get("student_number") == theirs.student_number:
            # The number passes to the survivor's record of the same graduation; the
            # index allows it once (restored on undo).
            theirs.student_number = None
    session.flush()
    _write(session, survivor, result.survivor)
    if moved:
        session.execute(
            update(Graduation).where(Graduation.id.in_(moved)).values(alumnus_seq=survivor.seq)
        )
    _set_merged_into(session, absorbed.id, survivor.id)
    session.flush()
    session.expire_all()
    survivor = _live(session, survivor.id)
    after = _record(session, survivor)
    _history(session, survivor, before, after, actor, now)
    _stamp_united(survivor, before, after, actor, now)
    if any(before[field] != after[field] for field in namekeys.GRAM_FIELDS):
        namekeys.write(session, survivor)
    log = AlumnusMerge(
        survivor_id=survivor.id,
        absorbed_id=absorbed.id,
        undo=result.undo,
        merged_by=actor["username"],
        merged_at=now,
    )
    session.add(log)
    session.flush()
    first, second = sorted((survivor.id, absorbed.id))
    session.execute(
        update(DuplicateCandidate)
        .where(DuplicateCandidate.first_id == first, DuplicateCandidate.second_id == second)
        .values(status="merged", decided_by=actor["username"], decided_at=now, merge_id=log.id)
    )
    domain.departments.with_current_departments(session, [after])
    OutboxMessage.record(
        session,
        "alumni_merged",
        {
            "merge_id": log.id,
            "survivor_id": survivor.id,
            "absorbed_id": absorbed.id,
            "survivor": after,
        },
    )
    return {
        **_log_to_dict(log),
        "decisions": [
            {"field": d.field, "kept": d.kept, "why": d.why, "value": d.value}
            for d in result.decisions
        ],
        "conflicts": result.conflicts,
        "survivor": after,
    }


def undo(session: Session, merge_id: str, actor: dict[str, Any]) -> dict[str, Any]:
    log = session.get(AlumnusMerge, str(merge_id))
    if log is None:
        raise NotFound("合并记录不存在。", {"merge_id": str(merge_id)}, reason="merge_not_found")
    if log.undone_at is not None:
        raise Conflict("该合并已撤销。", reason="already_undone")
    survivor = _live(session, log.survivor_id)
    absorbed = session.scalars(select(Alumnus).where(Alumnus.id == log.absorbed_id)).one()
    before = _record(session, survivor)
    restored = duplicates.undo_merge(log.undo, _side(session, survivor))
    taken_back = [int(g) for g in log.undo["moved_graduations"]]
    if taken_back:
        session.execute(
            update(Graduation)
            .where(Graduation.id.in_(taken_back), Graduation.alumnus_seq == survivor.seq)
            .values(alumnus_seq=absorbed.seq)
        )
    session.flush()
    session.expire_all()
    survivor = _live(session, log.survivor_id)
    _write(session, survivor, restored.survivor)
    session.flush()
    absorbed = session.scalars(select(Alumnus).where(Alumnus.id == log.absorbed_id)).one()
    _write(session, absorbed, restored.absorbed, values=False)
    session.flush()
    _set_merged_into(session, absorbed.id, None)
    now = utcnow()
    log.undone_by, log.undone_at = actor["username"], now
    session.flush()
    session.expire_all()
    survivor = _live(session, log.survivor_id)
    after = _record(session, survivor)
    _history(session, survivor, before, after, actor, now)
    _stamp_united(survivor, before, after, actor, now)
    if any(before[field] != after[field] for field in namekeys.GRAM_FIELDS):
        namekeys.write(session, survivor)
    first, second = sorted((log.survivor_id, log.absorbed_id))
    # Back in the queue: the office may merge them the other way round, or dismiss them.
    session.execute(
        update(DuplicateCandidate)
        .where(DuplicateCandidate.first_id == first, DuplicateCandidate.second_id == second)
        .values(status="open", merge_id=None)
    )
    absorbed_record = domain.get_alumnus(session, log.absorbed_id)
    domain.departments.with_current_departments(session, [after])
    OutboxMessage.record(
        session,
        "alumni_unmerged",
        {
            "merge_id": log.id,
            "survivor_id": log.survivor_id,
            "absorbed_id": log.absorbed_id,
            "survivor": after,
            "absorbed": absorbed_record,
        },
    )
    return {
        **_log_to_dict(log),
        "decisions": [],
        "conflicts": [],
        "kept_since_merge": restored.kept_since_merge,
        "survivor": after,
        "absorbed": absorbed_record,
    }


def get_merge(session: Session, merge_id: str) -> dict[str, Any]:
    log = session.get(AlumnusMerge, str(merge_id))
    if log is None:
        raise NotFound("合并记录不存在。", {"merge_id": str(merge_id)}, reason="merge_not_found")
    survivor = session.scalars(select(Alumnus).where(Alumnus.id == log.survivor_id)).one()
    return {
        **_log_to_dict(log),
        "decisions": [],
        "conflicts": [],
        "survivor": _record(session, survivor),
    }


def _log_to_dict(log: AlumnusMerge) -> dict[str, Any]:
    return {
        "id": log.id,
        "survivor_id": log.survivor_id,
        "absorbed_id": log.absorbed_id,
        "merged_by": log.merged_by,
        "merged_at": iso_utc(log.merged_at),
        "undone_at": iso_utc(log.undone_at) if log.undone_at else None,
    }


# ---- reading and writing the sides ----------------------------------------------------------


def _side(session: Session, alumnus: Alumnus) -> duplicates.MergeSide:
    """The record as a merge sees it; each field's provenance is its newest history row."""
    record = domain.alumnus_to_dict(alumnus, alumnus.graduations)
    values = {f: record[f] for f in duplicates.MERGED_FIELDS}
    known = provenance.provenance_of(session, alumnus.seq, alumnus.field_provenance, values)
    return duplicates.MergeSide(
        id=alumnus.id,
        values=values,
        provenance={
            f: duplicates.Provenance(p["source"], p.get("confirmed_at")) for f, p in known.items()
        },
        tags=list(record["tags"]),
        graduations=[
            {
                "id": str(g.id),
                "department_id": g.department_id,
                "degree": g.degree,
                "class_year": g.class_year,
                "major": g.major,
                "class_name": g.class_name,
                "student_number": g.student_number,
            }
            for g in alumnus.graduations
        ],
    )


def _write(
    session: Session, alumnus: Alumnus, side: duplicates.MergeSide, values: bool = True
) -> None:
    """Set the record's values and tags (unless `values` is false) and the details of its
    own graduations from `side`."""
    if values:
        for field in duplicates.MERGED_FIELDS:
            setattr(alumnus, field, domain._normalise(field, side.values.get(field)))
        alumnus.tags = sorted(side.tags)
        alumnus.updated_at = utcnow()
        # Each field keeps the provenance of the value kept (survivorship decided it), as
        # its own entry: the shared one of its creation no longer says where it came from.
        kept = {
            f: {"source": p.source, "confirmed_at": p.confirmed_at}
            for f, p in side.provenance.items()
        }
        stored = {f: p for f, p in (alumnus.field_provenance or {}).items() if f not in kept}
        for field in duplicates.MERGED_FIELDS:
            stored.pop(field, None)
        if provenance.ALL in stored:
            # Fields the merge left to the shared entry would read it, wrongly: spell out
            # what it meant for the others (tags, graduations) and drop it.
            shared = stored.pop(provenance.ALL)
            stored.setdefault("tags", dict(shared))
            stored.setdefault("graduations", dict(shared))
        alumnus.field_provenance = {**stored, **kept}
    details = {g["id"]: g for g in side.graduations}
    for graduation in alumnus.graduations:
        wanted = details.get(str(graduation.id))
        if wanted is None:
            continue
        for detail in duplicates.GRADUATION_DETAILS:
            setattr(graduation, detail, wanted.get(detail))


def _set_merged_into(session: Session, alumnus_id: str, survivor_id: str | None) -> None:
    """Hide or show the absorbed record without touching it otherwise (its `updated_at`
    stays: the undo gives the record back as it was)."""
    table = Alumnus.__table__
    session.execute(
        update(table)
        .where(table.c.id == alumnus_id)
        .values(merged_into=survivor_id, updated_at=table.c.updated_at)
    )


def _record(session: Session, alumnus: Alumnus) -> dict[str, Any]:
    return domain.alumnus_to_dict(alumnus, alumnus.graduations)


def _history(
    session: Session,
    alumnus: Alumnus,
    before: dict[str, Any],
    after: dict[str, Any],
    actor: dict[str, Any],
    when: Any,
) -> None:
    for field in (*domain.PROFILE_FIELDS, "graduations"):
        if before[field] != after[field]:
            session.add(
                ChangeRecord(
                    alumnus_seq=alumnus.seq,
                    field=field,
                    old_value=_json(before[field]),
                    new_value=_json(after[field]),
                    actor=actor["username"],
                    source=MERGE_SOURCE,
                    changed_at=when,
                )
            )


def _stamp_united(
    alumnus: Alumnus, before: dict[str, Any], after: dict[str, Any], actor: dict[str, Any], when
) -> None:
    """Tags and graduations are united, not chosen: when a merge (or its undo) changed them,
    they are the office's at that moment."""
    changed = [f for f in ("tags", "graduations") if before[f] != after[f]]
    if changed:
        alumnus.field_provenance = provenance.stamped(
            alumnus.field_provenance,
            changed,
            provenance.entry(MERGE_SOURCE, actor["username"], when),
        )


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _live(session: Session, alumnus_id: str) -> Alumnus:
    """A record not absorbed by a merge (404 otherwise, as for one that does not exist)."""
    alumnus = None
    if domain._is_uuid(alumnus_id):
        alumnus = session.scalars(select(Alumnus).where(Alumnus.id == alumnus_id)).first()
    if alumnus is None:
        raise domain._unknown_alumnus(alumnus_id)
    if alumnus.merged_into is not None:
        raise Conflict(
            "该校友记录已合并到另一条记录。",
            {"alumnus_id": alumnus.id, "survivor_id": alumnus.merged_into},
            reason="merged",
        )
    return alumnus


def _candidate(session: Session, candidate_id: int) -> DuplicateCandidate:
    candidate = session.get(DuplicateCandidate, candidate_id)
    if candidate is None:
        raise NotFound("疑似重复记录不存在。", reason="candidate_not_found")
    return candidate
