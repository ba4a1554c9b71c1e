"""The registry's part of the alumni's rights (PIPL arts. 44–47) and of who saw what.

- Reads for a caller: the registry decides itself whether the caller sees personal fields
  unmasked (services/common/visibility.py, the rule the gateway shares) and writes every
  unmasked read to its access log in the same transaction. An alumnus reading their own
  record is not logged: nobody else learnt anything.
- An alumnus reads (`get_me`) and corrects (`correct_own_record`, source `self_service`)
  their own record, and gets a copy of all the registry holds on them (`export_person`).
- Erasure: an alumnus files a request, the office approves or rejects it
  (`ERASURE`, a state machine); approval blanks the record and its history values
  (`erase_alumnus`) and records `alumnus_erased` in the outbox, on which every other
  service removes its copies.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.orm import Session

from services.common import access_log
from services.common.contracts.base import iso_utc
from services.common.erasure import forget_events
from services.common.errors import Conflict, NotFound
from services.common.paging import each, page, paged_select
from services.common.statemachine import StateMachine
from services.common.visibility import (
    ALUMNUS,
    PERSONAL_FIELDS,
    SERVICE,
    Viewer,
    is_logged,
    masked_alumnus,
    masked_change,
    may_see_personal_fields,
    reads_whole_records,
    shown_fields,
)
from services.registry import archive, community_person, domain, namekeys, sessions, stories
from services.registry.community_export import community_held_on
from services.registry.models import (
    AccessLogEntry,
    Account,
    Alumnus,
    ChangeRecord,
    ChangeRequest,
    ErasureRequest,
    LoginThrottle,
    OutboxMessage,
    utcnow,
)

ERASED_ALUMNUS_NAME = "已注销校友"
ERASED_ACTOR = "已注销"
# Every field of the record that says who the person is or how to reach them. Graduation
# records stay: a department and a year identify nobody, and statistics count them.
ERASED_FIELDS = tuple(f for f in domain.PROFILE_FIELDS if f != "name")

ERASURE = StateMachine(
    "删除申请",
    {"requested": "待审核", "approved": "已批准", "rejected": "已驳回"},
    {"approve": ("requested", "approved"), "reject": ("requested", "rejected")},
)


# ---- reads for a caller: unmask or mask, and log what was shown --------------------------


def read_alumnus(
    session: Session | Connection, alumnus_id: str, reader: Viewer, purpose: str
) -> dict[str, Any]:
    alumnus = domain.get_alumnus(session, alumnus_id)
    return shown(session, alumnus, reader, purpose)


def read_alumni(
    session: Session | Connection, params: dict[str, Any], reader: Viewer, purpose: str
) -> dict[str, Any]:
    if not reads_whole_records(reader):
        # Summaries hold none of the personal fields: nothing to mask, nothing to log.
        return domain.search_alumni(session, params)
    found = domain.search_alumni(session, params, full=True)
    return {**found, "items": [shown(session, a, reader, purpose) for a in found["items"]]}


def read_history(
    session: Session, alumnus_id: str, params: dict[str, Any], reader: Viewer, purpose: str
) -> dict[str, Any]:
    alumnus = domain.get_alumnus(session, alumnus_id)
    history = domain.alumnus_history(session, alumnus_id, params)
    if not _shown_to(reader, alumnus, purpose):
        return {**history, "items": [masked_change(c) for c in history["items"]]}
    disclosed = {
        c["field"]
        for c in history["items"]
        if c["field"] in PERSONAL_FIELDS and (c["old_value"] or c["new_value"])
    }
    _log(session, reader, alumnus["id"], disclosed, purpose)
    return history


def shown(
    session: Session | Connection, alumnus: dict[str, Any], reader: Viewer, purpose: str
) -> dict[str, Any]:
    if not _shown_to(reader, alumnus, purpose):
        return masked_alumnus(alumnus)
    _log(session, reader, alumnus["id"], shown_fields(alumnus, PERSONAL_FIELDS), purpose)
    return alumnus


def _shown_to(reader: Viewer, alumnus: dict[str, Any], purpose: str) -> bool:
    """Unmasked when the rule allows it and someone will see it: a person's read with no
    purpose (the gateway checking a record's departments) shows nobody anything."""
    if not purpose and reader.role != SERVICE:
        return False
    return may_see_personal_fields(reader, alumnus)


def _log(
    session: Session | Connection, reader: Viewer, alumnus_id: str, fields: Any, purpose: str
) -> None:
    if not is_logged(reader, alumnus_id):
        return  # a service's copy, or one's own record: nobody else learnt anything
    access_log.record(
        session, AccessLogEntry, reader, f"alumnus:{alumnus_id}", alumnus_id, fields, purpose
    )


def search_access_log(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    found = access_log.search(session, AccessLogEntry, params)
    return {**found, "items": [{**e, "service": "registry"} for e in found["items"]]}


# ---- the alumnus's own record ------------------------------------------------------------


def get_me(session: Session, account_id: str) -> dict[str, Any]:
    """The calling account and, for an alumnus, their own record (unmasked: it is theirs)."""
    account = domain.get_account(session, account_id)
    alumnus = None
    if account["role"] == ALUMNUS and account["alumnus_id"]:
        alumnus = domain.get_alumnus(session, account["alumnus_id"])
    return {**account, "alumnus": alumnus}


def correct_own_record(
    session: Session, alumnus_id: str, patch: dict[str, Any], actor: dict[str, Any]
) -> dict[str, Any]:
    """An alumnus corrects their record (PIPL art. 46): history source `self_service`."""
    _not_erased(session, alumnus_id)
    return domain.update_alumnus(session, alumnus_id, patch, {**actor, "source": "self_service"})


def export_person(session: Session, alumnus_id: str) -> dict[str, Any]:
    """All the registry holds on one alumnus (PIPL art. 45): the record, every change with
    its old and new values, the login (without its password) and erasure requests."""
    alumnus = domain.get_alumnus(session, alumnus_id)
    seq = session.scalar(select(Alumnus.seq).where(Alumnus.id == alumnus["id"]))
    history = domain.changes_to_dicts(
        session.scalars(
            select(ChangeRecord).where(ChangeRecord.alumnus_seq == seq).order_by(ChangeRecord.id)
        )
    )
    account = session.scalars(select(Account).where(Account.alumnus_id == alumnus["id"])).first()
    requests = session.scalars(
        select(ErasureRequest)
        .where(ErasureRequest.alumnus_id == alumnus["id"])
        .order_by(ErasureRequest.seq)
    )
    return {
        "record": alumnus,
        "history": history,
        "account": domain.account_to_dict(account) if account else None,
        "erasure_requests": [erasure_to_dict(r) for r in requests],
        # docs/community.md: the distinguished-alumni archive, stories about them, news on them.
        "distinguished": archive.held_on(session, alumnus["id"]),
        **stories.held_on(session, alumnus["id"]),
        # Verification, the alumni card, the directory (docs/community.md).
        "community": community_person.export_person(session, alumnus["id"]),
        # Chapter memberships and messenger appointments (docs/community.md).
        **community_held_on(session, alumnus["id"]),
    }


# ---- erasure -------------------------------------------------------------------------------


def erasure_to_dict(request: ErasureRequest) -> dict[str, Any]:
    return {
        "id": request.id,
        "alumnus_id": request.alumnus_id,
        "reason": request.reason,
        "status": request.status,
        "requested_at": iso_utc(request.requested_at),
        "decided_by": request.decided_by,
        "decided_at": iso_utc(request.decided_at) if request.decided_at else None,
        "decision_note": request.decision_note,
    }


def request_erasure(
    session: Session, alumnus_id: str, account_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    """An alumnus asks to be erased; one open request at a time."""
    _not_erased(session, alumnus_id)
    open_one = session.scalars(
        select(ErasureRequest).where(
            ErasureRequest.alumnus_id == alumnus_id, ErasureRequest.status == "requested"
        )
    ).first()
    if open_one is not None:
        raise Conflict(
            "已有待审核的删除申请。", {"erasure_request_id": open_one.id}, reason="erasure_pending"
        )
    request = ErasureRequest(
        alumnus_id=alumnus_id,
        reason=data.get("reason") or "",
        status="requested",
        requested_by=account_id,
    )
    session.add(request)
    session.flush()
    return erasure_to_dict(request)


def list_erasure_requests(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    query = select(ErasureRequest)
    if params.get("status"):
        query = query.where(ErasureRequest.status == params["status"])
    rows = session.scalars(paged_select(query, [ErasureRequest.seq], params, (int,))).all()
    return page(rows, params["limit"], lambda r: [r.seq], each(erasure_to_dict))


def get_erasure_request(session: Session, request_id: str) -> dict[str, Any]:
    return erasure_to_dict(_erasure_request(session, request_id))


def decide_erasure(
    session: Session, request_id: str, step: str, actor: dict[str, Any], note: str = ""
) -> dict[str, Any]:
    """approve or reject (the office); approval erases at once."""
    request = _erasure_request(session, request_id, lock=True)
    request.status = ERASURE.target(request.status, step)
    request.decided_by = actor["username"]
    request.decided_at = utcnow()
    request.decision_note = note or None
    if step == "approve":
        # The alumnus's own words may name them; the decision stays, the words go.
        request.reason = ""
        erase_alumnus(session, request.alumnus_id, request.decided_at)
    session.flush()
    return erasure_to_dict(request)


def erase_alumnus(session: Session, alumnus_id: str, at: datetime) -> None:
    """Blank the record's personal fields and every value of its history, close its login,
    forget the events already sent about it, and announce `alumnus_erased`.

    The record's id and graduation records stay (other services' money records and
    statistics refer to them); `erased_at` refuses later changes.
    """
    alumnus = domain._alumnus(session, alumnus_id)
    before = domain.alumnus_to_dict(alumnus, alumnus.graduations)
    account = session.scalars(select(Account).where(Account.alumnus_id == alumnus.id)).first()
    alumnus.name = ERASED_ALUMNUS_NAME
    for field in ERASED_FIELDS:
        setattr(alumnus, field, [] if field == "tags" else None)
    alumnus.erased_at = at
    alumnus.updated_at = at
    # Row by row: the values are encrypted at rest, and an encrypted column is not
    # written with SQL expressions (services/common/crypto.py).
    for change in session.scalars(
        select(ChangeRecord).where(ChangeRecord.alumnus_seq == alumnus.seq)
    ):
        change.old_value, change.new_value = None, _erased_value(change)
    # The name's search keys (pinyin, initials, the characters) go with the name.
    namekeys.forget(session, [alumnus.seq])
    # So do where the values came from (who wrote them: the alumnus's own login among them)
    # and liaisons' changes still about them (services/registry/review.py).
    alumnus.field_provenance = None
    session.execute(delete(ChangeRequest).where(ChangeRequest.alumnus_id == alumnus.id))
    if account is not None:
        session.execute(
            update(ChangeRecord)
            .where(ChangeRecord.actor == account.username)
            .values(actor=ERASED_ACTOR)
        )
        # Failed logins are counted under the login name (`user:<name>`): forgotten too.
        throttled = f"user:{account.username}"
        session.execute(delete(LoginThrottle).where(LoginThrottle.key == throttled))
        account.username = f"erased-{account.id[:8]}"
        # No password hashes to this: the login is closed for good, its sessions end.
        account.password_hash = "!erased"
        sessions.set_active(session, account.id, False, at)
    community_person.erase_person(session, alumnus.id, at)
    archive.forget(session, alumnus.id)
    stories.forget(session, alumnus.id, at)
    session.flush()
    forget_events(session, OutboxMessage, alumnus.id, _identity(before), unsent_too=True)
    OutboxMessage.record(
        session, "alumnus_erased", {"id": alumnus.id, "erased_at": iso_utc(alumnus.updated_at)}
    )


def _erased_value(change: ChangeRecord) -> str | None:
    """What an erased record's history row keeps: nothing, but for an imported record's
    row the names of the fields it set (each then reads as a change to nothing)."""
    if change.field != domain.RECORD_FIELD or change.new_value is None:
        return None
    return json.dumps(dict.fromkeys(json.loads(change.new_value)))


def _identity(record: dict[str, Any]) -> list[str]:
    return [str(record.get(f) or "") for f in ("name", "phone", "email", "wechat")]


def _not_erased(session: Session, alumnus_id: str) -> None:
    alumnus = domain._alumnus(session, alumnus_id)
    if alumnus.erased_at is not None:
        raise Conflict("该校友的个人信息已删除。", {"alumnus_id": alumnus.id}, reason="erased")


def _erasure_request(session: Session, request_id: str, lock: bool = False) -> ErasureRequest:
    query = select(ErasureRequest).where(ErasureRequest.id == str(request_id))
    if lock:
        query = query.with_for_update()
    request = session.scalars(query).first() if domain._is_uuid(request_id) else None
    if request is None:
        raise NotFound(
            "删除申请不存在。",
            {"erasure_request_id": str(request_id)},
            reason="erasure_request_not_found",
        )
    return request
