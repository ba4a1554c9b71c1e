"""Two real events processes, one PostgreSQL database: 500 simultaneous sign-ups for 100 seats.

The process-level counterpart of `test_two_instances_never_oversell` in
tests/integration/test_events_service.py (two containers inside the test process).
Here each instance is its own `python -m services.launch events` process, started as
operators start them: both migrate the same fresh database (the advisory lock in
services/common/migrate.py lets one of them do it), then consume the same
`rpc-events` queue on the same vhost, so RabbitMQ hands the calls out to both.

What must hold (the per-event row lock of services/events/events.py):

* 500 sign-ups for 500 different alumni give exactly 100 seats and a waitlist of
  400 numbered 1..400, with `seats_taken` = 100; every sign-up recorded one event;
* 50 cancellations at once promote exactly the first 50 of the waitlist, once each,
  and everyone behind them moves up by 50, keeping their order;
* both processes took a real share of the sign-ups, or the test proves nothing
  about locking *across* processes. This is read from the RabbitMQ management API:
  each instance consumes `rpc-events` on a connection of its own, and the broker
  counts the messages it delivered on each. Those counters are refreshed every few
  seconds (`collect_statistics_interval`), so the test waits until they account for
  every call it made.

PostgreSQL only: SQLite has no row locks, and a file shared by two processes is not a
deployment anyone runs.
"""

from __future__ import annotations

import contextlib
import json
import random
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from eventlet.greenpool import GreenPool
from eventlet.queue import LightQueue
from nameko.standalone.rpc import ClusterRpcProxy
from requests.utils import get_auth_from_url, urldefragauth
from sqlalchemy import create_engine, func, select

from services.events.models import OutboxMessage
from tests.conftest import DatabaseFactory
from tests.support.callers import CALLER_KEY, OFFICE, signed_context
from tests.support.events_data import open_event
from tests.support.processes import SystemUnderTest

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(180)]

CAPACITY = 100
SIGN_UPS = 500
CANCELLATIONS = 50
CLIENTS = 100  # concurrent callers, each with a standalone proxy of its own
INSTANCES = 2
RPC_QUEUE = "rpc-events"
RPC_TIMEOUT_SECONDS = 60
START_TIMEOUT_SECONDS = 60
STATS_TIMEOUT_SECONDS = 30
MIN_SHARE = 0.10  # of the sign-ups, that each instance must have handled


# ---- RabbitMQ management API -----------------------------------------------------


class Broker:
    """What the management API says about the consumers of one queue."""

    def __init__(self, api_uri: str, vhost: str) -> None:
        self.base = urldefragauth(api_uri).rstrip("/") + "/api"
        self.vhost = vhost
        self.http = requests.Session()
        self.http.trust_env = False  # the broker is local: never through a proxy
        self.http.auth = get_auth_from_url(api_uri)

    def _get(self, *parts: str) -> dict[str, Any] | None:
        url = "/".join([self.base, *(quote(part, safe="") for part in parts)])
        response = self.http.get(url, timeout=10)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()

    def consumers(self, queue: str) -> list[dict[str, Any]]:
        """Channel details of each consumer of `queue` the broker has fully reported."""
        details = self._get("queues", self.vhost, queue) or {}
        return [
            c["channel_details"]
            for c in details.get("consumer_details") or []
            # An empty list while the broker has yet to record the consumer's channel.
            if isinstance(c.get("channel_details"), dict) and c["channel_details"].get("name")
        ]

    def delivered(self, channel: str) -> int | None:
        """Messages the broker delivered on `channel` so far; None while it has no counts."""
        details = self._get("channels", channel) or {}
        stats = details.get("message_stats")
        return None if stats is None else int(stats.get("deliver_get", 0))


# ---- processes --------------------------------------------------------------------


@pytest.fixture
def events_database_url(tmp_path_factory) -> Iterator[str]:
    """A fresh, empty PostgreSQL database; the instances migrate it themselves."""
    factory = DatabaseFactory("postgres", tmp_path_factory)
    try:
        yield factory.new("events_concurrency")
    finally:
        factory.drop_all()


@pytest.fixture
def broker(request, rabbit_config) -> Broker:
    return Broker(request.config.getoption("RABBIT_API_URI"), rabbit_config["vhost"])


@pytest.fixture
def instances(rabbit_config, events_database_url, tmp_path) -> Iterator[list[SystemUnderTest]]:
    """Two `python -m services.launch events` processes, each with a log of its own.

    Stopped before `events_database_url` drops the database (fixtures tear down in
    reverse order).
    """
    started = [
        SystemUnderTest(
            amqp_uri=rabbit_config["AMQP_URI"],
            database_urls={"events": events_database_url},
            var_dir=_new_dir(tmp_path / f"events-{n}"),
        )
        for n in range(1, INSTANCES + 1)
    ]
    try:
        for sut in started:
            sut.start("events")
        yield started
    finally:
        # Both at once, and each signalled exactly once: `nameko run` that gets a second
        # SIGTERM while stopping starts a second stop, which waits forever.
        list(GreenPool(INSTANCES).imap(lambda sut: sut.stop_all(), started))
        for sut in started:
            sut.remove_broker_accounts()


def _new_dir(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


def logs(instances: list[SystemUnderTest]) -> str:
    return "\n".join(f"=== instance {n} ===\n{sut.logs()}" for n, sut in enumerate(instances, 1))


@contextlib.contextmanager
def logs_on_failure(instances: list[SystemUnderTest]) -> Iterator[None]:
    """Print both instances' logs when the test fails (pytest shows them with the failure)."""
    try:
        yield
    except BaseException:
        print(logs(instances))
        raise


def wait_until_both_consume(
    instances: list[SystemUnderTest], broker: Broker, amqp_uri: str
) -> list[str]:
    """Until two connections consume `rpc-events` and the service answers; their channels."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        for n, sut in enumerate(instances, 1):
            process = sut.processes["events"]
            if process.poll() is not None:
                raise AssertionError(f"instance {n} exited with {process.returncode}")
        consumers = broker.consumers(RPC_QUEUE)
        channels = sorted({c["name"] for c in consumers})
        if len(channels) == len({c["connection_name"] for c in consumers}) == INSTANCES:
            with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=RPC_TIMEOUT_SECONDS) as cluster:
                assert cluster.events.health()["status"] == "ok"
            return channels
        time.sleep(0.2)
    raise AssertionError(f"two instances were not consuming {RPC_QUEUE} within the time allowed")


class Clients:
    """`count` standalone proxies shared by green threads, one thread per proxy at a time
    (a standalone proxy reads its replies on its own connection and is not thread-safe)."""

    def __init__(self, amqp_uri: str, count: int) -> None:
        self.amqp_uri = amqp_uri
        self.count = count
        self.idle: LightQueue = LightQueue()
        self.stack = contextlib.ExitStack()
        self.calls = 0  # every RPC made through these clients

    def __enter__(self) -> Clients:
        def connected(_: int):
            proxy = ClusterRpcProxy(
                {"AMQP_URI": self.amqp_uri},
                timeout=RPC_TIMEOUT_SECONDS,
                context_data=signed_context(OFFICE, CALLER_KEY),
            )
            cluster = proxy.start()
            self.stack.callback(proxy.stop)
            return cluster

        try:
            for cluster in GreenPool(self.count).imap(connected, range(self.count)):
                self.idle.put(cluster)
        except BaseException:
            self.stack.close()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.stack.close()

    def call(self, method: str, *args: Any) -> Any:
        cluster = self.idle.get()
        try:
            self.calls += 1
            return getattr(cluster.events, method)(*args)
        finally:
            self.idle.put(cluster)

    def all_at_once(self, method: str, argument_lists: list[tuple]) -> list[Any]:
        """Every call in flight together (as many as there are proxies), results in order."""
        pool = GreenPool(self.count)
        return list(pool.imap(lambda args: self.call(method, *args), argument_lists))


def all_registrations(call: Callable[..., Any], event_id: str) -> dict[str, dict[str, Any]]:
    """Every registration of the event by id, read page by page over RPC."""
    found: dict[str, dict[str, Any]] = {}
    params: dict[str, Any] = {"limit": 100}
    while True:
        page = call("list_registrations", event_id, params)
        found.update((r["id"], r) for r in page["items"])
        if not page["next_cursor"]:
            return found
        params = {"limit": 100, "cursor": page["next_cursor"]}


def outbox_counts(database_url: str) -> tuple[dict[str, int], list[str]]:
    """Events recorded per type, and the registrations that `registration_promoted` names."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            counts = dict(
                connection.execute(
                    select(OutboxMessage.event_type, func.count()).group_by(
                        OutboxMessage.event_type
                    )
                ).all()
            )
            promoted = [
                json.loads(payload)["data"]["registration"]["id"]
                for payload in connection.scalars(
                    select(OutboxMessage.payload).where(
                        OutboxMessage.event_type == "registration_promoted"
                    )
                )
            ]
    finally:
        engine.dispose()
    return counts, promoted


def wait_for_delivery_counts(broker: Broker, channels: list[str], calls: int) -> list[int]:
    """Per channel, the messages delivered, once the broker's counters include all `calls`."""
    deadline = time.monotonic() + STATS_TIMEOUT_SECONDS
    counts: list[int | None] = []
    while time.monotonic() < deadline:
        counts = [broker.delivered(channel) for channel in channels]
        if None not in counts and sum(counts) >= calls:
            return counts
        time.sleep(0.5)
    raise AssertionError(
        f"the broker's delivery counters {counts} did not reach the {calls} calls made within "
        f"{STATS_TIMEOUT_SECONDS} s; per-channel message stats need the management plugin's "
        "metrics collector (management_agent.disable_metrics_collector = false)"
    )


# ---- the test ------------------------------------------------------------------------


def test_two_processes_seat_exactly_capacity_and_promote_in_order(
    instances, broker, rabbit_config, events_database_url
):
    started = time.monotonic()

    def progress(what: str) -> None:
        print(f"{time.monotonic() - started:6.1f} s  {what}", flush=True)

    amqp_uri = rabbit_config["AMQP_URI"]
    with logs_on_failure(instances):
        channels = wait_until_both_consume(instances, broker, amqp_uri)
        progress("both instances consume rpc-events")
        with Clients(amqp_uri, CLIENTS) as clients:
            progress(f"{CLIENTS} clients connected")
            call = clients.call
            event = call("create_event", open_event(capacity=CAPACITY))
            call("publish_event", event["id"])
            event_id = event["id"]

            # ---- 500 sign-ups at once ----
            alumni = [str(uuid.uuid4()) for _ in range(SIGN_UPS)]
            calls_before = clients.calls
            signed = clients.all_at_once("sign_up", [(event_id, {"alumnus_id": a}) for a in alumni])
            sign_up_calls = clients.calls - calls_before
            progress(f"{SIGN_UPS} sign-ups answered")

            assert [r["alumnus_id"] for r in signed] == alumni
            assert len({r["id"] for r in signed}) == SIGN_UPS
            confirmed = [r for r in signed if r["status"] == "confirmed"]
            waitlisted = [r for r in signed if r["status"] == "waitlisted"]
            assert (len(confirmed), len(waitlisted)) == (CAPACITY, SIGN_UPS - CAPACITY)
            assert sorted(r["position"] for r in waitlisted) == list(
                range(1, SIGN_UPS - CAPACITY + 1)
            )
            assert all(r["position"] is None for r in confirmed)
            stats = call("attendance_stats", event_id)
            assert (stats["confirmed"], stats["waitlisted"], stats["seats"]) == (
                CAPACITY,
                SIGN_UPS - CAPACITY,
                CAPACITY,
            )
            assert stats["seats_left"] == 0
            assert call("get_event", event_id)["seats_taken"] == CAPACITY
            stored = all_registrations(call, event_id)
            assert {i: (r["status"], r["position"]) for i, r in stored.items()} == {
                r["id"]: (r["status"], r["position"]) for r in signed
            }

            # ---- 50 cancellations at once ----
            leaving = random.Random(7).sample([r["id"] for r in confirmed], CANCELLATIONS)
            by_position = {r["position"]: r["id"] for r in waitlisted}
            first_in_line = {by_position[p] for p in range(1, CANCELLATIONS + 1)}
            cancelled = clients.all_at_once(
                "cancel_registration", [(event_id, rid) for rid in leaving]
            )
            assert [r["status"] for r in cancelled] == ["cancelled"] * CANCELLATIONS
            progress(f"{CANCELLATIONS} cancellations answered")

            after = all_registrations(call, event_id)
            status_of = {i: r["status"] for i, r in after.items()}
            staying = {r["id"] for r in confirmed} - set(leaving)
            assert {i for i, s in status_of.items() if s == "cancelled"} == set(leaving)
            assert {i for i, s in status_of.items() if s == "confirmed"} == staying | first_in_line
            # Everyone still waiting moved up by exactly the 50 promoted ahead of them.
            assert {i: r["position"] for i, r in after.items() if r["status"] == "waitlisted"} == {
                r["id"]: r["position"] - CANCELLATIONS
                for r in waitlisted
                if r["position"] > CANCELLATIONS
            }
            stats = call("attendance_stats", event_id)
            assert (stats["confirmed"], stats["waitlisted"], stats["cancelled"]) == (
                CAPACITY,
                SIGN_UPS - CAPACITY - CANCELLATIONS,
                CANCELLATIONS,
            )
            assert (stats["seats"], stats["seats_left"]) == (CAPACITY, 0)
            assert call("get_event", event_id)["seats_taken"] == CAPACITY
            total_calls = clients.calls + 1  # and the health call of wait_until_both_consume

        counts, promoted = outbox_counts(events_database_url)
        assert sorted(promoted) == sorted(first_in_line)  # each of them promoted exactly once
        assert counts == {
            "event_published": 1,
            "registration_confirmed": CAPACITY,
            "registration_waitlisted": SIGN_UPS - CAPACITY,
            "registration_cancelled": CANCELLATIONS,
            "registration_promoted": CANCELLATIONS,
        }

        # ---- both processes served sign-ups ----
        progress("state checked")
        delivered = wait_for_delivery_counts(broker, channels, total_calls)
        progress("broker's delivery counters read")
        print(f"rpc-events deliveries per instance: {delivered} (calls made: {total_calls})")
        other_calls = total_calls - sign_up_calls
        for n, count in enumerate(delivered, 1):
            # Even if every other call had gone to this instance, it still took this many sign-ups.
            assert count - other_calls >= MIN_SHARE * SIGN_UPS, (
                f"instance {n} took only {count} of {sum(delivered)} calls"
            )
