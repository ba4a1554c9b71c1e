"""What alumni bring to the school: suggestions (建议, 三.4) and service requests (三.7).

Suggestions are open until staff answer them, once; the answer is announced
(`suggestion_answered`), and every change of a service request's status
(`service_request_progressed`), so the alumnus can be told.

Service requests from alumni companies move

    open ──assign──▶ assigned ──▶ in_progress ──▶ resolved
      └──────────────────┴────────────┴─────────▶ closed

and keep a history: every assignment, status change and note, with who and
when. A request may be reassigned while assigned or in progress.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.contracts.events import feedback as contract
from services.common.errors import NotFound
from services.common.statemachine import StateMachine
from services.events.common import page_in_order, set_status, write_unless_changed
from services.events.models import OutboxMessage, ServiceRequest, ServiceRequestEntry, Suggestion

# ---- suggestions ---------------------------------------------------------------

OPEN, ANSWERED = "open", "answered"
SUGGESTION_STATUS = StateMachine(
    "建议", {OPEN: "待答复", ANSWERED: "已答复"}, {"answer": (OPEN, ANSWERED)}
)


SUGGESTION = contract.Suggestion()
SUGGESTION_ANSWERED = contract.SuggestionAnsweredData()


def submit_suggestion(session: Session, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    suggestion = Suggestion(
        alumnus_id=str(data["alumnus_id"]),
        subject=data["subject"],
        body=data["body"],
        status=OPEN,
        created_at=now,
    )
    session.add(suggestion)
    session.flush()
    return SUGGESTION.dump(suggestion)


def answer_suggestion(
    session: Session,
    suggestion_id: str,
    data: dict[str, Any],
    actor: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """Answer an open suggestion, once; the alumnus is told through `suggestion_answered`."""
    suggestion = _suggestion(session, suggestion_id)
    set_status(
        session,
        suggestion,
        SUGGESTION_STATUS,
        "answer",
        {"answer": data["answer"], "answered_by": actor["username"], "answered_at": now},
    )
    OutboxMessage.record(session, "suggestion_answered", SUGGESTION_ANSWERED.dump(suggestion))
    return SUGGESTION.dump(suggestion)


def list_suggestions(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    query = select(Suggestion)
    if params.get("status"):
        query = query.where(Suggestion.status == params["status"])
    if params.get("alumnus_id"):
        query = query.where(Suggestion.alumnus_id == str(params["alumnus_id"]))
    return page_in_order(session, query, Suggestion, params, SUGGESTION)


def _suggestion(session: Session, suggestion_id: str) -> Suggestion:
    suggestion = session.scalars(
        select(Suggestion).where(Suggestion.id == str(suggestion_id))
    ).first()
    if suggestion is None:
        raise NotFound("建议不存在。", {"suggestion_id": str(suggestion_id)})
    return suggestion


# ---- service requests ------------------------------------------------------------

ASSIGNED, IN_PROGRESS, RESOLVED, CLOSED = "assigned", "in_progress", "resolved", "closed"
REQUEST_STATUS = StateMachine(
    "服务请求",
    {
        OPEN: "待处理",
        ASSIGNED: "已指派",
        IN_PROGRESS: "处理中",
        RESOLVED: "已办结",
        CLOSED: "已关闭",
    },
    {
        "assign": (OPEN, ASSIGNED),
        "start": (ASSIGNED, IN_PROGRESS),
        "resolve": (IN_PROGRESS, RESOLVED),
        "close": ({OPEN, ASSIGNED, IN_PROGRESS}, CLOSED),
    },
)
# Handing a request on to someone else keeps its status.
REASSIGNABLE = frozenset({ASSIGNED, IN_PROGRESS})


SERVICE_REQUEST = contract.ServiceRequest()
SERVICE_REQUEST_PROGRESSED = contract.ServiceRequestProgressedData()


def submit_service_request(session: Session, data: dict[str, Any], now: datetime) -> dict[str, Any]:
    request = ServiceRequest(
        alumnus_id=str(data["alumnus_id"]),
        company=data["company"],
        kind=data["kind"],
        description=data["description"],
        status=OPEN,
        created_at=now,
        updated_at=now,
    )
    session.add(request)
    session.flush()
    return SERVICE_REQUEST.dump(request)


def assign_service_request(
    session: Session,
    request_id: str,
    data: dict[str, Any],
    actor: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """Give the request to a staff member; again, to hand it to someone else."""
    request = _service_request(session, request_id)
    values = {"assignee": data["assignee"], "updated_at": now}
    reassigned = request.status in REASSIGNABLE
    if reassigned:
        write_unless_changed(session, request, REQUEST_STATUS, "assign", values)
    else:
        set_status(session, request, REQUEST_STATUS, "assign", values)
    note = f"指派给 {data['assignee']}" + (f"：{data['note']}" if data.get("note") else "")
    _log(request, request.status, note, actor, now)
    session.flush()
    if not reassigned:
        _progressed(session, request, data.get("note"))
    return SERVICE_REQUEST.dump(request)


def progress_service_request(
    session: Session,
    request_id: str,
    data: dict[str, Any],
    actor: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """assigned → in_progress → resolved; closed from any status not yet final."""
    request = _service_request(session, request_id)
    step = REQUEST_STATUS.step_to(request.status, data["status"])
    set_status(session, request, REQUEST_STATUS, step, {"updated_at": now})
    _log(request, request.status, data.get("note"), actor, now)
    session.flush()
    _progressed(session, request, data.get("note"))
    return SERVICE_REQUEST.dump(request)


def add_service_request_note(
    session: Session,
    request_id: str,
    data: dict[str, Any],
    actor: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """A note in the history, in any status (a follow-up after closing, too)."""
    request = _service_request(session, request_id)
    _log(request, request.status, data["note"], actor, now)
    request.updated_at = now
    session.flush()
    return SERVICE_REQUEST.dump(request)


def list_service_requests(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    query = select(ServiceRequest)
    for field in ("status", "kind", "assignee"):
        if params.get(field):
            query = query.where(getattr(ServiceRequest, field) == params[field])
    if params.get("alumnus_id"):
        query = query.where(ServiceRequest.alumnus_id == str(params["alumnus_id"]))
    return page_in_order(session, query, ServiceRequest, params, SERVICE_REQUEST)


def _progressed(session: Session, request: ServiceRequest, note: str | None) -> None:
    """Tell the alumnus (through notify) that their request moved on."""
    OutboxMessage.record(
        session,
        "service_request_progressed",
        {**SERVICE_REQUEST_PROGRESSED.dump(request), "note": note},
    )


def _log(
    request: ServiceRequest, status: str, note: str | None, actor: dict[str, Any], now: datetime
) -> None:
    request.history.append(
        ServiceRequestEntry(status=status, note=note, actor=actor["username"], at=now)
    )


def _service_request(session: Session, request_id: str) -> ServiceRequest:
    request = session.scalars(
        select(ServiceRequest).where(ServiceRequest.id == str(request_id))
    ).first()
    if request is None:
        raise NotFound("服务请求不存在。", {"request_id": str(request_id)})
    return request
