"""The events issue's journey over HTTP, as a new user would take it: the office publishes a
reunion with two seats; two alumni sign up through their own accounts and the office signs up
a third on their behalf (two confirmed, one waitlisted); one cancels and the waitlisted one is
promoted; they are checked in by the token of their QR codes; the statistics say so. Then the
bad input of this area, each answered with a clear 4xx JSON error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from tests.support.processes import ADMIN_PASSWORD, ADMIN_USERNAME
from tests.system.helpers import (
    PNG_SIGNATURE,
    alumnus_body,
    assert_documented,
    assert_error,
    department_body,
    event_body,
    iso,
    token_pair,
    unique,
)

# The last test reads the gateway's log from the module's first request on.
pytestmark = pytest.mark.usefixtures("gateway_log")

PASSWORD = "alumnus-password-1"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


class Client:
    """One account's HTTP calls, each checked against /openapi.json."""

    def __init__(self, base_url: str, spec: dict, token: str) -> None:
        self.base_url = base_url
        self.spec = spec
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, template: str, *, json: Any = None, **values: str):
        response = requests.request(
            method,
            self.base_url + template.format(**values),
            json=json,
            headers=self.headers,
            timeout=30,
        )
        if response.status_code < 500:
            assert_documented(self.spec, template, method, response)
        return response

    def ok(self, method: str, template: str, status: int, **kwargs: Any) -> Any:
        response = self.call(method, template, **kwargs)
        assert response.status_code == status, (method, template, response.text[:500])
        return (
            response.json()
            if response.headers["Content-Type"].startswith("application/json")
            else response
        )


@dataclass
class Journey:
    office: Client
    alumni: list[Client]  # the first two have accounts; the third is signed up by the office
    alumnus_ids: list[str]
    department_id: str


@pytest.fixture(scope="module")
def journey(system) -> Journey:
    base = system.base_url
    spec = requests.get(f"{base}/openapi.json", timeout=10).json()
    office = Client(base, spec, token_pair(base, ADMIN_USERNAME, ADMIN_PASSWORD)["access_token"])
    department = office.ok("POST", "/api/v1/departments", 201, json=department_body())["id"]
    alumnus_ids = [
        office.ok("POST", "/api/v1/alumni", 201, json=alumnus_body(department))["id"]
        for _ in range(3)
    ]
    clients = []
    for alumnus_id in alumnus_ids[:2]:
        username = unique("alumnus")
        account = office.ok(
            "POST",
            "/api/v1/alumni/{alumnus_id}/account",
            201,
            json={"username": username, "password": PASSWORD},
            alumnus_id=alumnus_id,
        )
        assert (account["role"], account["alumnus_id"]) == ("alumnus", alumnus_id)
        clients.append(Client(base, spec, token_pair(base, username, PASSWORD)["access_token"]))
    return Journey(office, clients, alumnus_ids, department)


EVENT = "/api/v1/events/{event_id}"
REGISTRATIONS = EVENT + "/registrations"
REGISTRATION = REGISTRATIONS + "/{registration_id}"


def test_reunion_with_two_seats_waitlist_promotion_and_qr_checkin(journey):
    office, (first, second) = journey.office, journey.alumni
    first_id, second_id, third_id = journey.alumnus_ids

    # An alumnus account is the alumnus's own, and no staff route is theirs.
    me = first.ok("GET", "/api/v1/me", 200)
    assert (me["role"], me["alumnus_id"]) == ("alumnus", first_id)
    assert_error(first.call("GET", "/api/v1/alumni"), 403, "FORBIDDEN")

    # The office publishes a reunion with two seats; alumni see it once published.
    event = office.ok("POST", "/api/v1/events", 201, json=event_body(capacity=2))
    assert event["status"] == "draft"
    event_id = event["id"]
    assert_error(first.call("GET", EVENT, event_id=event_id), 404, "NOT_FOUND")
    published = office.ok("POST", EVENT + "/publish", 200, event_id=event_id)
    assert published["status"] == "published"
    seen = first.ok("GET", EVENT, 200, event_id=event_id)
    assert {k: seen[k] for k in ("id", "kind", "capacity", "status", "organiser_type")} == {
        "id": event_id,
        "kind": "reunion",
        "capacity": 2,
        "status": "published",
        "organiser_type": "office",
    }

    # Two alumni sign up themselves, the office signs up a third on their behalf.
    mine = first.ok("POST", REGISTRATIONS, 201, json={}, event_id=event_id)
    theirs = second.ok("POST", REGISTRATIONS, 201, json={"guests": 0}, event_id=event_id)
    behalf = office.ok("POST", REGISTRATIONS, 201, json={"alumnus_id": third_id}, event_id=event_id)
    assert (mine["alumnus_id"], mine["status"], mine["position"]) == (first_id, "confirmed", None)
    assert (theirs["alumnus_id"], theirs["status"]) == (second_id, "confirmed")
    assert (behalf["alumnus_id"], behalf["status"], behalf["position"]) == (
        third_id,
        "waitlisted",
        1,
    )
    assert set(mine) >= {"id", "event_id", "alumnus_id", "guests", "status", "position"}
    assert set(mine) >= {"checkin_token", "checked_in_at"}

    # Each alumnus sees their own registrations only.
    own = first.ok("GET", "/api/v1/me/registrations", 200)["items"]
    assert [r["id"] for r in own] == [mine["id"]]
    assert_error(
        first.call("DELETE", REGISTRATION, event_id=event_id, registration_id=theirs["id"]),
        404,
        "NOT_FOUND",
    )
    assert_error(
        first.call("GET", REGISTRATION + "/qr", event_id=event_id, registration_id=theirs["id"]),
        404,
        "NOT_FOUND",
    )

    # One cancels; the waitlisted alumnus is promoted to the freed seat.
    cancelled = first.ok("DELETE", REGISTRATION, 200, event_id=event_id, registration_id=mine["id"])
    assert cancelled["status"] == "cancelled"
    listed = office.ok("GET", REGISTRATIONS, 200, event_id=event_id)["items"]
    by_alumnus = {r["alumnus_id"]: r for r in listed}
    assert by_alumnus[first_id]["status"] == "cancelled"
    assert (by_alumnus[third_id]["status"], by_alumnus[third_id]["position"]) == (
        "confirmed",
        None,
    )
    stats = office.ok("GET", EVENT + "/stats", 200, event_id=event_id)
    assert (stats["confirmed"], stats["waitlisted"], stats["cancelled"]) == (2, 0, 1)
    assert stats["seats_left"] == 0

    # The second alumnus's QR code: a PNG; its token checks them in, once.
    qr = second.ok(
        "GET", REGISTRATION + "/qr", 200, event_id=event_id, registration_id=theirs["id"]
    )
    assert qr.headers["Content-Type"] == "image/png"
    assert qr.content.startswith(PNG_SIGNATURE)
    token = second.ok("GET", "/api/v1/me/registrations", 200)["items"][0]["checkin_token"]
    assert token == theirs["checkin_token"]
    scanned = office.ok("POST", EVENT + "/checkins", 201, json={"token": token}, event_id=event_id)
    assert scanned["already_recorded"] is False
    assert scanned["registration"]["id"] == theirs["id"]
    assert scanned["registration"]["checked_in_at"]
    again = office.ok("POST", EVENT + "/checkins", 200, json={"token": token}, event_id=event_id)
    assert again["already_recorded"] is True
    assert again["registration"]["checked_in_at"] == scanned["registration"]["checked_in_at"]

    # The promoted alumnus has no account: the office shows their code at the door.
    promoted = by_alumnus[third_id]
    qr = office.ok(
        "GET", REGISTRATION + "/qr", 200, event_id=event_id, registration_id=promoted["id"]
    )
    assert qr.content.startswith(PNG_SIGNATURE)
    office.ok(
        "POST",
        EVENT + "/checkins",
        201,
        json={"token": promoted["checkin_token"]},
        event_id=event_id,
    )

    stats = office.ok("GET", EVENT + "/stats", 200, event_id=event_id)
    assert {k: stats[k] for k in ("capacity", "confirmed", "waitlisted", "cancelled")} == {
        "capacity": 2,
        "confirmed": 2,
        "waitlisted": 0,
        "cancelled": 1,
    }
    assert (stats["checked_in"], stats["seats"], stats["seats_left"]) == (2, 2, 0)


# ---- bad input ----------------------------------------------------------------------------


def test_an_event_that_ends_before_it_starts(journey):
    body = event_body(starts_in=timedelta(days=30))
    body["ends_at"] = body["registration_opens_at"]
    error = assert_error(
        journey.office.call("POST", "/api/v1/events", json=body), 422, "VALIDATION_ERROR"
    )
    assert "ends_at" in error["details"]["fields"]


def test_a_negative_capacity(journey):
    error = assert_error(
        journey.office.call("POST", "/api/v1/events", json=event_body(capacity=-1)),
        422,
        "VALIDATION_ERROR",
    )
    assert "capacity" in error["details"]["fields"]


def test_signing_up_outside_the_window(journey):
    office, alumnus = journey.office, journey.alumni[0]
    # Sign-ups open in a month.
    not_yet = event_body(starts_in=timedelta(days=60))
    not_yet["registration_opens_at"] = iso(datetime.now(UTC) + timedelta(days=30))
    event = office.ok("POST", "/api/v1/events", 201, json=not_yet)
    office.ok("POST", EVENT + "/publish", 200, event_id=event["id"])
    error = assert_error(
        alumnus.call("POST", REGISTRATIONS, json={}, event_id=event["id"]), 409, "CONFLICT"
    )
    assert error["details"]["reason"] == "registration_not_started"

    closed = office.ok("POST", "/api/v1/events", 201, json=event_body())
    office.ok("POST", EVENT + "/publish", 200, event_id=closed["id"])
    office.ok("POST", EVENT + "/close", 200, event_id=closed["id"])
    # Closed by the organiser before the window ends.
    error = assert_error(
        alumnus.call("POST", REGISTRATIONS, json={}, event_id=closed["id"]), 409, "CONFLICT"
    )
    assert error["details"]["reason"] == "event_not_open"


def test_an_unknown_event(journey):
    for method, template in (
        ("GET", EVENT),
        ("POST", EVENT + "/publish"),
        ("GET", EVENT + "/stats"),
    ):
        assert_error(journey.office.call(method, template, event_id=UNKNOWN_ID), 404, "NOT_FOUND")
    assert_error(
        journey.alumni[0].call("POST", REGISTRATIONS, json={}, event_id=UNKNOWN_ID),
        404,
        "NOT_FOUND",
    )
    assert_error(journey.office.call("GET", EVENT, event_id="not-an-id"), 404, "NOT_FOUND")


def test_another_alumnus_and_unknown_alumni(journey):
    office, (first, second) = journey.office, journey.alumni
    event = office.ok("POST", "/api/v1/events", 201, json=event_body())
    office.ok("POST", EVENT + "/publish", 200, event_id=event["id"])

    # Signing someone else up is not an alumnus's to do.
    error = assert_error(
        first.call(
            "POST", REGISTRATIONS, json={"alumnus_id": journey.alumnus_ids[1]}, event_id=event["id"]
        ),
        403,
        "FORBIDDEN",
    )
    assert error["details"] == {"field": "alumnus_id", "reason": "not_themselves"}
    # Naming oneself is fine.
    registration = first.ok(
        "POST",
        REGISTRATIONS,
        201,
        json={"alumnus_id": journey.alumnus_ids[0]},
        event_id=event["id"],
    )
    # Another alumnus's registration is as good as none: the same 404 body.
    theirs = second.call(
        "DELETE", REGISTRATION, event_id=event["id"], registration_id=registration["id"]
    )
    unknown = second.call("DELETE", REGISTRATION, event_id=event["id"], registration_id=UNKNOWN_ID)
    assert_error(theirs, 404, "NOT_FOUND")
    assert_error(unknown, 404, "NOT_FOUND")
    assert theirs.json()["error"]["message"] == unknown.json()["error"]["message"]

    # Staff name an alumnus who exists; a made-up one is a field error, not a registration.
    error = assert_error(
        office.call("POST", REGISTRATIONS, json={"alumnus_id": UNKNOWN_ID}, event_id=event["id"]),
        422,
        "VALIDATION_ERROR",
    )
    assert "alumnus_id" in error["details"]["fields"]
    error = assert_error(
        office.call("POST", REGISTRATIONS, json={}, event_id=event["id"]), 422, "VALIDATION_ERROR"
    )
    assert "alumnus_id" in error["details"]["fields"]

    # Unknown or misspelt fields, and a token that admits no one.
    error = assert_error(
        first.call("POST", REGISTRATIONS, json={"guest": 1}, event_id=event["id"]),
        422,
        "VALIDATION_ERROR",
    )
    assert "guest" in error["details"]["fields"]
    assert_error(
        office.call("POST", EVENT + "/checkins", json={"token": "nobody"}, event_id=event["id"]),
        404,
        "NOT_FOUND",
    )


def test_the_alumnus_login_is_made_once_for_an_existing_record(journey):
    office = journey.office
    body = {"username": unique("alumnus"), "password": PASSWORD}
    assert_error(
        office.call(
            "POST", "/api/v1/alumni/{alumnus_id}/account", json=body, alumnus_id=UNKNOWN_ID
        ),
        404,
        "NOT_FOUND",
    )
    assert_error(
        office.call(
            "POST",
            "/api/v1/alumni/{alumnus_id}/account",
            json=body,
            alumnus_id=journey.alumnus_ids[0],
        ),
        409,
        "CONFLICT",
    )
    error = assert_error(
        office.call(
            "POST",
            "/api/v1/alumni/{alumnus_id}/account",
            json={"username": unique("a"), "password": "short"},
            alumnus_id=journey.alumnus_ids[2],
        ),
        422,
        "VALIDATION_ERROR",
    )
    assert "password" in error["details"]["fields"]


def test_no_request_of_this_module_was_answered_with_500(gateway_log):
    """Runs last in the module: the gateway logged no unhandled error and no 500."""
    log = gateway_log()
    assert "unhandled error" not in log
    assert '" 500 ' not in log
