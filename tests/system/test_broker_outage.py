"""The issue's drill: the platform as `make run` runs it (the supervisor, services/run.py)
on a RabbitMQ node of the test's own, alumni registered through the gateway by four
writers without pause, the broker stopped for 20 s and started again. Then: no 500 and no
request held past the RPC deadline meanwhile, /ready 503 with a clear error during the
outage, no process died, writes answered 201 and /ready 200 again within 10 s of the
broker's return, and every alumnus answered 201 delivered once to an outside subscriber.
Finally Ctrl-C stops the lot cleanly.
"""

from __future__ import annotations

import signal
import threading
import time
from dataclasses import dataclass

import pytest
import requests

from drills.harness import Subscriber
from services.common import catalogue
from tests.conftest import DatabaseFactory
from tests.support.processes import SystemUnderTest
from tests.system.helpers import CHINESE, alumnus_body, assert_error, department_body

WRITERS = 4
WARM_UP_SECONDS = 4.0
OUTAGE_SECONDS = 20.0
BACK_WITHIN_SECONDS = 10.0
DELIVERY_WITHIN_SECONDS = 15.0
# The gateway's deadline (RPC_TIMEOUT in SystemUnderTest) and what an answer may add to it.
DEADLINE_MARGIN_SECONDS = 3.0


@dataclass
class Answer:
    sent: float
    answered: float
    response: requests.Response | None  # None: no HTTP answer at all
    alumnus_id: str | None = None

    @property
    def status(self) -> int | None:
        return None if self.response is None else self.response.status_code

    @property
    def took(self) -> float:
        return self.answered - self.sent


class Writers:
    """`WRITERS` clients registering alumni as fast as the gateway answers."""

    def __init__(self, system: SystemUnderTest, department: str) -> None:
        self.system = system
        self.department = department
        self.answers: list[Answer] = []
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._write) for _ in range(WRITERS)]

    def __enter__(self) -> Writers:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def _write(self) -> None:
        client = self.system.admin()
        while not self.stopping.is_set():
            sent = time.monotonic()
            try:
                response = client.post("/api/v1/alumni", json=alumnus_body(self.department))
            except requests.RequestException:
                self.answers.append(Answer(sent, time.monotonic(), None))
                time.sleep(0.1)
                continue
            answer = Answer(sent, time.monotonic(), response)
            if response.status_code == 201:
                answer.alumnus_id = response.json()["id"]
            else:
                time.sleep(0.1)  # a client backing off a little, as a real one would
            self.answers.append(answer)


@pytest.fixture
def platform(outage_broker, tmp_path_factory):
    """The whole platform under its supervisor, on SQLite as `make run` keeps it."""
    databases = DatabaseFactory("sqlite", tmp_path_factory)
    system = SystemUnderTest(
        amqp_uri=outage_broker.new_vhost(),
        database_urls={e.name: databases.new(e.name) for e in catalogue.with_database()},
        var_dir=tmp_path_factory.mktemp("var"),
        management_url=outage_broker.management_url,
    )
    system.provision_broker()
    supervisor = system.start_module("supervisor", "services.run")
    try:
        system.wait_ready()
        yield system, supervisor
    finally:
        system.stop_all()
        system.remove_broker_accounts()


def logs(system: SystemUnderTest) -> str:
    parts = [system.logs()]
    for path in sorted((system.var_dir / "log").glob("*.log")):
        parts.append(f"--- log/{path.name} ---\n{path.read_text(errors='replace')[-3000:]}")
    return "\n".join(parts)


def poll_ready(system: SystemUnderTest, until: float) -> list[tuple[float, int | None, dict]]:
    """GET /ready every half second until `until`: (time, status, body)."""
    seen = []
    while time.monotonic() < until:
        try:
            response = requests.get(f"{system.base_url}/ready", timeout=10)
            seen.append((time.monotonic(), response.status_code, response.json()))
        except requests.RequestException:
            seen.append((time.monotonic(), None, {}))
        time.sleep(0.5)
    return seen


def test_the_platform_rides_out_a_broker_outage_under_write_load(platform, outage_broker):
    system, supervisor = platform
    department = system.admin().post("/api/v1/departments", json=department_body()).json()["id"]
    subscriber = Subscriber(system.amqp_uri, "registry", "alumnus_registered")

    with Writers(system, department) as writers:
        time.sleep(WARM_UP_SECONDS)
        assert any(a.status == 201 for a in writers.answers), logs(system)

        with outage_broker.outage():
            during = poll_ready(system, until=time.monotonic() + OUTAGE_SECONDS)
        back = time.monotonic()
        after = poll_ready(system, until=back + BACK_WITHIN_SECONDS + 1)

    answers = writers.answers
    context = f"answers: {summary(answers)}\n{logs(system)}"

    # No 500s; 503/504 are the platform's JSON errors; nothing held past the deadline.
    assert {a.status for a in answers} <= {201, 503, 504}, context
    failed = [a for a in answers if a.status in (503, 504)]
    assert failed, "the outage should have been felt"
    for answer in failed[:: max(len(failed) // 10, 1)]:
        assert_error(answer.response, answer.status)
    bound = float(system.env()["RPC_TIMEOUT"]) + DEADLINE_MARGIN_SECONDS
    assert max(a.took for a in answers) < bound, context

    # /ready: 503 naming the broker during the outage, 200 within 10 s of its return.
    not_ready = [body for _, status, body in during if status == 503]
    assert not_ready, during
    assert not_ready[-1]["checks"]["broker"] != "ok"
    assert CHINESE.search(not_ready[-1]["checks"]["broker"])
    ready_again = [t for t, status, _ in after if status == 200]
    assert ready_again and ready_again[0] - back < BACK_WITHIN_SECONDS, after

    # Writes answered 201 again within 10 s of the broker's return.
    first_201 = min(
        (a.answered for a in answers if a.status == 201 and a.sent >= back), default=None
    )
    assert first_201 is not None and first_201 - back < BACK_WITHIN_SECONDS, context

    # Every process alive: the supervisor had nothing to restart.
    assert supervisor.poll() is None, context
    supervisor_output = (system.var_dir / "supervisor.log").read_text()
    assert "exited" not in supervisor_output, supervisor_output

    # Every alumnus answered 201 reached the subscriber, once after deduplication.
    registered = {a.alumnus_id for a in answers if a.status == 201}
    seen = subscriber.wait_for(registered, lambda data: data["id"], DELIVERY_WITHIN_SECONDS)
    missing = registered - seen.keys()
    assert not missing, f"{len(missing)} of {len(registered)} never delivered\n{context}"
    assert all(len(seen[alumnus]) == 1 for alumnus in registered), "one event per alumnus"

    # Ctrl-C: every process stops on its TERM, none needs a KILL.
    supervisor.send_signal(signal.SIGINT)
    assert supervisor.wait(timeout=30) == 0
    system.processes.pop("supervisor").log_file.close()
    supervisor_output = (system.var_dir / "supervisor.log").read_text()
    assert "已停止 / stopped" in supervisor_output
    assert "killing it" not in supervisor_output, supervisor_output
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{system.base_url}/health", timeout=5)


def summary(answers: list[Answer]) -> dict:
    counts: dict = {}
    for answer in answers:
        counts[answer.status] = counts.get(answer.status, 0) + 1
    return counts
