"""One person in the events service: all it holds on them (PIPL art. 45), and their
erasure on the registry's `alumnus_erased` (art. 47).

What names or reaches a person here: the roster line (name, phone, e-mail), the contact of
a visit they asked for, their entry in cooperation projects' contacts and activity reports'
participants, and their own words in suggestions and service requests. Registrations,
visits and requests stay (attendance and work records), without the identity.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.erasure import ERASED_NAME, forget_events, identity_values, scrub
from services.events.common import as_utc
from services.events.feedback import SERVICE_REQUEST, SUGGESTION
from services.events.models import (
    ActivityReport,
    CooperationProject,
    Event,
    OutboxMessage,
    Registration,
    RosterEntry,
    ServiceRequest,
    ServiceRequestEntry,
    Suggestion,
    Visit,
)
from services.events.registrations import REGISTRATION
from services.events.visits import VISIT


def export_person(session: Session, alumnus_id: str) -> dict[str, Any]:
    roster = session.get(RosterEntry, alumnus_id)
    registrations = session.scalars(
        select(Registration).where(Registration.alumnus_id == alumnus_id).order_by(Registration.seq)
    ).all()
    titles = dict(
        session.execute(
            select(Event.id, Event.title).where(Event.id.in_({r.event_id for r in registrations}))
        ).all()
    )
    return {
        "roster": None
        if roster is None
        else {
            "name": roster.name,
            "phone": roster.phone,
            "email": roster.email,
            "department_ids": list(roster.department_ids or []),
        },
        "registrations": [
            {**REGISTRATION.dump(r), "event_title": titles.get(r.event_id)} for r in registrations
        ],
        "visits": [VISIT.dump(v) for v in _visits(session, alumnus_id)],
        "suggestions": [SUGGESTION.dump(s) for s in _suggestions(session, alumnus_id)],
        "service_requests": [
            SERVICE_REQUEST.dump(r)
            for r in session.scalars(
                select(ServiceRequest)
                .where(ServiceRequest.alumnus_id == alumnus_id)
                .order_by(ServiceRequest.seq)
            )
        ],
        # A project's other contacts are other people's: only the person's own entry.
        "projects": [
            {
                "id": p.id,
                "title": p.title,
                "partner": p.partner,
                "contact": next(c for c in p.contacts if c.get("alumnus_id") == alumnus_id),
            }
            for p in _projects(session, alumnus_id)
        ],
        "activity_reports": [
            {"event_id": r.event_id, "participant": p}
            for r in _reports(session, alumnus_id)
            for p in r.participants
            if p.get("alumnus_id") == alumnus_id
        ],
    }


def erase_alumnus(session: Session, alumnus_id: str, erased_at: datetime) -> None:
    """Remove the person's identity; idempotent (a second run finds nothing left).

    The roster line stays as a tombstone at the erasure's version, so that an older
    `alumnus_registered` or `alumnus_updated` arriving late changes nothing.
    """
    version = as_utc(erased_at)
    roster = session.get(RosterEntry, alumnus_id)
    identity = identity_values(*(_roster_identity(roster)))
    for visit in _visits(session, alumnus_id):
        identity = identity_values(*identity, *_contact_identity(visit.contact))
        visit.contact = {"name": ERASED_NAME, "phone": None, "email": None}
    for project in _projects(session, alumnus_id):
        contacts = []
        for contact in project.contacts:
            if contact.get("alumnus_id") == alumnus_id:
                identity = identity_values(*identity, *_contact_identity(contact))
                contact = {**contact, "name": ERASED_NAME, "phone": None, "email": None}
            contacts.append(contact)
        project.contacts = contacts
    for report in _reports(session, alumnus_id):
        report.participants = [
            {**p, "name": ERASED_NAME} if p.get("alumnus_id") == alumnus_id else p
            for p in report.participants
        ]
    for suggestion in _suggestions(session, alumnus_id):
        suggestion.subject = scrub(suggestion.subject, identity)
        suggestion.body = scrub(suggestion.body, identity)
        suggestion.answer = scrub(suggestion.answer, identity)
    requests = session.scalars(
        select(ServiceRequest).where(ServiceRequest.alumnus_id == alumnus_id)
    ).all()
    for request in requests:
        request.description = scrub(request.description, identity)
    for entry in session.scalars(
        select(ServiceRequestEntry).where(
            ServiceRequestEntry.request_id.in_([r.id for r in requests])
        )
    ):
        entry.note = scrub(entry.note, identity)
    if roster is None:
        roster = RosterEntry(alumnus_id=alumnus_id)
        session.add(roster)
    if roster.updated_at is None or as_utc(roster.updated_at) <= version:
        roster.name, roster.phone, roster.email = ERASED_NAME, None, None
        roster.updated_at = version
        roster.department_ids = list(roster.department_ids or [])
    session.flush()
    forget_events(session, OutboxMessage, alumnus_id, identity)


def _roster_identity(roster: RosterEntry | None) -> tuple[str | None, ...]:
    return (roster.name, roster.phone, roster.email) if roster is not None else ()


def _contact_identity(contact: dict[str, Any] | None) -> tuple[str | None, ...]:
    contact = contact or {}
    return (contact.get("name"), contact.get("phone"), contact.get("email"))


def _visits(session: Session, alumnus_id: str) -> list[Visit]:
    return session.scalars(
        select(Visit).where(Visit.requester_alumnus_id == alumnus_id).order_by(Visit.seq)
    ).all()


def _suggestions(session: Session, alumnus_id: str) -> list[Suggestion]:
    return session.scalars(
        select(Suggestion).where(Suggestion.alumnus_id == alumnus_id).order_by(Suggestion.seq)
    ).all()


def _projects(session: Session, alumnus_id: str) -> list[CooperationProject]:
    # Contacts are a JSON list: few projects, read and filtered here on both databases.
    return [
        p
        for p in session.scalars(select(CooperationProject).order_by(CooperationProject.seq))
        if any(c.get("alumnus_id") == alumnus_id for c in p.contacts or [])
    ]


def _reports(session: Session, alumnus_id: str) -> list[ActivityReport]:
    return [
        r
        for r in session.scalars(select(ActivityReport).order_by(ActivityReport.filed_at))
        if any(p.get("alumnus_id") == alumnus_id for p in r.participants or [])
    ]
