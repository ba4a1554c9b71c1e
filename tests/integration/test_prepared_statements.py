"""Statements run as prepared statements of their PostgreSQL connection
(services/common/db.py `PREPARED`): prepared the first time a connection sends one, then
executed with its parameters, the same rows as the plain statement; once a connection
whatever its transactions did, and again on the connection that replaces a lost one; with
parameters or without."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from services.common.db import PREPARED, make_engine
from tests.conftest import DatabaseFactory

pytestmark = pytest.mark.postgres

# A parameter used twice and a literal percent sign, which psycopg2's placeholders escape;
# each parameter's type follows from where it stands (a column, a cast).
NOTE = text(
    "INSERT INTO notes (body, label, repeated) "
    "VALUES (:body, '100% ' || :body, CAST(:count AS int) + CAST(:count AS int)) RETURNING id"
).execution_options(**{PREPARED: True})


@pytest.fixture
def engine(tmp_path_factory):
    factory = DatabaseFactory("postgres", tmp_path_factory)
    engine = make_engine(factory.new("prepared"), pool_size=1)
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE notes (id serial PRIMARY KEY, body text UNIQUE NOT NULL, "
                "label text NOT NULL, repeated int NOT NULL)"
            )
        )
    yield engine
    engine.dispose()
    factory.drop_all()


def prepared_here(connection) -> list[tuple[str, int]]:
    """This session's prepared statements: (statement, times planned)."""
    return [
        (row.statement, row.generic_plans + row.custom_plans)
        for row in connection.execute(
            text("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
        )
    ]


def notes(engine) -> list[tuple[str, str, int]]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT body, label, repeated FROM notes ORDER BY id"))
        return [tuple(row) for row in rows]


def test_a_statement_is_prepared_once_a_connection_and_executed_with_its_parameters(engine):
    with engine.begin() as connection:
        assert connection.execute(NOTE, {"body": "甲", "count": 2}).scalar_one() == 1
        assert connection.execute(NOTE, {"body": "乙", "count": 5}).scalar_one() == 2
        [(statement, planned)] = prepared_here(connection)
    assert statement.startswith("PREPARE prepared_") and "$1" in statement
    assert planned == 2
    assert notes(engine) == [("甲", "100% 甲", 4), ("乙", "100% 乙", 10)]


def test_a_statement_prepared_in_a_transaction_rolled_back_stays_prepared(engine):
    with engine.connect() as connection:
        connection.execute(NOTE, {"body": "甲", "count": 1})
        connection.rollback()
        with pytest.raises(Exception, match="duplicate key|unique"):
            connection.execute(NOTE, {"body": "乙", "count": 1})
            connection.execute(NOTE, {"body": "乙", "count": 1})
        connection.rollback()
        connection.execute(NOTE, {"body": "丙", "count": 1})
        connection.commit()
        [(_statement, planned)] = prepared_here(connection)
        assert planned == 4
    assert [body for body, _label, _count in notes(engine)] == ["丙"]


def test_the_connection_replacing_a_lost_one_prepares_it_again(engine):
    with engine.connect() as connection:
        connection.execute(NOTE, {"body": "甲", "count": 1})
        connection.commit()
        connection.invalidate()
    with engine.connect() as connection:
        connection.execute(NOTE, {"body": "乙", "count": 1})
        connection.commit()
        [(_statement, planned)] = prepared_here(connection)
        assert planned == 1
    assert [body for body, _label, _count in notes(engine)] == ["甲", "乙"]


def test_a_statement_without_parameters_is_prepared_and_executed(engine):
    count = text("SELECT count(*) FROM notes").execution_options(**{PREPARED: True})
    with engine.begin() as connection:
        assert connection.execute(count).scalar_one() == 0
        connection.execute(NOTE, {"body": "甲", "count": 1})
        assert connection.execute(count).scalar_one() == 1
        planned = sorted(n for _statement, n in prepared_here(connection))
    assert planned == [1, 2]
