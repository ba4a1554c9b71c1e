"""Publishing events to the broker: the outbox relay's one outside system."""

from __future__ import annotations

from typing import Any, Protocol


class EventPublisher(Protocol):
    """Publishes one enveloped event of `source`; returns only once the broker has it."""

    def publish(self, event: dict[str, Any]) -> None: ...


class BrokerPublisher:
    """The real adapter: nameko's publisher on `<source>.events`, with publisher confirms.

    Routing key and AMQP `type` are the event type, `message_id` is the event id;
    messages are persistent. A publish that cannot reach the broker fails within about a
    second (the relay then waits and tries again, services/common/relay.py).
    """

    def __init__(self, amqp_uri: str, source: str) -> None:
        from nameko.amqp.publish import Publisher
        from nameko.standalone.events import get_event_exchange

        from services.common.broker import PUBLISH_RETRY_POLICY

        self.exchange = get_event_exchange(source, {})
        self._publisher = Publisher(
            amqp_uri,
            use_confirms=True,
            declare=[self.exchange],
            retry_policy=PUBLISH_RETRY_POLICY,
        )

    def publish(self, event: dict[str, Any]) -> None:
        self._publisher.publish(
            event,
            exchange=self.exchange,
            routing_key=event["event_type"],
            message_id=event["event_id"],
            type=event["event_type"],
        )


class InMemoryPublisher:
    """The fake: keeps what it was given; `fail_on_call=n` makes the n-th publish fail as a
    lost broker connection would."""

    def __init__(self, fail_on_call: int | None = None) -> None:
        self.published: list[dict[str, Any]] = []
        self.fail_on_call = fail_on_call
        self.calls = 0

    def publish(self, event: dict[str, Any]) -> None:
        self.calls += 1
        if self.fail_on_call is not None and self.calls == self.fail_on_call:
            raise ConnectionError("broker went away")
        self.published.append(event)
