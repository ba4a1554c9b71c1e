"""Riding out a broker outage: what counts as one, how it is logged, how we reconnect.

A RabbitMQ restart is an ordinary event in operations, not a bug. Every extension of the
platform that talks to the broker therefore treats a lost or refused connection as
transient: it notes the outage on a `BrokerLink` (one warning when the link is lost, one
line when it is back, nothing per retry), retries on `reconnect_delays()`, and never lets
the error reach the nameko container, which would kill the service (nameko's runner
aborts a container on any error escaping an extension's thread).

`QueueConsumer` is nameko's consumer of every queue a service reads (RPC requests, RPC
replies, events) with three changes: it reconnects within `RECONNECT_MAX_SECONDS` of the
broker's return (kombu's own schedule grows to 30 s between attempts), it logs an outage
once instead of a traceback per attempt, and acknowledging a message over a connection
that has just died is not an error (the broker hands the message out again). The
platform's entrypoints and RPC proxy use it (services/common/entrypoints.py,
reliable_events.py, rpc.py), so every service gets it without asking.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from amqp.exceptions import ConnectionError as AmqpConnectionError
from amqp.exceptions import MessageNacked
from amqp.method_framing import frame_writer
from kombu import Connection, Producer
from kombu.exceptions import OperationalError
from nameko.constants import PERSISTENT
from nameko.extensions import ProviderCollector
from nameko.messaging import QueueConsumer as NamekoQueueConsumer
from nameko.messaging import QueueConsumerStopped

from services.common import config
from services.common.adapters.publisher import PartlyPublished

log = logging.getLogger(__name__)

BROKER_ERRORS: tuple[type[BaseException], ...] = (OperationalError, AmqpConnectionError, OSError)
"""What a lost, refused or closed broker connection raises: kombu's wrapper, the AMQP
library's connection errors (a broker shutting down closes connections with
CONNECTION_FORCED) and socket errors (ECONNREFUSED, ECONNRESET, EPIPE)."""

RECONNECT_FIRST_SECONDS = 0.5
RECONNECT_MAX_SECONDS = 3.0
"""Retry delays double from the first to the cap. The cap bounds how long after the
broker's return a service still waits before it is back (docs/operations.md)."""

CONNECT_TIMEOUT_SECONDS = 3.0
CONFIRM_TIMEOUT_SECONDS = 5.0

PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0.2,
    "interval_step": 0.3,
    "interval_max": 0.5,
}
"""How RPC calls and the parking of failed events retry a publish on a lost connection:
about a second in all. Then the publish fails and the caller's deadline or the broker's
redelivery takes over, instead of kombu's schedule, which retries for ever or for many
seconds without a word."""


def reconnect_delays() -> Iterator[float]:
    """0.5, 1, 2, 3, 3, … seconds: the waits between attempts to reach the broker."""
    delay = RECONNECT_FIRST_SECONDS
    while True:
        yield delay
        delay = min(delay * 2, RECONNECT_MAX_SECONDS)


class BrokerLink:
    """One extension's hold on the broker, logged once when lost and once when back.

    `purpose` names the link in the log (and in the `health` RPC): "outbox relay",
    "message consumers", ….
    """

    def __init__(self, purpose: str) -> None:
        self.purpose = purpose
        self.lost_since: float | None = None

    @property
    def connected(self) -> bool:
        return self.lost_since is None

    def lost(self, error: BaseException) -> None:
        if self.lost_since is None:
            self.lost_since = time.monotonic()
            log.warning(
                "%s: broker unreachable (%s); retrying every %g s at most until it is back",
                self.purpose,
                describe(error),
                RECONNECT_MAX_SECONDS,
            )

    def restored(self) -> None:
        if self.lost_since is not None:
            log.warning(
                "%s: broker reachable again after %.1f s",
                self.purpose,
                time.monotonic() - self.lost_since,
            )
            self.lost_since = None


def describe(error: BaseException) -> str:
    """The error in one line, without a traceback: `ConnectionRefusedError: [Errno 111] …`."""
    return f"{type(error).__name__}: {error}"


def wait_until_declared(amqp_uri: str, declare: Callable[[Any], None], purpose: str) -> None:
    """Run `declare(channel)` on a fresh connection, waiting for the broker as long as it
    takes (a service must not crash-loop at launch because the broker starts later)."""
    link = BrokerLink(purpose)
    delays = reconnect_delays()
    while True:
        try:
            with Connection(
                amqp_uri, connect_timeout=CONNECT_TIMEOUT_SECONDS, ssl=config.amqp_ssl()
            ) as connection:
                channel = connection.channel()
                try:
                    declare(channel)
                finally:
                    channel.close()
        except BROKER_ERRORS as error:
            link.lost(error)
            time.sleep(next(delays))
            continue
        link.restored()
        return


class ConfirmingPublisher:
    """Publishes with publisher confirms over one connection of its own, made on first use
    and dropped after any failure, so that the next publish starts on a fresh one.

    For a publisher that must never hang (the outbox relay): a broker that is still
    booting can accept a connection and then not answer, and kombu's shared producer
    pools wait without limit. Here connecting is bounded by `CONNECT_TIMEOUT_SECONDS`,
    the confirms of a batch by `CONFIRM_TIMEOUT_SECONDS`, and a failure is the caller's to
    retry.

    `publish_many` sends a whole batch, then waits once for the broker's confirms of all
    of it (a confirm per message, waited for in turn, costs a round trip to the broker per
    event: 100,000 of them during an import, docs/PERFORMANCE.md). A message counts as
    published only once the broker has confirmed it and every message before it.
    """

    def __init__(self, amqp_uri: str, declare: Iterable[Any] = ()) -> None:
        self.amqp_uri = amqp_uri
        self.declare = list(declare)
        self._connection: Connection | None = None
        self._producer: Producer | None = None
        self._next_tag = 1
        self._unconfirmed: set[int] = set()
        self._nacked: set[int] = set()

    def publish(self, payload: Any, **properties: Any) -> None:
        try:
            self.publish_many([(payload, properties)])
        except PartlyPublished as failure:
            raise failure.error from None

    def publish_many(self, messages: Sequence[tuple[Any, dict[str, Any]]]) -> None:
        """Publish each `(payload, properties)` in order and wait for all the confirms. On
        any failure (lost connection, a nack, no confirm in time) raises `PartlyPublished`
        saying how many of the first messages the broker confirmed."""
        first = self._next_tag
        try:
            producer = self._producer or self._connect()
            first = self._next_tag
            with gathered_writes(self._connection.connection):
                for payload, properties in messages:
                    self._unconfirmed.add(self._next_tag)
                    self._next_tag += 1
                    producer.publish(
                        payload, serializer="json", delivery_mode=PERSISTENT, **properties
                    )
            deadline = time.monotonic() + CONFIRM_TIMEOUT_SECONDS
            # Every answer is awaited, a nack's too: the broker may refuse a later message
            # before it confirms earlier ones, and those earlier ones are published.
            while self._unconfirmed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("the broker did not confirm the messages in time")
                self._connection.drain_events(timeout=remaining)
            if self._nacked:
                raise MessageNacked()
        except BaseException as error:
            confirmed = 0
            for tag in range(first, self._next_tag):
                if tag in self._unconfirmed or tag in self._nacked:
                    break
                confirmed += 1
            self.close()
            raise PartlyPublished(confirmed, error) from error

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        if multiple:
            self._unconfirmed = {t for t in self._unconfirmed if t > delivery_tag}
        else:
            self._unconfirmed.discard(delivery_tag)

    def _on_nack(self, delivery_tag: int, multiple: bool) -> None:
        nacked = {t for t in self._unconfirmed if t <= delivery_tag} if multiple else {delivery_tag}
        self._nacked |= nacked
        self._unconfirmed -= nacked

    def _connect(self) -> Producer:
        # Not kombu's `confirm_publish` transport option: with it py-amqp waits for each
        # message's confirm as it publishes. The channel is put in confirm mode here and
        # the confirms are counted by delivery tag (1, 2, … on a fresh channel).
        connection = Connection(
            self.amqp_uri, connect_timeout=CONNECT_TIMEOUT_SECONDS, ssl=config.amqp_ssl()
        )
        self._connection = connection
        channel = connection.channel()
        for entity in self.declare:
            entity(channel).declare()
        channel.confirm_select()
        # py-amqp reads the socket before each publish for a `connection.blocked` notice
        # (a read that finds nothing: a hub switch per message under eventlet). The broker
        # still sends the notice; it is read while a batch's confirms are awaited, and a
        # blocked broker shows here as confirms that do not come in time. (A broker that
        # offers no capabilities leaves none to turn off.)
        capabilities = connection.connection.client_properties.get("capabilities")
        if capabilities:
            capabilities["connection.blocked"] = False
        channel.events["basic_ack"].add(self._on_ack)
        channel.events["basic_nack"].add(self._on_nack)
        self._next_tag = 1
        self._unconfirmed = set()
        self._nacked = set()
        self._producer = Producer(channel)
        return self._producer

    def close(self) -> None:
        """Drop the connection without the closing handshake a dead broker cannot answer."""
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.collect(socket_timeout=CONNECT_TIMEOUT_SECONDS)
        self._connection = self._producer = None
        self._unconfirmed = set()
        self._nacked = set()


WRITE_BYTES = 65536
"""A batch's frames go to the socket in writes of about this size: few system calls, and
the broker starts on the first messages while the rest are being framed."""


class _GatheredWrites:
    """Stands in for a py-amqp transport: gathers what is written, and sends it on in
    writes of `WRITE_BYTES`, each bounded in time (a broker that has stopped reading, in a
    resource alarm, fails the batch in time and the relay tries again)."""

    def __init__(self, transport: Any) -> None:
        self.transport = transport
        self.chunks: list[bytes] = []
        self.size = 0

    def write(self, data: bytes | memoryview) -> None:
        # A copy: py-amqp hands over a view of one buffer it reuses for the next frame.
        self.chunks.append(bytes(data))
        self.size += len(data)
        if self.size >= WRITE_BYTES:
            self.flush()

    def flush(self) -> None:
        if self.chunks:
            with self.transport.having_timeout(CONFIRM_TIMEOUT_SECONDS):
                self.transport.write(b"".join(self.chunks))
        self.chunks, self.size = [], 0


@contextmanager
def gathered_writes(amqp_connection: Any) -> Iterator[None]:
    """The frames written on `amqp_connection` (a py-amqp `Connection`) inside the block go
    to the socket in writes of `WRITE_BYTES` rather than a write per message: with the
    per-message read py-amqp does no more (`ConfirmingPublisher._connect`), the relay's
    CPU per event fell by about 40 % (`bench.relay_publish`, docs/PERFORMANCE.md)."""
    gathered = _GatheredWrites(amqp_connection.transport)
    sending = amqp_connection.frame_writer
    amqp_connection.frame_writer = frame_writer(amqp_connection, gathered)
    try:
        yield
    finally:
        amqp_connection.frame_writer = sending
    gathered.flush()


@contextmanager
def connection_may_be_gone() -> Iterator[None]:
    """For acks and rejects: on a connection that has just died they fail, and need not
    succeed, because the broker puts every unacknowledged message back in its queue."""
    with contextlib.suppress(*BROKER_ERRORS):
        yield


class QueueConsumer(NamekoQueueConsumer):
    """nameko's queue consumer, reconnecting quickly and quietly (see the module)."""

    def __init__(self) -> None:
        super().__init__()
        self.broker_link = BrokerLink("message consumers")

    @contextmanager
    def establish_connection(self):
        with self.create_connection() as connection:
            connection.ensure_connection(
                self.on_connection_error,
                self.connect_max_retries,
                interval_start=RECONNECT_FIRST_SECONDS,
                interval_step=RECONNECT_FIRST_SECONDS,
                interval_max=RECONNECT_MAX_SECONDS,
                callback=self._stop_if_killed,
            )
            yield connection

    def _stop_if_killed(self) -> None:
        # kombu retries for ever; a container stopping or being killed must not wait for
        # the broker.
        if self.should_stop:
            raise QueueConsumerStopped()

    def on_connection_error(self, exc, interval) -> None:
        self.broker_link.lost(exc)

    def on_consume_ready(self, connection, channel, consumers, **kwargs) -> None:
        super().on_consume_ready(connection, channel, consumers, **kwargs)
        self.broker_link.restored()

    def run(self, _tokens: int = 1, **kwargs) -> None:
        # kombu's loop, noting a lost connection on the link instead of logging a
        # traceback each time.
        errors = self.connection.connection_errors + self.connection.channel_errors
        while not self.should_stop:
            try:
                if self.restart_limit.can_consume(_tokens):
                    for _ in self.consume(limit=None, **kwargs):
                        pass
                else:
                    time.sleep(self.restart_limit.expected_time(_tokens))
            except errors as error:
                self.broker_link.lost(error)
            except QueueConsumerStopped:
                if not self._consumers_ready.ready():
                    raise  # start() is waiting for this thread: it must hear why it ended
                return

    def unregister_provider(self, provider) -> None:
        if self.broker_link.connected:
            super().unregister_provider(provider)
            return
        # nameko cancels a consumer from the consuming thread, once connected: during an
        # outage a stopping service would wait for the broker. There is no consumer to
        # cancel on a dead connection, and the next connection leaves this one out.
        self._consumers.pop(provider, None)
        ProviderCollector.unregister_provider(self, provider)
        if not self._providers:
            self.should_stop = True

    def ack_message(self, message) -> None:
        with connection_may_be_gone():
            super().ack_message(message)

    def requeue_message(self, message) -> None:
        with connection_may_be_gone():
            super().requeue_message(message)
