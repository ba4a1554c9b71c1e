"""The Alembic env.py of every service: online migrations on a given connection.

One script directory (this folder: env.py and the script template) serves every
service; each service keeps only its revisions, in services/<name>/migrations/versions
(services/common/migrate.py points Alembic there).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from services.common.migrate import target_metadata

MESSAGING_TABLES = {"outbox", "processed_messages"}


def run() -> None:
    cfg = context.config
    service = cfg.attributes["service"]
    metadata = target_metadata(service)
    connection = cfg.attributes.get("connection")
    if connection is not None:
        _migrate(connection, metadata)
        return
    engine = create_engine(cfg.get_main_option("sqlalchemy.url"))
    with engine.connect() as own_connection:
        _migrate(own_connection, metadata)


def _not_a_messaging_table(obj, name, type_, reflected, compare_to) -> bool:
    """Autogenerate leaves the outbox and inbox tables alone: the first revision of every
    service creates them with the shared helper (the script template writes the call)."""
    return not (type_ == "table" and name in MESSAGING_TABLES)


def _migrate(connection, metadata) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # A batch migration makes a table again (copy, drop, rename); with foreign keys on,
        # dropping the old table would delete (ON DELETE CASCADE) or refuse to delete the
        # rows that refer to it. The pragma takes effect only outside a transaction, so it
        # comes first, and foreign keys are on again once the migrations are done.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    try:
        _run_migrations(connection, metadata)
    except BaseException:
        if sqlite:
            connection.rollback()
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        raise
    if sqlite:
        connection.commit()
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")


def _run_migrations(connection, metadata) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=_not_a_messaging_table,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
