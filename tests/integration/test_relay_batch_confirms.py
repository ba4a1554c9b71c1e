"""The outbox relay's batches against the real broker: a batch is published at once and
its confirms are waited for once (services/common/broker.py `ConfirmingPublisher`), and
still a row is marked sent only once the broker has confirmed it and every row before it.
"""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest
from amqp.exceptions import MessageNacked
from sqlalchemy import select

from services.common import broker
from services.common.adapters.publisher import BrokerPublisher, PartlyPublished, StoredEvent
from services.common.relay import BATCH_SIZE, OutboxRelay
from services.registry.models import OutboxMessage
from tests.integration.test_outbox_delivery import EXCHANGE, Subscriber
from tests.support.registry_data import alumnus_snapshot


def record(session_factory, count: int) -> list[str]:
    with session_factory() as session:
        ids = [
            OutboxMessage.record(session, "alumnus_registered", alumnus_snapshot(name=f"校友{n}"))[
                "event_id"
            ]
            for n in range(count)
        ]
        session.commit()
    return ids


def sent_flags(session_factory) -> list[bool]:
    with session_factory() as session:
        return [
            sent is not None
            for sent in session.scalars(select(OutboxMessage.sent_at).order_by(OutboxMessage.id))
        ]


@pytest.fixture
def subscriber(rabbit_config):
    subscriber = Subscriber(rabbit_config["AMQP_URI"])
    yield subscriber
    subscriber.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_batches_reach_the_broker_whole_and_in_order(
    rabbit_config, registry_session_factory, subscriber
):
    queue = subscriber.bind("#")
    written = record(registry_session_factory, BATCH_SIZE * 2 + 7)
    relay = OutboxRelay(
        registry_session_factory,
        OutboxMessage,
        BrokerPublisher(rabbit_config["AMQP_URI"], "registry"),
    )
    try:
        assert [relay.flush(), relay.flush(), relay.flush(), relay.flush()] == [
            BATCH_SIZE,
            BATCH_SIZE,
            7,
            0,
        ]
    finally:
        relay.publisher.close()

    received = subscriber.wait_for(queue, len(written), 15)
    assert [json.loads(body)["event_id"] for _, _, body in received] == written
    assert all(sent_flags(registry_session_factory))


@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
def test_rows_the_broker_refuses_stay_unsent_and_go_later(
    rabbit_config, registry_session_factory, subscriber
):
    """RabbitMQ nacks what a full `reject-publish` queue cannot take: the rows before stay
    sent, the refused one and every row after it stay unsent, and go once it has room."""
    queue = subscriber.bind("#")
    full = subscriber.channel.queue_declare(
        "", exclusive=True, arguments={"x-max-length": 2, "x-overflow": "reject-publish"}
    ).method.queue
    subscriber.channel.queue_bind(full, EXCHANGE, routing_key="#")
    written = record(registry_session_factory, 5)
    relay = OutboxRelay(
        registry_session_factory,
        OutboxMessage,
        BrokerPublisher(rabbit_config["AMQP_URI"], "registry"),
    )
    try:
        with pytest.raises(MessageNacked):
            relay.flush()
        assert sent_flags(registry_session_factory) == [True, True, False, False, False]

        subscriber.channel.queue_purge(full)
        subscriber.channel.queue_delete(full)
        assert relay.flush() == 3
    finally:
        relay.publisher.close()
    assert all(sent_flags(registry_session_factory))
    received = [json.loads(b)["event_id"] for _, _, b in subscriber.wait_for(queue, 8, 5)]
    # At least once: what the other queue took before the refusal may come again.
    assert list(dict.fromkeys(received)) == written


class FakeAmqpConnection:
    """The py-amqp side of a fake connection: what `broker.gathered_writes` uses."""

    frame_max = 131072

    def __init__(self) -> None:
        self.frame_writer = None
        self.transport = self

    @contextmanager
    def having_timeout(self, timeout):
        yield

    def write(self, data) -> None:
        pass


@pytest.mark.parametrize(("padding", "writes_expected"), [(0, 1), (2000, 2)])
def test_a_batch_goes_to_the_broker_in_few_socket_writes(
    rabbit_config, subscriber, padding, writes_expected
):
    """50 small events in one write; 50 of ~2 KB (~100 KB) in writes of WRITE_BYTES."""
    queue = subscriber.bind("alumnus_registered")
    publisher = BrokerPublisher(rabbit_config["AMQP_URI"], "registry")
    publisher.publish_many([])  # connects
    transport = publisher._publisher._connection.connection.transport
    writes: list[int] = []
    sending = transport.write

    def counted(data):
        writes.append(len(data))
        sending(data)

    transport.write = counted
    events = [
        StoredEvent(
            f"e{n}", "alumnus_registered", json.dumps({"event_id": f"e{n}", "pad": "x" * padding})
        )
        for n in range(50)
    ]
    try:
        publisher.publish_many(events)
    finally:
        publisher.close()
    received = [json.loads(b)["event_id"] for _, _, b in subscriber.wait_for(queue, 50, 5)]
    assert received == [f"e{n}" for n in range(50)]
    assert len(writes) == writes_expected
    assert max(writes) < broker.WRITE_BYTES + padding + 1024


def test_a_batch_that_cannot_be_made_fails_before_its_small_start_is_sent(
    rabbit_config, subscriber
):
    """A message that fails on its way into the batch (here one kombu cannot serialise)
    fails the batch as unconfirmed; what was gathered before it and not yet sent is not
    sent, and the next batch goes."""
    queue = subscriber.bind("thing_happened")
    publisher = broker.ConfirmingPublisher(rabbit_config["AMQP_URI"])
    routed = {
        "exchange": BrokerPublisher(rabbit_config["AMQP_URI"], "registry").exchange,
        "routing_key": "thing_happened",
    }
    try:
        with pytest.raises(PartlyPublished) as failure:
            publisher.publish_many([({"n": 1}, routed), ({"n": object()}, routed)])
        assert failure.value.confirmed == 0
        publisher.publish_many([({"n": 3}, routed)])
    finally:
        publisher.close()
    assert [json.loads(b)["n"] for _, _, b in subscriber.wait_for(queue, 2, 3)] == [3]


def test_a_connection_lost_while_waiting_counts_only_the_confirmed_first_messages(monkeypatch):
    publisher = broker.ConfirmingPublisher("amqp://guest:guest@127.0.0.1:1/never-used")
    published: list = []

    class FakeProducer:
        def publish(self, payload, **properties):
            published.append(payload)

    class FakeConnection:
        connection = FakeAmqpConnection()

        def drain_events(self, timeout):
            # The broker confirms the first two (one `multiple` ack) and the fourth, then
            # the connection dies: the third was never confirmed.
            publisher._on_ack(2, True)
            publisher._on_ack(4, False)
            raise ConnectionResetError(104, "reset")

        def collect(self, socket_timeout):
            pass

    def connect():
        publisher._connection = FakeConnection()
        publisher._next_tag = 1
        publisher._producer = FakeProducer()
        return publisher._producer

    monkeypatch.setattr(publisher, "_connect", connect)
    with pytest.raises(PartlyPublished) as failure:
        publisher.publish_many([({"n": n}, {}) for n in range(5)])
    assert failure.value.confirmed == 2
    assert isinstance(failure.value.error, ConnectionResetError)
    assert len(published) == 5
    assert publisher._connection is None, "the next batch starts on a fresh connection"


def test_no_confirm_in_time_fails_the_batch(monkeypatch):
    monkeypatch.setattr(broker, "CONFIRM_TIMEOUT_SECONDS", 0.05)
    publisher = broker.ConfirmingPublisher("amqp://guest:guest@127.0.0.1:1/never-used")

    class Silent:
        connection = FakeAmqpConnection()

        def publish(self, payload, **properties):
            pass

        def drain_events(self, timeout):
            raise TimeoutError("timed out")

        def collect(self, socket_timeout):
            pass

    def connect():
        publisher._connection = Silent()
        publisher._next_tag = 1
        publisher._producer = Silent()
        return publisher._producer

    monkeypatch.setattr(publisher, "_connect", connect)
    with pytest.raises(PartlyPublished) as failure:
        publisher.publish_many([({"n": 1}, {})])
    assert failure.value.confirmed == 0
    assert isinstance(failure.value.error, broker.BROKER_ERRORS)
