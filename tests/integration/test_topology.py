"""Consumer queues exist before the first event is published, whatever the start order."""

from __future__ import annotations

import time

import pytest
from kombu import Connection
from nameko.standalone.events import event_dispatcher, get_event_exchange
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from services.common.contracts import build_event
from services.common.db import make_engine
from services.common.topology import declare_event_queues
from services.events.models import RosterEntry
from services.events.service import EventsService
from tests.support.registry_data import alumnus_snapshot
from tests.support.taps import as_publisher

ROSTER_WAIT_SECONDS = 15


def _alumnus_snapshot() -> dict:
    return alumnus_snapshot(
        id="7b0c6f7e-4a8e-4d5e-9c61-2b7f3f0b9a11",
        name="李娜",
        gender="female",
        phone="13912345678",
        email="lina@example.com",
        province="广东",
        city="广州",
        graduations=[],
        created_at="2026-01-01T00:00:00+00:00",
        updated_at="2026-01-01T00:00:00+00:00",
    )


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_event_published_before_the_consumer_ever_started_reaches_it(
    rabbit_config, databases, container_factory
):
    # The registry's relay declares its exchange when it first publishes.
    with Connection(rabbit_config["AMQP_URI"]) as connection:
        get_event_exchange("registry", {})(connection.default_channel).declare()
    declared = declare_event_queues(rabbit_config["AMQP_URI"])
    assert declared > 0

    dispatch = event_dispatcher(rabbit_config, **as_publisher(rabbit_config))
    dispatch(
        "registry", "alumnus_registered", build_event("alumnus_registered", _alumnus_snapshot())
    )

    url = databases.migrated("events")
    container = container_factory(EventsService, {**rabbit_config, "EVENTS_DATABASE_URL": url})
    container.start()

    engine = make_engine(url, pool_size=1)
    sessions = sessionmaker(engine)
    try:
        deadline = time.monotonic() + ROSTER_WAIT_SECONDS
        entry = None
        while entry is None and time.monotonic() < deadline:
            with sessions() as session:
                entry = session.scalars(select(RosterEntry)).first()
            time.sleep(0.2)
        assert entry is not None, "the event published before the consumer started was lost"
        assert entry.name == "李娜"
    finally:
        engine.dispose()
