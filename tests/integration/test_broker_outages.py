"""Each extension of the platform rides out a broker outage, on a RabbitMQ node of the test's
own whose application is stopped and started (tests/support/broker_node.py): none lets the
error reach its container, each notes the outage once in the log, and each is back by
itself soon after the broker is."""

from __future__ import annotations

import json
import logging
import time
import uuid

import eventlet
import pytest
from kombu import Connection, Exchange, Producer, Queue
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.services import entrypoint_hook
from sqlalchemy import func, select

from services.common.adapters.publisher import BrokerPublisher
from services.common.entrypoints import HealthMixin, configured_timer, rpc
from services.common.errors import ServiceUnavailable
from services.common.relay import OutboxRelay
from services.common.reliable_events import declare_queues, reliable_event_handler
from services.common.rpc import TimedRpcProxy
from services.registry.models import OutboxMessage
from tests.support.registry_data import alumnus_snapshot
from tests.support.taps import as_publisher

BACK_WITHIN_SECONDS = 10
OUTAGE_SECONDS = 2.0
# nameko retries publishing a reply for about 5 s before it raises: the crash needs
# an outage longer than that.
REPLY_GIVES_UP_SECONDS = 8.0
# A call that cannot reach the broker answers in about a second (broker.PUBLISH_RETRY_POLICY);
# this bound leaves room for a busy CI machine and is still well inside the deadline.
FAILS_FAST_SECONDS = 3.0


def wait_until(condition, timeout: float = BACK_WITHIN_SECONDS, step: float = 0.1):
    """`condition()`'s first true value within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s")
        eventlet.sleep(step)


def messages_from(records, logger_message: str) -> list[str]:
    return [r.getMessage() for r in records if logger_message in r.getMessage()]


def crashes(records) -> list[str]:
    """What nameko logs when an extension's error reaches a container."""
    return [r.getMessage() for r in records if r.levelno >= logging.CRITICAL]


@pytest.fixture
def amqp_uri(outage_broker) -> str:
    return outage_broker.new_vhost()


@pytest.fixture
def broker_log(caplog):
    caplog.set_level(logging.WARNING)
    return caplog


# ---- services under test -------------------------------------------------------------


class Answerer(HealthMixin):
    name = "answerer"

    @rpc
    def answer_after(self, seconds: float) -> float:
        eventlet.sleep(seconds)
        return seconds


class Caller:
    name = "caller"

    answerer = TimedRpcProxy("answerer", timeout=5)

    @rpc
    def ask(self) -> dict:
        return self.answerer.health()


TICKS: list[str] = []


class Ticker:
    name = "ticker"

    answerer = TimedRpcProxy("answerer", timeout=2)

    @configured_timer("OUTAGE_TEST_TICK_SECONDS")
    def tick(self) -> None:
        TICKS.append(self.answerer.health()["status"])


HANDLED: list[tuple[str, int]] = []


class Listener:
    name = "listener"

    @reliable_event_handler("outage_source", "thing_happened", retry_delays=(0.2,))
    def on_thing(self, payload: dict) -> None:
        attempt = sum(1 for event_id, _ in HANDLED if event_id == payload["id"]) + 1
        HANDLED.append((payload["id"], attempt))
        eventlet.sleep(payload["seconds"])
        if attempt == 1 and payload["fail_first"]:
            raise RuntimeError("the first attempt fails")


def started(container_factory, service_cls, amqp_uri: str, **config):
    # The one account of this node publishes the test's events, as their source.
    settings = {"AMQP_URI": amqp_uri, "OUTAGE_SOURCE_AMQP_URI": amqp_uri, **config}
    container = container_factory(service_cls, settings)
    container.start()
    return container


def answers(amqp_uri: str, service: str) -> bool:
    try:
        with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=2) as cluster:
            return getattr(cluster, service).health()["status"] == "ok"
    except Exception:
        return False


def send_rpc_request(amqp_uri: str, service: str, method: str, *args) -> None:
    """An RPC request whose reply nobody waits for, as a caller that gave up would leave."""
    with Connection(amqp_uri) as connection:
        Producer(connection).publish(
            {"args": list(args), "kwargs": {}},
            exchange=Exchange("nameko-rpc", type="topic", durable=True),
            routing_key=f"{service}.{method}",
            reply_to=str(uuid.uuid4()),
            correlation_id=str(uuid.uuid4()),
            serializer="json",
        )


# ---- the tests -------------------------------------------------------------------------


def test_rpc_service_survives_the_broker_leaving_while_it_answers(
    container_factory, amqp_uri, outage_broker, broker_log
):
    """The issue's crash: the reply of a call in progress met a broker that had gone, and
    the error killed the service's container."""
    container = started(container_factory, Answerer, amqp_uri)
    send_rpc_request(amqp_uri, "answerer", "answer_after", 1.0)
    eventlet.sleep(0.3)  # the worker is running

    with outage_broker.outage():
        # It finishes, and its reply fails, while the broker is away.
        eventlet.sleep(REPLY_GIVES_UP_SECONDS)
        assert crashes(broker_log.records) == []

    wait_until(lambda: answers(amqp_uri, "answerer"))
    assert container.started
    assert crashes(broker_log.records) == []
    assert len(messages_from(broker_log.records, "message consumers: broker unreachable")) == 1
    assert len(messages_from(broker_log.records, "message consumers: broker reachable")) == 1


def test_health_reports_the_consumers_reconnecting_until_the_broker_is_back(
    container_factory, amqp_uri, outage_broker
):
    container = started(container_factory, Answerer, amqp_uri)
    with entrypoint_hook(container, "health") as health:
        assert health() == {"service": "answerer", "status": "ok", "broker": "ok"}
        with outage_broker.outage():
            # The hook calls the method in the container, without the broker.
            during = wait_until(lambda: health()["broker"] == "reconnecting" and health())
        assert during["reconnecting"] == ["message consumers"]
        wait_until(lambda: health()["broker"] == "ok")


def test_rpc_proxy_fails_fast_and_clearly_while_the_broker_is_away_then_recovers(
    container_factory, amqp_uri, outage_broker, broker_log
):
    started(container_factory, Answerer, amqp_uri)
    caller = started(container_factory, Caller, amqp_uri)

    with entrypoint_hook(caller, "ask") as ask:
        assert ask()["status"] == "ok"
        with outage_broker.outage():
            for _ in range(3):
                began = time.monotonic()
                with pytest.raises(ServiceUnavailable):
                    ask()
                assert time.monotonic() - began < FAILS_FAST_SECONDS

        def asked() -> bool:
            try:
                return ask()["status"] == "ok"
            except ServiceUnavailable:
                return False

        wait_until(asked)

    assert caller.started
    assert len(messages_from(broker_log.records, "RPC calls: broker unreachable")) == 1
    assert len(messages_from(broker_log.records, "RPC calls: broker reachable again")) == 1


def test_timer_keeps_ticking_through_an_outage(
    container_factory, amqp_uri, outage_broker, broker_log
):
    started(container_factory, Answerer, amqp_uri)
    ticker = started(container_factory, Ticker, amqp_uri, OUTAGE_TEST_TICK_SECONDS=0.2)
    wait_until(lambda: "ok" in TICKS)

    with outage_broker.outage():
        eventlet.sleep(OUTAGE_SECONDS)
    TICKS.clear()

    wait_until(lambda: "ok" in TICKS)
    assert ticker.started
    failed_ticks = messages_from(broker_log.records, "(expected) error handling worker")
    assert failed_ticks, "the ticks during the outage should have failed as expected errors"
    assert not [r for r in broker_log.records if r.levelno >= logging.ERROR]


def test_event_being_handled_when_the_broker_leaves_is_handled_after_it_returns(
    container_factory, amqp_uri, outage_broker, broker_log
):
    """The handler fails while the broker is away, so its retry copy cannot be parked: the
    message is not lost, and is handled again once the broker is back."""
    listener = started(container_factory, Listener, amqp_uri)
    event_id = str(uuid.uuid4())
    with Connection(amqp_uri) as connection:
        Producer(connection).publish(
            {"id": event_id, "seconds": 1.0, "fail_first": True},
            exchange=Exchange("outage_source.events", type="topic", durable=True),
            routing_key="thing_happened",
            serializer="json",
            **as_publisher({"AMQP_URI": amqp_uri}),
        )
    wait_until(lambda: HANDLED)

    with outage_broker.outage():
        eventlet.sleep(OUTAGE_SECONDS)
        assert listener.started

    wait_until(lambda: (event_id, 2) in HANDLED)
    assert listener.started
    assert crashes(broker_log.records) == []


def test_queue_declaration_waits_for_the_broker(amqp_uri, outage_broker, broker_log):
    """How a service's launch declares the event queues when the broker is not up yet."""
    queue = Queue(f"outage-test-{uuid.uuid4().hex[:8]}", durable=True)
    with outage_broker.outage():
        declaring = eventlet.spawn(declare_queues, amqp_uri, [queue])
        eventlet.sleep(OUTAGE_SECONDS)
        assert not declaring.dead, "the declaration gave up while the broker was away"

    with eventlet.Timeout(BACK_WITHIN_SECONDS):
        declaring.wait()
    with Connection(amqp_uri) as connection:
        connection.default_channel.queue_declare(queue.name, passive=True)
    assert len(messages_from(broker_log.records, "event queue declaration: broker")) == 2


def test_stopping_a_service_during_an_outage_does_not_wait_for_the_broker(
    container_factory, amqp_uri, outage_broker
):
    container = started(container_factory, Answerer, amqp_uri)
    with outage_broker.outage():
        eventlet.sleep(OUTAGE_SECONDS)  # the consumer has noticed
        with eventlet.Timeout(5):
            container.stop()
    assert not container.started


def test_relay_publishes_what_was_written_before_and_during_the_outage_once_in_order(
    registry_session_factory, amqp_uri, outage_broker, broker_log
):
    with Connection(amqp_uri) as connection:
        tap = Queue(
            "outage-test-subscriber",
            exchange=Exchange("registry.events", type="topic", durable=True),
            routing_key="#",
            durable=True,
        )
        tap.bind(connection.default_channel).declare()
    relay = OutboxRelay(
        registry_session_factory, OutboxMessage, BrokerPublisher(amqp_uri, "registry")
    )
    runner = eventlet.spawn(relay.run)

    def record(count: int) -> list[str]:
        ids = []
        for _ in range(count):
            with registry_session_factory() as session:
                event = OutboxMessage.record(session, "alumnus_registered", alumnus_snapshot())
                session.commit()
            ids.append(event["event_id"])
            relay.wake()
        return ids

    try:
        written = record(2)
        wait_until(lambda: unsent(registry_session_factory) == 0)
        with outage_broker.outage():
            written += record(3)
            eventlet.sleep(OUTAGE_SECONDS)
        wait_until(lambda: unsent(registry_session_factory) == 0)
    finally:
        relay.stop()
        runner.wait()

    received = drain(amqp_uri, tap.name)
    assert first_occurrences(received) == written, "each event once, in the order written"
    assert len(messages_from(broker_log.records, "outbox relay: broker unreachable")) == 1
    assert len(messages_from(broker_log.records, "outbox relay: broker reachable again")) == 1


def unsent(session_factory) -> int:
    with session_factory() as session:
        pending = select(func.count()).where(OutboxMessage.sent_at.is_(None))
        return session.scalar(pending)


def drain(amqp_uri: str, queue: str) -> list[str]:
    """The event ids on `queue`, in the order it holds them."""
    ids = []
    with Connection(amqp_uri) as connection:
        channel = connection.default_channel
        while (message := channel.basic_get(queue, no_ack=True)) is not None:
            ids.append(json.loads(message.body)["event_id"])
    return ids


def first_occurrences(ids: list[str]) -> list[str]:
    """What a subscriber that deduplicates by event id sees."""
    return list(dict.fromkeys(ids))
