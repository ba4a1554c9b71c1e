"""Two-level stewardship (issue 10 item 4, docs/stewardship.md): a liaison's change to an
alumnus waits for the office; the office confirms records; records not confirmed for years
are listed for their department's liaison to check.

- `submit`: a liaison's patch becomes a `pending` change request; the record is untouched.
  The request keeps the values the liaison saw (`seen`) for each field it changes.
- `approve`: the office applies the patch as one `domain.update_alumnus` (history and
  provenance source `liaison`, the liaison as actor, the office as `approved_by`;
  `alumnus_updated` as for any change). **Decision:** a request whose fields changed since
  it was made (`seen` no longer the record's) is refused with 409
  `changed_since_submitted` naming the fields, and stays pending; the office approves it
  anyway with `force` (the answer lists the fields overwritten in `conflicts`), or rejects
  it. A silent overwrite of someone else's later change is what the check is for; a
  forced approval is the office's informed decision, recorded on the request.
- `reject`: needs a reason (shown to the liaison).
- `confirm`: the office re-confirms every field of a record without changing it.
- `unconfirmed`: records whose last confirmation is older than the cutoff, a page.

Plain functions over a SQLAlchemy session; no nameko.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, or_, select, update
from sqlalchemy.orm import Session

from services.common.contracts.base import iso_utc
from services.common.errors import Conflict, NotFound, ValidationFailed
from services.common.paging import page, paged_select
from services.common.statemachine import StateMachine
from services.common.visibility import Viewer
from services.registry import departments, domain, provenance, rights
from services.registry.models import Alumnus, ChangeRequest, utcnow

CHANGE_REQUEST = StateMachine(
    "修改申请",
    {"pending": "待审核", "approved": "已批准", "rejected": "已驳回"},
    {"approve": ("pending", "approved"), "reject": ("pending", "rejected")},
)
FIELDS = (*domain.PROFILE_FIELDS, "graduations")
FIELD_NAMES = {
    "name": "姓名",
    "gender": "性别",
    "birth_date": "出生日期",
    "phone": "手机号",
    "email": "电子邮箱",
    "wechat": "微信号",
    "province": "省份",
    "city": "城市",
    "employer": "工作单位",
    "industry": "行业",
    "title": "职务",
    "tags": "标签",
    "graduations": "毕业记录",
}


# ---- change requests ----------------------------------------------------------------------


def submit(
    session: Session, alumnus_id: str, patch: dict[str, Any], actor: dict[str, Any]
) -> dict[str, Any]:
    """A liaison's change, kept for the office: nothing of it reaches the record yet."""
    alumnus = _changeable(session, alumnus_id)
    proposed = _json_native({f: patch[f] for f in FIELDS if f in patch})
    if not proposed:
        raise ValidationFailed(
            "请至少填写一个要修改的字段。",
            {"fields": {"_schema": ["修改内容为空。"]}},
            reason="empty_patch",
        )
    if "graduations" in proposed:
        # Unknown departments and taken student numbers are told now, not at approval.
        domain._graduations(session, proposed["graduations"], alumnus.seq)
    current = domain.alumnus_to_dict(alumnus, alumnus.graduations)
    if all(_same(field, proposed[field], current[field]) for field in proposed):
        raise ValidationFailed(
            "修改内容与当前记录相同，无需审核。",
            {"fields": {name: ["与当前值相同。"] for name in proposed}},
            reason="no_change",
        )
    request = ChangeRequest(
        alumnus_id=alumnus.id,
        department_id=actor.get("department_id"),
        fields=sorted(proposed),
        patch=_dump(proposed),
        seen=_dump({field: current[field] for field in proposed}),
        status="pending",
        submitted_by=actor["username"],
        submitted_by_id=actor["account_id"],
        submitted_at=utcnow(),
        conflicts=[],
    )
    session.add(request)
    session.flush()
    return request_to_dict(request, current)


def list_requests(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    """The review queue, oldest first: by status, department (its lineage), alumnus, or
    submitter (a liaison's own)."""
    query = select(ChangeRequest)
    if params.get("status"):
        query = query.where(ChangeRequest.status == params["status"])
    if params.get("department_id"):
        lineage = departments.lineage_ids(str(params["department_id"]))
        query = query.where(ChangeRequest.department_id.in_(lineage))
    if params.get("alumnus_id"):
        query = query.where(ChangeRequest.alumnus_id == str(params["alumnus_id"]))
    if params.get("submitted_by_id"):
        query = query.where(ChangeRequest.submitted_by_id == str(params["submitted_by_id"]))
    rows = session.scalars(paged_select(query, [ChangeRequest.seq], params, (int,))).all()
    return page(rows, params["limit"], lambda r: [r.seq], lambda shown: _shape(session, shown))


def get_request(session: Session, request_id: str) -> dict[str, Any]:
    request = _request(session, request_id)
    return _shape(session, [request])[0]


def approve(
    session: Session, request_id: str, actor: dict[str, Any], force: bool = False
) -> dict[str, Any]:
    request = _request(session, request_id)
    CHANGE_REQUEST.target(request.status, "approve")
    alumnus = _changeable(session, request.alumnus_id)
    seen = json.loads(request.seen)
    current = domain.alumnus_to_dict(alumnus, alumnus.graduations)
    changed = [field for field in request.fields if current[field] != seen.get(field)]
    if changed and not force:
        names = "、".join(FIELD_NAMES.get(f, f) for f in changed)
        raise Conflict(
            f"提交申请后，该校友的{names}已被修改。请核对后强制批准（force）或驳回。",
            {"request_id": request.id, "fields": changed},
            reason="changed_since_submitted",
        )
    now = utcnow()
    _decide(session, request, "approved", actor, now, conflicts=changed)
    record = domain.update_alumnus(
        session,
        request.alumnus_id,
        json.loads(request.patch),
        {
            "account_id": request.submitted_by_id,
            "username": request.submitted_by,
            "role": "liaison",
            "department_id": request.department_id,
            "source": "liaison",
            "approved_by": actor["username"],
        },
    )
    session.refresh(request)
    return {**request_to_dict(request), "alumnus": record}


def reject(session: Session, request_id: str, actor: dict[str, Any], reason: str) -> dict[str, Any]:
    if not reason.strip():
        raise ValidationFailed(
            "驳回须说明理由。",
            {"fields": {"reason": ["必须填写驳回理由。"]}},
            reason="reason_required",
        )
    request = _request(session, request_id)
    CHANGE_REQUEST.target(request.status, "reject")
    _decide(session, request, "rejected", actor, utcnow(), reason=reason.strip())
    session.refresh(request)
    return request_to_dict(request)


def _decide(
    session: Session,
    request: ChangeRequest,
    status: str,
    actor: dict[str, Any],
    when: datetime,
    reason: str | None = None,
    conflicts: list[str] | None = None,
) -> None:
    """Compare-and-set from `pending`: of two offices deciding at once, one wins, the other
    gets the state machine's 409."""
    table = ChangeRequest.__table__
    done = session.execute(
        update(table)
        .where(table.c.seq == request.seq, table.c.status == "pending")
        .values(
            status=status,
            decided_by=actor["username"],
            decided_at=when,
            reason=reason,
            conflicts=list(conflicts or []),
        )
    )
    if done.rowcount != 1:
        session.refresh(request)
        step = "approve" if status == "approved" else "reject"
        raise CHANGE_REQUEST.refusal(request.status, step)


def request_to_dict(
    request: ChangeRequest, current: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A request as the API shows it; with the record's `current` values of its fields and
    whether they changed since it was made (`stale`) while it is pending."""
    seen = json.loads(request.seen)
    shaped = {
        "id": request.id,
        "alumnus_id": request.alumnus_id,
        "department_id": request.department_id,
        "status": request.status,
        "fields": list(request.fields),
        "patch": json.loads(request.patch),
        "seen": seen,
        "submitted_by": request.submitted_by,
        "submitted_at": iso_utc(request.submitted_at),
        "decided_by": request.decided_by,
        "decided_at": iso_utc(request.decided_at) if request.decided_at else None,
        "reason": request.reason,
        "conflicts": list(request.conflicts or []),
    }
    if current is not None and request.status == "pending":
        shaped["current"] = {field: current.get(field) for field in request.fields}
        shaped["stale"] = any(current.get(f) != seen.get(f) for f in request.fields)
    return shaped


def _shape(session: Session, requests: list[ChangeRequest]) -> list[dict[str, Any]]:
    """The page's requests, the pending ones beside their records' current values (one
    read of the records)."""
    pending = {r.alumnus_id for r in requests if r.status == "pending"}
    records: dict[str, dict[str, Any]] = {}
    if pending:
        for alumnus in session.scalars(select(Alumnus).where(Alumnus.id.in_(pending))):
            records[alumnus.id] = domain.alumnus_to_dict(alumnus, alumnus.graduations)
    return [request_to_dict(r, records.get(r.alumnus_id)) for r in requests]


def _request(session: Session, request_id: str) -> ChangeRequest:
    request = None
    if domain._is_uuid(request_id):
        request = session.scalars(
            select(ChangeRequest).where(ChangeRequest.id == str(request_id))
        ).first()
    if request is None:
        raise NotFound(
            "修改申请不存在。", {"request_id": str(request_id)}, reason="change_request_not_found"
        )
    return request


def _changeable(session: Session, alumnus_id: str) -> Alumnus:
    alumnus = domain._alumnus(session, alumnus_id)
    if alumnus.merged_into is not None:
        raise Conflict(
            "该校友记录已合并到另一条记录。",
            {"alumnus_id": alumnus.id, "survivor_id": alumnus.merged_into},
            reason="merged",
        )
    if alumnus.erased_at is not None:
        raise Conflict("该校友的个人信息已删除。", {"alumnus_id": alumnus.id}, reason="erased")
    return alumnus


def _json_native(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _same(field: str, proposed: Any, current: Any) -> bool:
    """Whether a proposed value is the record's already (as the write would store it)."""
    if field == "graduations":
        return False  # compared whole by the write; a request about them is worth a look
    normalised = domain._normalise(field, proposed)
    if field == "birth_date" and normalised is not None:
        normalised = normalised.isoformat()
    return normalised == current


# ---- provenance and confirmation ---------------------------------------------------------


def read_with_provenance(
    session: Session | Connection, alumnus_id: str, reader: Viewer, purpose: str
) -> dict[str, Any]:
    """The office's read by id: the record as `rights.shown` gives it, with each field's
    provenance and when the record was last confirmed, taken from the one row read (every
    office read by id pays for this)."""
    row, record = domain.live_alumnus(session, alumnus_id)
    record = rights.shown(session, record, reader, purpose)
    values = {field: record[field] for field in FIELDS}
    return {
        **record,
        "provenance": provenance.provenance_of(session, row.seq, row.field_provenance, values),
        "confirmed_at": iso_utc(row.confirmed_at) if row.confirmed_at else None,
    }


def confirm(session: Session, alumnus_id: str, actor: dict[str, Any]) -> None:
    """The office re-confirms every field of a record: values, sources, `updated_at` and
    the history stay as they are (a confirmation changes nothing the other services copy)."""
    alumnus = _changeable(session, alumnus_id)
    record = domain.alumnus_to_dict(alumnus, alumnus.graduations)
    values = {field: record[field] for field in FIELDS}
    fallback = provenance.history_provenance(session, alumnus.seq)
    now = utcnow()
    confirmed = provenance.confirmed(
        alumnus.field_provenance, values, fallback, actor["username"], now
    )
    table = Alumnus.__table__
    session.execute(
        update(table)
        .where(table.c.seq == alumnus.seq)
        .values(field_provenance=confirmed, confirmed_at=now, updated_at=table.c.updated_at)
    )
    session.expire(alumnus)


def unconfirmed(session: Session, params: dict[str, Any], cutoff: datetime) -> dict[str, Any]:
    """Live records last confirmed before `cutoff`, in the order they were registered; each
    with its `confirmed_at`. `department_id` narrows to a department's lineage."""
    table = Alumnus.__table__
    query = select(table).where(
        table.c.merged_into.is_(None),
        table.c.erased_at.is_(None),
        or_(table.c.confirmed_at.is_(None), table.c.confirmed_at < cutoff),
    )
    if params.get("department_id"):
        query = query.where(
            table.c.seq.in_(
                select(domain.GRADUATIONS.c.alumnus_seq).where(
                    domain.GRADUATIONS.c.department_id.in_(
                        departments.lineage_ids(str(params["department_id"]))
                    )
                )
            )
        )
    rows = session.execute(paged_select(query, [table.c.seq], params, (int,))).all()

    def shape(shown: list) -> list[dict[str, Any]]:
        records = domain._alumni_records(session, shown)
        for record, row in zip(records, shown, strict=True):
            record["confirmed_at"] = iso_utc(row.confirmed_at) if row.confirmed_at else None
        return records

    return page(rows, params["limit"], lambda row: [row.seq], shape)
