"""Publishing events to the broker: the outbox relay's one outside system."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol


class StoredEvent(NamedTuple):
    """An event as the outbox holds it: its id and type, and the enveloped event's JSON
    text, which goes to the broker as it is (no parse and re-encode per event: ~15 % of
    the relay's CPU during a bulk import, docs/performance/import.md); only a row with
    `late_data` is parsed, to merge it in (services/common/outbox.py `event_text`)."""

    event_id: str
    event_type: str
    payload: str


class PartlyPublished(Exception):
    """A batch failed after the broker had confirmed its first `confirmed` events; `error`
    is the failure (a lost connection, a refusal, no confirm in time)."""

    def __init__(self, confirmed: int, error: BaseException) -> None:
        super().__init__(f"{confirmed} confirmed, then {type(error).__name__}: {error}")
        self.confirmed = confirmed
        self.error = error


class EventPublisher(Protocol):
    """Publishes enveloped events of `source`; returns only once the broker has them."""

    def publish(self, event: dict[str, Any]) -> None: ...

    def publish_many(self, events: Sequence[StoredEvent]) -> None:
        """Publish `events` in order; returns once the broker has them all. A failure is
        raised as `PartlyPublished`, with how many of the first events the broker has."""

    def close(self) -> None:
        """Let go of the connection, if any (the relay is stopping)."""


class BrokerPublisher:
    """The real adapter: `<source>.events`, with publisher confirms, over a connection of
    its own (services/common/broker.py `ConfirmingPublisher`).

    Routing key and AMQP `type` are the event type, `message_id` is the event id,
    `user_id` the account the connection logs in as (RabbitMQ refuses a `user_id` that is
    not, so consumers know the sender: services/common/reliable_events.py); messages are
    persistent. A publish that cannot reach the broker, or is not confirmed,
    fails within seconds; the relay then waits and tries again (services/common/relay.py).
    """

    def __init__(self, amqp_uri: str, source: str) -> None:
        from nameko.standalone.events import get_event_exchange

        from services.common.broker import ConfirmingPublisher
        from services.common.config import uri_username

        self.exchange = get_event_exchange(source, {})
        self.user_id = uri_username(amqp_uri)
        self._publisher = ConfirmingPublisher(amqp_uri, declare=[self.exchange])

    def publish(self, event: dict[str, Any]) -> None:
        self._publisher.publish(event, **self._properties(event["event_id"], event["event_type"]))

    def publish_many(self, events: Sequence[StoredEvent]) -> None:
        self._publisher.publish_many(
            [
                # With a content type given, kombu sends the text as it is (UTF-8).
                (
                    event.payload,
                    {
                        **self._properties(event.event_id, event.event_type),
                        "content_type": "application/json",
                        "content_encoding": "utf-8",
                    },
                )
                for event in events
            ]
        )

    def _properties(self, event_id: str, event_type: str) -> dict[str, Any]:
        return {
            "exchange": self.exchange,
            "routing_key": event_type,
            "message_id": event_id,
            "type": event_type,
            "user_id": self.user_id,
        }

    def close(self) -> None:
        self._publisher.close()


class InMemoryPublisher:
    """The fake: keeps what it was given; `fail_on_call=n` makes the n-th publish fail as a
    lost broker connection would."""

    def __init__(self, fail_on_call: int | None = None) -> None:
        self.published: list[dict[str, Any]] = []
        self.fail_on_call = fail_on_call
        self.calls = 0
        self.closed = False

    def publish(self, event: dict[str, Any]) -> None:
        self.calls += 1
        if self.fail_on_call is not None and self.calls == self.fail_on_call:
            raise ConnectionError("broker went away")
        self.published.append(event)

    def publish_many(self, events: Sequence[StoredEvent]) -> None:
        for number, event in enumerate(events):
            try:
                self.publish(json.loads(event.payload))
            except Exception as error:
                raise PartlyPublished(number, error) from error

    def close(self) -> None:
        self.closed = True
