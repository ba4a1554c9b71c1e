"""Fixtures for unit tests of the events service's domain, on a migrated SQLite file."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import sessionmaker

from services.common.db import make_engine
from tests.support.transactions import in_transaction


@pytest.fixture
def run(tmp_path, migrated_templates):
    """Runs `fn(session, *args)` in a transaction of its own: commit, or roll back and raise."""
    url = migrated_templates.sqlite_copy("events", tmp_path / "events.db")
    engine = make_engine(url, pool_size=2)
    factory = sessionmaker(engine, expire_on_commit=False)

    def run_in_transaction(fn, *args, **kwargs):
        return in_transaction(factory, fn, *args, **kwargs)

    run_in_transaction.session_factory = factory
    run_in_transaction.url = url
    yield run_in_transaction
    engine.dispose()


@pytest.fixture
def books(tmp_path, migrated_templates):
    """A migrated donations database (tests/support/donations_books.py)."""
    from tests.support.donations_books import Books

    url = migrated_templates.sqlite_copy("donations", tmp_path / "donations.db")
    engine = make_engine(url, pool_size=2)
    yield Books(sessionmaker(engine, expire_on_commit=False))
    engine.dispose()
