"""Shaping answers for the caller: what the gateway still shapes itself.

Personal fields are masked (or shown, and logged) by the service that owns them, by the
shared rule of services/common/visibility.py: an alumnus record and its history by the
registry; the contacts of visits, cooperation projects and event rosters by the events
service. What stays here is a registration's check-in token, shown only to those who run
the event's door (gateway/authz/events.py).
"""

from __future__ import annotations

from typing import Any

from gateway.auth import Principal
from gateway.authz.events import may_see_checkin_tokens

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
    """Roster lines (contacts already shaped by the events service), tokens as for the
    event."""
    shown = [
        {**line, "registration": present_registration(principal, event, line["registration"])}
        for line in lines
    ]
    return {"items": shown, "next_cursor": None}
