"""Fixtures for the events service in a nameko container (both backends)."""

from __future__ import annotations

import uuid

import pytest
from kombu import Connection, Queue
from nameko.events import get_event_exchange

from services.events.service import EventsService


@pytest.fixture
def events_db_url(databases) -> str:
    return databases.migrated("events")


@pytest.fixture
def events_config(rabbit_config, events_db_url) -> dict:
    return {**rabbit_config, "EVENTS_DATABASE_URL": events_db_url}


# `events_config` before `container_factory`: the containers stop before the database goes.
@pytest.fixture
def events_container(events_config, container_factory):
    container = container_factory(EventsService, events_config)
    container.start()
    return container


@pytest.fixture
def event_tap(rabbit_config):
    """Every event the events service publishes, as received from its exchange."""
    with Connection(rabbit_config["AMQP_URI"]) as connection:
        queue = Queue(
            f"test-tap-{uuid.uuid4().hex[:8]}",
            exchange=get_event_exchange("events", {}),
            routing_key="#",
            exclusive=True,
        )
        with connection.SimpleQueue(queue) as tap:
            yield tap
