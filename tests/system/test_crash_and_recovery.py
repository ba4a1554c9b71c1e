"""Crashes: an event committed before a SIGKILL is published exactly once after the restart;
while the registry is down the gateway answers quickly and clearly, then recovers alone.

The tests in this module stop, kill and restart the registry; the autouse fixture brings it
back should a test fail half-way, so the next test starts from a running system.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pika
import pytest
import requests

from services.common import catalogue
from tests.support.processes import ADMIN_PASSWORD, ADMIN_USERNAME
from tests.system.helpers import alumnus_body, assert_error, department_body, token_pair

EVENT_EXCHANGE = "registry.events"
QUIET_SECONDS = 1.5
DUPLICATE_WINDOW_SECONDS = 2.0
DELIVERY_TIMEOUT_SECONDS = 30.0
RECOVERY_TIMEOUT_SECONDS = 60.0


@pytest.fixture(scope="module")
def system(fresh_system):
    """The registry stopped, killed and restarted: a system of the module's own."""
    return fresh_system


@pytest.fixture(autouse=True)
def registry_running_afterwards(system) -> Iterator[None]:
    yield
    registry = system.processes.get("registry")
    if registry is not None and getattr(registry, "relay_paused", False):
        system.stop("registry")
        registry = None
    if registry is None:
        system.start("registry")
        system.wait_rpc_ready("registry")
    system.wait_ready()


@pytest.fixture(scope="module")
def auth(system) -> dict[str, str]:
    # Tokens are checked by the gateway alone, so this one outlives registry restarts.
    token = token_pair(system.base_url, ADMIN_USERNAME, ADMIN_PASSWORD)["access_token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def department(system, auth) -> str:
    response = requests.post(
        f"{system.base_url}/api/v1/departments", json=department_body(), headers=auth, timeout=30
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


class EventTap:
    """A queue of our own bound to the registry's event exchange, read with basic_get."""

    def __init__(self, amqp_uri: str, routing_key: str) -> None:
        # kombu's `pyamqp://` is plain AMQP 0-9-1 to pika.
        plain = "amqp" + amqp_uri[amqp_uri.index("://") :]
        self.connection = pika.BlockingConnection(pika.URLParameters(plain))
        self.channel = self.connection.channel()
        # Declared exactly as nameko declares it, so whichever side comes first agrees.
        self.channel.exchange_declare(
            EVENT_EXCHANGE, exchange_type="topic", durable=True, auto_delete=False
        )
        self.queue = self.channel.queue_declare("", exclusive=True).method.queue
        self.channel.queue_bind(self.queue, EVENT_EXCHANGE, routing_key=routing_key)

    def drain(self, seconds: float) -> list[dict]:
        """Every message that arrives within `seconds`."""
        received = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            method, properties, body = self.channel.basic_get(self.queue, auto_ack=True)
            if method is None:
                self.connection.sleep(0.1)
                continue
            event = json.loads(body)
            received.append({"event": event, "message_id": properties.message_id})
        return received

    def wait_for(self, predicate, timeout: float) -> list[dict]:
        """Messages received until one satisfies `predicate` (all of them, in order)."""
        received = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batch = self.drain(0.3)
            received.extend(batch)
            if any(predicate(m["event"]) for m in batch):
                return received
        raise AssertionError(f"no matching message within {timeout} s; got {received}")

    def close(self) -> None:
        if self.connection.is_open:
            self.connection.close()


@pytest.fixture
def registered_events(system) -> Iterator[EventTap]:
    tap = EventTap(system.amqp_uri, "alumnus_registered")
    yield tap
    tap.close()


def test_event_committed_before_a_sigkill_is_published_exactly_once(
    system, auth, department, registered_events
):
    system.stop("registry")
    paused = system.start("registry", OUTBOX_RELAY_PAUSED="1")
    paused.relay_paused = True  # for registry_running_afterwards, should this test fail
    system.wait_rpc_ready("registry")

    created = requests.post(
        f"{system.base_url}/api/v1/alumni",
        json=alumnus_body(department),
        headers=auth,
        timeout=30,
    )
    assert created.status_code == 201, created.text  # committed, with its outbox row
    alumnus_id = created.json()["id"]

    def about_it(event: dict) -> bool:
        return event["data"]["id"] == alumnus_id

    held = registered_events.drain(QUIET_SECONDS)
    assert held == [], "the paused relay published"

    system.kill("registry")  # SIGKILL: no shutdown hooks, the row is still unsent
    system.start("registry")
    system.wait_rpc_ready("registry")

    received = registered_events.wait_for(about_it, DELIVERY_TIMEOUT_SECONDS)
    received += registered_events.drain(DUPLICATE_WINDOW_SECONDS)
    ours = [m for m in received if about_it(m["event"])]
    assert len(ours) == 1, f"expected exactly one alumnus_registered, got {len(ours)}"

    event = ours[0]["event"]
    assert event["event_type"] == "alumnus_registered"
    assert event["version"] == 1
    assert ours[0]["message_id"] == event["event_id"]
    assert event["data"] == created.json(), "the event carries the record as committed"


def test_gateway_answers_clearly_while_the_registry_is_down_and_recovers(system, auth, department):
    bound = float(system.env()["RPC_TIMEOUT"]) + 3
    gateway = system.processes["gateway"]
    base = system.base_url
    lost = alumnus_body(department)
    system.kill("registry")

    def timed(method: str, path: str, **kwargs) -> tuple[requests.Response, float]:
        started = time.monotonic()
        response = requests.request(method, f"{base}{path}", timeout=bound, **kwargs)
        return response, time.monotonic() - started

    # The three wait on the registry together; each must answer within its bound.
    with ThreadPoolExecutor(max_workers=3) as pool:
        ready_call = pool.submit(timed, "GET", "/ready")
        search_call = pool.submit(timed, "GET", "/api/v1/alumni", headers=auth)
        # A write the caller is told failed must not happen later, when the registry is back.
        create_call = pool.submit(timed, "POST", "/api/v1/alumni", json=lost, headers=auth)
        (ready, ready_took), (search, search_took), (create, create_took) = (
            ready_call.result(),
            search_call.result(),
            create_call.result(),
        )

    assert ready_took < bound and search_took < bound and create_took < bound
    assert ready.status_code == 503
    assert ready.json()["status"] == "not_ready"
    checks = ready.json()["checks"]
    assert checks["broker"] == "ok"
    assert checks["registry"] != "ok" and "registry" in checks["registry"], checks
    assert checks["events"] == "ok", "the other services answer on"

    for response in (search, create):
        assert response.status_code in (503, 504), (response.status_code, response.text)
        error = assert_error(response, response.status_code)
        assert error["code"] in ("SERVICE_UNAVAILABLE", "SERVICE_TIMEOUT")
        assert error["details"] == {"service": "registry"}

    system.start("registry")
    system.wait_rpc_ready("registry")
    deadline = time.monotonic() + RECOVERY_TIMEOUT_SECONDS
    while True:
        ready = requests.get(f"{base}/ready", timeout=bound)
        if ready.status_code == 200:
            break
        assert time.monotonic() < deadline, f"not ready again: {ready.text}\n{system.logs()}"
        time.sleep(0.3)
    assert ready.json() == {
        "status": "ready",
        "checks": {"broker": "ok", **{e.name: "ok" for e in catalogue.rpc_services()}},
    }

    search = requests.get(
        f"{base}/api/v1/alumni", params={"q": lost["name"]}, headers=auth, timeout=bound
    )
    assert search.status_code == 200, search.text
    assert search.json()["items"] == [], "a call that timed out was executed after the outage"
    assert gateway.poll() is None and system.processes["gateway"] is gateway, (
        "the gateway recovered without a restart"
    )
