"""Alembic migrations, one history per service, run before a service starts.

`python -m services.common.migrate <service>` upgrades that service's database
to head. On PostgreSQL an advisory lock serialises concurrent starters (two
instances of one service starting together).
"""

from __future__ import annotations

import argparse
import importlib
import zlib
from importlib import resources

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

from services.common import catalogue, config
from services.common.db import make_engine


def versions_directory(service: str) -> str:
    """Where a service keeps its revisions: services/<name>/migrations/versions."""
    package = catalogue.by_name(service).migrations_package
    return str(resources.files(package) / "migrations" / "versions")


def alembic_config(service: str, url: str) -> Config:
    cfg = Config()
    # One env.py and script template for all (services/common/migrations/); the revisions
    # are the service's own.
    cfg.set_main_option("script_location", "services.common:migrations")
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", versions_directory(service))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["service"] = service
    return cfg


def upgrade(service: str, url: str | None = None) -> None:
    url = url or config.database_url(service)
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as connection, _migration_lock(engine, connection, service):
            cfg = alembic_config(service, url)
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")
            connection.commit()
    finally:
        engine.dispose()


class _migration_lock:
    def __init__(self, engine: Engine, connection, service: str) -> None:
        self.connection = connection
        self.enabled = engine.dialect.name == "postgresql"
        self.key = zlib.crc32(f"migrate:{service}".encode())

    def __enter__(self):
        if self.enabled:
            self.connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": self.key})
            self.connection.commit()
        return self

    def __exit__(self, *exc):
        if self.enabled:
            self.connection.rollback()
            self.connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            self.connection.commit()


def target_metadata(service: str):
    return importlib.import_module(catalogue.by_name(service).models_module).Base.metadata


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Upgrade a service's database to the latest schema."
    )
    parser.add_argument("service")
    args = parser.parse_args()
    upgrade(args.service)


if __name__ == "__main__":
    main()
