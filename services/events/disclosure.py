"""Contacts in the events service's answers: shown unmasked only to whom the shared rule
(services/common/visibility.py) allows, and each unmasked one written to the access log
in the caller's transaction.

The contacts here: a visit's (`contact`), a cooperation project's (`contacts`), and the
roster's names and contacts of an event's attendees. A platform service (the verified
caller of role `service`) gets them as stored, unlogged; a person's read without a purpose
(the gateway checking a record's department) gets them masked: nobody is shown it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from services.common import access_log
from services.common.visibility import (
    CONTACT_FIELDS,
    SERVICE,
    Viewer,
    is_logged,
    mask_contact,
    may_see_contacts_in,
    may_see_project_contacts,
    may_see_visit_contact,
    shown_fields,
)
from services.events.models import AccessLogEntry


def shown_visit(
    session: Session, visit: dict[str, Any], reader: Viewer, purpose: str
) -> dict[str, Any]:
    if not (_for_someone(reader, purpose) and may_see_visit_contact(reader, visit)):
        return {**visit, "contact": mask_contact(visit["contact"])}
    owner = visit.get("requester_alumnus_id")
    fields = shown_fields(visit["contact"], CONTACT_FIELDS)
    _log(session, reader, f"visit:{visit['id']}", owner, fields, purpose)
    return visit


def shown_visits(
    session: Session, page: dict[str, Any], reader: Viewer, purpose: str
) -> dict[str, Any]:
    return {**page, "items": [shown_visit(session, v, reader, purpose) for v in page["items"]]}


def shown_project(
    session: Session, project: dict[str, Any], reader: Viewer, purpose: str
) -> dict[str, Any]:
    if not (_for_someone(reader, purpose) and may_see_project_contacts(reader, project)):
        return {**project, "contacts": [mask_contact(c) for c in project["contacts"]]}
    for contact in project["contacts"]:
        fields = shown_fields(contact, CONTACT_FIELDS)
        record = f"project:{project['id']}"
        _log(session, reader, record, contact.get("alumnus_id"), fields, purpose)
    return project


def shown_projects(
    session: Session, page: dict[str, Any], reader: Viewer, purpose: str
) -> dict[str, Any]:
    return {**page, "items": [shown_project(session, p, reader, purpose) for p in page["items"]]}


def shown_roster(
    session: Session,
    event_id: str,
    lines: list[dict[str, Any]],
    reader: Viewer,
    purpose: str,
) -> list[dict[str, Any]]:
    shown = []
    for line in lines:
        if _for_someone(reader, purpose) and may_see_contacts_in(reader, line["department_ids"]):
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


def _for_someone(reader: Viewer, purpose: str) -> bool:
    return bool(purpose) or reader.role == SERVICE


def _log(
    session: Session,
    reader: Viewer,
    record: str,
    alumnus_id: str | None,
    fields: list[str],
    purpose: str,
) -> None:
    if not is_logged(reader, alumnus_id):
        return  # a service's copy, or their own contact as they gave it
    access_log.record(session, AccessLogEntry, reader, record, alumnus_id, fields, purpose)
