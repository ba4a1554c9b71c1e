"""Shaping answers for the caller: what the gateway still masks itself.

An alumnus record and its history are masked by the registry, which owns them and logs
every unmasked read. The contacts of visits, cooperation projects and event rosters, and a
registration's check-in token, are shaped here, by the same predicates
(services/common/visibility.py; check-in tokens: gateway/authz/events.py).
"""

from __future__ import annotations

from typing import Any

from gateway.auth import Principal
from gateway.authz.events import may_see_checkin_tokens
from services.common.visibility import (
    mask_contact,
    may_see_contacts_in,
    may_see_project_contacts,
    may_see_visit_contact,
)

# ---- contacts in the engagement workflows: visits, projects, rosters -------------------


def present_visit(principal: Principal, visit: dict[str, Any]) -> dict[str, Any]:
    if may_see_visit_contact(principal, visit):
        return visit
    return {**visit, "contact": mask_contact(visit["contact"])}


def present_project(principal: Principal, project: dict[str, Any]) -> dict[str, Any]:
    if may_see_project_contacts(principal, project):
        return project
    return {**project, "contacts": [mask_contact(c) for c in project["contacts"]]}


def present_items(principal: Principal, page: dict[str, Any], present) -> dict[str, Any]:
    return {**page, "items": [present(principal, item) for item in page["items"]]}


# ---- registrations -----------------------------------------------------------------


def present_registration(
    principal: Principal, event: dict[str, Any], registration: dict[str, Any]
) -> dict[str, Any]:
    """A check-in token only for those who run the event's door (see authz)."""
    if may_see_checkin_tokens(principal, event):
        return registration
    return {**registration, "checkin_token": None}


def present_registrations(
    principal: Principal, event: dict[str, Any], page: dict[str, Any]
) -> dict[str, Any]:
    return {
        **page,
        "items": [present_registration(principal, event, r) for r in page["items"]],
    }


def present_roster(
    principal: Principal, event: dict[str, Any], lines: list[dict[str, Any]]
) -> dict[str, Any]:
    """Roster lines: contacts as for the alumnus's record, tokens as for the event."""
    shown = []
    for line in lines:
        line = {
            **line,
            "registration": present_registration(principal, event, line["registration"]),
        }
        if not may_see_contacts_in(principal, line["department_ids"]):
            line = mask_contact(line)
        shown.append(line)
    return {"items": shown, "next_cursor": None}
