"""Database engines: SQLite in WAL mode, PostgreSQL through psycopg2 (green under eventlet).

No framework is imported here; the nameko dependency provider that hands each worker a
session is services/common/dependencies.py.
"""

from __future__ import annotations

import functools
import hashlib
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_MMAP_BYTES = 1 << 30
"""How much of a SQLite file its connections read through a memory map: the pages come from
the operating system's cache, shared by every connection and process, instead of each
connection's own page cache of 2 MiB by default (SQLite's), which a registry of 10,000
alumni (64 MiB) overflows at every search (docs/PERFORMANCE.md, "Search at 100,000").
Address space only: nothing is read before it is used."""


def _set_sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (the outbox relay among them) proceed while a writer commits.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
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
    if _green_sockets():
        # Without the wait callback psycopg2 blocks the whole eventlet hub on every query.
        from psycogreen.eventlet import patch_psycopg

        patch_psycopg()
    engine = create_engine(parsed, pool_size=pool_size, max_overflow=pool_size)
    event.listen(engine, "checkin", _note_checkin)
    event.listen(engine, "checkout", _ping_if_idle)
    # In this order: a prepared statement's EXECUTE may travel with a BEGIN or a COMMIT.
    event.listen(engine, "before_cursor_execute", _as_prepared, retval=True)
    event.listen(engine, "before_cursor_execute", _by_hand, retval=True)
    return engine


def dialect_insert(session: Session, target: Any) -> Insert:
    """The database's own INSERT of `target` (PostgreSQL's or SQLite's), which has
    `on_conflict_do_nothing` and `on_conflict_do_update`."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(target)


@contextmanager
def autocommit(engine: Engine) -> Iterator[Connection]:
    """A pooled PostgreSQL connection in autocommit mode: each statement its own
    transaction, or transactions begun by hand (`THEN_COMMIT`). psycopg2's own flag, set
    and cleared here: SQLAlchemy's `isolation_level="AUTOCOMMIT"` costs a round trip
    each time the connection goes back to the pool (psycopg2 then sends the isolation
    level back to the server)."""
    with engine.connect() as connection:
        dbapi_connection = connection.connection.dbapi_connection
        dbapi_connection.autocommit = True
        try:
            yield connection
        finally:
            if not connection.invalidated:
                dbapi_connection.autocommit = False


THEN_COMMIT = "then_commit"
"""Execution option (PostgreSQL): the statement is sent with a COMMIT after it, in one round
trip, ending a transaction that the caller began by hand (`BEGIN`) on an AUTOCOMMIT
connection. For a transaction that holds a contended lock to its end (an event's row
during a sign-up, services/events/registrations.py): the COMMIT does not wait for the
statement's answer to come back first. The statement's own result is not returned (the
COMMIT's is); on any error the caller must `roll_back_by_hand`."""


BEGIN_FIRST = "begin_first"
"""Execution option (PostgreSQL): the statement is sent after a BEGIN, in one round trip,
beginning by hand a transaction on an AUTOCOMMIT connection (its first statement, whose
result it gives). On any error the caller must `roll_back_by_hand`."""


PREPARED = "prepared"
"""Execution option (PostgreSQL): the statement runs as a prepared statement of its
connection, `PREPARE`d the first time the connection sends it and `EXECUTE`d with its
parameters from then on, so that the server parses and plans it once a connection rather
than at every call. For a large statement sent often: registering an alumnus
(services/registry/new_alumnus.py), whose parsing and planning were a quarter of
PostgreSQL's CPU a registration (docs/performance/registrations.md). The server infers
each parameter's type from where it stands (a column, a cast): one it cannot fails the
PREPARE, so such a statement needs its casts. A prepared statement belongs to the
server's session, so a pooler between must keep sessions (PgBouncer in session mode,
docs/operations.md)."""

PREPARED_NAMES = "prepared_statements"
"""Key of `Connection.info`: the names this DBAPI connection has prepared. SQLAlchemy
clears that dictionary when it replaces the connection, as the server forgets them."""

_PLACEHOLDER = re.compile(r"(?<!%)%\((\w+)\)s")


def _as_prepared(connection, cursor, statement, parameters, context, _executemany):
    """`PREPARED`: the statement's EXECUTE, its PREPARE sent first when this connection has
    not prepared it (survives a rollback: prepared statements are not transactional)."""
    if context is None or not context.execution_options.get(PREPARED):
        return statement, parameters
    name, prepare, execute = _prepared_forms(statement)
    prepared = connection.info.setdefault(PREPARED_NAMES, set())
    if name not in prepared:
        cursor.execute(prepare)
        prepared.add(name)
    return execute, parameters


@functools.lru_cache(maxsize=64)
def _prepared_forms(statement: str) -> tuple[str, str, str]:
    """A statement in psycopg2's named placeholders (`%(name)s`) as its name on the
    server, its PREPARE (`$1`… in the order the names first appear) and its EXECUTE,
    which takes the same parameters by the same names."""
    names: list[str] = []

    def numbered(placeholder: re.Match) -> str:
        if placeholder[1] not in names:
            names.append(placeholder[1])
        return f"${names.index(placeholder[1]) + 1}"

    # Sent without parameters, the PREPARE's text is not unescaped by psycopg2.
    body = _PLACEHOLDER.sub(numbered, statement).replace("%%", "%")
    name = "prepared_" + hashlib.blake2b(statement.encode(), digest_size=8).hexdigest()
    arguments = ", ".join(f"%({parameter})s" for parameter in names)
    execute = f"EXECUTE {name}({arguments})" if names else f"EXECUTE {name}"
    return name, f"PREPARE {name} AS {body}", execute


def _by_hand(_connection, _cursor, statement, parameters, context, _executemany):
    """A transaction begun and ended by hand (`BEGIN_FIRST`, `THEN_COMMIT`) travels with its
    statements: psycopg2 sends several at once and answers with the last one's result."""
    if context is None:
        return statement, parameters
    if context.execution_options.get(BEGIN_FIRST):
        statement = f"BEGIN; {statement}"
    if context.execution_options.get(THEN_COMMIT):
        statement = f"{statement}; COMMIT"
    return statement, parameters


def roll_back_by_hand(connection: Connection) -> None:
    """End a transaction begun by hand on an AUTOCOMMIT connection, whatever its state (a
    ROLLBACK after the COMMIT only warns); when even that fails, discard the connection,
    which makes the server roll back, so that no transaction goes back to the pool."""
    try:
        connection.exec_driver_sql("ROLLBACK")
    except BaseException:
        connection.invalidate()


PING_IDLE_SECONDS = 1.0
"""A pooled PostgreSQL connection idle longer than this is tested before use."""


def _note_checkin(_dbapi_connection, record) -> None:
    record.info["checked_in_at"] = time.monotonic()


def _ping_if_idle(dbapi_connection, record, _proxy) -> None:
    """SQLAlchemy's `pool_pre_ping`, for connections idle more than `PING_IDLE_SECONDS`.

    The ping finds a connection the server dropped while it sat in the pool (a restart,
    an idle timeout) and has the pool replace it, so no request fails for it. A
    connection used a moment ago is not asked again: it costs a round trip per checkout
    (≈ 12 % of the events service's CPU per sign-up, docs/PERFORMANCE.md), and one that
    died just now fails its next statement, as it could just after a ping; SQLAlchemy
    then invalidates the pool either way.
    """
    last = record.info.get("checked_in_at")
    if last is not None and time.monotonic() - last < PING_IDLE_SECONDS:
        return
    try:
        # As SQLAlchemy pings psycopg2: in autocommit, so the ping leaves no transaction.
        was_autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
        dbapi_connection.autocommit = was_autocommit
    except Exception as error:
        raise exc.DisconnectionError(f"pooled connection is gone: {error}") from error


def _green_sockets() -> bool:
    """Whether eventlet has patched sockets in this process (asked without importing it)."""
    patcher = sys.modules.get("eventlet.patcher")
    return patcher is not None and patcher.is_monkey_patched("socket")
