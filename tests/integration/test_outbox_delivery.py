"""Registry events reach a subscriber that is not nameko (pika), exactly as published.

Other campus systems subscribe with whatever AMQP client they have, declaring the
exchange themselves; the declaration must agree with nameko's or the broker refuses
one of the two.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

import pytest

from services.common.contracts import check_event
from services.common.errors import ValidationFailed
from tests.support.taps import pika_connection

EXCHANGE = "registry.events"
DELIVERY_TIMEOUT_SECONDS = 15
QUIET_SECONDS = 1.0


class Subscriber:
    """A plain pika consumer on queues of its own, bound to the registry's event exchange."""

    def __init__(self, amqp_uri: str) -> None:
        self.connection = pika_connection(amqp_uri)
        self.channel = self.connection.channel()
        # What nameko declares (nameko.standalone.events.get_event_exchange).
        self.channel.exchange_declare(
            EXCHANGE, exchange_type="topic", durable=True, auto_delete=False
        )
        self.received: dict[str, list] = {}

    def bind(self, routing_key: str) -> str:
        queue = self.channel.queue_declare("", exclusive=True).method.queue
        self.channel.queue_bind(queue, EXCHANGE, routing_key=routing_key)
        self.received[queue] = []

        def on_message(_channel, method, properties, body):
            self.received[queue].append((method, properties, body))

        self.channel.basic_consume(queue, on_message, auto_ack=True)
        return queue

    def wait_for(self, queue: str, count: int, timeout: float) -> list:
        """Messages on `queue` once there are `count`, or whatever came by the deadline."""
        deadline = time.monotonic() + timeout
        while len(self.received[queue]) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self.connection.process_data_events(time_limit=min(remaining, 0.5))
        return list(self.received[queue])

    def close(self) -> None:
        self.connection.close()


@pytest.fixture
def subscriber(rabbit_config):
    subscriber = Subscriber(rabbit_config["AMQP_URI"])
    yield subscriber
    subscriber.close()


@pytest.fixture
def registry(registry_container, rpc_cluster):
    return rpc_cluster.registry


@pytest.fixture
def department(registry):
    return registry.create_department({"name": "物理学院", "code": "PHY"})


def alumnus(department_id, name="王小明"):
    return {
        "name": name,
        "city": "上海",
        "graduations": [
            {
                "department_id": department_id,
                "major": "物理学",
                "degree": "master",
                "class_year": 2008,
            }
        ],
    }


def test_created_alumnus_is_delivered_once_with_its_envelope(registry, department, subscriber):
    registered = subscriber.bind("alumnus_registered")
    everything = subscriber.bind("#")

    created = registry.create_alumnus(alumnus(department["id"]))

    messages = subscriber.wait_for(registered, 1, DELIVERY_TIMEOUT_SECONDS)
    assert len(messages) == 1, "no alumnus_registered event within the deadline"
    method, properties, body = messages[0]
    event = json.loads(body)
    assert method.routing_key == "alumnus_registered"
    assert method.exchange == EXCHANGE
    assert properties.content_type == "application/json"
    assert properties.delivery_mode == 2
    assert str(uuid.UUID(event["event_id"])) == event["event_id"]
    assert properties.message_id == event["event_id"]
    assert event["event_type"] == "alumnus_registered"
    assert event["version"] == 1
    occurred = datetime.fromisoformat(event["occurred_at"])
    assert occurred.utcoffset().total_seconds() == 0
    assert abs((datetime.now(UTC) - occurred).total_seconds()) < 60
    assert event["data"]["id"] == created["id"]
    assert event["data"] == created
    assert check_event(event) == event

    # An update goes to the same exchange under its own key, after the registration.
    registry.update_alumnus(created["id"], {"city": "杭州"})
    both = subscriber.wait_for(everything, 2, DELIVERY_TIMEOUT_SECONDS)
    assert [m[0].routing_key for m in both] == ["alumnus_registered", "alumnus_updated"]
    updated = json.loads(both[1][2])
    assert updated["data"]["changes"] == {"city": {"old": "上海", "new": "杭州"}}

    # Nothing more: no duplicate of the registration, no update on the registered-only queue.
    assert len(subscriber.wait_for(everything, 3, QUIET_SECONDS)) == 2
    assert len(subscriber.received[registered]) == 1


def test_failed_create_publishes_nothing(registry, department, subscriber):
    registered = subscriber.bind("alumnus_registered")

    with pytest.raises(ValidationFailed):
        registry.create_alumnus(alumnus(str(uuid.uuid4()), name="不存在院系"))
    marker = registry.create_alumnus(alumnus(department["id"], name="标记校友"))

    # The relay publishes in outbox order: had the failed create left a row, it would come first.
    first = subscriber.wait_for(registered, 1, DELIVERY_TIMEOUT_SECONDS)
    assert len(first) == 1, "the marker's event never arrived"
    assert json.loads(first[0][2])["data"]["id"] == marker["id"]
    assert len(subscriber.wait_for(registered, 2, QUIET_SECONDS)) == 1
