"""The nameko dependency provider of a service's own database, and of its outbox relay.

Nameko replies to an RPC call and acks an event *before* a dependency's
`worker_teardown` runs, so committing there would acknowledge work that may
still fail to commit. The provider therefore gives each worker one session and
a `transaction()` context that commits before the entrypoint method returns;
teardown only rolls back and closes what a worker left open.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from nameko.extensions import DependencyProvider
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from services.common import access_log, config
from services.common.adapters.publisher import BrokerPublisher
from services.common.broker import BrokerLink
from services.common.db import make_engine
from services.common.group_commit import GroupCommit
from services.common.relay import OutboxRelay

POOL_HEADROOM = 6
"""Connections beyond one per worker: the relay, the access log's writer and the health
probe."""


class WorkerDatabase:
    """What a worker sees: one lazily opened session and a transaction scope over it."""

    def __init__(
        self,
        session_factory: sessionmaker,
        base: type[DeclarativeBase],
        on_commit: Callable,
        access_log_writer: GroupCommit | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._engine: Engine = session_factory.kw["bind"]
        self._base = base
        self._on_commit = on_commit
        self._access_log_writer = access_log_writer
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = self._session_factory()
        return self._session

    @contextmanager
    def transaction(self, records_events: bool = True) -> Iterator[Session]:
        """Commit on success, roll back on error; wake the outbox relay after a commit.

        `records_events=False` for a read that records no event (a search): waking the
        relay would make it poll the outbox for nothing after each call, in this process
        (docs/PERFORMANCE.md, "Search at 100,000"); its own poll still runs."""
        session = self.session
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        if records_events:
            self._on_commit()

    @contextmanager
    def reads(self) -> Iterator[Connection]:
        """A read that writes nothing but its access-log rows (services/common/access_log.py
        `record`), through a plain connection and Core statements rather than the ORM
        session: the session's bookkeeping was a third of a get's work in-process (issue
        12, docs/PERFORMANCE.md). Those rows are committed after the read together with
        other workers' (`GroupCommit`, the service's `access_log_model`), and the scope
        ends only once they are."""
        writer = self._access_log_writer
        logged: list[dict[str, Any]] = []
        with self._engine.connect() as connection:
            if writer:
                connection.info[access_log.GROUPED_ROWS] = logged
            try:
                yield connection
                connection.commit()
            finally:
                # The dictionary outlives this checkout: it belongs to the pooled connection.
                connection.info.pop(access_log.GROUPED_ROWS, None)
        if writer:
            # Back in the pool first: the wait for the group commit needs no connection.
            writer.insert(logged)

    def claim(self, session: Session, event_id: str, handler: str) -> bool:
        """The inbox claim of `handler` on `event_id`, in `session`'s transaction."""
        return self._base.inbox_model.claim(session, event_id, handler)

    def close(self) -> None:
        if self._session is not None:
            self._session.rollback()
            self._session.close()
            self._session = None


class Database(DependencyProvider):
    """The service's own database (`<SERVICE>_DATABASE_URL`); also runs its outbox relay,
    which publishes to `<service>.events`.

    `base` is the service's declarative base (services/common/models.py `service_base`),
    which names the outbox and inbox tables, and, in a service whose reads are logged
    together (`WorkerDatabase.reads()`), its `access_log_model`, whose
    writer thread it runs.
    """

    def __init__(self, base: type[DeclarativeBase]) -> None:
        self.base = base
        self.engine: Engine | None = None
        self.session_factory: sessionmaker | None = None
        self.relay: OutboxRelay | None = None
        self.access_log_writer: GroupCommit | None = None
        self._workers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def setup(self) -> None:
        service = self.container.service_name
        settings = self.container.config
        self.engine = make_engine(
            config.database_url(service, settings),
            pool_size=self.container.max_workers + POOL_HEADROOM,
        )
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)
        self.relay = OutboxRelay(
            self.session_factory,
            self.base.outbox_model,
            BrokerPublisher(config.amqp_uri(settings), service),
            paused=config.outbox_relay_paused(settings),
            retention=timedelta(seconds=config.get_float("OUTBOX_RETENTION_SECONDS", settings)),
            purge_interval=config.get_float("OUTBOX_PURGE_SCAN_SECONDS", settings),
        )
        model = getattr(self.base, "access_log_model", None)
        if model is not None:
            self.access_log_writer = GroupCommit(
                self.engine,
                model.__table__,
                config.get_float("ACCESS_LOG_GATHER_SECONDS", settings),
                # nameko's workers in flight, those spawned and not yet run among them.
                lambda: len(self.container._worker_threads),
            )

    def start(self) -> None:
        self.container.spawn_managed_thread(self.relay.run, identifier="outbox_relay")
        if self.access_log_writer is not None:
            self.container.spawn_managed_thread(
                self.access_log_writer.run, identifier="access_log_writer"
            )

    @property
    def broker_link(self) -> BrokerLink | None:
        """The relay's link to the broker, reported by the `health` RPC (HealthMixin)."""
        return self.relay.broker_link if self.relay is not None else None

    def stop(self) -> None:
        if self.relay is not None:
            self.relay.stop()
        if self.access_log_writer is not None:
            self.access_log_writer.stop()
        if self.engine is not None:
            self.engine.dispose()

    def kill(self) -> None:
        self.stop()

    def get_dependency(self, worker_ctx) -> WorkerDatabase:
        worker_db = WorkerDatabase(
            self.session_factory, self.base, self.relay.wake, self.access_log_writer
        )
        self._workers[worker_ctx] = worker_db
        return worker_db

    def worker_teardown(self, worker_ctx) -> None:
        worker_db = self._workers.pop(worker_ctx, None)
        if worker_db is not None:
            worker_db.close()


class Adapter(DependencyProvider):
    """An outside system's real adapter (docs/architecture.md, "Outside systems"), built
    once per container by `build(settings)` from the container's configuration (read
    through services.common.config) and shared by its workers. Tests swap it for the
    in-memory fake with nameko's `replace_dependencies`, or point its settings at a
    stand-in."""

    def __init__(self, build: Callable[[Any], Any]) -> None:
        self.build = build
        self.adapter: Any = None

    def setup(self) -> None:
        self.adapter = self.build(self.container.config)

    def get_dependency(self, worker_ctx) -> Any:
        return self.adapter
