"""The settings every SQLite connection of the platform gets (services/common/db.py)."""

from __future__ import annotations

from sqlalchemy import text

from services.common import db


def test_each_connection_is_set_up_for_green_threads_reads_and_bulk_writes(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'service.db'}")
    try:
        with engine.connect() as connection:

            def pragma(name: str):
                return connection.execute(text(f"PRAGMA {name}")).scalar()

            assert pragma("journal_mode") == "wal"
            assert pragma("foreign_keys") == 1
            assert pragma("busy_timeout") == db.SQLITE_BUSY_TIMEOUT_MS
            assert pragma("mmap_size") == db.SQLITE_MMAP_BYTES
    finally:
        engine.dispose()
