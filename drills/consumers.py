"""Drills 4 and 5, on the consumers of events.

4. Event storm: registry events published in a burst while one consumer (notify) is
   stopped; it is started again a while later, and every consumer drains its queue to zero
   with each event handled once; the drain rate is printed.
5. Poison message: a malformed event in each consumer's queue ends in that queue's
   dead-letter queue, and the consumer goes on handling the next, valid event.

Events are published as the registry's own broker account, as the registry publishes them.
Whether a consumer handled an event is read from its inbox (`processed_messages`: one row
per event and handler, written with the handler's effects).
"""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import quote

from nameko.amqp.publish import get_producer
from nameko.standalone.events import get_event_exchange
from sqlalchemy import bindparam, text

from drills.harness import DrillResult, Platform, handled_twice
from services.common import catalogue, config
from services.common.contracts import build_event
from services.common.db import make_engine
from tests.support.registry_data import alumnus_snapshot

EVENT_TYPE = "alumnus_registered"
DRAIN_WITHIN_SECONDS = 1800.0
POISON_WITHIN_SECONDS = 30.0


def consumers_of(source: str, event_type: str) -> dict[str, list[str]]:
    """Per consuming service, the queues of its handlers of `event_type`."""
    from services.common.topology import reliable_handlers

    found: dict[str, list[str]] = {}
    for entry in catalogue.SERVICES:
        cls = entry.service_class()
        for method, handler in reliable_handlers(cls):
            if handler.source_service == source and handler.event_type == event_type:
                found.setdefault(entry.name, []).append(
                    f"evt-{source}-{event_type}--{entry.name}.{method}"
                )
    return found


def publish(system: Platform, events: list[dict[str, Any]], routing_key: str = EVENT_TYPE) -> None:
    uri = config.service_amqp_uri("registry", system.env())
    account = config.uri_username(uri)
    exchange = get_event_exchange("registry", {})
    with get_producer(uri, confirms=True) as producer:
        for event in events:
            producer.publish(
                event,
                exchange=exchange,
                routing_key=routing_key,
                serializer="json",
                delivery_mode=2,
                message_id=event.get("event_id", str(uuid.uuid4())),
                user_id=account,
                declare=[exchange],
            )


def handled(system: Platform, service: str, event_ids: list[str]) -> int:
    """How many of `event_ids` the service's inbox says it handled (any handler)."""
    query = text(
        "SELECT DISTINCT event_id FROM processed_messages WHERE event_id IN :ids"
    ).bindparams(bindparam("ids", expanding=True))
    engine = make_engine(system.database_urls[service], pool_size=1)
    try:
        with engine.connect() as connection:
            found: set[str] = set()
            for start in range(0, len(event_ids), 1000):
                found |= set(connection.scalars(query, {"ids": event_ids[start : start + 1000]}))
            return len(found)
    finally:
        engine.dispose()


def ready_messages(system: Platform, queue: str) -> int:
    management = system.management()
    vhost = quote(system.broker_vhost, safe="")
    info = management.request("GET", f"queues/{vhost}/{quote(queue, safe='')}")
    return int(info.get("messages", 0))


def storm(system: Platform, events: int, stopped_seconds: float) -> DrillResult:
    queues = consumers_of("registry", EVENT_TYPE)
    batch = [build_event(EVENT_TYPE, alumnus_snapshot(name="风暴校友")) for _ in range(events)]
    event_ids = [event["event_id"] for event in batch]
    system.stop("notify")
    stopped_at = time.monotonic()
    publish(system, batch)
    published = time.monotonic()
    time.sleep(max(stopped_seconds - (published - stopped_at), 0))
    system.start("notify")
    restarted = time.monotonic()
    deadline = restarted + DRAIN_WITHIN_SECONDS
    # Drained when every consumer's inbox holds every event and no queue has any left (the
    # broker's queue counts lag its queues by seconds, so they are not the test alone).
    counts = {service: 0 for service in queues}
    backlog = {name: 0 for names in queues.values() for name in names}
    while time.monotonic() < deadline:
        counts = {service: handled(system, service, event_ids) for service in queues}
        if all(count == events for count in counts.values()):
            backlog = {name: ready_messages(system, name) for name in backlog}
            if not any(backlog.values()):
                break
        time.sleep(1)
    drained = time.monotonic()
    lost = sum(events - count for count in counts.values())
    duplicated = sum(handled_twice(system.database_urls[service]) for service in queues)
    rate = events * len(queues) / max(drained - published, 1e-9)
    return DrillResult(
        "4 event storm",
        sent=events * len(queues),
        recorded=sum(counts.values()),
        lost=lost + sum(backlog.values()),
        duplicated=duplicated,
        recovery_seconds=drained - restarted,
        notes=[
            f"consumers: {', '.join(sorted(queues))}; notify stopped {stopped_seconds:.0f} s",
            f"drain rate {rate:.0f} events/s over all consumers (published to drained)",
        ],
    )


def poison(system: Platform) -> DrillResult:
    queues = consumers_of("registry", EVENT_TYPE)
    malformed = {"event_type": EVENT_TYPE, "event_id": str(uuid.uuid4()), "data": {"x": 1}}
    publish(system, [malformed])
    good = build_event(EVENT_TYPE, alumnus_snapshot(name="正常校友"))
    publish(system, [good])
    started = time.monotonic()
    dead = {name: 0 for names in queues.values() for name in names}
    deadline = started + POISON_WITHIN_SECONDS
    while time.monotonic() < deadline:
        dead = {name: ready_messages(system, f"{name}.dead") for name in dead}
        went_on = all(handled(system, s, [good["event_id"]]) for s in queues)
        if all(dead.values()) and went_on:
            break
        time.sleep(0.5)
    went_on = {s: handled(system, s, [good["event_id"]]) == 1 for s in queues}
    return DrillResult(
        "5 poison message",
        sent=len(dead),
        recorded=sum(1 for count in dead.values() if count),
        lost=sum(1 for count in dead.values() if count == 0)
        + sum(1 for ok in went_on.values() if not ok),
        duplicated=sum(max(count - 1, 0) for count in dead.values()),
        recovery_seconds=time.monotonic() - started,
        notes=[
            f"dead-lettered in: {', '.join(sorted(n for n, c in dead.items() if c))}",
            f"the next event handled by: {', '.join(s for s, ok in went_on.items() if ok)}",
        ],
    )
