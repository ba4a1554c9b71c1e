"""The events service's migrations on a database that already holds rows (SQLite and
PostgreSQL): revision 0003 renames `receptions` to `visits` and keeps every row."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common.db import make_engine
from services.common.migrate import alembic_config, upgrade
from services.events import visits
from services.events.models import Base, OutboxMessage, Visit

OFFICE = {"account_id": "a1", "username": "office1", "role": "office", "department_id": None}
DECIDED_AT = datetime(2030, 5, 2, 1, 0, tzinfo=UTC)


def migrate(url: str, revision: str, direction=command.upgrade) -> None:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as connection:
            cfg = alembic_config("events", url)
            cfg.attributes["connection"] = connection
            direction(cfg, revision)
            connection.commit()
    finally:
        engine.dispose()


def reception(status: str) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "requester_alumnus_id": str(uuid.uuid4()),
        "visit_date": date(2030, 5, 20),
        "group_size": 3,
        "purpose": "回母校看看",
        "contact": '{"name": "张三", "phone": "13800138000", "email": null}',
        "status": status,
        "created_at": datetime(2030, 5, 1, 9, 0, tzinfo=UTC),
        "updated_at": datetime(2030, 5, 1, 9, 0, tzinfo=UTC),
    }


def insert_receptions(engine, rows: list[dict]) -> None:
    """Rows as revision 0002 stored them, written without the models (which name `visits`)."""
    columns = list(rows[0])
    with engine.begin() as connection:
        connection.execute(
            text(
                f"INSERT INTO receptions ({', '.join(columns)}) "
                f"VALUES ({', '.join(':' + c for c in columns)})"
            ),
            rows,
        )


@pytest.fixture
def engine_at_0002(databases):
    url = databases.new("events")
    migrate(url, "0002")
    engine = make_engine(url, pool_size=2)
    yield url, engine
    engine.dispose()


def test_receptions_become_visits_with_their_rows(engine_at_0002):
    url, engine = engine_at_0002
    rows = [reception("requested"), reception("cancelled")]
    insert_receptions(engine, rows)

    upgrade("events", url)

    tables = set(inspect(engine).get_table_names())
    assert "visits" in tables and "receptions" not in tables
    indexes = {index["name"] for index in inspect(engine).get_indexes("visits")}
    assert {name for name in indexes if name.startswith("ix_")} == {
        "ix_visits_department_status",
        "ix_visits_requester_alumnus_id",
        "ix_visits_status",
    }
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert compare_metadata(context, Base.metadata) == []  # models and schema agree

    with engine.begin() as connection:
        session = Session(bind=connection)
        page = visits.list_visits(session, {"limit": 10})
        assert [v["id"] for v in page["items"]] == [row["id"] for row in rows]
        assert page["items"][0]["contact"] == {
            "name": "张三",
            "phone": "13800138000",
            "email": None,
        }
        decided = visits.decide_visit(
            session,
            rows[0]["id"],
            {"decision": "approved", "host": "王老师", "note": None},
            OFFICE,
            DECIDED_AT,
        )
        assert decided["status"] == "approved"
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
        new = Visit(
            requester_alumnus_id=str(uuid.uuid4()),
            visit_date=date(2030, 6, 1),
            group_size=1,
            purpose="新的来访",
            contact={"name": "李四", "phone": None, "email": "li@example.com"},
            status="requested",
        )
        session.add(new)
        session.flush()
        assert new.seq == 3  # the sequence followed the table
        session.close()

    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(text("UPDATE visits SET group_size = 0"))


def test_the_rename_goes_back_down(engine_at_0002):
    url, engine = engine_at_0002
    row = reception("requested")
    insert_receptions(engine, [row])
    upgrade("events", url)

    migrate(url, "0002", command.downgrade)

    with engine.connect() as connection:
        assert connection.execute(text("SELECT id FROM receptions")).scalars().all() == [row["id"]]
    assert "visits" not in inspect(engine).get_table_names()
    upgrade("events", url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT id FROM visits")).scalars().all() == [row["id"]]
