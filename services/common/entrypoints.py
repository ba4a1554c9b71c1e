"""The entrypoints every service declares the same way: RPC, event handlers, health, timers.

- `@rpc`: nameko's RPC entrypoint with the platform's expected errors (the caller's
  mistakes, logged as warnings rather than crashes) as the default, consuming through the
  platform's queue consumer (services/common/broker.py), and surviving a broker that goes
  away while a call is answered. A database the method could not reach (refused, out of
  connections, its pool exhausted) is answered as `ServiceUnavailable` (503 at the
  gateway: try again shortly), not as an unexpected error (500). `@rpc(caller=True)`: a
  method that acts for a person answers only a call carrying a caller token signed for
  this service
  (services/common/caller.py), checked before a worker starts; a method with a `caller`
  parameter receives the verified `Caller` there, whatever the call sent in its place.
- `@consumes(source, event_type)`: a reliable event handler (retries, then a dead-letter
  queue: services/common/reliable_events.py, which also dead-letters an event whose
  broker `user_id` is not `source`'s account) that checks the event against its contract
  and its publisher, and claims it in the inbox in the same transaction as the handler's
  effect, so a redelivered event does nothing twice. The method receives the open
  session and the checked event: `def on_x(self, session, event) -> None`.
- `HealthMixin`: the `health` RPC that readiness probes and healthchecks call; it says
  whether the service's own links to the broker (its consumers, its outbox relay) are up.
- `@configured_timer(KEY)`: a timer whose interval is a setting (services/common/config.py);
  a tick that fails for want of the broker or a peer is a warning, and the next tick runs.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import sys
from collections.abc import Callable
from typing import Any

from nameko import rpc as nameko_rpc
from nameko.extensions import DependencyProvider
from nameko.timer import Timer
from sqlalchemy import exc as sqlalchemy_errors
from sqlalchemy import text
from sqlalchemy.orm import Session

from services.common import config
from services.common.broker import BROKER_ERRORS, BrokerLink, QueueConsumer
from services.common.caller import HEADER, caller_key, verify
from services.common.contracts import check_event
from services.common.errors import (
    EXPECTED_ERRORS,
    AuthenticationFailed,
    ServiceTimeout,
    ServiceUnavailable,
)
from services.common.reliable_events import reliable_event_handler
from services.common.signatures import SignatureReadOnce

EventMethod = Callable[[Any, Session, dict[str, Any]], None]
# What SQLAlchemy raises when the database cannot be reached or is out of connections.
DATABASE_UNAVAILABLE = (sqlalchemy_errors.OperationalError, sqlalchemy_errors.TimeoutError)

log = logging.getLogger(__name__)


def reply_error(error: BaseException) -> BaseException:
    """The error a caller is told of: a database out of reach is a dependency unavailable
    for a moment, which the caller may retry."""
    if isinstance(error, DATABASE_UNAVAILABLE):
        return ServiceUnavailable(
            "服务的数据库暂时不可用，请稍后再试。", reason="database_unavailable"
        )
    return error


class RpcConsumer(nameko_rpc.RpcConsumer):
    """nameko's consumer of a service's RPC queue, on the platform's queue consumer.

    nameko publishes the reply and acks the request from the worker's thread, where a
    broker error kills the container. Here it is noted once per outage instead: the caller
    gets no reply (its deadline answers for it: services/common/rpc.py), and the request,
    unacknowledged, goes back to its queue; its TTL, the caller's deadline, ends it there
    unless the broker is back sooner (docs/operations.md, "Not covered").

    Replies are sent as nameko's `Responder` sends them (the same message: body, reply
    exchange, routing key, correlation id, persistent, kombu's retries), with less work
    per reply (docs/PERFORMANCE.md, "Transport settings"): encoded once (nameko encodes
    the result to test it, then again to send it), through one pool of producers made at
    setup (nameko builds a `Connection` and a `Publisher` per reply), and without
    publisher confirms unless `RPC_REPLY_CONFIRMS` is set: a confirm only tells this
    process that the broker took the reply, and nothing here acts on it; the caller's
    deadline covers a lost reply either way.
    """

    queue_consumer = QueueConsumer()

    def __init__(self) -> None:
        super().__init__()
        self.reply_link = BrokerLink("RPC replies")
        self._reply_connections: Any = None
        self._reply_producers: Any = None

    def setup(self) -> None:
        super().setup()
        from kombu import Connection
        from kombu.pools import ProducerPool
        from nameko.constants import (
            AMQP_SSL_CONFIG_KEY,
            AMQP_URI_CONFIG_KEY,
            DEFAULT_TRANSPORT_OPTIONS,
            LOGIN_METHOD_CONFIG_KEY,
        )

        settings = self.container.config
        self._reply_exchange = nameko_rpc.get_rpc_exchange(settings)
        # A pool of its own: kombu's shared pools are keyed by address and account only,
        # so they would mix connections with and without confirms.
        connection = Connection(
            settings[AMQP_URI_CONFIG_KEY],
            transport_options={
                **DEFAULT_TRANSPORT_OPTIONS,
                "confirm_publish": config.rpc_reply_confirms(settings),
            },
            ssl=settings.get(AMQP_SSL_CONFIG_KEY),
            login_method=settings.get(LOGIN_METHOD_CONFIG_KEY),
        )
        # One producer per worker at most: each worker sends its one reply from its own
        # thread. (kombu pools without a limit make a new connection per use.)
        limit = self.container.max_workers
        self._reply_connections = connection.Pool(limit=limit)
        self._reply_producers = ProducerPool(self._reply_connections, limit=limit)

    def stop(self) -> None:
        super().stop()
        for pool in (self._reply_producers, self._reply_connections):
            if pool is not None:
                with contextlib.suppress(Exception):
                    pool.force_close_all()

    def handle_result(self, message, result, exc_info):
        try:
            answer = self._send_reply(message, result, exc_info)
            self.queue_consumer.ack_message(message)
        except BROKER_ERRORS as error:
            self.reply_link.lost(error)
            return result, exc_info
        self.reply_link.restored()
        return answer

    def _send_reply(self, message, result, exc_info):
        """nameko's `Responder.send_response`, encoding the reply once."""
        from kombu import serialization
        from nameko.constants import DEFAULT_RETRY_POLICY, PERSISTENT
        from nameko.exceptions import UnserializableValueError, serialize

        error = None if exc_info is None else serialize(reply_error(exc_info[1]))
        # Encoded the way the request was.
        serializer = serialization.registry.type_to_name[message.properties["content_type"]]
        try:
            encoded = serialization.dumps({"result": result, "error": error}, serializer)
        except Exception:
            exc_info = sys.exc_info()
            error = serialize(UnserializableValueError(result))
            result = None
            encoded = serialization.dumps({"result": None, "error": error}, serializer)
        content_type, content_encoding, body = encoded
        with self._reply_producers.acquire(block=True) as producer:
            producer.publish(
                body,
                content_type=content_type,
                content_encoding=content_encoding,
                exchange=self._reply_exchange,
                routing_key=message.properties["reply_to"],
                correlation_id=message.properties.get("correlation_id"),
                delivery_mode=PERSISTENT,
                retry=True,
                retry_policy=DEFAULT_RETRY_POLICY,
            )
        return result, exc_info


class Rpc(SignatureReadOnce, nameko_rpc.Rpc):
    """nameko's RPC entrypoint; with `caller=True`, only for a verified caller."""

    rpc_consumer = RpcConsumer()

    def __init__(self, caller: bool = False, **kwargs: Any) -> None:
        self.requires_caller = caller
        super().__init__(**kwargs)

    def setup(self) -> None:
        super().setup()
        if self.requires_caller:
            self.caller_key = caller_key(self.container.config)
            method = getattr(self.container.service_cls, self.method_name)
            self.passes_caller = "caller" in inspect.signature(method).parameters

    def handle_message(self, body, message):
        if self.requires_caller:
            # Before any worker runs or any argument is looked at; the error travels back
            # to the caller as the reply (nameko's RpcConsumer.handle_message).
            token = self.unpack_message_headers(message).get(HEADER)
            try:
                caller = verify(token, self.caller_key, self.container.service_name)
            except AuthenticationFailed as refused:
                log.warning(
                    "refused %s.%s: %s",
                    self.container.service_name,
                    self.method_name,
                    refused.reason,
                )
                raise
            if self.passes_caller and isinstance(body, dict):
                body = {**body, "kwargs": {**(body.get("kwargs") or {}), "caller": caller}}
        super().handle_message(body, message)


def rpc(*args, **kwargs):
    """`@rpc` or `@rpc(...)`: `Rpc` above, with `expected_exceptions` the platform's by
    default; `@rpc(caller=True)` for a method that acts for a person."""
    kwargs.setdefault("expected_exceptions", EXPECTED_ERRORS)
    return Rpc.decorator(*args, **kwargs)


def consumes(source: str, event_type: str, **handler_options: Any):
    """Handle `event_type` events of `source` once each (see the module's docstring).

    The service needs a `db` dependency (services/common/dependencies.py `Database`).
    The inbox names the claim after the method, so renaming a handler makes it see
    events again that it has handled before.
    """

    def decorate(method: EventMethod):
        handler_name = method.__name__

        @functools.wraps(method)
        def handle(self, event: dict[str, Any]) -> None:
            checked = check_event(event, source=source)
            with self.db.transaction() as session:
                if self.db.claim(session, checked["event_id"], handler_name):
                    method(self, session, checked)

        return reliable_event_handler(source, event_type, **handler_options)(handle)

    return decorate


class BrokerLinks(DependencyProvider):
    """The purposes of the service's standing links to the broker that are down now.

    A standing link is one its extension keeps retrying until it is back: an extension's
    `broker_link` (the queue consumer's, the outbox relay's through `Database`). Links used
    only on demand (a reply, an RPC call) are not reported: nothing would restore them
    while nobody asks.
    """

    def setup(self) -> None:
        # The container's extensions are all bound by now, and stay; looking through all of
        # them at every worker cost ~1 % of a registry read. Their links are read at each
        # call: one may be made in its extension's setup (the outbox relay's), after this.
        self.holders = [ext for ext in self.container.extensions if hasattr(ext, "broker_link")]

    def get_dependency(self, worker_ctx) -> list[str]:
        links = (holder.broker_link for holder in self.holders)
        return sorted({link.purpose for link in links if link is not None and not link.connected})


class HealthMixin:
    """The `health` RPC: the service answers, and its database too when it has one;
    `broker` is "ok" when every standing link to the broker is up, else "reconnecting"
    (with the links in `reconnecting`)."""

    name: str

    broker_links = BrokerLinks()

    @rpc
    def health(self) -> dict[str, Any]:
        database = getattr(self, "db", None)
        if database is not None:
            database.session.execute(text("SELECT 1"))
        answer: dict[str, Any] = {"service": self.name, "status": "ok", "broker": "ok"}
        if self.broker_links:
            answer.update(broker="reconnecting", reconnecting=self.broker_links)
        return answer


TIMER_EXPECTED_ERRORS = (*EXPECTED_ERRORS, ServiceUnavailable, ServiceTimeout, *BROKER_ERRORS)
"""A tick that fails for these is logged as a warning, without a traceback: a peer or the
broker is away, and the next tick tries again."""


class ConfiguredTimer(Timer):
    """A nameko timer whose interval is read when the container is set up, from the setting
    `config_key` (container config, environment, default: services/common/config.py)."""

    def __init__(self, config_key: str, eager: bool = False, **kwargs: Any) -> None:
        self.config_key = config_key
        kwargs.setdefault("expected_exceptions", TIMER_EXPECTED_ERRORS)
        super().__init__(interval=0, eager=eager, **kwargs)

    def setup(self) -> None:
        self.interval = config.get_float(self.config_key, self.container.config)
        if self.interval <= 0:
            raise ValueError(f"{self.config_key} must be a positive number of seconds")
        super().setup()


configured_timer = ConfiguredTimer.decorator
