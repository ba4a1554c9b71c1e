"""What the drills share: the platform as real processes on this machine (services started
from the catalogue on a vhost and PostgreSQL databases of their own), an outside subscriber,
clients that retry as real clients do, and the result every drill prints.

A drill never touches the broker's or the database server's other tenants: it makes a vhost
and databases of its own and removes them afterwards.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pika
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.common import BenchVhost, admin_token
from services.common import catalogue
from services.common.db import make_engine
from services.localsystem import LocalSystem

if TYPE_CHECKING:
    from tests.support.broker_node import RabbitNode

DRILL_ADMIN = ("admin", "drill-admin-password-1")
DRILL_SETTINGS = {
    "JWT_SECRET": "drill-secret-" + "d" * 32,
    "PII_KEYS": "drill-personal-data-key-" + "k" * 32,
    "CALLER_KEY": "drill-caller-key-" + "c" * 32,
    "ALUMNI_ADMIN_USERNAME": DRILL_ADMIN[0],
    "ALUMNI_ADMIN_PASSWORD": DRILL_ADMIN[1],
    "RPC_TIMEOUT": "5",
    # The drills' clients are many threads of one address and one account.
    "GATEWAY_RATE_PER_ADDRESS": "0",
    "GATEWAY_RATE_PER_ACCOUNT": "0",
    "LOGIN_FREE_ATTEMPTS_PER_ADDRESS": "1000",
}
DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_POSTGRES_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
RETRY_PAUSE_SECONDS = (0.2, 0.6)
READY_SECONDS = 240.0
"""A drill starts a dozen processes at once; on a busy machine they take their time."""


@dataclass
class DrillResult:
    """What a drill prints: work sent and recorded, lost and duplicated, recovery."""

    name: str
    sent: int
    recorded: int
    lost: int
    duplicated: int
    recovery_seconds: float | None = None
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """What failed besides loss and duplication (an answer held past its deadline, say)."""

    @property
    def passed(self) -> bool:
        return self.lost == 0 and self.duplicated == 0 and not self.problems

    def line(self) -> str:
        recovery = "-" if self.recovery_seconds is None else f"{self.recovery_seconds:.1f}"
        verdict = "ok" if self.passed else "FAILED"
        return (
            f"{self.name:<28} sent {self.sent:>7}  recorded {self.recorded:>7}  "
            f"lost {self.lost:>4}  duplicated {self.duplicated:>4}  recovery s {recovery:>5}  "
            f"{verdict}"
        )


# ---- the platform ------------------------------------------------------------------------


class Databases:
    """Fresh PostgreSQL databases, dropped at the end."""

    def __init__(self, server_url: str) -> None:
        self.server_url = str(make_url(server_url).set(drivername="postgresql+psycopg2"))
        self.created: list[str] = []

    def new(self, label: str) -> str:
        name = f"drill_{label}_{uuid.uuid4().hex[:8]}"
        admin = create_engine(self.server_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        self.created.append(name)
        return str(make_url(self.server_url).set(database=name))

    def drop_all(self) -> None:
        admin = create_engine(self.server_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            for name in self.created:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Platform(LocalSystem):
    """Every process of the catalogue, with the drills' settings; `start_second` adds a
    second instance of a service (the gateway's on a port of its own)."""

    broker_node: RabbitNode | None = None

    def wait_ready(self, timeout: float = READY_SECONDS) -> None:
        super().wait_ready(timeout)

    def start_second(self, service: str) -> str:
        name = f"{service}-2"
        overrides = {}
        if service == "gateway":
            from services.localsystem import free_port

            self.second_gateway_url = f"http://127.0.0.1:{(port := free_port())}"
            overrides["WEB_SERVER_ADDRESS"] = f"127.0.0.1:{port}"
        self.start_module(name, "services.launch", service, **overrides)
        return name

    def restart(self, service: str) -> None:
        """SIGKILL, then start again (as an orchestrator restarts a crashed container)."""
        self.kill(service)
        self.start(service)


@contextmanager
def platform(
    amqp_uri: str = DEFAULT_AMQP_URI,
    postgres_url: str = DEFAULT_POSTGRES_URL,
    settings: dict[str, str] | None = None,
    broker_node: RabbitNode | None = None,
    keep_logs: Path | None = None,
) -> Iterator[Platform]:
    """The platform on a vhost of its own: on the broker of `amqp_uri`, or on `broker_node`
    (a RabbitMQ node of the drill's own, for a drill that stops its broker; the system
    keeps it as `system.broker_node`). The processes' logs are copied to `keep_logs` at the
    end, so that a drill's failure can be read after its temporary directory is gone."""
    vhost = BenchVhost(amqp_uri) if broker_node is None else None
    databases = Databases(postgres_url)
    system = None
    with tempfile.TemporaryDirectory(prefix="drill-") as var_dir:
        try:
            system = Platform(
                vhost.create() if vhost is not None else broker_node.new_vhost(),
                {entry.name: databases.new(entry.name) for entry in catalogue.with_database()},
                Path(var_dir),
                {**DRILL_SETTINGS, **(settings or {})},
                management_url=None if broker_node is None else broker_node.management_url,
            )
            system.broker_node = broker_node
            system.start_all()
            yield system
        finally:
            if system is not None:
                system.stop_all()
                system.remove_broker_accounts()
            if keep_logs is not None:
                keep_logs.mkdir(parents=True, exist_ok=True)
                for log in Path(var_dir).glob("*.log"):
                    shutil.copy(log, keep_logs / log.name)
            databases.drop_all()
            if vhost is not None:
                vhost.delete()


# ---- clients -----------------------------------------------------------------------------


def token(base_url: str) -> str:
    """An access token of the drills' admin account."""
    return admin_token(base_url, DRILL_ADMIN)


def send_until_answered(
    session: requests.Session,
    method: str,
    url: str,
    give_up_after: float,
    observe: Callable[[float, requests.Response | None], None] | None = None,
    **kwargs: Any,
) -> requests.Response | None:
    """As a real client does: on no answer, 502, 503 or 504, wait a little and send the
    same request again (with the same Idempotency-Key, when it has one). `observe` is told
    of every attempt: when it was sent, and its answer (None: no HTTP answer)."""
    deadline = time.monotonic() + give_up_after
    while time.monotonic() < deadline:
        sent = time.monotonic()
        try:
            response = session.request(method, url, timeout=15, **kwargs)
        except requests.RequestException:
            response = None
        if observe is not None:
            observe(sent, response)
        if response is not None and response.status_code not in (502, 503, 504):
            return response
        time.sleep(random.uniform(*RETRY_PAUSE_SECONDS))
    return None


def in_parallel(work: Callable[[int], None], count: int, workers: int) -> None:
    """`work(i)` for i in 0..count-1 over `workers` threads."""
    next_index = iter(range(count))
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                index = next(next_index, None)
            if index is None:
                return
            work(index)

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def progress(what: str, done: int, total: int) -> None:
    """A line at each tenth of long work (stderr, so the figures stay apart)."""
    step = max(total // 10, 1)
    if done % step == 0 or done == total:
        print(f"    … {what}: {done}/{total}", file=sys.stderr, flush=True)


# ---- an outside subscriber ---------------------------------------------------------------


class Subscriber:
    """A campus system's durable queue on one event type, bound before the load (as the
    platform's administrator account on the vhost, which keeps its permissions there)."""

    def __init__(self, amqp_uri: str, source: str, event_type: str) -> None:
        # pika knows amqp:// only; kombu's pyamqp:// is the same protocol.
        self.parameters = pika.URLParameters(re.sub(r"^pyamqp://", "amqp://", amqp_uri))
        self.queue = f"drill-subscriber.{source}.{event_type}.{uuid.uuid4().hex[:6]}"
        with self._channel() as channel:
            exchange = f"{source}.events"
            channel.exchange_declare(exchange, exchange_type="topic", durable=True)
            channel.queue_declare(self.queue, durable=True)
            channel.queue_bind(self.queue, exchange, event_type)
        self.events: list[dict[str, Any]] = []

    @contextmanager
    def _channel(self) -> Iterator[Any]:
        connection = pika.BlockingConnection(self.parameters)
        try:
            yield connection.channel()
        finally:
            connection.close()

    def drain(self) -> None:
        with self._channel() as channel:
            while True:
                method, _properties, body = channel.basic_get(self.queue, auto_ack=True)
                if method is None:
                    return
                self.events.append(json.loads(body))

    def event_ids_by(self, key: Callable[[dict[str, Any]], str]) -> dict[str, set[str]]:
        """Distinct event ids per subject (a redelivered copy shares its event id)."""
        seen: dict[str, set[str]] = {}
        for event in self.events:
            seen.setdefault(key(event["data"]), set()).add(event["event_id"])
        return seen

    def wait_for(
        self, subjects: set[str], key: Callable[[dict[str, Any]], str], timeout: float
    ) -> dict[str, set[str]]:
        deadline = time.monotonic() + timeout
        while True:
            self.drain()
            seen = self.event_ids_by(key)
            if subjects <= seen.keys() or time.monotonic() > deadline:
                return seen
            time.sleep(0.5)


def handled_twice(database_url: str) -> int:
    """Events a handler applied twice in a service: rows of one event and handler in its
    inbox (0 unless the inbox's key were gone: every effect is written with its row)."""
    engine = make_engine(database_url, pool_size=1)
    try:
        with engine.connect() as connection:
            return int(
                connection.scalar(
                    text(
                        "SELECT COUNT(*) FROM (SELECT event_id, handler FROM processed_messages "
                        "GROUP BY event_id, handler HAVING COUNT(*) > 1) AS t"
                    )
                )
            )
    finally:
        engine.dispose()
