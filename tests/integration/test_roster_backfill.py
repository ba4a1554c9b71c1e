"""The roster backfill: alumni registered before the events service's queues existed.

A registry container alone in its vhost registers alumni and publishes their
`alumnus_registered` events to an exchange with no queue bound, so they are
dropped, as on a platform whose registry was populated before the events
service was first deployed. Then the events service starts, and
`backfill_roster` brings them in.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from nameko.testing.services import entrypoint_waiter
from sqlalchemy import func, select, update
from sqlalchemy.orm import sessionmaker

from services.common.contracts.base import iso_utc
from services.common.db import make_engine
from services.common.dependencies import Database
from services.events import backfill
from services.events.models import RosterEntry
from services.events.service import ROSTER_BACKFILL_PAGE_SIZE, EventsService
from services.registry.models import OutboxMessage as RegistryOutboxMessage
from tests.support.taps import RELAY_WAIT_SECONDS

ALUMNI = 2 * ROSTER_BACKFILL_PAGE_SIZE + 5  # three pages, the last one short


@pytest.fixture
def events_session_factory(events_db_url):
    engine = make_engine(events_db_url, pool_size=2)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


def new_alumnus(department_id: str, number: int) -> dict:
    return {
        "name": f"校友{number:03d}",
        "phone": f"1381234{number:04d}",
        "email": f"alumnus{number:03d}@example.edu.cn",
        "graduations": [
            {
                "department_id": department_id,
                "major": "计算机科学与技术",
                "degree": "bachelor",
                "class_year": 2010,
            }
        ],
    }


def wait_until_relayed(session_factory) -> None:
    """Until the registry's outbox relay has published every row it holds."""
    deadline = time.monotonic() + RELAY_WAIT_SECONDS
    while True:
        with session_factory() as session:
            unsent = session.scalar(
                select(func.count())
                .select_from(RegistryOutboxMessage)
                .where(RegistryOutboxMessage.sent_at.is_(None))
            )
        if unsent == 0:
            return
        assert time.monotonic() < deadline, f"{unsent} registry events still unsent"
        time.sleep(0.1)


def roster(session_factory) -> dict[str, tuple]:
    with session_factory() as session:
        return {
            entry.alumnus_id: (
                entry.name,
                entry.phone,
                entry.email,
                list(entry.department_ids),
                iso_utc(entry.updated_at),
            )
            for entry in session.scalars(select(RosterEntry))
        }


def expected_entry(record: dict) -> tuple:
    return (
        record["name"],
        record["phone"],
        record["email"],
        sorted({g["department_id"] for g in record["graduations"]}),
        iso_utc(datetime.fromisoformat(record["updated_at"])),
    )


def relay_of(container):
    return next(ext for ext in container.extensions if isinstance(ext, Database)).relay


def test_backfill_brings_in_alumni_whose_events_were_dropped_and_is_idempotent(
    events_config,  # before container_factory: the containers stop before the database goes
    container_factory,
    registry_container,
    registry_session_factory,
    events_session_factory,
    rpc_cluster,
    rabbit_manager,
    rabbit_config,
    monkeypatch,
    capsys,
):
    registry = rpc_cluster.registry
    department = registry.create_department({"name": "计算机学院", "code": "CS"})
    created = {
        record["id"]: record
        for record in (
            registry.create_alumnus(new_alumnus(department["id"], n)) for n in range(ALUMNI)
        )
    }
    wait_until_relayed(registry_session_factory)
    # Published to `registry.events` with no queue of the events service bound: dropped.
    queues = [q["name"] for q in rabbit_manager.get_queues(rabbit_config["vhost"])]
    assert not [name for name in queues if "--events." in name]

    events_container = container_factory(EventsService, events_config)
    events_container.start()
    assert roster(events_session_factory) == {}

    assert rpc_cluster.events.backfill_roster() == {"pages": 3, "alumni": ALUMNI}
    first = roster(events_session_factory)
    assert first == {alumnus_id: expected_entry(r) for alumnus_id, r in created.items()}

    # A re-run, through the operator command, pages through the same records and
    # changes nothing.
    # Operator commands call as the gateway's account: here, the test vhost's one.
    monkeypatch.setenv("GATEWAY_AMQP_URI", rabbit_config["AMQP_URI"])
    assert backfill.main(["--timeout", "60"]) == 0
    assert f"Backfill done: 3 pages, {ALUMNI} alumni" in capsys.readouterr().out
    assert roster(events_session_factory) == first

    # A roster entry newer than the registry's record (an event handled before the
    # backfill reads the page) is not overwritten by the older snapshot.
    ahead_id, renamed_id = list(created)[:2]
    with events_session_factory.begin() as session:
        session.execute(
            update(RosterEntry)
            .where(RosterEntry.alumnus_id == ahead_id)
            .values(name="较新的快照", updated_at=datetime.now(UTC) + timedelta(days=1))
        )
    ahead = roster(events_session_factory)[ahead_id]

    # An update whose event has not reached the events service (relay held back): the
    # backfill alone brings the new value.
    relay = relay_of(registry_container)
    relay.paused = True
    renamed = registry.update_alumnus(renamed_id, {"name": "张三丰"}, "PATCH (test)")
    assert roster(events_session_factory)[renamed_id][0] == created[renamed_id]["name"]

    assert rpc_cluster.events.backfill_roster() == {"pages": 3, "alumni": ALUMNI}
    after = roster(events_session_factory)
    assert after[renamed_id] == expected_entry(renamed)
    assert after[ahead_id] == ahead
    assert {k: v for k, v in after.items() if k not in (renamed_id, ahead_id)} == {
        k: v for k, v in first.items() if k not in (renamed_id, ahead_id)
    }

    # The held-back event arrives later and, carrying the same version, changes nothing.
    with entrypoint_waiter(events_container, "on_alumnus_updated", timeout=RELAY_WAIT_SECONDS):
        relay.paused = False
        relay.wake()
    assert roster(events_session_factory) == after
