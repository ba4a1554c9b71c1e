"""Activity reports (活动通报): what the organiser reports after an event; one per event."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.contracts.base import iso_utc
from services.common.contracts.events import reports as report_contracts
from services.common.errors import Conflict, NotFound
from services.common.paging import each, page, paged_select
from services.events.common import as_utc, flush_or_conflict
from services.events.events import CANCELLED, DRAFT, FINISHED, STATUS_NAMES, find_event
from services.events.models import ActivityReport, Event, OutboxMessage, Registration, RosterEntry
from services.events.waitlist import CONFIRMED

REPORT = report_contracts.ActivityReport()
ACTIVITY_REPORTED = report_contracts.ActivityReportedData()


def file_activity_report(
    session: Session,
    event_id: str,
    data: dict[str, Any],
    actor: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """The organiser's report after the event (活动通报); one per event.

    Attendance and participants default to who checked in.
    """
    event = find_event(session, event_id)
    if event.status in (DRAFT, CANCELLED):
        raise Conflict(
            f"活动{STATUS_NAMES[event.status]}，没有可报告的活动。",
            {"status": event.status},
            reason="event_not_held",
        )
    if event.status != FINISHED and now < as_utc(event.ends_at):
        raise Conflict(
            "活动结束后才能提交活动报告。",
            {"ends_at": iso_utc(event.ends_at)},
            reason="event_not_over",
        )
    if session.scalars(
        select(ActivityReport.id).where(ActivityReport.event_id == event.id)
    ).first():
        raise Conflict("该活动已提交过活动报告。", {"event_id": event.id}, reason="report_exists")
    attended = session.scalars(
        select(Registration)
        .where(
            Registration.event_id == event.id,
            Registration.status == CONFIRMED,
            Registration.checked_in_at.is_not(None),
        )
        .order_by(Registration.checked_in_at)
    ).all()
    if "participants" in data:
        participants = [_participant(p) for p in data["participants"]]
    else:
        participants = _participants_from_roster(session, attended)
    report = ActivityReport(
        event_id=event.id,
        summary=data["summary"],
        attendance=data.get("attendance", sum(r.seats for r in attended)),
        participants=participants,
        filed_by=actor["username"],
        filed_at=now,
    )
    session.add(report)
    flush_or_conflict(session, "该活动已提交过活动报告。", reason="report_exists")
    OutboxMessage.record(
        session, "activity_reported", ACTIVITY_REPORTED.dump({"report": report, "event": event})
    )
    return REPORT.dump(report)


def get_activity_report(session: Session, event_id: str) -> dict[str, Any]:
    event = find_event(session, event_id)
    report = session.scalars(
        select(ActivityReport).where(ActivityReport.event_id == event.id)
    ).first()
    if report is None:
        raise NotFound(
            "该活动尚未提交活动报告。", {"event_id": event.id}, reason="report_not_filed"
        )
    return REPORT.dump(report)


def list_activity_reports(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    """Reports newest first, as the office reads them; filter by organiser."""
    query = select(ActivityReport).join(Event, Event.id == ActivityReport.event_id)
    if params.get("organiser_type"):
        query = query.where(Event.organiser_type == params["organiser_type"])
    if params.get("organiser_id"):
        query = query.where(Event.organiser_id == str(params["organiser_id"]))
    order = [ActivityReport.filed_at, ActivityReport.id]
    query = paged_select(query, order, params, (datetime, str), descending=True)
    rows = session.scalars(query).all()
    return page(rows, params["limit"], lambda r: [r.filed_at, r.id], each(REPORT.dump))


def _participant(data: dict[str, Any]) -> dict[str, Any]:
    alumnus_id = data.get("alumnus_id")
    return {
        "alumnus_id": str(alumnus_id) if alumnus_id else None,
        "name": data.get("name"),
        "role": data.get("role"),
    }


def _participants_from_roster(
    session: Session, registrations: list[Registration]
) -> list[dict[str, Any]]:
    ids = [r.alumnus_id for r in registrations]
    names = dict(
        session.execute(
            select(RosterEntry.alumnus_id, RosterEntry.name).where(RosterEntry.alumnus_id.in_(ids))
        ).all()
    )
    return [{"alumnus_id": i, "name": names.get(i), "role": None} for i in ids]
