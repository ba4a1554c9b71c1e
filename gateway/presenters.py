"""Shaping answers for the caller: personal fields masked unless the role may see them.

Phone, e-mail and WeChat ID are personal information (DESIGN.md, PIPL), and so
are the contacts of visits, cooperation projects and event rosters. Whether a
caller may see them (and a registration's check-in token) is decided in
gateway/authz/; this module only knows how a masked value looks
(`138****5678`).
"""

from __future__ import annotations

from typing import Any

from gateway.auth import Principal
from gateway.authz.base import may_see_contacts_in
from gateway.authz.events import may_see_checkin_tokens
from gateway.authz.projects import may_see_project_contacts
from gateway.authz.registry import may_see_personal_fields
from gateway.authz.visits import may_see_visit_contact

PERSONAL_FIELDS = ("phone", "email", "wechat")


def mask(field: str, value: Any) -> Any:
    if not isinstance(value, str) or not value:
        return value
    if field == "phone":
        return value[:3] + "****" + value[-4:] if len(value) >= 7 else "****"
    if field == "email":
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    return value[:1] + "***"


def present_alumnus(principal: Principal, alumnus: dict[str, Any]) -> dict[str, Any]:
    if may_see_personal_fields(principal, alumnus):
        return alumnus
    return {**alumnus, **{f: mask(f, alumnus.get(f)) for f in PERSONAL_FIELDS}}


def present_page(principal: Principal, page: dict[str, Any]) -> dict[str, Any]:
    return {**page, "items": [present_alumnus(principal, a) for a in page["items"]]}


def present_history(
    principal: Principal, alumnus: dict[str, Any], page: dict[str, Any]
) -> dict[str, Any]:
    if may_see_personal_fields(principal, alumnus):
        return page
    items = [
        {
            **change,
            "old_value": mask(change["field"], change["old_value"]),
            "new_value": mask(change["field"], change["new_value"]),
        }
        if change["field"] in PERSONAL_FIELDS
        else change
        for change in page["items"]
    ]
    return {**page, "items": items}


# ---- contacts in the engagement workflows: visits, projects, rosters -------------------


def mask_contact(contact: dict[str, Any]) -> dict[str, Any]:
    """A contact ({name, phone, email, …}) with its phone and e-mail masked."""
    return {**contact, **{f: mask(f, contact.get(f)) for f in ("phone", "email") if f in contact}}


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
