"""What each event of another service makes this service send, and the reminder the day
before an event: the contexts the templates are rendered with, built from the events
alone (nothing here calls another service).

SQLAlchemy only.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.db import dialect_insert
from services.common.errors import ServiceUnavailable
from services.notify.clock import CHINA, as_utc, china, china_text
from services.notify.directory import upsert_contact
from services.notify.messages import SEALED, Links, Recipient, alumnus_recipient, enqueue
from services.notify.models import Attendance, Contact, EventCopy
from services.notify.templating import EMAIL, INBOX

OFFICE_AUDIENCE = "office"
OFFICE_OWNER = "office"  # the events service's owner of office-wide plan tasks
REMINDER_HOUR = 9  # reminders go out from 09:00 China time on the day before


class ContactUnknown(ServiceUnavailable):
    """The alumnus is not in the directory yet: the registry's event is still on its way.
    The handler fails and the event is retried (services/common/reliable_events.py)."""


def cause_of(event: dict[str, Any]) -> str:
    return f"event:{event['event_id']}"


def contact_of(session: Session, alumnus_id: str) -> Contact:
    contact = session.get(Contact, str(alumnus_id))
    if contact is None:
        raise ContactUnknown(
            "通讯录中还没有该校友，稍后重试。", {"alumnus_id": str(alumnus_id)}, reason="no_contact"
        )
    return contact


def event_context(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": event["title"],
        "venue": event["venue"],
        "starts_at_text": china_text(event["starts_at"]),
    }


# ---- the registry ------------------------------------------------------------------------


def alumnus_registered(
    session: Session, links: Links, event: dict[str, Any], now: datetime
) -> None:
    upsert_contact(session, event["data"])
    contact = contact_of(session, event["data"]["id"])
    enqueue(session, links, "welcome", alumnus_recipient(contact), {}, cause_of(event), now)


def alumnus_updated(session: Session, event: dict[str, Any]) -> None:
    upsert_contact(session, event["data"]["alumnus"])


def claim_code_issued(session: Session, links: Links, event: dict[str, Any], now: datetime) -> None:
    """A claim's one-time code, on the one channel the registry chose (the contact on file
    in the directory); the code stays sealed in the message (messages.unsealed)."""
    data = event["data"]
    contact = contact_of(session, data["alumnus_id"])
    context = {SEALED: {"code": data["code_sealed"]}, "ttl_minutes": data["ttl_minutes"]}
    enqueue(
        session,
        links,
        "claim_code",
        alumnus_recipient(contact),
        context,
        cause_of(event),
        now,
        channels=(data["channel"],),
    )


# ---- the events service ------------------------------------------------------------------


def remember_event(session: Session, event: dict[str, Any], cancelled: bool = False) -> None:
    """The event's latest title, venue and time, for the reminders; once cancelled, it
    stays so. One upsert: two notify instances handling sign-ups of one new event at once
    both inserted its copy, and the unique key failed one of them (retried, an error in
    the log)."""
    insert = dialect_insert(session, EventCopy).values(
        event_id=event["id"],
        title=event["title"],
        venue=event["venue"],
        starts_at=as_utc(datetime.fromisoformat(event["starts_at"])),
        cancelled=cancelled,
    )
    session.execute(
        insert.on_conflict_do_update(
            index_elements=["event_id"],
            set_={
                "title": insert.excluded.title,
                "venue": insert.excluded.venue,
                "starts_at": insert.excluded.starts_at,
                "cancelled": EventCopy.cancelled | insert.excluded.cancelled,
            },
        )
    )


def remember_registration(session: Session, registration: dict[str, Any], as_of: datetime) -> None:
    """The registration's latest status, for the reminders; an older event changes nothing."""
    row = session.get(Attendance, registration["id"])
    if row is not None and as_utc(row.as_of) > as_of:
        return
    if row is None:
        row = Attendance(registration_id=registration["id"])
        session.add(row)
    row.event_id, row.alumnus_id = registration["event_id"], registration["alumnus_id"]
    row.status, row.as_of = registration["status"], as_of
    session.flush()


def registration_changed(
    session: Session, links: Links, kind: str | None, event: dict[str, Any], now: datetime
) -> None:
    """registration_confirmed / _waitlisted / _promoted (`kind` the message), or _cancelled
    (`kind` None: only remembered)."""
    data = event["data"]
    registration = data["registration"]
    remember_event(session, data["event"])
    remember_registration(
        session, registration, as_utc(datetime.fromisoformat(event["occurred_at"]))
    )
    if kind is None:
        return
    context = {
        "event": event_context(data["event"]),
        "registration": {"guests": registration["guests"], "position": registration["position"]},
    }
    recipient = alumnus_recipient(contact_of(session, registration["alumnus_id"]))
    enqueue(session, links, kind, recipient, context, cause_of(event), now)


def event_cancelled(session: Session, links: Links, event: dict[str, Any], now: datetime) -> None:
    data = event["data"]
    remember_event(session, data["event"], cancelled=True)
    context = {"event": event_context(data["event"]), "reason": data["reason"]}
    for alumnus_id in data["alumnus_ids"]:
        contact = session.get(Contact, alumnus_id)
        # One alumnus the directory does not know yet must not hold up everyone else's
        # notice: they get it in their inbox.
        recipient = (
            alumnus_recipient(contact)
            if contact
            else Recipient(audience=f"alumnus:{alumnus_id}", name="校友", alumnus_id=alumnus_id)
        )
        enqueue(session, links, "event_cancelled", recipient, context, cause_of(event), now)


def visit_decided(session: Session, links: Links, event: dict[str, Any], now: datetime) -> None:
    """The requester is told; a class's visit has its contact only in the events service,
    whose events do not carry it, so nothing is sent for one (docs/notify.md)."""
    data = event["data"]
    reception = data["reception"]
    if not reception["requester_alumnus_id"]:
        return
    context = {
        "visit": {
            "visit_date": reception["visit_date"],
            "group_size": reception["group_size"],
            "purpose": reception["purpose"],
        },
        "approved": data["decision"] == "approved",
        "host": data["host"],
        "note": data["note"],
    }
    recipient = alumnus_recipient(contact_of(session, reception["requester_alumnus_id"]))
    enqueue(session, links, "visit_decided", recipient, context, cause_of(event), now)


def suggestion_answered(
    session: Session, links: Links, event: dict[str, Any], now: datetime
) -> None:
    data = event["data"]
    context = {"suggestion": {"subject": data["subject"], "answer": data["answer"]}}
    recipient = alumnus_recipient(contact_of(session, data["alumnus_id"]))
    enqueue(session, links, "suggestion_answered", recipient, context, cause_of(event), now)


SERVICE_REQUEST_STATUS_NAMES = {
    "assigned": "已指派专人处理",
    "in_progress": "正在处理",
    "resolved": "已办结",
    "closed": "已关闭",
}


def service_request_progressed(
    session: Session, links: Links, event: dict[str, Any], now: datetime
) -> None:
    data = event["data"]
    context = {
        "request": {
            "company": data["company"],
            "status": data["status"],
            "status_text": SERVICE_REQUEST_STATUS_NAMES[data["status"]],
            "note": data["note"],
        }
    }
    recipient = alumnus_recipient(contact_of(session, data["alumnus_id"]))
    enqueue(session, links, "service_request_progressed", recipient, context, cause_of(event), now)


def task_overdue(session: Session, links: Links, event: dict[str, Any], now: datetime) -> None:
    data = event["data"]
    owner = data["task"]["owner"]
    audience = OFFICE_AUDIENCE if owner == OFFICE_OWNER else f"staff:{owner}"
    context = {
        "task": {"title": data["task"]["title"], "due_date": data["task"]["due_date"]},
        "plan": {"title": data["plan"]["title"], "year": data["plan"]["year"]},
    }
    recipient = Recipient(audience=audience, name=owner)
    enqueue(session, links, "task_overdue", recipient, context, cause_of(event), now)


def activity_reported(
    session: Session, links: Links, event: dict[str, Any], now: datetime, office_email: str | None
) -> None:
    data = event["data"]
    report = data["report"]
    context = {
        "event": event_context(data["event"]),
        "report": {
            "summary": report["summary"],
            "attendance": report["attendance"],
            "filed_by": report["filed_by"],
        },
    }
    recipient = Recipient(audience=OFFICE_AUDIENCE, name="校友会办公室", email=office_email)
    channels = (EMAIL, INBOX) if office_email else (INBOX,)
    enqueue(session, links, "activity_reported", recipient, context, cause_of(event), now, channels)


# ---- the reminder the day before ---------------------------------------------------------


def send_reminders(session: Session, links: Links, now: datetime) -> int:
    """From 09:00 China time, remind everyone confirmed for an event that starts tomorrow
    (China time), once per registration; how many were reminded."""
    local = china(now)
    if local.hour < REMINDER_HOUR:
        return 0
    # In UTC: SQLite keeps times without their offset, as UTC.
    tomorrow = as_utc(datetime.combine(local.date() + timedelta(days=1), time(0, 0), CHINA))
    rows = session.execute(
        select(Attendance, EventCopy)
        .join(EventCopy, EventCopy.event_id == Attendance.event_id)
        .where(
            Attendance.status == "confirmed",
            Attendance.reminded.is_(False),
            EventCopy.cancelled.is_(False),
            EventCopy.starts_at >= tomorrow,
            EventCopy.starts_at < tomorrow + timedelta(days=1),
        )
    ).all()
    for attendance, copy in rows:
        contact = session.get(Contact, attendance.alumnus_id)
        attendance.reminded = True
        if contact is None:
            continue
        context = {
            "event": {
                "title": copy.title,
                "venue": copy.venue,
                "starts_at_text": china_text(as_utc(copy.starts_at).isoformat()),
            }
        }
        cause = f"reminder:{attendance.registration_id}"
        enqueue(session, links, "event_reminder", alumnus_recipient(contact), context, cause, now)
    return len(rows)
