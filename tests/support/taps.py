"""Reading what a service published, from a queue bound to its exchange."""

from __future__ import annotations

from urllib.parse import unquote, urlparse

import pika

from services.common.config import uri_username
from services.common.contracts import check_event

RELAY_WAIT_SECONDS = 15


def drain(tap, count: int) -> list[dict]:
    """The next `count` events from the tap, each within the relay's wait, checked against
    their contracts."""
    received = []
    for _ in range(count):
        message = tap.get(timeout=RELAY_WAIT_SECONDS)
        received.append(check_event(message.payload))
        message.ack()
    return received


def as_publisher(nameko_config: dict) -> dict[str, str]:
    """Publish options that make an event its source's: the `user_id` of the account it
    is published with (consumers check it: services/common/reliable_events.py)."""
    return {"user_id": uri_username(nameko_config["AMQP_URI"])}


def pika_connection(amqp_uri: str) -> pika.BlockingConnection:
    """A plain AMQP client's connection (as another campus system would make it)."""
    uri = urlparse(amqp_uri)
    return pika.BlockingConnection(
        pika.ConnectionParameters(
            host=uri.hostname,
            port=uri.port or 5672,
            virtual_host=unquote(uri.path[1:]) or "/",
            credentials=pika.PlainCredentials(uri.username, uri.password),
        )
    )
