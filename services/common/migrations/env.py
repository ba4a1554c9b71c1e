"""The Alembic env.py of every service: online migrations on a given connection.

One script directory (this folder: env.py and the script template) serves every
service; each service keeps only its revisions, in services/<name>/migrations/versions
(services/common/migrate.py points Alembic there).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from services.common.migrate import target_metadata


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


def _migrate(connection, metadata) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
