"""An event handler that never drops a message whose handler raised.

nameko's `event_handler` acks a message whose handler raised, and the event is
gone. `reliable_event_handler` instead republishes it to a delay queue (one per
backoff step, with a queue TTL that dead-letters it back into the handler's
queue), and after the last attempt to a dead-letter queue `<queue>.dead`,
where it waits for an operator; a message that breaks its contract goes there at
once (`is_poison`). The original is acked only after the broker has
confirmed the copy, so a crash in between at worst delivers it twice, which
the inbox makes harmless.

Every event is checked against its publisher's broker identity before its handler runs:
the message's `user_id`, which RabbitMQ validates against the account that published it,
must be the catalogued publisher's account (`config.broker_username(source)`). Anything
else (no `user_id`, another service's account put into this queue through the default
exchange, a stranger) goes to the dead-letter queue with a log line. A copy this handler
parks on its retry queue is published under its own account, with the verified publisher
in a header that only that account's copies are trusted for.

A broker outage is transient here as everywhere (services/common/broker.py): the handler
consumes through the platform's queue consumer, the side queues are declared once the
broker answers, and a copy that cannot be parked for want of the broker leaves the
original unacknowledged, for the broker to deliver again.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping
from typing import Any

from kombu import Queue
from nameko.amqp.publish import get_producer
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.events import SERVICE_POOL, EventHandler
from nameko.standalone.events import get_event_exchange

from services.common import config
from services.common.broker import (
    BROKER_ERRORS,
    PUBLISH_RETRY_POLICY,
    BrokerLink,
    QueueConsumer,
    wait_until_declared,
)
from services.common.errors import ValidationFailed

log = logging.getLogger(__name__)

DEFAULT_RETRY_DELAYS_SECONDS = (1, 5, 30)
ATTEMPT_HEADER = "x-alumni-attempt"
ERROR_HEADER = "x-alumni-error"
PUBLISHER_HEADER = "x-alumni-publisher"
POISON_REASONS = frozenset(
    {
        "contract_breach",
        "unknown_event_type",
        # services/common/snapshots.py: a version from the future stays one on every retry.
        "snapshot_from_the_future",
        "unverified_publisher",
    }
)


def is_poison(error: BaseException) -> bool:
    """A message that breaks its contract fails the same way every time: no retry helps."""
    return isinstance(error, ValidationFailed) and error.reason in POISON_REASONS


def retry_queue_name(queue_name: str, step: int) -> str:
    return f"{queue_name}.retry.{step}"


def dead_letter_queue_name(queue_name: str) -> str:
    return f"{queue_name}.dead"


def declare_queues(amqp_uri: str, queues: list[Queue]) -> None:
    """Declare `queues`, waiting for the broker if it is away."""

    def declare(channel) -> None:
        for queue in queues:
            queue.bind(channel).declare()

    wait_until_declared(amqp_uri, declare, "event queue declaration")


class ReliableEventHandler(EventHandler):
    queue_consumer = QueueConsumer()

    def __init__(
        self,
        source_service: str,
        event_type: str,
        retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS_SECONDS,
        **kwargs,
    ) -> None:
        self.retry_delays = tuple(retry_delays)
        super().__init__(
            source_service,
            event_type,
            handler_type=SERVICE_POOL,
            reliable_delivery=True,
            requeue_on_error=False,
            **kwargs,
        )
        self.parking_link = BrokerLink("parking failed events")

    def setup(self) -> None:
        super().setup()
        # nameko's own declaration, with the platform's queue type: the queue consumer
        # reads `self.queue` when it connects, after this.
        self.queue, *side_queues = self.queues_for(
            self.container.service_name, self.method_name, self.container.config
        )
        # Retry and dead-letter queues exist before the first message can need them.
        declare_queues(self.container.config[AMQP_URI_CONFIG_KEY], side_queues)

    def queues_for(
        self,
        service_name: str,
        method_name: str,
        overrides: Mapping[str, Any] | None = None,
        queue_type: str | None = None,
    ) -> list[Queue]:
        """Every queue this handler uses, as nameko declares its own but of the platform's
        queue type (`EVENT_QUEUE_TYPE` from `overrides` or the environment, or
        `queue_type`)."""
        arguments = config.event_queue_arguments(overrides, queue_type)
        name = f"evt-{self.source_service}-{self.event_type}--{service_name}.{method_name}"
        handler_queue = Queue(
            name,
            exchange=get_event_exchange(self.source_service, {}),
            routing_key=self.event_type,
            durable=True,
            auto_delete=False,
            exclusive=False,
            queue_arguments=arguments or None,
        )
        return [handler_queue, *self.side_queues(name, arguments)]

    def side_queues(self, name: str, arguments: dict[str, str]) -> list[Queue]:
        queues = [
            Queue(
                retry_queue_name(name, step),
                durable=True,
                queue_arguments={
                    **arguments,
                    "x-message-ttl": int(delay * 1000),
                    "x-dead-letter-exchange": "",
                    "x-dead-letter-routing-key": name,
                },
            )
            for step, delay in enumerate(self.retry_delays, start=1)
        ]
        queues.append(
            Queue(dead_letter_queue_name(name), durable=True, queue_arguments=arguments or None)
        )
        return queues

    def handle_message(self, body, message) -> None:
        publisher = self.verified_publisher(message)
        expected = config.broker_username(self.source_service, self.container.config)
        if publisher != expected:
            refused = ValidationFailed(
                "事件的发布者不是其来源服务，已拒绝。",
                {"user_id": publisher, "expected": expected},
                reason="unverified_publisher",
            )
            self.handle_message_processed(message, exc_info=(ValidationFailed, refused, None))
            return
        super().handle_message(body, message)

    def verified_publisher(self, message) -> str | None:
        """The account that published `message`: its `user_id`, or, on a copy this
        service parked for a retry under its own account, the one that copy names."""
        user_id = message.properties.get("user_id")
        if user_id is not None and user_id == self.own_account:
            return message.headers.get(PUBLISHER_HEADER, user_id)
        return user_id

    @property
    def own_account(self) -> str:
        return config.uri_username(self.container.config[AMQP_URI_CONFIG_KEY])

    def handle_message_processed(self, message, result=None, exc_info=None) -> None:
        if exc_info is None:
            self.queue_consumer.ack_message(message)
            return
        attempt = int(message.headers.get(ATTEMPT_HEADER, 0)) + 1
        if attempt <= len(self.retry_delays) and not is_poison(exc_info[1]):
            target = retry_queue_name(self.queue.name, attempt)
        else:
            target = dead_letter_queue_name(self.queue.name)
        error = "".join(traceback.format_exception_only(exc_info[0], exc_info[1])).strip()
        try:
            self._republish(message, target, attempt, error)
        except Exception as failure:
            if isinstance(failure, BROKER_ERRORS):
                self.parking_link.lost(failure)
            else:
                log.exception("could not park failed message on %s; requeueing it", target)
            self.queue_consumer.requeue_message(message)
            return
        self.parking_link.restored()
        log.warning(
            "handler %s failed (attempt %s), message sent to %s: %s",
            self.method_name,
            attempt,
            target,
            error,
        )
        self.queue_consumer.ack_message(message)

    def _republish(self, message, target: str, attempt: int, error: str) -> None:
        headers = {
            key: value for key, value in message.headers.items() if not key.startswith("x-death")
        }
        headers[ATTEMPT_HEADER] = attempt
        headers[ERROR_HEADER] = error[:1000]
        headers.pop(PUBLISHER_HEADER, None)
        publisher = self.verified_publisher(message)
        if publisher is not None:
            headers[PUBLISHER_HEADER] = publisher
        amqp_uri = self.container.config[AMQP_URI_CONFIG_KEY]
        # Declared again on each new connection: a broker that comes back without its data
        # has no side queues, and a copy sent to a missing queue is silently dropped.
        arguments = config.event_queue_arguments(self.container.config)
        (target_queue,) = [
            q for q in self.side_queues(self.queue.name, arguments) if q.name == target
        ]
        with get_producer(amqp_uri, confirms=True, ssl=config.amqp_ssl()) as producer:
            producer.publish(
                message.body,
                exchange="",
                routing_key=target,
                declare=[target_queue],
                headers=headers,
                content_type=message.content_type,
                content_encoding=message.content_encoding,
                delivery_mode=2,
                message_id=message.properties.get("message_id"),
                user_id=self.own_account,
                retry=True,
                retry_policy=PUBLISH_RETRY_POLICY,
            )


reliable_event_handler = ReliableEventHandler.decorator
