"""The broker is not an open door (docs/security/broker.md), tried through the door an
attacker on the campus network would use: a plain AMQP client (pika) or a nameko RPC
proxy with an account's credentials, against the platform running on its per-service
accounts.

- a subscriber (another campus system) can bind a queue of its own and receive events,
  and can neither publish to a platform exchange, nor call RPC, nor read another's queue;
- an event that does not come from its publisher's account (put into a consumer's queue
  with the events service's account) goes to the dead-letter queue and changes nothing;
- a snapshot from the future sent with the publisher's own account is refused, and a
  later real change still reaches the copy;
- with `amqps://` and a CA configured, the services connect over TLS;
- `make run`'s supervisor puts the platform on a vhost of its own where the broker's
  default account has no permission, leaving other vhosts alone; where it cannot
  administer the broker it says so in one line and stops.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import pika
import pytest
from nameko.standalone.rpc import ClusterRpcProxy
from pika.exceptions import AMQPChannelError, AMQPConnectionError
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from services import broker_accounts
from services.common import catalogue
from services.common.reliable_events import dead_letter_queue_name
from services.events.models import RosterEntry
from tests.conftest import DatabaseFactory, running_system
from tests.support.broker_node import RabbitNode, unavailable_reason
from tests.support.processes import REPO_ROOT, SystemUnderTest, free_port
from tests.support.taps import pika_connection
from tests.support.tls import make_server_certificate
from tests.system.helpers import alumnus_body, department_body

ROSTER_QUEUE = "evt-registry-alumnus_registered--events.on_alumnus_registered"
WAIT_SECONDS = 20


def wait_for(condition, timeout: float = WAIT_SECONDS, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"not within {timeout} s: {condition}")


def account_uri(system: SystemUnderTest, user: str, password: str) -> str:
    address = system.amqp_uri.split("@", 1)[1]
    return f"amqp://{user}:{password}@{address}"


def service_uri(system: SystemUnderTest, service: str) -> str:
    return account_uri(system, f"{system.broker_prefix}{service}", system.broker_passwords[service])


@pytest.fixture(scope="module")
def platform(module_amqp_uri, tmp_path_factory, migrated_templates):
    """The platform on SQLite, every service on its own broker account."""
    with running_system("sqlite", module_amqp_uri, tmp_path_factory, migrated_templates) as system:
        yield system


@pytest.fixture(scope="module")
def subscriber(platform):
    """A campus system's account, made as docs/events.md tells an operator to."""
    name = f"crm{uuid.uuid4().hex[:6]}"
    management = platform.management()
    user, password = broker_accounts.add_subscriber(
        management, platform.broker_vhost, name, prefix=platform.broker_prefix
    )
    yield name, account_uri(platform, user, password)
    management.delete_user(user)


@pytest.fixture(scope="module")
def office(platform):
    return platform.admin()


def register(office) -> dict:
    department = office.post("/api/v1/departments", json=department_body()).json()["id"]
    response = office.post("/api/v1/alumni", json=alumnus_body(department, phone="13800138000"))
    assert response.status_code == 201, response.text
    return response.json()


def registered(platform: SystemUnderTest, office) -> dict:
    """A new alumnus's `alumnus_registered` event as the registry published it, once the
    events service has it in its roster."""
    connection = pika_connection(platform.amqp_uri)
    try:
        channel = connection.channel()
        queue = channel.queue_declare("", exclusive=True).method.queue
        channel.queue_bind(queue, "registry.events", "alumnus_registered")
        alumnus = register(office)

        def received():
            method, _properties, body = channel.basic_get(queue, auto_ack=True)
            event = json.loads(body) if method else None
            return event if event and event["data"]["id"] == alumnus["id"] else None

        event = wait_for(received)
    finally:
        connection.close()
    wait_for(lambda: roster_entry(platform, alumnus["id"]))
    return event


def roster_entry(platform: SystemUnderTest, alumnus_id: str) -> RosterEntry | None:
    engine = create_engine(platform.database_urls["events"])
    try:
        with Session(engine) as session:
            return session.get(RosterEntry, alumnus_id)
    finally:
        engine.dispose()


def refused(action) -> str:
    """What the broker said when it refused `action` (it must refuse it)."""
    with pytest.raises((AMQPChannelError, AMQPConnectionError)) as caught:
        action()
    return str(caught.value)


def dead_letters(platform: SystemUnderTest, queue: str) -> list[tuple[dict, dict]]:
    """(event, headers) of every message in `queue`'s dead-letter queue, left there."""
    found = []
    connection = pika_connection(platform.amqp_uri)
    try:
        channel = connection.channel()
        while True:
            method, properties, body = channel.basic_get(dead_letter_queue_name(queue))
            if method is None:
                break
            found.append((json.loads(body), properties.headers or {}))
    finally:
        connection.close()  # unacknowledged: they stay in the queue
    return found


# ---- a subscriber ------------------------------------------------------------------------


def test_a_subscriber_binds_a_queue_of_its_own_and_receives_the_registrys_events(
    platform, subscriber, office
):
    name, uri = subscriber
    queue = f"sub.{name}.alumni"
    connection = pika_connection(uri)
    try:
        channel = connection.channel()
        channel.queue_declare(queue, durable=True)
        channel.queue_bind(queue, "registry.events", "alumnus_registered")
        alumnus = register(office)

        def received():
            method, _properties, body = channel.basic_get(queue, auto_ack=True)
            return json.loads(body) if method else None

        event = wait_for(received)
    finally:
        connection.close()
    assert (event["event_type"], event["data"]["id"]) == ("alumnus_registered", alumnus["id"])


def test_a_subscriber_cannot_publish_to_a_platform_exchange(subscriber):
    _name, uri = subscriber
    forged = json.dumps({"event_type": "alumnus_registered", "data": {}}).encode()
    for exchange in ("registry.events", "events.events", ""):
        connection = pika_connection(uri)
        try:
            channel = connection.channel()
            channel.confirm_delivery()
            said = refused(
                lambda ch=channel, ex=exchange: ch.basic_publish(ex, ROSTER_QUEUE, forged)
            )
            assert "ACCESS_REFUSED" in said, (exchange, said)
        finally:
            if connection.is_open:
                connection.close()


def test_a_subscriber_cannot_call_rpc(subscriber):
    _name, uri = subscriber
    with (
        pytest.raises(Exception, match="ACCESS_REFUSED|access to"),  # noqa: B017
        ClusterRpcProxy({"AMQP_URI": uri}, timeout=5) as cluster,
    ):
        cluster.registry.create_account({"username": "intruder", "role": "office"})
    connection = pika_connection(uri)
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        call = json.dumps({"args": [], "kwargs": {}}).encode()
        said = refused(lambda: channel.basic_publish("nameko-rpc", "registry.search_alumni", call))
        assert "ACCESS_REFUSED" in said
    finally:
        if connection.is_open:
            connection.close()


def test_a_subscriber_cannot_declare_or_read_queues_outside_its_prefix(subscriber):
    _name, uri = subscriber
    for action in (
        lambda ch: ch.queue_declare("evt-registry-alumnus_registered--spy.x", durable=True),
        lambda ch: ch.basic_get(ROSTER_QUEUE),
        lambda ch: ch.exchange_delete("registry.events"),
    ):
        connection = pika_connection(uri)
        try:
            said = refused(lambda a=action, c=connection: a(c.channel()))
            assert "ACCESS_REFUSED" in said
        finally:
            if connection.is_open:
                connection.close()


# ---- the services' accounts -----------------------------------------------------------


def test_a_service_account_can_call_only_the_services_it_calls(platform):
    # The events service calls the registry (roster backfill), never notify: on nameko-rpc
    # its account may publish only replies, its own health and `registry.*`.
    connection = pika_connection(service_uri(platform, "events"))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        call = json.dumps({"args": [], "kwargs": {}}).encode()
        said = refused(lambda: channel.basic_publish("nameko-rpc", "notify.list_templates", call))
        assert "ACCESS_REFUSED" in said
    finally:
        if connection.is_open:
            connection.close()


def test_the_events_account_cannot_publish_the_registrys_events(platform):
    connection = pika_connection(service_uri(platform, "events"))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        said = refused(
            lambda: channel.basic_publish("registry.events", "alumnus_registered", b"{}")
        )
        assert "ACCESS_REFUSED" in said
    finally:
        if connection.is_open:
            connection.close()


def test_an_event_not_from_its_publishers_account_is_dead_lettered_and_changes_no_roster(
    platform, office
):
    """The events service's account may park messages through the default exchange, so it
    can put one into any queue: the consumer checks the validated `user_id`."""
    real = registered(platform, office)
    forged_id = str(uuid.uuid4())
    forged = {**real, "data": {**real["data"], "id": forged_id, "name": "冒名者"}}
    connection = pika_connection(service_uri(platform, "events"))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        for user_id in (None, f"{platform.broker_prefix}events"):
            channel.basic_publish(
                "",
                ROSTER_QUEUE,
                json.dumps({**forged, "event_id": str(uuid.uuid4())}).encode(),
                pika.BasicProperties(
                    content_type="application/json", delivery_mode=2, user_id=user_id
                ),
            )
    finally:
        connection.close()

    def both_dead():
        dead = [e for e, _ in dead_letters(platform, ROSTER_QUEUE) if e["data"]["id"] == forged_id]
        return dead if len(dead) == 2 else None

    wait_for(both_dead)
    assert roster_entry(platform, forged_id) is None
    headers = [h for e, h in dead_letters(platform, ROSTER_QUEUE) if e["data"]["id"] == forged_id]
    assert all("发布者" in h["x-alumni-error"] for h in headers), headers


def test_a_snapshot_from_the_future_does_not_freeze_the_roster(platform, office):
    event = registered(platform, office)
    real = event["data"]
    future = {
        **event,
        "event_id": str(uuid.uuid4()),
        "data": {
            **real,
            "name": "冒名者",
            "updated_at": (datetime.now(UTC) + timedelta(days=3650)).isoformat(),
        },
    }
    # Sent with the registry's own account: a publisher that is who it says it is, with a
    # clock (or a bug) far ahead.
    connection = pika_connection(service_uri(platform, "registry"))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(
            "registry.events",
            "alumnus_registered",
            json.dumps(future).encode(),
            pika.BasicProperties(
                content_type="application/json",
                delivery_mode=2,
                user_id=f"{platform.broker_prefix}registry",
            ),
        )
    finally:
        connection.close()

    def refusals() -> list[dict]:
        dead = dead_letters(platform, ROSTER_QUEUE)
        return [h for e, h in dead if e["event_id"] == future["event_id"]]

    (refusal,) = wait_for(refusals)
    assert "版本时间" in refusal["x-alumni-error"], refusal
    assert roster_entry(platform, real["id"]).name == real["name"]

    response = office.patch(f"/api/v1/alumni/{real['id']}", json={"name": "王改名"})
    assert response.status_code == 200, response.text
    wait_for(lambda: roster_entry(platform, real["id"]).name == "王改名")


# ---- make run ------------------------------------------------------------------------


def run_supervisor(env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "services.run"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_make_run_says_in_one_line_when_it_cannot_administer_the_broker(tmp_path):
    env = {
        **os.environ,
        "ALUMNI_VAR_DIR": str(tmp_path),
        "BROKER_MANAGEMENT_URL": f"http://127.0.0.1:{free_port()}",
        "PYTHONPATH": str(REPO_ROOT),
    }
    result = run_supervisor(env, timeout=60)
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    assert "cannot set up the platform's vhost" in lines[0]
    assert "management" in lines[0]


def test_make_run_puts_the_platform_on_a_vhost_where_guest_has_no_permission(
    outage_broker, tmp_path_factory
):
    """The supervisor of `make run` on a node of the test's own, administered by guest."""
    other = outage_broker.new_vhost().rsplit("/", 1)[1]
    databases = DatabaseFactory("sqlite", tmp_path_factory)
    system = SystemUnderTest(
        amqp_uri=outage_broker.amqp_uri,
        database_urls={e.name: databases.new(e.name) for e in catalogue.with_database()},
        var_dir=tmp_path_factory.mktemp("var"),
        management_url=outage_broker.management_url,
    )
    # As on a laptop: the vhost and account names of the defaults, passwords made in var/.
    as_make_run = {"BROKER_PROVISION": "1", "BROKER_VHOST": "", "BROKER_USER_PREFIX": ""}
    as_make_run |= {f"BROKER_PASSWORD_{name.upper()}": "" for name in catalogue.names()}
    system.start_module("supervisor", "services.run", **as_make_run)
    try:
        system.wait_ready()
        management = system.management()
        permissions = {p["user"]: p for p in management.permissions("alumni")}
        assert "guest" not in permissions
        assert set(permissions) == {f"alumni-{name}" for name in catalogue.names()}
        assert [p["user"] for p in management.permissions(other)] == ["guest"]
        with pytest.raises(AMQPConnectionError):
            pika_connection(outage_broker.vhost_uri("alumni")).close()
        banner = f"broker:     amqp://127.0.0.1:{outage_broker.port}/alumni"
        wait_for(lambda: banner in (system.var_dir / "supervisor.log").read_text())
        password_file = system.var_dir / "broker-password-registry"
        assert oct(password_file.stat().st_mode & 0o777) == "0o600"

        office = system.admin()
        alumnus = register(office)
        assert office.get(f"/api/v1/alumni/{alumnus['id']}").status_code == 200
    finally:
        system.stop_all()
        databases.drop_all()


# ---- amqps -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_broker(tmp_path_factory):
    """A node of the test's own that speaks AMQP over TLS only, with a certificate of a CA
    made for the test."""
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(f"cannot start a RabbitMQ node of our own: {reason}")
    certificate = make_server_certificate(tmp_path_factory.mktemp("tls"))
    node = RabbitNode(tmp_path_factory.mktemp("rabbit-tls"), tls=certificate)
    try:
        node.start()
        yield node, certificate
    finally:
        node.stop()


def test_the_services_work_over_amqps_when_it_is_configured(tls_broker, tmp_path_factory):
    node, certificate = tls_broker
    databases = DatabaseFactory("sqlite", tmp_path_factory)
    system = SystemUnderTest(
        amqp_uri=node.new_vhost(),
        database_urls={name: databases.new(name) for name in ("registry", "events")},
        var_dir=tmp_path_factory.mktemp("var"),
        management_url=node.management_url,
    )
    assert system.amqp_uri.startswith("amqps://")
    checked = {"ca_certs": str(certificate.ca_file), "cert_reqs": ssl.CERT_REQUIRED}
    try:
        # The events service declares its queues and consumes over TLS as well.
        for service in ("registry", "events"):
            system.start(service, AMQP_SSL_CA_CERTS=str(certificate.ca_file))

        def answers(service: str) -> bool:
            try:
                settings = {"AMQP_URI": system.amqp_uri, "AMQP_SSL": checked}
                with ClusterRpcProxy(settings, timeout=3) as cluster:
                    return getattr(cluster, service).health()["status"] == "ok"
            except Exception:  # noqa: BLE001 - not up yet
                return False

        for service in ("registry", "events"):
            wait_for(lambda s=service: answers(s), timeout=60, step=0.5)
        # The broker's certificate is checked: without the CA the handshake fails.
        with (
            pytest.raises(ssl.SSLError),
            ClusterRpcProxy({"AMQP_URI": system.amqp_uri}, timeout=3) as cluster,
        ):
            cluster.registry.health()
    finally:
        system.stop_all()
        system.remove_broker_accounts()
        databases.drop_all()
