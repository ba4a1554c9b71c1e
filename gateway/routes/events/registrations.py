"""Registrations: sign-up with the waitlist, cancellation, the QR ticket, check-in,
attendance, the roster, and an alumnus's own registrations."""

from __future__ import annotations

import base64
from typing import Any

from werkzeug.wrappers import Request, Response

from gateway import schemas as edge
from gateway.auth import Principal
from gateway.authz import events as event_rules
from gateway.authz.base import ALUMNUS, LIAISON, MANAGERS, OFFICE, STAFF_ROLES
from gateway.http import api
from gateway.presenters import (
    present_registrations,
    present_roster,
)
from gateway.routes.events.common import EVENT, EventsRoutesBase
from services.common.contracts.events import registrations as contract

REGISTRATION = EVENT + "/registrations/{registration_id}"


class RegistrationRoutes(EventsRoutesBase):
    @api(
        "GET",
        EVENT + "/registrations",
        "The event's registrations in sign-up order; filter by status.",
        "registrations",
        STAFF_ROLES,
        query=contract.RegistrationSearch,
        response=edge.RegistrationView,
        many=True,
    )
    def list_registrations(
        self, request: Request, principal: Principal, event_id: str, query: dict[str, Any]
    ):
        event = self.events.get_event(event_id)
        event_rules.check_event_staff_read(principal, event)
        page = self.events.list_registrations(event_id, query)
        return present_registrations(principal, event, page)

    @api(
        "POST",
        EVENT + "/registrations",
        "Sign up: a seat if all fit, else the waitlist. An alumnus signs up as themselves "
        "(leave alumnus_id out); staff who run the event name the alumnus. Signing up "
        "again returns the live registration.",
        "registrations",
        (OFFICE, LIAISON, ALUMNUS),
        body=edge.SignUpRequest,
        response=contract.Registration,
        status=201,
    )
    def sign_up(self, request: Request, principal: Principal, event_id: str, body: dict[str, Any]):
        event = self.events.get_event(event_id)
        alumnus_id = event_rules.sign_up_as(principal, event, body)
        if principal.role != ALUMNUS:
            self._known_alumnus(principal, alumnus_id, "alumnus_id")
        registration = self.events.sign_up(
            event_id, {"alumnus_id": alumnus_id, "guests": body["guests"]}
        )
        return registration

    @api(
        "DELETE",
        REGISTRATION,
        "Cancel a registration; a freed seat goes to the waitlist at once, in order.",
        "registrations",
        (OFFICE, LIAISON, ALUMNUS),
        response=contract.Registration,
    )
    def cancel_registration(
        self, request: Request, principal: Principal, event_id: str, registration_id: str
    ):
        self._accessible_registration(principal, event_id, registration_id)
        return self.events.cancel_registration(event_id, registration_id)

    @api(
        "GET",
        REGISTRATION + "/qr",
        "The check-in QR code (PNG) of a confirmed registration.",
        "registrations",
        (OFFICE, LIAISON, ALUMNUS),
        content_type="image/png",
    )
    def registration_qr(
        self, request: Request, principal: Principal, event_id: str, registration_id: str
    ) -> Response:
        self._accessible_registration(principal, event_id, registration_id)
        qr = self.events.registration_qr(registration_id)
        return Response(
            base64.b64decode(qr["png_base64"]),
            content_type=qr["content_type"],
            # The picture admits its holder: no shared cache keeps it.
            headers={"Cache-Control": "no-store"},
        )

    def _accessible_registration(
        self, principal: Principal, event_id: str, registration_id: str
    ) -> dict[str, Any]:
        event = self.events.get_event(event_id)
        registration = self.events.get_registration(registration_id)
        event_rules.check_registration_access(principal, event, registration)
        return registration

    @api(
        "POST",
        EVENT + "/checkins",
        "Check in by the token of a QR code: 201 when recorded, 200 (already_recorded) on a "
        "second scan.",
        "registrations",
        MANAGERS,
        body=contract.CheckInInput,
        response=edge.CheckInAnswer,
        status=201,
        extra_success=(200,),
    )
    def check_in(self, request: Request, principal: Principal, event_id: str, body: dict[str, Any]):
        self._managed_event(principal, event_id)
        result = self.events.check_in(event_id, body)
        already = result["already_checked_in"]
        answer = {"registration": result["registration"], "already_recorded": already}
        return (200 if already else 201), answer

    @api(
        "GET",
        EVENT + "/stats",
        "Attendance: confirmed, waitlisted, cancelled, checked in, seats left.",
        "registrations",
        STAFF_ROLES,
        response=contract.AttendanceStats,
    )
    def event_stats(self, request: Request, principal: Principal, event_id: str):
        event = self.events.get_event(event_id)
        event_rules.check_event_staff_read(principal, event)
        return self.events.attendance_stats(event_id)

    @api(
        "GET",
        EVENT + "/roster",
        "Confirmed attendees with names and contacts (masked unless the role may see them).",
        "registrations",
        STAFF_ROLES,
        response=edge.RosterLineView,
        many=True,
    )
    def event_roster(self, request: Request, principal: Principal, event_id: str):
        event = self.events.get_event(event_id)
        event_rules.check_event_staff_read(principal, event)
        # Contacts are masked (or shown and logged) by the events service; tokens here.
        lines = self.events.event_roster(event_id, "GET /api/v1/events/{event_id}/roster")
        return present_roster(principal, event, lines)

    @api(
        "GET",
        "/api/v1/me/registrations",
        "The calling alumnus's own registrations, with their check-in tokens.",
        "registrations",
        (ALUMNUS,),
        query=contract.RegistrationSearch,
        response=contract.Registration,
        many=True,
    )
    def my_registrations(self, request: Request, principal: Principal, query: dict[str, Any]):
        alumnus_id = event_rules.own_alumnus_id(principal)
        return self.events.list_alumnus_registrations(alumnus_id, query)
