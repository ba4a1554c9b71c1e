"""The dead-letter queues: what is in them, and sending their messages back to be handled.

A message ends in `<handler queue>.dead` when its handler failed every retry, or at once
when it broke its contract or came from the wrong publisher
(services/common/reliable_events.py). Once the cause is fixed (a bug, a missing row), an
operator sends the messages back to their handler queue:

    python -m services.deadletters list                     # every dead-letter queue, counts
    python -m services.deadletters show notify              # its dead messages, with errors
    python -m services.deadletters replay notify            # all of them back to their handlers
    python -m services.deadletters replay notify --event-id <id> [--queue <dead queue>]

Each command runs as the consumer service's own broker account (`BROKER_PASSWORD_<SERVICE>`,
or `<SERVICE>_AMQP_URI`): a replayed copy is then published by the account that parked it,
with the publisher it was verified to come from, and the consumer checks it as it checks a
retry. A message refused for its publisher is refused again, so a replay cannot launder one.
A message is acknowledged in the dead-letter queue only after the broker confirmed its copy
in the handler queue; a crash in between leaves both, and the handler's inbox applies the
event once. Replayed messages get their retries again.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kombu import Connection

from services.common import catalogue, config
from services.common.reliable_events import ATTEMPT_HEADER, ERROR_HEADER
from services.common.topology import event_queues

DEAD_SUFFIX = ".dead"


@dataclass(frozen=True)
class DeadMessage:
    queue: str
    event_type: str | None
    event_id: str | None
    attempts: int
    error: str


def dead_letter_queues(service: str) -> list[str]:
    entry = catalogue.by_name(service)
    return [q.name for q in event_queues(entry.service_class()) if q.name.endswith(DEAD_SUFFIX)]


def _connect(amqp_uri: str) -> Connection:
    """A connection of its own, closed after use: messages taken and not acknowledged go
    back to their queue when it closes (a pooled connection would keep them)."""
    return Connection(amqp_uri, ssl=config.amqp_ssl() or False)


def counts(amqp_uri: str, queues: list[str]) -> dict[str, int]:
    with _connect(amqp_uri) as connection:
        channel = connection.default_channel
        return {name: channel.queue_declare(name, passive=True).message_count for name in queues}


def _messages(connection: Connection, queue: str) -> Iterator[Any]:
    """The messages `queue` holds now, each once and unacknowledged; not those that arrive
    meanwhile (a replayed message refused again comes back behind them)."""
    channel = connection.default_channel
    for _ in range(channel.queue_declare(queue, passive=True).message_count):
        message = channel.basic_get(queue, no_ack=False)
        if message is None:
            return
        yield message


def _event(message: Any) -> dict[str, Any]:
    try:
        body = json.loads(message.body)
    except (TypeError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


def show(amqp_uri: str, queue: str, limit: int = 100) -> list[DeadMessage]:
    """The first `limit` messages of a dead-letter queue; all stay there."""
    found = []
    with _connect(amqp_uri) as connection:
        for message in _messages(connection, queue):
            event = _event(message)
            headers = message.headers or {}
            found.append(
                DeadMessage(
                    queue,
                    event.get("event_type"),
                    event.get("event_id"),
                    int(headers.get(ATTEMPT_HEADER, 0)),
                    str(headers.get(ERROR_HEADER, "")),
                )
            )
            if len(found) >= limit:
                break
        # Unacknowledged messages go back when the channel closes, in their order.
    return found


def replay(amqp_uri: str, queue: str, event_ids: set[str] | None = None) -> int:
    """Send the messages of dead-letter `queue` (those of `event_ids`, else all) back to
    their handler queue; returns how many. The others stay."""
    target = queue.removesuffix(DEAD_SUFFIX)
    sent = 0
    with _connect(amqp_uri) as connection:
        channel = connection.default_channel
        skipped = []
        for message in _messages(connection, queue):
            if event_ids is not None and _event(message).get("event_id") not in event_ids:
                skipped.append(message)
                continue
            headers = {
                key: value
                for key, value in (message.headers or {}).items()
                if key not in (ATTEMPT_HEADER, ERROR_HEADER)
            }
            properties = message.properties
            channel.basic_publish_confirm(
                channel.prepare_message(
                    message.body,
                    priority=properties.get("priority"),
                    content_type=properties.get("content_type"),
                    content_encoding=properties.get("content_encoding"),
                    headers=headers,
                    properties={
                        "delivery_mode": 2,
                        "message_id": properties.get("message_id"),
                        "user_id": config.uri_username(amqp_uri),
                    },
                ),
                exchange="",
                routing_key=target,
            )
            channel.basic_ack(message.delivery_tag)
            sent += 1
        for message in skipped:
            channel.basic_reject(message.delivery_tag, requeue=True)
    return sent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Inspect and replay dead-lettered events.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="every consumer's dead-letter queues and their counts")
    consumers = [entry.name for entry in catalogue.SERVICES if entry.consumes]
    for name, text in (("show", "a service's dead messages"), ("replay", "send them back")):
        command = commands.add_parser(name, help=text)
        command.add_argument("service", choices=consumers)
        command.add_argument("--queue", help="one dead-letter queue (default: all of it)")
        if name == "replay":
            command.add_argument("--event-id", action="append", help="only these events")
    args = parser.parse_args(argv)
    services = consumers if args.command == "list" else [args.service]
    for service in services:
        uri = config.service_amqp_uri(service)
        queues = dead_letter_queues(service)
        if getattr(args, "queue", None):
            if args.queue not in queues:
                print(f"{service} has no dead-letter queue {args.queue}", file=sys.stderr)
                return 2
            queues = [args.queue]
        if args.command == "list":
            for queue, count in counts(uri, queues).items():
                print(f"{count:8d}  {queue}")
        elif args.command == "show":
            for queue in queues:
                for dead in show(uri, queue):
                    print(
                        f"{dead.queue}  {dead.event_type}  {dead.event_id}  "
                        f"attempts={dead.attempts}  {dead.error}"
                    )
        else:
            wanted = set(args.event_id) if args.event_id else None
            for queue in queues:
                print(f"{replay(uri, queue, wanted):8d}  replayed from {queue}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
