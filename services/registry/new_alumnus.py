"""A new alumnus's rows stored together: the record, its graduations, its name's search
keys and bigrams, its history and its `alumnus_registered` outbox row.

On PostgreSQL in one statement: the record's INSERT returns its `seq` to the other
INSERTs (data-modifying CTEs), each taking its rows as one array a column, unnested
beside that `seq`. Built once a shape of rows, so a registration is one round trip to the
server instead of six. Each round trip cost the registry 0.07–0.17 ms of CPU in psycopg2
alone under the registration bench, and the server its own
(docs/performance/registrations.md). On SQLite, which has no data-modifying CTEs and no
round trips, one INSERT a table as before.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import (
    ARRAY,
    Connection,
    Insert,
    Table,
    bindparam,
    func,
    insert,
    select,
    true,
)

from services.common.db import PREPARED
from services.registry import namekeys
from services.registry.models import ChangeRecord, OutboxMessage

ALUMNI, GRADUATIONS, KEYS, GRAMS = (
    namekeys.ALUMNI,
    namekeys.GRADUATIONS,
    namekeys.KEYS,
    namekeys.GRAMS,
)
# The keys' and bigrams' own columns: the `alumnus_seq` comes from the record.
KEY_COLUMNS = namekeys.KEY_COLUMNS[1:]
GRAM_COLUMNS = namekeys.GRAM_COLUMNS[1:]
OUTBOX = OutboxMessage.__table__
CHANGES = ChangeRecord.__table__
# SQLite's: one INSERT a table (the keys' and bigrams' are namekeys.add's).
INSERT_ALUMNUS, INSERT_GRADUATIONS = insert(ALUMNI), insert(GRADUATIONS)
INSERT_CHANGES, INSERT_OUTBOX = insert(CHANGES), insert(OUTBOX)


def store(
    connection: Connection,
    alumnus: dict[str, Any],
    graduations: list[dict[str, Any]],
    changes: list[dict[str, Any]],
    outbox: dict[str, Any],
) -> None:
    """Insert a new alumnus (`alumnus`: the `alumni` columns) with its graduations, its
    search keys and bigrams (of its GRAM_FIELDS), its history rows (`graduations` and
    `changes` as column → value, without `alumnus_seq`) and its outbox row. On
    PostgreSQL an error leaves none of them written; on SQLite the caller's transaction
    is rolled back."""
    keyed = {field: alumnus[field] for field in namekeys.GRAM_FIELDS}
    if connection.dialect.name != "postgresql":
        seq = connection.execute(INSERT_ALUMNUS, alumnus).inserted_primary_key[0]
        connection.execute(INSERT_GRADUATIONS, [{**g, "alumnus_seq": seq} for g in graduations])
        namekeys.add(connection, seq, keyed)
        if changes:
            connection.execute(INSERT_CHANGES, [{**c, "alumnus_seq": seq} for c in changes])
        connection.execute(INSERT_OUTBOX, outbox)
        return
    keys = [
        dict(zip(KEY_COLUMNS, key, strict=True)) for key in namekeys.name_key_pairs(keyed["name"])
    ]
    grams = [dict(zip(GRAM_COLUMNS, gram, strict=True)) for gram in namekeys.field_grams(keyed)]
    statement = _one_statement(
        tuple(alumnus), tuple(graduations[0]), tuple(changes[0]) if changes else ()
    )
    params = (
        {f"a_{name}": value for name, value in alumnus.items()}
        | _arrays("g_", graduations)
        | _arrays("k_", keys, KEY_COLUMNS)
        | _arrays("t_", grams, GRAM_COLUMNS)
        | _arrays("c_", changes)
        | {f"o_{name}": value for name, value in outbox.items()}
    )
    connection.execute(statement, params)


def _arrays(
    prefix: str, rows: list[dict[str, Any]], columns: tuple[str, ...] | None = None
) -> dict[str, list[Any]]:
    """The rows as one list a column, `<prefix><column>`."""
    names = columns if columns is not None else tuple(rows[0]) if rows else ()
    return {f"{prefix}{name}": [row[name] for row in rows] for name in names}


@functools.lru_cache(maxsize=64)
def _one_statement(
    alumnus_columns: tuple[str, ...],
    graduation_columns: tuple[str, ...],
    change_columns: tuple[str, ...],
) -> Insert:
    """The outbox row's INSERT, with the record's (returning its `seq`) and the child
    tables' as CTEs, for rows with these columns. PostgreSQL runs every data-modifying CTE,
    referenced or not, in the statement's one snapshot. Prepared on the server once a
    connection (`PREPARED`): its parsing and planning were 0.5–0.8 ms of PostgreSQL's CPU
    at every registration."""
    record = (
        insert(ALUMNI)
        .values(_bound(ALUMNI, "a_", alumnus_columns))
        .returning(ALUMNI.c.seq)
        .cte("new_alumnus")
    )
    children = [
        _beside(record, GRADUATIONS, "g_", graduation_columns, "new_graduations"),
        _beside(record, KEYS, "k_", KEY_COLUMNS, "new_keys"),
        _beside(record, GRAMS, "t_", GRAM_COLUMNS, "new_grams"),
    ]
    if change_columns:
        children.append(_beside(record, CHANGES, "c_", change_columns, "new_changes"))
    outbox_columns = ("event_id", "event_type", "payload", "created_at")
    return (
        insert(OUTBOX)
        .values(_bound(OUTBOX, "o_", outbox_columns))
        .add_cte(*children)
        .execution_options(**{PREPARED: True})
    )


def _bound(table: Table, prefix: str, names: tuple[str, ...]) -> dict[str, Any]:
    """Parameters `<prefix><name>` typed as `table`'s columns: an encrypted column's value
    is encrypted as the column says."""
    return {name: bindparam(f"{prefix}{name}", type_=table.c[name].type) for name in names}


def _beside(record: Any, table: Table, prefix: str, columns: tuple[str, ...], name: str) -> Any:
    """The INSERT of `table`'s rows, given as arrays `<prefix><column>`, each row with the
    new record's `seq` as its `alumnus_seq`."""
    # Each an array of the column's type: its elements are encrypted where the column is,
    # and psycopg2's dialect casts it to that type, so that even an empty one has a type.
    arrays = [
        bindparam(f"{prefix}{column}", type_=ARRAY(table.c[column].type)) for column in columns
    ]
    rows = func.unnest(*arrays).table_valued(*columns).render_derived()
    chosen = select(record.c.seq, *(rows.c[column] for column in columns)).select_from(
        record.join(rows, true())
    )
    return insert(table).from_select(("alumnus_seq", *columns), chosen).cte(name)
