"""The events service in real nameko containers, over real RabbitMQ, on SQLite and PostgreSQL.

The capacity test runs two containers of the service against one PostgreSQL
database, as two deployed instances would, and fires 200 sign-ups at them at
once.
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import eventlet
import pytest
from eventlet.greenpool import GreenPool
from eventlet.queue import LightQueue
from nameko.rpc import RpcProxy
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.services import entrypoint_waiter
from sqlalchemy import func, select, update
from sqlalchemy.orm import sessionmaker

from services.common.contracts import build_event
from services.common.db import make_engine
from services.common.dependencies import Database
from services.common.errors import Conflict, ValidationFailed
from services.common.rpc import TimedRpcProxy
from services.events.models import OutboxMessage, ProcessedMessage, Registration, RosterEntry
from services.events.service import EventsService
from tests.support.callers import OFFICE, signed_context
from tests.support.events_data import open_event
from tests.support.registry_data import alumnus_snapshot
from tests.support.taps import RELAY_WAIT_SECONDS, as_publisher, drain


@pytest.fixture
def events_session_factory(events_db_url):
    engine = make_engine(events_db_url, pool_size=2)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


def new_alumnus_id() -> str:
    return str(uuid.uuid4())


# ---- the RPC flow --------------------------------------------------------------


def test_publish_sign_up_cancel_promote_check_in(events_container, rpc_cluster, event_tap):
    events = rpc_cluster.events
    event = events.create_event(open_event(capacity=2))
    with pytest.raises(Conflict) as conflict:  # a draft takes no sign-ups
        events.sign_up(event["id"], {"alumnus_id": new_alumnus_id()})
    assert conflict.value.reason == "event_not_open"
    events.publish_event(event["id"])

    first, second, third = (
        events.sign_up(event["id"], {"alumnus_id": new_alumnus_id()}) for _ in range(3)
    )
    assert [r["status"] for r in (first, second, third)] == ["confirmed", "confirmed", "waitlisted"]
    assert third["position"] == 1
    assert events.sign_up(event["id"], {"alumnus_id": first["alumnus_id"]}) == first

    events.cancel_registration(event["id"], first["id"])
    promoted = events.get_registration(third["id"])
    assert (promoted["status"], promoted["position"]) == ("confirmed", None)

    scanned = events.check_in(event["id"], {"token": promoted["checkin_token"]})
    rescanned = events.check_in(event["id"], {"token": promoted["checkin_token"]})
    assert (scanned["already_checked_in"], rescanned["already_checked_in"]) == (False, True)
    assert rescanned["registration"]["checked_in_at"] == scanned["registration"]["checked_in_at"]

    qr = events.registration_qr(third["id"])
    assert qr["content_type"] == "image/png"
    assert base64.b64decode(qr["png_base64"]).startswith(b"\x89PNG")
    assert events.attendance_stats(event["id"]) == {
        "event_id": event["id"],
        "capacity": 2,
        "confirmed": 2,
        "waitlisted": 0,
        "cancelled": 1,
        "checked_in": 1,
        "guests": 0,
        "seats": 2,
        "seats_left": 0,
    }
    with pytest.raises(ValidationFailed) as caught:
        events.sign_up(event["id"], {"alumnus_id": "not-a-uuid", "guests": -1})
    assert set(caught.value.details["fields"]) == {"alumnus_id", "guests"}

    published = drain(event_tap, 7)
    assert [e["event_type"] for e in published] == [
        "event_published",
        "registration_confirmed",
        "registration_confirmed",
        "registration_waitlisted",
        "registration_cancelled",
        "registration_promoted",
        "checkin_recorded",
    ]
    assert published[5]["data"]["registration"]["id"] == third["id"]
    # The sign-up path asks no other service anything: no registry runs here, and the
    # one RPC proxy, the roster backfill's, has a deadline (a call would fail, not hang).
    proxies = [d for d in events_container.dependencies if isinstance(d, RpcProxy)]
    assert [(type(d), d.target_service) for d in proxies] == [(TimedRpcProxy, "registry")]


# ---- consuming the registry's events ---------------------------------------------


def registry_alumnus(alumnus_id: str, name: str, updated_at: datetime) -> dict:
    stamp = updated_at.isoformat()
    return alumnus_snapshot(
        id=alumnus_id,
        name=name,
        phone="13800138000",
        email="zhang@example.com",
        city="济南",
        created_at=stamp,
        updated_at=stamp,
    )


def roster_names(session_factory) -> list[tuple[str, str]]:
    with session_factory() as session:
        return [(e.alumnus_id, e.name) for e in session.scalars(select(RosterEntry))]


def test_a_redelivered_alumnus_registered_changes_the_roster_once(
    events_container, rabbit_config, events_session_factory
):
    alumnus_id = new_alumnus_id()
    registered_at = datetime.now(UTC)
    registered = build_event(
        "alumnus_registered", registry_alumnus(alumnus_id, "张三", registered_at)
    )
    dispatch = event_dispatcher(rabbit_config, **as_publisher(rabbit_config))

    with entrypoint_waiter(events_container, "on_alumnus_registered"):
        dispatch("registry", "alumnus_registered", registered)
    assert roster_names(events_session_factory) == [(alumnus_id, "张三")]

    # Mark the row, so that a second application of the same event would show.
    with events_session_factory.begin() as session:
        session.execute(
            update(RosterEntry).where(RosterEntry.alumnus_id == alumnus_id).values(name="已标记")
        )
    with entrypoint_waiter(events_container, "on_alumnus_registered"):
        dispatch("registry", "alumnus_registered", registered)

    with events_session_factory() as session:
        claims = session.scalar(
            select(func.count())
            .select_from(ProcessedMessage)
            .where(ProcessedMessage.event_id == registered["event_id"])
        )
    assert claims == 1
    assert roster_names(events_session_factory) == [(alumnus_id, "已标记")]

    renamed = registry_alumnus(alumnus_id, "张三丰", registered_at + timedelta(seconds=1))
    updated = build_event(
        "alumnus_updated",
        {
            "id": alumnus_id,
            "changes": {"name": {"old": "张三", "new": "张三丰"}},
            "source": "office",
            "alumnus": renamed,
        },
    )
    with entrypoint_waiter(events_container, "on_alumnus_updated"):
        dispatch("registry", "alumnus_updated", updated)
    assert roster_names(events_session_factory) == [(alumnus_id, "张三丰")]


def test_events_are_published_after_commit_through_the_outbox(
    events_container, rpc_cluster, events_session_factory
):
    event = rpc_cluster.events.create_event(open_event(capacity=1))
    rpc_cluster.events.publish_event(event["id"])
    rpc_cluster.events.sign_up(event["id"], {"alumnus_id": new_alumnus_id()})

    deadline = time.monotonic() + RELAY_WAIT_SECONDS
    while True:
        with events_session_factory() as session:
            rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        if rows and all(r.sent_at is not None for r in rows):
            break
        assert time.monotonic() < deadline, "outbox rows were not relayed"
        eventlet.sleep(0.1)
    assert [r.event_type for r in rows] == ["event_published", "registration_confirmed"]
    assert all(json.loads(r.payload)["event_id"] == r.event_id for r in rows)


# ---- capacity under concurrency: two instances, one PostgreSQL database ----------


def count_workers(container) -> list[str]:
    """Names of the entrypoints whose workers this container ran (each takes a db session)."""
    seen: list[str] = []
    database = next(d for d in container.dependencies if isinstance(d, Database))
    original = database.get_dependency

    def counting(worker_ctx):
        seen.append(worker_ctx.entrypoint.method_name)
        return original(worker_ctx)

    database.get_dependency = counting
    return seen


@contextlib.contextmanager
def rpc_clients(config: dict, count: int):
    """`count` standalone proxies, each used by one green thread at a time (they are not
    safe to share between green threads)."""
    with contextlib.ExitStack() as stack:
        clients: LightQueue = LightQueue()
        for _ in range(count):
            clients.put(
                stack.enter_context(
                    ClusterRpcProxy(config, timeout=60, context_data=signed_context(OFFICE))
                )
            )

        def call(method: str, *args):
            client = clients.get()
            try:
                return getattr(client.events, method)(*args)
            finally:
                clients.put(client)

        yield call


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_two_instances_never_oversell(
    backend, events_config, events_session_factory, container_factory, rpc_cluster
):
    instances = [container_factory(EventsService, events_config) for _ in range(2)]
    workers = [count_workers(container) for container in instances]
    for container in instances:
        container.start()
    event = rpc_cluster.events.create_event(open_event(capacity=40))
    rpc_cluster.events.publish_event(event["id"])
    alumni = [new_alumnus_id() for _ in range(200)]
    pool = GreenPool(50)

    with rpc_clients(events_config, 50) as call:
        signed = list(pool.imap(lambda a: call("sign_up", event["id"], {"alumnus_id": a}), alumni))

        confirmed = [r for r in signed if r["status"] == "confirmed"]
        waitlisted = [r for r in signed if r["status"] == "waitlisted"]
        assert len(confirmed) == 40
        assert sorted(r["position"] for r in waitlisted) == list(range(1, 161))
        assert all(w.count("sign_up") > 0 for w in workers), "both instances took sign-ups"

        first_in_line = {r["id"] for r in waitlisted if r["position"] <= 20}
        leaving = [r["id"] for r in confirmed[:20]]
        list(pool.imap(lambda r: call("cancel_registration", event["id"], r), leaving))

    with events_session_factory() as session:
        registrations = session.scalars(
            select(Registration).where(Registration.event_id == event["id"])
        ).all()
        promotions = [
            json.loads(row.payload)["data"]["registration"]["id"]
            for row in session.scalars(
                select(OutboxMessage).where(OutboxMessage.event_type == "registration_promoted")
            )
        ]
    by_status: dict[str, list[Registration]] = {}
    for registration in registrations:
        by_status.setdefault(registration.status, []).append(registration)
    assert len(by_status["confirmed"]) == 40
    assert len(by_status["cancelled"]) == 20
    assert sorted(r.position for r in by_status["waitlisted"]) == list(range(1, 141))
    assert sorted(promotions) == sorted(first_in_line)  # each promoted exactly once
    stats = rpc_cluster.events.attendance_stats(event["id"])
    assert (stats["seats"], stats["waitlisted"], stats["cancelled"]) == (40, 140, 20)
    assert rpc_cluster.events.get_event(event["id"])["seats_taken"] == 40
