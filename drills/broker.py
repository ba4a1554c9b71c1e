"""Drill 2, broker restart under load: the platform on a RabbitMQ node of the drill's own
(tests/support/broker_node.py; the shared broker is never stopped), alumni registered
beforehand, then clients signing them up for an event and giving, with Idempotency-Keys,
while readers read an alumnus and the event without pause. When a third of the work is
answered the node's RabbitMQ is stopped (`rabbitmqctl stop_app`), the rest of the work is
sent, and the broker is started again a while later (`start_app`); the clients resend as
real clients do. No process is restarted by the drill.

During the outage the gateway must answer 503 (or 504) with the platform's JSON error and a
Chinese message, never a 500 and never later than the RPC deadline, and /ready must say the
broker is not ok. Afterwards every process is still running, every service answers RPC,
and every event published before, during and after (`alumnus_registered`,
`registration_confirmed`, `gift_received`) reaches an outside subscriber once.
"""

from __future__ import annotations

import random
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
from sqlalchemy import text

from drills.harness import (
    DrillResult,
    Platform,
    Subscriber,
    handled_twice,
    in_parallel,
    progress,
    send_until_answered,
    token,
)
from drills.money import check_books
from services.common import catalogue
from services.common.db import make_engine
from tests.support.broker_node import RabbitNode, unavailable_reason
from tests.system.helpers import CHINESE, alumnus_body, department_body, event_body

CLIENTS = 8
READERS = 2
GIVE_UP_AFTER_SECONDS = 300.0
HEARD_WITHIN_SECONDS = 180.0
RECOVERY_LIMIT_SECONDS = 120.0
NODE_START_SECONDS = 300
"""A RabbitMQ node booting on a machine busy with other work can take minutes."""
DEADLINE_MARGIN_SECONDS = 3.0
"""What an answer may take beyond the gateway's RPC deadline (a busy machine's scheduling)."""
OUTAGE_ANSWERS = (503, 504)


@contextmanager
def own_broker_node() -> Iterator[RabbitNode]:
    """A RabbitMQ node of the drill's own under a temporary directory, stopped afterwards."""
    reason = unavailable_reason()
    if reason is not None:
        raise RuntimeError(f"drill 2 needs a RabbitMQ node of its own: {reason}")
    with tempfile.TemporaryDirectory(prefix="drill-rabbit-") as base_dir:
        node = RabbitNode(Path(base_dir), start_timeout=NODE_START_SECONDS)
        try:
            node.start()
            yield node
        finally:
            node.stop()


@dataclass
class Attempt:
    """One HTTP request of the load: what, when, and how it was answered."""

    kind: str
    sent: float
    answered: float
    status: int | None  # None: no HTTP answer
    clear_error: bool = True  # for 503/504: the platform's JSON error with a Chinese message

    @property
    def took(self) -> float:
        return self.answered - self.sent


class Load:
    """Every attempt of the load's clients, and the /ready answers, as they come."""

    def __init__(self) -> None:
        self.attempts: list[Attempt] = []
        self.ready: list[tuple[float, int | None, str]] = []  # time, status, broker check
        self.lock = threading.Lock()
        self.running = threading.Event()
        self.running.set()

    def observer(self, kind: str):
        def observe(sent: float, response: requests.Response | None) -> None:
            attempt = Attempt(kind, sent, time.monotonic(), None)
            if response is not None:
                attempt.status = response.status_code
                if response.status_code in OUTAGE_ANSWERS:
                    attempt.clear_error = is_clear_error(response)
            with self.lock:
                self.attempts.append(attempt)

        return observe

    def first_success_after(self, kind: str, moment: float) -> float | None:
        with self.lock:
            return min(
                (
                    a.answered
                    for a in self.attempts
                    if a.kind == kind and a.sent >= moment and a.status in (200, 201)
                ),
                default=None,
            )


def is_clear_error(response: requests.Response) -> bool:
    """The platform's error body: JSON {"error": {code, message, details}}, in Chinese."""
    try:
        error = response.json()["error"]
        return bool(error["code"]) and bool(CHINESE.search(error["message"]))
    except (ValueError, KeyError, TypeError):
        return False


def run(
    system: Platform, alumni: int, gifts: int, outage_seconds: float, clients: int = CLIENTS
) -> DrillResult:
    node = system.broker_node
    if node is None:
        raise RuntimeError("drill 2 runs on a broker node of its own: platform(broker_node=…)")
    headers = {"Authorization": f"Bearer {token(system.base_url)}"}
    deadline_seconds = float(system.env()["RPC_TIMEOUT"]) + DEADLINE_MARGIN_SECONDS
    load = Load()

    def post(path: str, body: dict, kind: str = "setup", **extra: str) -> requests.Response:
        response = send_until_answered(
            requests.Session(),
            "POST",
            f"{system.base_url}{path}",
            GIVE_UP_AFTER_SECONDS,
            observe=load.observer(kind),
            json=body,
            headers={**headers, **extra},
        )
        if response is None:
            raise RuntimeError(f"no answer from {path} within {GIVE_UP_AFTER_SECONDS} s")
        return response

    subscribers = {
        "alumnus_registered": Subscriber(system.amqp_uri, "registry", "alumnus_registered"),
        "registration_confirmed": Subscriber(system.amqp_uri, "events", "registration_confirmed"),
        "gift_received": Subscriber(system.amqp_uri, "donations", "gift_received"),
    }
    department = post("/api/v1/departments", department_body()).json()["id"]
    event = post("/api/v1/events", event_body(capacity=alumni + 10)).json()
    post(f"/api/v1/events/{event['id']}/publish", {}).raise_for_status()
    fund = post(
        "/api/v1/funds", {"name": "演练基金", "kind": "scholarship", "goal_fen": 10**12}
    ).json()
    gifts_before = check_books(system.database_urls["donations"])["gifts"]

    alumnus_ids: list[str] = []

    def register(_index: int) -> None:
        response = post("/api/v1/alumni", alumnus_body(department))
        response.raise_for_status()
        with load.lock:
            alumnus_ids.append(response.json()["id"])
            progress("alumni registered before the load", len(alumnus_ids), alumni)

    in_parallel(register, alumni, clients)

    # The load: sign-ups and gifts interleaved, readers alongside.
    work = [("sign_up", alumnus) for alumnus in alumnus_ids] + [
        ("gift", str(uuid.uuid4())) for _ in range(gifts)
    ]
    random.shuffle(work)
    registrations: dict[str, str] = {}  # alumnus -> registration id, as answered
    gift_ids: dict[str, str] = {}  # Idempotency-Key -> gift id, as answered
    unanswered: list[str] = []
    answered = 0

    def one(index: int) -> None:
        nonlocal answered
        kind, subject = work[index]
        try:
            if kind == "sign_up":
                response = post(
                    f"/api/v1/events/{event['id']}/registrations",
                    {"alumnus_id": subject},
                    kind,
                )
            else:
                amount = 100 + index % 900
                response = post(
                    "/api/v1/gifts",
                    {
                        "donor": {"type": "alumnus", "alumnus_id": alumnus_ids[index % alumni]},
                        "amount_fen": amount,
                        "allocations": [{"fund_id": fund["id"], "amount_fen": amount}],
                        "channel": "bank_transfer",
                    },
                    kind,
                    **{"Idempotency-Key": subject},
                )
            response.raise_for_status()
        except (requests.RequestException, RuntimeError) as error:
            with load.lock:
                unanswered.append(f"{kind} {subject}: {type(error).__name__}: {error}"[:200])
            return
        with load.lock:
            (registrations if kind == "sign_up" else gift_ids)[subject] = response.json()["id"]
            answered += 1
            progress("sign-ups and gifts answered", answered, len(work))

    def reader(number: int) -> None:
        session = requests.Session()
        paths = [f"/api/v1/alumni/{alumnus_ids[number % alumni]}", f"/api/v1/events/{event['id']}"]
        observe = load.observer("read")
        while load.running.is_set():
            for path in paths:
                send_until_answered(
                    session,
                    "GET",
                    f"{system.base_url}{path}",
                    1.0,  # one attempt: a reader reads again in its loop anyway
                    observe=observe,
                    headers=headers,
                )

    def ready_poller() -> None:
        while load.running.is_set():
            try:
                response = requests.get(f"{system.base_url}/ready", timeout=15)
                broker_check = str(response.json().get("checks", {}).get("broker", ""))
                load.ready.append((time.monotonic(), response.status_code, broker_check))
            except (requests.RequestException, ValueError):
                load.ready.append((time.monotonic(), None, ""))
            time.sleep(0.5)

    helpers = [threading.Thread(target=reader, args=(n,), daemon=True) for n in range(READERS)]
    helpers.append(threading.Thread(target=ready_poller, daemon=True))
    for thread in helpers:
        thread.start()
    first_third = len(work) // 3
    # The rest is sent while the broker is down: none of it can be served before its return,
    # so the work spans before, during and after the outage whatever the machine's speed.
    rest = threading.Thread(
        target=in_parallel,
        args=(lambda index: one(first_third + index), len(work) - first_third, clients),
    )
    try:
        in_parallel(one, first_third, clients)
        node.stop_app()
        stopped = time.monotonic()
        rest.start()
        time.sleep(outage_seconds)
        # Recovery counts from the command that starts the broker (its own boot included).
        back = time.monotonic()
        node.start_app()
        broker_boot_seconds = time.monotonic() - back
        rest.join()
        # The readers and /ready go on until each kind of work has been served again.
        until = back + RECOVERY_LIMIT_SECONDS
        while time.monotonic() < until and recovered(load, back) is None:
            time.sleep(0.5)
    finally:
        load.running.clear()
        for thread in helpers:
            thread.join(timeout=30)

    problems: list[str] = []
    recovery = recovered(load, back)
    if recovery is None:
        problems.append(f"not every kind of work served within {RECOVERY_LIMIT_SECONDS} s")

    # During the outage: clear 503s, no 500, nothing held past the deadline.
    during = [a for a in load.attempts if a.sent >= stopped and a.sent < back]
    statuses: dict[int | None, int] = {}
    for attempt in load.attempts:
        statuses[attempt.status] = statuses.get(attempt.status, 0) + 1
    if not any(a.status in OUTAGE_ANSWERS for a in during):
        problems.append("no 503 during the outage: it was not felt")
    unexpected = {s for s in statuses if s not in (200, 201, *OUTAGE_ANSWERS)}
    if unexpected:
        problems.append(f"answers other than 200/201/503/504: {unexpected}")
    unclear = sum(1 for a in load.attempts if not a.clear_error)
    if unclear:
        problems.append(f"{unclear} 503/504 answers without the platform's Chinese JSON error")
    slowest = max((a.took for a in load.attempts), default=0.0)
    held = sum(1 for a in load.attempts if a.took > deadline_seconds)
    if held:
        problems.append(f"{held} answers took longer than {deadline_seconds:.0f} s")
    ready_during = [(status, check) for t, status, check in load.ready if stopped + 1 < t < back]
    if not any(status == 503 and CHINESE.search(check) for status, check in ready_during):
        problems.append("/ready did not answer 503 naming the broker during the outage")

    # Afterwards: every process still the one started, every service answering by itself.
    exited = [name for name, process in system.processes.items() if process.poll() is not None]
    if exited:
        problems.append(f"processes exited: {exited}")
    for entry in catalogue.rpc_services():
        try:
            system.wait_rpc_ready(entry.name, timeout=RECOVERY_LIMIT_SECONDS)
        except RuntimeError:
            problems.append(f"{entry.name} does not answer RPC after the outage")

    # Every event published before, during and after, heard once.
    expected = {
        "alumnus_registered": (set(alumnus_ids), lambda data: data["id"]),
        "registration_confirmed": (
            set(registrations.values()),
            lambda data: data["registration"]["id"],
        ),
        "gift_received": (set(gift_ids.values()), lambda data: data["gift"]["id"]),
    }
    never_heard = heard_twice = 0
    heard_notes = []
    for event_type, (subjects, key) in expected.items():
        heard = subscribers[event_type].wait_for(subjects, key, HEARD_WITHIN_SECONDS)
        missing = len(subjects - heard.keys())
        twice = sum(1 for subject in subjects if len(heard.get(subject, ())) > 1)
        never_heard += missing
        heard_twice += twice
        heard_notes.append(f"{event_type} {len(subjects) - missing}/{len(subjects)}")

    seats = signed_up(system.database_urls["events"], event["id"])
    books = check_books(system.database_urls["donations"])
    gifts_recorded = books["gifts"] - gifts_before
    twice_handled = {
        service: handled_twice(system.database_urls[service])
        for service in ("events", "donations", "notify")
    }
    recorded = seats["registrations"] + gifts_recorded
    lost = (
        max(len(work) - recorded, 0)
        + never_heard
        + len(unanswered)
        + int(not books["receipts_gapless"])
    )
    duplicated = (
        max(recorded - len(work), 0)
        + seats["alumni_twice"]
        + books["keys_twice"]
        + heard_twice
        + sum(twice_handled.values())
    )
    return DrillResult(
        "2 broker restart under load",
        sent=len(work),
        recorded=recorded,
        lost=lost,
        duplicated=duplicated,
        recovery_seconds=recovery,
        notes=[
            f"{alumni} alumni registered before; {len(registrations)} sign-ups and "
            f"{len(gift_ids)} gifts answered; broker down {back - stopped:.1f} s, then "
            f"{broker_boot_seconds:.1f} s until `rabbitmqctl start_app` returned",
            f"answers by status: {statuses}; slowest {slowest:.1f} s "
            f"(deadline {deadline_seconds:.0f} s); {len(during)} requests during the outage",
            f"heard once by an outside subscriber: {', '.join(heard_notes)}",
            f"receipts gapless {books['receipts_gapless']}; "
            f"events handled twice per service: {twice_handled}",
            *unanswered[:5],
        ],
        problems=problems,
    )


def recovered(load: Load, back: float) -> float | None:
    """Seconds from the broker's return until /ready said 200 and a read, a sign-up and a
    gift had each been answered 2xx (sent after the return), or None if not yet."""
    ready_again = min(
        (moment for moment, status, _ in load.ready if moment >= back and status == 200),
        default=None,
    )
    served = [load.first_success_after(kind, back) for kind in ("read", "sign_up", "gift")]
    if ready_again is None or None in served:
        return None
    return max(ready_again, *served) - back


def signed_up(database_url: str, event_id: str) -> dict[str, int]:
    engine = make_engine(database_url, pool_size=1)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT alumnus_id, COUNT(*) FROM registrations WHERE event_id = :e "
                    "GROUP BY alumnus_id"
                ),
                {"e": event_id},
            ).all()
    finally:
        engine.dispose()
    return {
        "registrations": sum(count for _, count in rows),
        "alumni_twice": sum(1 for _, count in rows if count > 1),
    }
