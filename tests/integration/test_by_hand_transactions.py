"""Transactions begun and ended by hand on an AUTOCOMMIT PostgreSQL connection
(services/common/db.py): `BEGIN_FIRST` sends the BEGIN with the transaction's first
statement and gives that statement's result, `THEN_COMMIT` sends the COMMIT with its
last, and `roll_back_by_hand` ends one either way. Each saves a round trip of a sign-up
(services/events/registrations.py) while it holds or waits for an event's row."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from services.common.db import (
    BEGIN_FIRST,
    THEN_COMMIT,
    autocommit,
    make_engine,
    roll_back_by_hand,
)
from tests.conftest import DatabaseFactory

pytestmark = pytest.mark.postgres

TAKE = text("UPDATE seats SET taken = taken + 1 WHERE id = 1 RETURNING taken")
TAKEN = text("SELECT taken FROM seats WHERE id = 1")


@pytest.fixture
def engine(tmp_path_factory):
    factory = DatabaseFactory("postgres", tmp_path_factory)
    engine = make_engine(factory.new("by_hand"), pool_size=2)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE seats (id int PRIMARY KEY, taken int NOT NULL)"))
        connection.execute(text("INSERT INTO seats VALUES (1, 0)"))
    yield engine
    engine.dispose()
    factory.drop_all()


def taken_seen_by_others(engine) -> int:
    with engine.connect() as other:
        return other.execute(TAKEN).scalar_one()


def test_a_statement_sent_with_its_begin_gives_its_rows_and_holds_until_the_commit(engine):
    with autocommit(engine) as connection:
        first = connection.execute(TAKE, execution_options={BEGIN_FIRST: True}).scalar_one()
        assert first == 1
        # In a transaction: nobody else sees the change yet, and the next statement is in it.
        assert connection.execute(TAKE).scalar_one() == 2
        assert taken_seen_by_others(engine) == 0
        connection.execute(TAKEN, execution_options={THEN_COMMIT: True})
        assert taken_seen_by_others(engine) == 2
        # The connection is back in autocommit: a statement alone is committed at once.
        assert connection.execute(TAKE).scalar_one() == 3
        assert taken_seen_by_others(engine) == 3


def test_a_transaction_begun_with_its_statement_is_rolled_back_by_hand(engine):
    with autocommit(engine) as connection:
        connection.execute(TAKE, execution_options={BEGIN_FIRST: True})
        roll_back_by_hand(connection)
        assert taken_seen_by_others(engine) == 0
        with pytest.raises(Exception, match="division by zero"):
            connection.execute(
                text("SELECT 1 / 0 FROM seats"), execution_options={BEGIN_FIRST: True}
            )
        roll_back_by_hand(connection)
        assert connection.execute(TAKE).scalar_one() == 1
    assert taken_seen_by_others(engine) == 1
