"""Contacts in the events service's answers: shown unmasked only to whom the shared rule
(services/common/visibility.py) allows, and each unmasked one written to the access log
in the caller's transaction.

The contacts here: a visit's (`contact`), a cooperation project's (`contacts`), and the
roster's names and contacts of an event's attendees. Without a caller (a platform service
asking) the answer is as stored.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from services.common import access_log
from services.common.visibility import (
    ALUMNUS,
    CONTACT_FIELDS,
    Reader,
    mask_contact,
    may_see_contacts_in,
    may_see_project_contacts,
    may_see_visit_contact,
    shown_fields,
)
from services.events.models import AccessLogEntry


def shown_visit(
    session: Session, visit: dict[str, Any], reader: Reader | None, purpose: str
) -> dict[str, Any]:
    if reader is None:
        return visit
    if not may_see_visit_contact(reader, visit):
        return {**visit, "contact": mask_contact(visit["contact"])}
    owner = visit.get("requester_alumnus_id")
    fields = shown_fields(visit["contact"], CONTACT_FIELDS)
    _log(session, reader, f"visit:{visit['id']}", owner, fields, purpose)
    return visit


def shown_visits(
    session: Session, page: dict[str, Any], reader: Reader | None, purpose: str
) -> dict[str, Any]:
    return {**page, "items": [shown_visit(session, v, reader, purpose) for v in page["items"]]}


def shown_project(
    session: Session, project: dict[str, Any], reader: Reader | None, purpose: str
) -> dict[str, Any]:
    if reader is None:
        return project
    if not may_see_project_contacts(reader, project):
        return {**project, "contacts": [mask_contact(c) for c in project["contacts"]]}
    for contact in project["contacts"]:
        fields = shown_fields(contact, CONTACT_FIELDS)
        record = f"project:{project['id']}"
        _log(session, reader, record, contact.get("alumnus_id"), fields, purpose)
    return project


def shown_projects(
    session: Session, page: dict[str, Any], reader: Reader | None, purpose: str
) -> dict[str, Any]:
    return {**page, "items": [shown_project(session, p, reader, purpose) for p in page["items"]]}


def shown_roster(
    session: Session,
    event_id: str,
    lines: list[dict[str, Any]],
    reader: Reader | None,
    purpose: str,
) -> list[dict[str, Any]]:
    if reader is None:
        return lines
    shown = []
    for line in lines:
        if may_see_contacts_in(reader, line["department_ids"]):
            alumnus_id = line["registration"]["alumnus_id"]
            fields = shown_fields(line, CONTACT_FIELDS)
            _log(session, reader, f"event:{event_id}", alumnus_id, fields, purpose)
            shown.append(line)
        else:
            shown.append(mask_contact(line))
    return shown


def search_access_log(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    found = access_log.search(session, AccessLogEntry, params)
    return {**found, "items": [{**e, "service": "events"} for e in found["items"]]}


def _log(
    session: Session,
    reader: Reader,
    record: str,
    alumnus_id: str | None,
    fields: list[str],
    purpose: str,
) -> None:
    if reader.role == ALUMNUS and alumnus_id is not None and reader.alumnus_id == alumnus_id:
        return  # their own contact, as they gave it
    access_log.record(session, AccessLogEntry, reader, record, alumnus_id, fields, purpose)
