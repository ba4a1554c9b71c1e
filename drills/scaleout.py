"""Drill 3, two of everything: a second instance of every service and of the gateway, and a
mixed load sent to both gateways (alumni registered, each signing up for one event with
fewer seats than alumni, gifts with Idempotency-Keys).

Afterwards: no seat given twice (confirmed = capacity, `seats_taken` agrees, the waitlist
numbered 1..n), no receipt number given twice or skipped, one gift per key, one welcome
message per alumnus, and no event handled twice by any handler.
"""

from __future__ import annotations

import threading
import time
import uuid

import requests
from sqlalchemy import text

from drills.harness import (
    DrillResult,
    Platform,
    handled_twice,
    in_parallel,
    send_until_answered,
    token,
)
from drills.money import check_books
from services.common import catalogue
from services.common.db import make_engine
from tests.system.helpers import alumnus_body, department_body, event_body

CLIENTS = 8
GIVE_UP_AFTER_SECONDS = 120.0
WELCOMED_WITHIN_SECONDS = 120.0


def run(system: Platform, alumni: int, capacity: int) -> DrillResult:
    for name in catalogue.names():
        system.start_second(name)
    system.wait_ready()
    for name in catalogue.names():
        if name != "gateway":
            system.wait_rpc_ready(name)
    gateways = [system.base_url, system.second_gateway_url]
    wait_second_gateway(gateways[1])
    headers = {"Authorization": f"Bearer {token(system.base_url)}"}

    def post(base: str, path: str, body: dict, **extra: str) -> requests.Response:
        response = send_until_answered(
            requests.Session(),
            "POST",
            f"{base}{path}",
            GIVE_UP_AFTER_SECONDS,
            json=body,
            headers={**headers, **extra},
        )
        if response is None:
            raise RuntimeError(f"no answer from {base}{path}")
        return response

    department = post(gateways[0], "/api/v1/departments", department_body()).json()["id"]
    event = post(gateways[0], "/api/v1/events", event_body(capacity=capacity)).json()
    post(gateways[0], f"/api/v1/events/{event['id']}/publish", {})
    fund = post(
        gateways[0],
        "/api/v1/funds",
        {"name": "演练基金", "kind": "scholarship", "goal_fen": 10**12},
    ).json()
    # The platform may have served other drills: what this one adds is counted.
    gifts_before = check_books(system.database_urls["donations"])["gifts"]
    registered: list[str] = []
    failures: list[str] = []
    lock = threading.Lock()

    def one_alumnus(index: int) -> None:
        base = gateways[index % 2]
        try:
            alumnus = post(base, "/api/v1/alumni", alumnus_body(department)).json()["id"]
            post(
                gateways[(index + 1) % 2],
                f"/api/v1/events/{event['id']}/registrations",
                {"alumnus_id": alumnus},
            ).raise_for_status()
            amount = 100 + index
            post(
                base,
                "/api/v1/gifts",
                {
                    "donor": {"type": "alumnus", "alumnus_id": alumnus},
                    "amount_fen": amount,
                    "allocations": [{"fund_id": fund["id"], "amount_fen": amount}],
                    "channel": "bank_transfer",
                },
                **{"Idempotency-Key": str(uuid.uuid4())},
            ).raise_for_status()
        except (requests.RequestException, RuntimeError, KeyError) as error:
            with lock:
                failures.append(f"{type(error).__name__}: {error}"[:200])
            return
        with lock:
            registered.append(alumnus)

    in_parallel(one_alumnus, alumni, CLIENTS)
    seats = check_seats(system.database_urls["events"], event["id"], capacity)
    books = check_books(system.database_urls["donations"])
    welcomes = welcome_messages(system.database_urls["notify"], set(registered))
    deadline = time.monotonic() + WELCOMED_WITHIN_SECONDS
    while welcomes["missing"] and time.monotonic() < deadline:
        time.sleep(1)
        welcomes = welcome_messages(system.database_urls["notify"], set(registered))
    twice = {
        service: handled_twice(system.database_urls[service])
        for service in ("events", "donations", "notify")
    }
    duplicated = (
        seats["seats_twice"]
        + books["keys_twice"]
        + max(books["gifts"] - gifts_before - alumni, 0)
        + welcomes["twice"]
        + sum(twice.values())
        + int(not books["receipts_gapless"])
    )
    lost = (alumni - len(registered)) + seats["missing"] + welcomes["missing"]
    return DrillResult(
        "3 two of everything",
        sent=alumni * 3,
        recorded=len(registered) + seats["registrations"] + books["gifts"] - gifts_before,
        lost=lost,
        duplicated=duplicated,
        notes=[
            f"two instances of {', '.join(catalogue.names())}",
            f"seats: {seats}",
            f"gifts {books['gifts'] - gifts_before}, receipts gapless {books['receipts_gapless']}",
            f"welcome messages: {welcomes}",
            f"events handled twice per service: {twice}",
            *failures[:5],
        ],
    )


def wait_second_gateway(base_url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base_url}/ready", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the second gateway at {base_url} is not ready")


def check_seats(url: str, event_id: str, capacity: int) -> dict[str, int]:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT status, position FROM registrations WHERE event_id = :e"),
                {"e": event_id},
            ).all()
            seats_taken = connection.scalar(
                text("SELECT seats_taken FROM events WHERE id = :e"), {"e": event_id}
            )
    finally:
        engine.dispose()
    confirmed = sum(1 for status, _ in rows if status == "confirmed")
    positions = sorted(position for status, position in rows if status == "waitlisted")
    expected_confirmed = min(len(rows), capacity)
    return {
        "registrations": len(rows),
        "confirmed": confirmed,
        "seats_taken": int(seats_taken or 0),
        "waitlisted": len(positions),
        "seats_twice": max(confirmed - capacity, 0)
        + int(seats_taken != confirmed)
        + int(positions != list(range(1, len(positions) + 1))),
        "missing": max(expected_confirmed - confirmed, 0),
    }


def welcome_messages(url: str, alumni: set[str]) -> dict[str, int]:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT alumnus_id, channel, COUNT(*) FROM messages WHERE kind = 'welcome' "
                    "GROUP BY alumnus_id, channel"
                )
            ).all()
    finally:
        engine.dispose()
    mine = [(alumnus, count) for alumnus, _channel, count in rows if alumnus in alumni]
    welcomed = {alumnus for alumnus, _ in mine}
    return {
        "alumni": len(alumni),
        "welcomed": len(welcomed),
        "twice": sum(1 for _, count in mine if count > 1),
        "missing": len(alumni - welcomed),
    }
