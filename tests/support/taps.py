"""Reading what a service published, from a queue bound to its exchange."""

from __future__ import annotations

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
