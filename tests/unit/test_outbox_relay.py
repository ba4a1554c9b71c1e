"""The outbox relay with the in-memory publisher in place of the broker (SQLite and
PostgreSQL), and the broker adapter's message properties."""

from __future__ import annotations

import json
import time

import eventlet
import pytest
from sqlalchemy import func, select

from services.common.adapters.publisher import BrokerPublisher, InMemoryPublisher, StoredEvent
from services.common.contracts import build_event
from services.common.dependencies import WorkerDatabase
from services.common.relay import BATCH_SIZE, OutboxRelay
from services.registry import domain
from services.registry.models import Alumnus, Base, OutboxMessage
from tests.support.registry_data import alumnus_snapshot


def alumnus_payload(name: str) -> dict:
    return alumnus_snapshot(name=name, city="北京")


@pytest.fixture
def relay(registry_session_factory):
    return OutboxRelay(registry_session_factory, OutboxMessage, InMemoryPublisher())


def record_events(session_factory, *names: str) -> list[dict]:
    """One committed transaction per event, as separate business operations would make them."""
    events = []
    for name in names:
        with session_factory() as session:
            events.append(
                OutboxMessage.record(session, "alumnus_registered", alumnus_payload(name))
            )
            session.commit()
    return events


def rows(session_factory) -> list[OutboxMessage]:
    with session_factory() as session:
        return session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_flush_publishes_unsent_rows_in_order_and_marks_them_sent(relay, registry_session_factory):
    events = record_events(registry_session_factory, "甲", "乙", "丙")

    assert relay.flush() == 3

    assert relay.publisher.published == events
    stored = rows(registry_session_factory)
    assert [r.event_id for r in stored] == [e["event_id"] for e in events]
    assert all(r.sent_at is not None for r in stored)


def test_a_rows_late_data_is_merged_into_the_event_it_publishes(relay, registry_session_factory):
    """Values its statement decided (`late_data`, services/common/outbox.py) join the
    encrypted payload's `data` when published (the waitlist's nested place:
    tests/integration/test_events_seat_at_once.py)."""
    first, second = record_events(registry_session_factory, "甲", "乙")
    with registry_session_factory() as session:
        row = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).first()
        row.late_data = json.dumps({"city": "上海", "seq": 7})
        session.commit()

    assert relay.flush() == 2

    merged = json.loads(json.dumps(first))
    merged["data"] |= {"city": "上海", "seq": 7}
    assert relay.publisher.published == [merged, second]
    assert merged["data"]["name"] == "甲"  # the payload's other fields kept


def test_flush_does_not_republish_sent_rows(relay, registry_session_factory):
    record_events(registry_session_factory, "甲", "乙")
    assert relay.flush() == 2
    assert relay.flush() == 0
    assert len(relay.publisher.published) == 2

    (later,) = record_events(registry_session_factory, "丁")
    assert relay.flush() == 1
    assert len(relay.publisher.published) == 3
    assert relay.publisher.published[-1] == later


def test_publish_failure_keeps_earlier_rows_sent_and_the_failed_one_unsent(
    relay, registry_session_factory
):
    events = record_events(registry_session_factory, "甲", "乙", "丙")
    relay.publisher = InMemoryPublisher(fail_on_call=2)

    with pytest.raises(ConnectionError):
        relay.flush()

    first, second, third = rows(registry_session_factory)
    assert first.sent_at is not None
    assert second.sent_at is None
    assert third.sent_at is None
    assert relay.publisher.published == events[:1]

    # The next flush starts again at the row that failed, and keeps the order.
    assert relay.flush() == 2
    assert relay.publisher.published == events
    assert all(r.sent_at is not None for r in rows(registry_session_factory))


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_two_relays_never_publish_the_same_row(relay, registry_session_factory):
    """Two instances of a service relay at once: rows one has taken are skipped by the other."""
    events = record_events(registry_session_factory, "甲", "乙")
    other = OutboxRelay(registry_session_factory, OutboxMessage, InMemoryPublisher())
    flushed_meanwhile = []

    class InterleavingPublisher(InMemoryPublisher):
        def publish(self, event):
            if not self.published:
                # The first relay holds its rows while publishing; the other runs now.
                flushed_meanwhile.append(other.flush())
            super().publish(event)

    relay.publisher = InterleavingPublisher()
    assert relay.flush() == 2
    assert flushed_meanwhile == [0]
    assert other.publisher.published == []
    assert relay.publisher.published == events
    assert other.flush() == 0


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("paused", [False, True], ids=["running", "paused"])
def test_running_relay_publishes_committed_rows_unless_paused(registry_session_factory, paused):
    relay = OutboxRelay(registry_session_factory, OutboxMessage, InMemoryPublisher(), paused)
    (event,) = record_events(registry_session_factory, "甲")

    runner = eventlet.spawn(relay.run)
    relay.wake()
    try:
        if paused:
            eventlet.sleep(0.3)  # an unpaused relay flushes on its first turn, well within this
        else:
            deadline = time.monotonic() + 5
            while not relay.publisher.published and time.monotonic() < deadline:
                eventlet.sleep(0.01)
    finally:
        relay.stop()
        runner.wait()

    assert relay.publisher.closed, "a stopped relay lets go of its connection"
    if paused:
        assert relay.publisher.published == []
        assert rows(registry_session_factory)[0].sent_at is None
    else:
        assert relay.publisher.published == [event]
        assert rows(registry_session_factory)[0].sent_at is not None


def test_rolled_back_business_transaction_leaves_no_outbox_row(relay, registry_session_factory):
    with registry_session_factory() as session:
        department = domain.create_department(session, {"name": "化学学院", "code": "CHEM"})
        session.commit()
    wakeups: list[bool] = []
    worker_db = WorkerDatabase(
        registry_session_factory, Base, on_commit=lambda: wakeups.append(True)
    )
    data = {
        "name": "赵敏",
        "graduations": [
            {
                "department_id": department["id"],
                "major": "化学",
                "degree": "bachelor",
                "class_year": 2001,
            }
        ],
    }
    actor = {"account_id": "a", "username": "office", "role": "office", "department_id": None}

    with pytest.raises(RuntimeError), worker_db.transaction() as session:
        domain.register_alumnus(session, data, actor)
        session.flush()
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
        raise RuntimeError("something after the write failed")
    worker_db.close()

    assert wakeups == []
    with registry_session_factory() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
        assert session.scalar(select(func.count()).select_from(Alumnus)) == 0
    assert relay.flush() == 0
    assert relay.publisher.published == []

    # The same work committed: one row, the relay is woken, and it publishes that row.
    with worker_db.transaction() as session:
        created = domain.register_alumnus(session, data, actor)
    worker_db.close()
    assert wakeups == [True]
    assert relay.flush() == 1
    (published,) = relay.publisher.published
    assert published["data"]["id"] == created["id"]
    assert json.loads(rows(registry_session_factory)[0].payload) == published


def test_broker_publisher_routes_by_event_type_on_the_sources_exchange():
    publisher = BrokerPublisher("amqp://guest:guest@127.0.0.1:1/never-used", "registry")
    sent: list[dict] = []

    class Recorder:
        def publish(self, payload, **properties):
            sent.append({"payload": payload, **properties})

    publisher._publisher = Recorder()
    (event,) = [build_event("alumnus_registered", alumnus_payload("甲"))]
    publisher.publish(event)

    (message,) = sent
    assert message["payload"] == event
    assert message["routing_key"] == message["type"] == "alumnus_registered"
    assert message["message_id"] == event["event_id"]
    assert message["exchange"].name == "registry.events"
    assert message["exchange"].type == "topic"
    assert message["exchange"].durable is True


def test_broker_publisher_sends_the_stored_json_as_it_is():
    """The relay's batches: the outbox's text goes out unparsed, as UTF-8 JSON, routed as
    a single event is."""
    publisher = BrokerPublisher("amqp://guest:guest@127.0.0.1:1/never-used", "registry")
    sent: list[tuple] = []

    class Recorder:
        def publish_many(self, messages):
            sent.extend(messages)

    publisher._publisher = Recorder()
    event = build_event("alumnus_registered", alumnus_payload("甲"))
    stored = json.dumps(event, ensure_ascii=False)
    publisher.publish_many([StoredEvent(event["event_id"], "alumnus_registered", stored)])

    ((payload, properties),) = sent
    assert payload is stored
    assert (properties["content_type"], properties["content_encoding"]) == (
        "application/json",
        "utf-8",
    )
    assert properties["routing_key"] == properties["type"] == "alumnus_registered"
    assert properties["message_id"] == event["event_id"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_relay_reports_the_broker_back_once_it_takes_a_batch_though_more_are_waiting(
    registry_session_factory,
):
    """After an outage, under a steady write load, the batches can stay full for a long
    while: the broker is back (for /ready) as soon as it has taken one."""
    with registry_session_factory() as session:
        for number in range(BATCH_SIZE + 1):
            OutboxMessage.record(session, "alumnus_registered", alumnus_payload(f"校友{number}"))
        session.commit()
    link_up_at_second_batch: list[bool] = []

    class OutageThenSteady(InMemoryPublisher):
        def publish(self, event):
            if self.calls == BATCH_SIZE + 1:  # the first row of the second batch
                link_up_at_second_batch.append(relay.broker_link.connected)
            super().publish(event)

    relay = OutboxRelay(registry_session_factory, OutboxMessage, OutageThenSteady(fail_on_call=1))
    runner = eventlet.spawn(relay.run)
    try:
        deadline = time.monotonic() + 10
        while len(relay.publisher.published) <= BATCH_SIZE and time.monotonic() < deadline:
            eventlet.sleep(0.05)
    finally:
        relay.stop()
        runner.wait()

    assert len(relay.publisher.published) == BATCH_SIZE + 1
    assert link_up_at_second_batch == [True]
