"""Database engines and the nameko dependency provider that hands each worker a session.

Nameko replies to an RPC call and acks an event *before* a dependency's
`worker_teardown` runs, so committing there would acknowledge work that may
still fail to commit. The provider therefore gives each worker one session and
a `transaction()` context that commits before the entrypoint method returns;
teardown only rolls back and closes what a worker left open.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from eventlet import patcher
from nameko.extensions import DependencyProvider
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from services.common import config
from services.common.outbox import OutboxMessageMixin, OutboxRelay

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000


def _set_sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (the outbox relay among them) proceed while a writer commits.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def make_engine(url: str, pool_size: int = 20) -> Engine:
    """An engine configured for green threads: SQLite in WAL mode, PostgreSQL via psycogreen."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            pool_size=pool_size,
            max_overflow=pool_size,
        )
        event.listen(engine, "connect", _set_sqlite_pragmas)
        return engine
    if parsed.drivername == "postgresql":
        # SQLAlchemy 2.1 would pick psycopg 3 for a bare postgresql:// URL; we ship psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg2")
    if patcher.is_monkey_patched("socket"):
        # Without the wait callback psycopg2 blocks the whole eventlet hub on every query.
        from psycogreen.eventlet import patch_psycopg

        patch_psycopg()
    return create_engine(parsed, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


class WorkerDatabase:
    """What a worker sees: one lazily opened session and a transaction scope over it."""

    def __init__(self, session_factory: sessionmaker, on_commit) -> None:
        self._session_factory = session_factory
        self._on_commit = on_commit
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = self._session_factory()
        return self._session

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Commit on success, roll back on error; wake the outbox relay after a commit."""
        session = self.session
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        self._on_commit()

    def close(self) -> None:
        if self._session is not None:
            self._session.rollback()
            self._session.close()
            self._session = None


class Database(DependencyProvider):
    """The service's own database; also runs the service's outbox relay.

    `service` names the database (`<SERVICE>_DATABASE_URL`) and the event
    exchange (`<service>.events`) that outbox rows are published to.
    """

    def __init__(self, service: str, outbox_model: type[OutboxMessageMixin] | None = None):
        self.service = service
        self.outbox_model = outbox_model
        self.engine: Engine | None = None
        self.session_factory: sessionmaker | None = None
        self.relay: OutboxRelay | None = None
        self._workers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def setup(self) -> None:
        url_key = f"{self.service.upper()}_DATABASE_URL"
        url = self.container.config.get(url_key) or config.database_url(self.service)
        pool_size = int(self.container.config.get("max_workers", 10)) + 5
        self.engine = make_engine(url, pool_size=pool_size)
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)
        if self.outbox_model is not None:
            self.relay = OutboxRelay(
                self.session_factory,
                self.outbox_model,
                amqp_uri=self.container.config["AMQP_URI"],
                source_service=self.service,
                paused=bool(self.container.config.get("OUTBOX_RELAY_PAUSED"))
                or config.outbox_relay_paused(),
            )

    def start(self) -> None:
        if self.relay is not None:
            self.container.spawn_managed_thread(self.relay.run, identifier="outbox_relay")

    def stop(self) -> None:
        if self.relay is not None:
            self.relay.stop()
        if self.engine is not None:
            self.engine.dispose()

    def kill(self) -> None:
        self.stop()

    def get_dependency(self, worker_ctx) -> WorkerDatabase:
        on_commit = self.relay.wake if self.relay is not None else _nothing
        worker_db = WorkerDatabase(self.session_factory, on_commit)
        self._workers[worker_ctx] = worker_db
        return worker_db

    def worker_teardown(self, worker_ctx) -> None:
        worker_db = self._workers.pop(worker_ctx, None)
        if worker_db is not None:
            worker_db.close()


def _nothing() -> None:
    return None
