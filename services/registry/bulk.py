"""Many rows written at once through the database driver, for the bulk import.

SQLAlchemy's `session.execute(insert(table), rows)` spends more time per row on building
and processing its parameters (~10 µs) than the database spends storing the row; an
import of 100,000 registrar rows writes ~2 million rows (alumni, graduations, ~12 history
rows each, name keys, events, the import's own rows). Here the statement is built once
and the rows go to the driver as tuples: `executemany` on SQLite, `COPY … FROM STDIN` on
PostgreSQL (psycopg2's `copy_expert`: the server parses no SQL per row, where multi-row
`VALUES` had it parse a statement of 1,000 rows, ~2× the server's and the client's CPU).

Nothing is skipped that the Core insert would do: each column's bind processor runs (so
encrypted columns are encrypted, JSON is serialised, dates are stored as SQLite expects)
and a Python-side column default is applied to a column the rows do not give.
"""

from __future__ import annotations

import gc
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from operator import itemgetter
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

from services.common import crypto
from services.common.crypto import EncryptedString

_UNSET = object()
PAGE_SIZE = 1000
"""Rows per multi-row `VALUES` statement on PostgreSQL."""


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a batch's rows are built and written.

    A batch makes ~30,000 lists, dicts and tuples that all live until it ends; every
    700 of them start a collection, and the growing survivors start full ones, which walk
    every object the process holds (a registry's sessions, caches, modules). That
    doubled the cost of building the rows (docs/performance/import.md). The rows hold no
    reference cycles: refcounting frees them when the batch ends; a cycle made meanwhile
    by other code waits for the next collection."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def insert_many(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT every row of `rows` (dicts with the same keys) into `table`, in the session's
    transaction."""
    if not rows:
        return
    given = list(rows[0])
    # The given values of a row as a list, in C (itemgetter) rather than a comprehension
    # per row: ~1 million rows at 100,000 registrar rows.
    take, single = itemgetter(*given), len(given) == 1
    insert_values(
        session, table, given, [[take(row)] if single else list(take(row)) for row in rows]
    )


def insert_values(
    session: Session, table: Table, given: Sequence[str], values: list[list[Any]]
) -> None:
    """`insert_many` for rows built as lists, their values in the order of `given` (the
    column names), for the largest tables (an import's 1.5 million search grams): no dict
    per row. The lists are completed in place (defaults, bind processing)."""
    if not values:
        return
    connection = session.connection()
    dialect = connection.dialect
    given = list(given)
    defaults = [
        (column.name, column.default)
        for column in table.columns
        if column.name not in given and column.default is not None
    ]
    names = given + [name for name, _ in defaults]
    processors = [
        (i, processor)
        for i, name in enumerate(names)
        if (processor := table.c[name].type._cached_bind_processor(dialect)) is not None
    ]
    # An encrypted column is encrypted for the whole batch at once (`encrypt_many`: the
    # ciphertexts `EncryptedString` would store, a fresh nonce each).
    encrypted = [
        (i, column_type)
        for i, name in enumerate(names)
        if isinstance(column_type := table.c[name].type, EncryptedString)
    ]
    processors = [(i, p) for i, p in processors if i not in {e for e, _ in encrypted}]
    # The batch's one timestamp (or actor, or job id) is processed once, not per row.
    memo = [[_UNSET, None] for _ in processors]
    for value in values:
        for _, default in defaults:
            # A callable default (utcnow, new_id, list) is called for each row, as the
            # Core insert would; SQLAlchemy wraps it to take an execution context.
            value.append(default.arg(None) if default.is_callable else default.arg)
        for (i, processor), last in zip(processors, memo, strict=True):
            raw = value[i]
            if last[0] is raw:
                value[i] = last[1]
            else:
                value[i] = last[1] = processor(raw)
                last[0] = raw
    for i, column_type in encrypted:
        present = [row for row in values if row[i] is not None]
        sealed = crypto.keyring().encrypt_many(
            [column_type.serialise(row[i]) for row in present], column_type.context
        )
        for row, stored in zip(present, sealed, strict=True):
            row[i] = stored
    quote = dialect.identifier_preparer.quote
    target = f"{quote(table.name)} ({', '.join(quote(n) for n in names)})"
    cursor = connection.connection.cursor()
    try:
        if dialect.name == "postgresql":
            body = io.StringIO(copy_text(values))
            with _without_wait_callback():
                cursor.copy_expert(f"COPY {target} FROM STDIN", body)
        else:
            marks = ", ".join("?" for _ in names)
            cursor.executemany(f"INSERT INTO {target} VALUES ({marks})", values)
    finally:
        cursor.close()


@contextmanager
def _without_wait_callback() -> Iterator[None]:
    """psycopg2 refuses COPY on a green connection (psycogreen's wait callback, services/
    common/db.py). The COPY runs without it, blocking the process meanwhile (a batch's
    COPY takes a fraction of a second): no other greenlet can start a query in that time,
    and one already waiting in the callback is not disturbed by the swap."""
    from psycopg2 import extensions

    callback = extensions.get_wait_callback()
    extensions.set_wait_callback(None)
    try:
        yield
    finally:
        extensions.set_wait_callback(callback)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _copy_value(value: Any) -> str:
    """One value in PostgreSQL's COPY text format (what psycopg2 would have sent, as text)."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, date):  # and datetime: ISO 8601, with its offset when it has one
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\\\x" + bytes(value).hex()
    raise TypeError(f"no COPY text for a {type(value).__name__}")


def copy_text(rows: Sequence[tuple[Any, ...]]) -> str:
    """`rows` as the body of `COPY … FROM STDIN` (text format): tab-separated, one a line.

    Column by column, to spend as little as possible per value (~13 million values at
    100,000 registrar rows): a column of text is escaped only if some value needs it
    (ciphertexts, ids and most names never do), and a repeated value (the batch's
    timestamp, actor, job) is formatted once."""
    if not rows:
        return ""
    columns = []
    for column in zip(*rows, strict=True):
        kinds = {type(v) for v in column}
        if kinds <= {str, type(None)}:
            joined = "".join([v for v in column if v is not None])
            if "\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined:
                column = [v.translate(_COPY_ESCAPES) if v is not None else v for v in column]
            columns.append(["\\N" if v is None else v for v in column])
            continue
        formatted, last, last_text = [], _UNSET, ""
        for v in column:
            if v is not last:
                last, last_text = v, _copy_value(v)
            formatted.append(last_text)
        columns.append(formatted)
    return "".join(["\t".join(row) + "\n" for row in zip(*columns, strict=True)])


def update_many(
    session: Session,
    table: Table,
    keys: Sequence[str],
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
) -> None:
    """UPDATE `table` SET `columns` WHERE `keys` for each row of `rows` (the key values,
    then the new values, in that order; plain values, no bind processing)."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    cursor = connection.connection.cursor()
    try:
        if dialect.name == "postgresql":
            from psycopg2.extras import execute_values

            names = [*keys, *columns]
            sets = ", ".join(f"{quote(c)} = v.{quote(c)}" for c in columns)
            where = " AND ".join(f"t.{quote(k)} = v.{quote(k)}" for k in keys)
            execute_values(
                cursor,
                f"UPDATE {quote(table.name)} AS t SET {sets} "
                f"FROM (VALUES %s) AS v({', '.join(quote(n) for n in names)}) WHERE {where}",
                rows,
                page_size=PAGE_SIZE,
            )
        else:
            sets = ", ".join(f"{quote(c)} = ?" for c in columns)
            where = " AND ".join(f"{quote(k)} = ?" for k in keys)
            cursor.executemany(
                f"UPDATE {quote(table.name)} SET {sets} WHERE {where}",
                [(*row[len(keys) :], *row[: len(keys)]) for row in rows],
            )
    finally:
        cursor.close()
