"""reliable_event_handler against real RabbitMQ: retries with backoff, a dead-letter queue,
and, through `@consumes` and the inbox table, idempotent effects when an event is
delivered twice."""

from __future__ import annotations

import time
from urllib.parse import quote

import eventlet
import pytest
from nameko.amqp import get_connection
from nameko.amqp.publish import get_producer
from nameko.standalone.events import event_dispatcher
from sqlalchemy import Integer, String, create_engine, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from services import deadletters
from services.broker_accounts import Management
from services.common.contracts import build_event
from services.common.dependencies import Database
from services.common.entrypoints import consumes
from services.common.models import service_base
from services.common.reliable_events import (
    ATTEMPT_HEADER,
    ERROR_HEADER,
    PUBLISHER_HEADER,
    dead_letter_queue_name,
    reliable_event_handler,
    retry_queue_name,
)
from tests.support.registry_data import alumnus_snapshot
from tests.support.taps import as_publisher

RETRY_DELAYS = (0.2, 0.2)
DEADLINE_SECONDS = 10
QUIET_SECONDS = 0.8  # four times a retry delay: long enough for a retry that should not happen


def handler_queue(service_name: str, method_name: str) -> str:
    return f"evt-registry-alumnus_registered--{service_name}.{method_name}"


def registered_event(name: str = "王小明") -> dict:
    return build_event("alumnus_registered", alumnus_snapshot(name=name))


def publish(rabbit_config, event: dict) -> None:
    dispatch = event_dispatcher(
        rabbit_config, message_id=event["event_id"], **as_publisher(rabbit_config)
    )
    dispatch("registry", "alumnus_registered", event)


def message_count(amqp_uri: str, queue: str) -> int:
    """Ready messages on `queue`; a passive declare, so it fails if the queue does not exist."""
    with get_connection(amqp_uri) as connection:
        return connection.default_channel.queue_declare(queue, passive=True).message_count


def wait_until(condition, timeout: float = DEADLINE_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met within the deadline")
        eventlet.sleep(0.02)


def test_failing_handler_is_retried_then_dead_lettered(
    container_factory, rabbit_config, get_message_from_queue
):
    calls = []

    class AlwaysFails:
        name = "always_fails"

        @reliable_event_handler("registry", "alumnus_registered", retry_delays=RETRY_DELAYS)
        def on_registered(self, event):
            calls.append(time.monotonic())
            raise RuntimeError(f"cannot handle {event['event_id']}")

    container_factory(AlwaysFails, rabbit_config).start()
    queue = handler_queue("always_fails", "on_registered")
    amqp_uri = rabbit_config["AMQP_URI"]
    # Declared at start-up, before any message needs them.
    for side_queue in (retry_queue_name(queue, 1), retry_queue_name(queue, 2)):
        assert message_count(amqp_uri, side_queue) == 0
    assert message_count(amqp_uri, dead_letter_queue_name(queue)) == 0

    event = registered_event()
    publish(rabbit_config, event)

    dead = get_message_from_queue(dead_letter_queue_name(queue), timeout=DEADLINE_SECONDS)
    assert dead.payload == event
    assert dead.headers[ATTEMPT_HEADER] == 3
    assert "RuntimeError" in dead.headers[ERROR_HEADER]
    assert event["event_id"] in dead.headers[ERROR_HEADER]
    assert not any(key.startswith("x-death") for key in dead.headers)
    assert dead.properties["message_id"] == event["event_id"]
    assert len(calls) == 3
    # Backoff: each retry waited at least its delay (the broker's TTL, in ms granularity).
    assert calls[1] - calls[0] >= RETRY_DELAYS[0] - 0.05
    assert calls[2] - calls[1] >= RETRY_DELAYS[1] - 0.05

    eventlet.sleep(QUIET_SECONDS)
    assert len(calls) == 3
    for waiting in (queue, retry_queue_name(queue, 1), retry_queue_name(queue, 2)):
        assert message_count(amqp_uri, waiting) == 0
    assert message_count(amqp_uri, dead_letter_queue_name(queue)) == 0  # we took the one


def test_handler_that_fails_once_is_retried_and_not_dead_lettered(container_factory, rabbit_config):
    calls = []
    succeeded = []

    class FailsOnce:
        name = "fails_once"

        @reliable_event_handler("registry", "alumnus_registered", retry_delays=RETRY_DELAYS)
        def on_registered(self, event):
            calls.append(event["event_id"])
            if len(calls) == 1:
                raise ConnectionError("database briefly unreachable")
            succeeded.append(event["event_id"])

    container_factory(FailsOnce, rabbit_config).start()
    event = registered_event()
    publish(rabbit_config, event)

    wait_until(lambda: succeeded)
    eventlet.sleep(QUIET_SECONDS)
    assert calls == [event["event_id"], event["event_id"]]
    assert succeeded == [event["event_id"]]
    queue = handler_queue("fails_once", "on_registered")
    amqp_uri = rabbit_config["AMQP_URI"]
    for name in (
        queue,
        retry_queue_name(queue, 1),
        retry_queue_name(queue, 2),
        dead_letter_queue_name(queue),
    ):
        assert message_count(amqp_uri, name) == 0, name


def test_retry_queue_lost_with_the_brokers_data_is_declared_again(container_factory, rabbit_config):
    """A broker that comes back without its data (a new node, a lost volume) has the
    handler's queue again, declared by its consumer, but none of its retry queues."""
    succeeded = []

    class FailsOnce:
        name = "fails_once_after_loss"

        @reliable_event_handler("registry", "alumnus_registered", retry_delays=RETRY_DELAYS)
        def on_registered(self, event):
            succeeded.append(event["event_id"])
            if len(succeeded) == 1:
                raise ConnectionError("database briefly unreachable")

    container_factory(FailsOnce, rabbit_config).start()
    queue = handler_queue("fails_once_after_loss", "on_registered")
    with get_connection(rabbit_config["AMQP_URI"]) as connection:
        connection.default_channel.queue_delete(retry_queue_name(queue, 1))

    event = registered_event()
    publish(rabbit_config, event)

    wait_until(lambda: len(succeeded) == 2)
    assert message_count(rabbit_config["AMQP_URI"], retry_queue_name(queue, 1)) == 0


# ---- idempotent consumer -------------------------------------------------------


Base = service_base()
ProcessedMessage = Base.inbox_model


class Welcome(Base):
    """The consumer's effect: one welcome per registered alumnus."""

    __tablename__ = "welcomes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alumnus_id: Mapped[str] = mapped_column(String(36))
    event_id: Mapped[str] = mapped_column(String(36))


def welcome_count(url: str) -> int:
    engine = create_engine(url)
    try:
        with Session(engine) as session:
            return session.scalar(select(func.count()).select_from(Welcome))
    finally:
        engine.dispose()


@pytest.fixture
def consumer_db_url(databases):
    url = databases.new("consumer")
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    return url


def test_event_delivered_twice_applies_its_effect_once(
    container_factory, rabbit_config, consumer_db_url
):
    class Welcomer:
        name = "welcomer"
        db = Database(Base)

        @consumes("registry", "alumnus_registered", retry_delays=(0.1, 0.2, 0.5))
        def on_registered(self, session, event):
            session.add(Welcome(alumnus_id=event["data"]["id"], event_id=event["event_id"]))

    config = {**rabbit_config, "WELCOMER_DATABASE_URL": consumer_db_url}
    container_factory(Welcomer, config).start()

    twice, once = registered_event("王小明"), registered_event("李雷")
    publish(rabbit_config, twice)
    publish(rabbit_config, twice)
    publish(rabbit_config, once)

    queue = handler_queue("welcomer", "on_registered")
    wait_until(lambda: welcome_count(consumer_db_url) >= 2)
    wait_until(lambda: message_count(rabbit_config["AMQP_URI"], queue) == 0)
    eventlet.sleep(QUIET_SECONDS)

    engine = create_engine(consumer_db_url)
    try:
        with Session(engine) as session:
            welcomes = session.execute(select(Welcome.alumnus_id, Welcome.event_id)).all()
            processed = session.scalar(select(func.count()).select_from(ProcessedMessage))
    finally:
        engine.dispose()
    assert sorted(welcomes) == sorted(
        [(twice["data"]["id"], twice["event_id"]), (once["data"]["id"], once["event_id"])]
    )
    assert processed == 2


@pytest.fixture
def accounts(rabbit_config):
    """Three more accounts on the test's vhost: a consuming service's, the publisher's, and
    a third party's; deleted afterwards."""
    management = Management.from_settings(rabbit_config["AMQP_URI"])
    vhost = rabbit_config["vhost"]
    address = rabbit_config["AMQP_URI"].split("@", 1)[1]
    users = {role: f"{vhost}-{role}" for role in ("consumer", "publisher", "other")}
    for user in users.values():
        management.request("PUT", f"users/{quote(user, safe='')}", {"password": "pw", "tags": ""})
        management.request(
            "PUT",
            f"permissions/{quote(vhost, safe='')}/{quote(user, safe='')}",
            {"configure": ".*", "write": ".*", "read": ".*"},
        )
    yield {role: (user, f"amqp://{user}:pw@{address}") for role, user in users.items()}
    for user in users.values():
        management.delete_user(user)


def test_a_retry_copy_keeps_its_verified_publisher_but_nobody_else_can_claim_one(
    container_factory, rabbit_config, accounts, get_message_from_queue
):
    """The consumer parks a failed event under its own account with the publisher it
    verified in a header; that header counts only on its own copies."""
    handled = []

    class FailsOnce:
        name = "fails_once_on_accounts"

        @reliable_event_handler("registry", "alumnus_registered", retry_delays=RETRY_DELAYS)
        def on_registered(self, event):
            handled.append(event["event_id"])
            if len(handled) == 1:
                raise ConnectionError("database briefly unreachable")

    consumer_user, consumer_uri = accounts["consumer"]
    publisher_user, publisher_uri = accounts["publisher"]
    other_user, other_uri = accounts["other"]
    settings = {**rabbit_config, "AMQP_URI": consumer_uri, "REGISTRY_AMQP_URI": publisher_uri}
    container_factory(FailsOnce, settings).start()
    event = registered_event()
    dispatch = event_dispatcher({"AMQP_URI": publisher_uri}, user_id=publisher_user)
    dispatch("registry", "alumnus_registered", event)
    wait_until(lambda: len(handled) == 2)

    queue = handler_queue("fails_once_on_accounts", "on_registered")
    forged = registered_event("冒名者")
    with get_producer(other_uri) as producer:
        producer.publish(
            forged,
            exchange="",
            routing_key=queue,
            serializer="json",
            headers={PUBLISHER_HEADER: publisher_user},
            user_id=other_user,
        )
    dead = get_message_from_queue(dead_letter_queue_name(queue), timeout=DEADLINE_SECONDS)
    assert dead.payload == forged
    assert "发布者" in dead.headers[ERROR_HEADER]
    assert handled == [event["event_id"], event["event_id"]]


def test_on_a_cluster_every_queue_of_a_handler_is_a_quorum_queue(container_factory, rabbit_config):
    """EVENT_QUEUE_TYPE=quorum (deploy/k8s): the handler's queue and its retry and
    dead-letter queues are quorum queues, retries still wait out their delay there and a
    message that keeps failing still ends in the dead-letter queue."""
    calls = []

    class OnCluster:
        name = "on_cluster"

        @reliable_event_handler("registry", "alumnus_registered", retry_delays=RETRY_DELAYS)
        def on_registered(self, event):
            calls.append(time.monotonic())
            raise RuntimeError("still failing")

    container_factory(OnCluster, {**rabbit_config, "EVENT_QUEUE_TYPE": "quorum"}).start()
    queue = handler_queue("on_cluster", "on_registered")
    names = [queue, retry_queue_name(queue, 1), retry_queue_name(queue, 2)]
    names.append(dead_letter_queue_name(queue))
    vhost = quote(rabbit_config["AMQP_URI"].rsplit("/", 1)[1], safe="")
    management = Management.from_settings(rabbit_config["AMQP_URI"])
    for name in names:
        assert management.request("GET", f"queues/{vhost}/{quote(name, safe='')}")["type"] == (
            "quorum"
        ), name

    publish(rabbit_config, registered_event())
    amqp_uri = rabbit_config["AMQP_URI"]
    wait_until(lambda: message_count(amqp_uri, dead_letter_queue_name(queue)) == 1)
    assert len(calls) == 3
    assert calls[2] - calls[1] >= RETRY_DELAYS[1] - 0.05


def test_the_event_queue_type_is_checked():
    from services.common import config

    assert config.event_queue_arguments({"EVENT_QUEUE_TYPE": "classic"}) == {}
    assert config.event_queue_arguments({}, queue_type="quorum") == {"x-queue-type": "quorum"}
    with pytest.raises(ValueError, match="EVENT_QUEUE_TYPE"):
        config.event_queue_arguments({"EVENT_QUEUE_TYPE": "stream"})


def test_dead_letters_are_shown_and_replayed_once_the_cause_is_fixed(
    container_factory, rabbit_config, accounts
):
    """services/deadletters.py, as the consumer's own account: a dead event goes back to
    its handler and is handled; a forged one is refused again and stays dead; a replay of
    other events leaves them where they are."""
    handled = []
    broken = [True]

    class Mends:
        name = "mends"

        @reliable_event_handler("registry", "alumnus_registered", retry_delays=RETRY_DELAYS)
        def on_registered(self, event):
            if broken[0]:
                raise RuntimeError("a bug, fixed later")
            handled.append(event["event_id"])

    consumer_user, consumer_uri = accounts["consumer"]
    publisher_user, publisher_uri = accounts["publisher"]
    other_user, other_uri = accounts["other"]
    settings = {**rabbit_config, "AMQP_URI": consumer_uri, "REGISTRY_AMQP_URI": publisher_uri}
    container_factory(Mends, settings).start()
    queue = handler_queue("mends", "on_registered")
    dead_queue = dead_letter_queue_name(queue)
    event = registered_event()
    dispatch = event_dispatcher({"AMQP_URI": publisher_uri}, user_id=publisher_user)
    dispatch("registry", "alumnus_registered", event)
    forged = registered_event("冒名者")
    with get_producer(other_uri) as producer:
        producer.publish(
            forged, exchange="", routing_key=queue, serializer="json", user_id=other_user
        )
    wait_until(lambda: deadletters.counts(consumer_uri, [dead_queue])[dead_queue] == 2)

    shown = {dead.event_id: dead for dead in deadletters.show(consumer_uri, dead_queue)}
    assert shown[event["event_id"]].attempts == 3
    assert "a bug, fixed later" in shown[event["event_id"]].error
    assert "发布者" in shown[forged["event_id"]].error
    assert deadletters.replay(consumer_uri, dead_queue, {"no-such-event"}) == 0
    assert deadletters.counts(consumer_uri, [dead_queue])[dead_queue] == 2

    broken[0] = False
    assert deadletters.replay(consumer_uri, dead_queue) == 2
    wait_until(lambda: handled == [event["event_id"]])
    wait_until(lambda: deadletters.counts(consumer_uri, [dead_queue])[dead_queue] == 1)
    (still_dead,) = deadletters.show(consumer_uri, dead_queue)
    assert still_dead.event_id == forged["event_id"]
    eventlet.sleep(QUIET_SECONDS)
    assert handled == [event["event_id"]]


def test_the_dead_letter_command_names_a_queue_it_does_not_know(capsys):
    assert deadletters.main(["replay", "notify", "--queue", "no-such-queue.dead"]) == 2
    assert "no dead-letter queue no-such-queue.dead" in capsys.readouterr().err
    assert all(q.endswith(".dead") for q in deadletters.dead_letter_queues("notify"))
