"""The migrations that encrypt personal data, on databases that already hold plaintext rows
(SQLite and PostgreSQL): after the upgrade no contact is left in plaintext, the models
read every value back, the blind indexes find them, and the downgrade restores them."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from services.common.db import make_engine
from services.common.migrate import alembic_config, upgrade
from services.events.models import Base as EventsBase
from services.events.models import CooperationProject, RosterEntry, Visit
from services.notify import consent
from services.notify.models import Base as NotifyBase
from services.notify.models import Contact, Message
from services.registry import domain
from services.registry.models import Alumnus, ImportRow
from services.registry.models import Base as RegistryBase

NOW = datetime(2030, 5, 1, 9, 0, tzinfo=UTC)
PHONE, EMAIL, WECHAT = "13812345678", "wang@example.com", "wxm_1990"
SECRETS = (PHONE, EMAIL, WECHAT)


def migrate(service: str, url: str, revision: str, direction=command.upgrade) -> None:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as connection:
            cfg = alembic_config(service, url)
            cfg.attributes["connection"] = connection
            direction(cfg, revision)
            connection.commit()
    finally:
        engine.dispose()


def insert(engine, table: str, row: dict) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(
                f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join(':' + c for c in row)})"
            ),
            row,
        )


def dump(engine, *tables: str) -> str:
    with engine.connect() as connection:
        return json.dumps(
            [
                [str(value) for value in row]
                for table in tables
                for row in connection.execute(text(f"SELECT * FROM {table}"))
            ],
            ensure_ascii=False,
        )


def outbox_row(payload: dict) -> dict:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": "alumnus_registered",
        "payload": json.dumps(payload, ensure_ascii=False),
        "created_at": NOW,
    }


def schema_matches_models(engine, base) -> None:
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), base.metadata) == []


def test_registry_rows_are_encrypted_found_and_restored(databases):
    url = databases.new("registry")
    migrate("registry", url, "0004")
    engine = make_engine(url, pool_size=2)
    alumnus = {
        "seq": 1,
        "id": str(uuid.uuid4()),
        "name": "王小明",
        "phone": PHONE,
        "email": EMAIL,
        "wechat": WECHAT,
        "tags": "[]",
        "created_at": NOW,
        "updated_at": NOW,
    }
    insert(engine, "alumni", alumnus)
    insert(
        engine,
        "change_records",
        {
            "alumnus_seq": 1,
            "field": "phone",
            "old_value": None,
            "new_value": json.dumps(PHONE),
            "actor": "office1",
            "source": "office",
            "changed_at": NOW,
        },
    )
    insert(engine, "outbox", outbox_row({"data": {"phone": PHONE, "email": EMAIL}}))

    upgrade("registry", url)

    stored = dump(engine, "alumni", "change_records", "outbox")
    assert not [s for s in SECRETS if s in stored]
    schema_matches_models(engine, RegistryBase)
    with Session(engine) as session:
        row = session.scalars(select(Alumnus)).one()
        assert (row.phone, row.email, row.wechat) == (PHONE, EMAIL, WECHAT)
        found = domain.search_alumni(session, {"q": "Wang@Example.com", "limit": 5})
        assert [a["id"] for a in found["items"]] == [alumnus["id"]]
        history = domain.alumnus_history(session, alumnus["id"], {"limit": 5})["items"]
        assert history[0]["new_value"] == PHONE

    migrate("registry", url, "0004", command.downgrade)
    restored = dump(engine, "alumni", "change_records", "outbox")
    assert all(s in restored for s in SECRETS)
    engine.dispose()


def test_events_rows_are_encrypted_and_read_back(databases):
    url = databases.new("events")
    migrate("events", url, "0003")
    engine = make_engine(url, pool_size=2)
    contact = {"name": "张三", "phone": PHONE, "email": EMAIL}
    insert(
        engine,
        "roster_entries",
        {
            "alumnus_id": str(uuid.uuid4()),
            "name": "张三",
            "phone": PHONE,
            "email": EMAIL,
            "department_ids": "[]",
            "updated_at": NOW,
        },
    )
    insert(
        engine,
        "visits",
        {
            "id": str(uuid.uuid4()),
            "requester_alumnus_id": str(uuid.uuid4()),
            "visit_date": NOW.date(),
            "group_size": 2,
            "purpose": "回母校看看",
            "contact": json.dumps(contact, ensure_ascii=False),
            "status": "requested",
            "created_at": NOW,
            "updated_at": NOW,
        },
    )
    insert(
        engine,
        "cooperation_projects",
        {
            "id": str(uuid.uuid4()),
            "title": "联合实验室",
            "partner": "某公司",
            "contacts": json.dumps([contact], ensure_ascii=False),
            "status": "proposed",
            "created_by": "office1",
            "created_at": NOW,
            "updated_at": NOW,
        },
    )
    insert(engine, "outbox", outbox_row({"contact": contact}))

    upgrade("events", url)

    tables = ("roster_entries", "visits", "cooperation_projects", "outbox")
    assert not [s for s in (PHONE, EMAIL) if s in dump(engine, *tables)]
    schema_matches_models(engine, EventsBase)
    with Session(engine) as session:
        assert session.scalars(select(RosterEntry.phone)).one() == PHONE
        assert session.scalars(select(Visit.contact)).one() == contact
        assert session.scalars(select(CooperationProject.contacts)).one() == [contact]

    migrate("events", url, "0003", command.downgrade)
    assert all(s in dump(engine, *tables) for s in (PHONE, EMAIL))
    engine.dispose()


def test_notify_rows_are_encrypted_and_holds_found_by_index(databases):
    url = databases.new("notify")
    migrate("notify", url, "0001")
    engine = make_engine(url, pool_size=2)
    alumnus_id = str(uuid.uuid4())
    insert(
        engine,
        "contacts",
        {
            "alumnus_id": alumnus_id,
            "name": "王小明",
            "email": EMAIL,
            "phone": PHONE,
            "locale": "zh-CN",
            "updated_at": NOW,
        },
    )
    insert(
        engine,
        "messages",
        {
            "id": str(uuid.uuid4()),
            "dedupe_key": "k1",
            "kind": "newsletter",
            "channel": "sms",
            "purpose": "service",
            "recipient": f"alumnus:{alumnus_id}",
            "alumnus_id": None,
            "address": PHONE,
            "locale": "zh-CN",
            "context": "{}",
            "status": "sent",
            "attempts": 1,
            "next_attempt_at": NOW,
            "created_at": NOW,
            "reported": True,
        },
    )
    insert(
        engine,
        "address_holds",
        {"address": EMAIL, "channel": "email", "reason": "550 gone", "held_at": NOW},
    )

    upgrade("notify", url)

    tables = ("contacts", "messages", "address_holds")
    assert not [s for s in (PHONE, EMAIL) if s in dump(engine, *tables)]
    schema_matches_models(engine, NotifyBase)
    with Session(engine) as session:
        assert session.scalars(select(Contact.email)).one() == EMAIL
        message = session.scalars(select(Message)).one()
        assert message.address == PHONE
        assert message.address_index is not None
        assert consent.held(session, [EMAIL.upper(), "other@example.com"]) == {EMAIL.upper()}

    migrate("notify", url, "0001", command.downgrade)
    assert all(s in dump(engine, *tables) for s in (PHONE, EMAIL))
    engine.dispose()


def test_staged_import_rows_are_encrypted_and_read_back(databases):
    """Registry 0014: a registrar's row staged by an import (its values and raw cells) is
    encrypted like the record it becomes, and the downgrade gives the JSON back."""
    url = databases.new("registry")
    migrate("registry", url, "0013")
    engine = make_engine(url, pool_size=2)
    job_id = str(uuid.uuid4())
    insert(
        engine,
        "import_jobs",
        {
            "id": job_id,
            "filename": "校友名单.csv",
            "size": 10,
            "options": "{}",
            "columns": "[]",
            "dry_run": False,
            "status": "applying",
            "rows_read": 1,
            "accepted": 1,
            "rejected": 0,
            "imported": 0,
            "existing": 0,
            "duplicates_flagged": 0,
            "created_by": "office1",
            "created_at": NOW,
        },
    )
    record = {"name": "王小明", "phone": PHONE, "email": EMAIL}
    insert(
        engine,
        "import_rows",
        {
            "job_id": job_id,
            "row_number": 2,
            "status": "valid",
            "record": json.dumps(record, ensure_ascii=False),
            "problems": "[]",
            "cells": json.dumps(["王小明", PHONE, EMAIL], ensure_ascii=False),
        },
    )

    upgrade("registry", url)
    stored = dump(engine, "import_rows")
    assert not any(secret in stored for secret in (PHONE, EMAIL))
    with Session(engine) as session:
        row = session.execute(select(ImportRow)).scalar_one()
        assert (row.record, row.cells) == (record, ["王小明", PHONE, EMAIL])
    schema_at_head = make_engine(url, pool_size=1)
    schema_matches_models(schema_at_head, RegistryBase)
    schema_at_head.dispose()

    migrate("registry", url, "0013", command.downgrade)
    with engine.connect() as connection:
        raw = connection.execute(text("SELECT record, cells FROM import_rows")).one()
    as_json = [value if isinstance(value, (dict, list)) else json.loads(value) for value in raw]
    assert as_json == [record, ["王小明", PHONE, EMAIL]]
    engine.dispose()


def test_the_search_keys_lose_their_foreign_keys_and_get_them_back(databases):
    """Registry 0016: the name keys and grams keep no foreign key (models.AlumnusNameKey);
    their rows stay, and the downgrade restores the keys, on SQLite and PostgreSQL."""
    url = databases.new("registry")
    migrate("registry", url, "0015")
    engine = make_engine(url, pool_size=1)
    try:
        insert(
            engine,
            "alumni",
            {"id": "a-1", "name": "单雄信", "tags": "[]", "created_at": NOW, "updated_at": NOW},
        )
        with engine.connect() as connection:
            seq = connection.execute(text("SELECT seq FROM alumni")).scalar_one()
        insert(engine, "alumnus_text_grams", {"alumnus_seq": seq, "field": "name", "gram": "雄信"})
        insert(
            engine, "alumnus_name_keys", {"alumnus_seq": seq, "kind": "full", "key": "shanxiongxin"}
        )

        def foreign_keys() -> dict[str, list]:
            engine.dispose()  # no connection from before the migration
            inspector = inspect(engine)
            return {
                table: [fk["referred_table"] for fk in inspector.get_foreign_keys(table)]
                for table in ("alumnus_name_keys", "alumnus_text_grams")
            }

        assert foreign_keys() == {"alumnus_name_keys": ["alumni"], "alumnus_text_grams": ["alumni"]}
        rows = dump(engine, "alumnus_text_grams", "alumnus_name_keys")
        migrate("registry", url, "0016")
        assert foreign_keys() == {"alumnus_name_keys": [], "alumnus_text_grams": []}
        assert dump(engine, "alumnus_text_grams", "alumnus_name_keys") == rows
        migrate("registry", url, "0015", command.downgrade)
        assert foreign_keys() == {"alumnus_name_keys": ["alumni"], "alumnus_text_grams": ["alumni"]}
    finally:
        engine.dispose()


def key_indexes(engine) -> set[str]:
    """The name keys' indexes, read from the catalogue: SQLAlchemy's inspector leaves out an
    index on an expression on SQLite."""
    engine.dispose()
    catalogue = (
        "SELECT indexname FROM pg_indexes WHERE tablename = 'alumnus_name_keys'"
        if engine.dialect.name == "postgresql"
        else "SELECT name FROM sqlite_master WHERE tbl_name = 'alumnus_name_keys'"
    )
    with engine.connect() as connection:
        return set(connection.execute(text(catalogue)).scalars())


def test_the_grams_lose_their_id_for_a_key_of_what_is_looked_up_and_get_it_back(databases):
    url = databases.new("registry")
    migrate("registry", url, "0016")
    engine = make_engine(url, pool_size=1)
    grams = [("name", "雄信", 7), ("name", "单", 7), ("city", "潍坊", 7), ("name", "雄信", 8)]
    try:
        for field, gram, seq in [*grams, grams[0]]:  # a row written twice is kept once
            insert(engine, "alumnus_text_grams", {"field": field, "gram": gram, "alumnus_seq": seq})

        def stored() -> list[tuple]:
            engine.dispose()  # no connection from before the migration
            with engine.connect() as connection:
                return sorted(
                    tuple(row)
                    for row in connection.execute(
                        text("SELECT field, gram, alumnus_seq FROM alumnus_text_grams")
                    )
                )

        def shape() -> tuple[list[str], list[str], set[str]]:
            engine.dispose()
            inspector = inspect(engine)
            return (
                [c["name"] for c in inspector.get_columns("alumnus_text_grams")],
                inspector.get_pk_constraint("alumnus_text_grams")["constrained_columns"],
                {i["name"] for i in inspector.get_indexes("alumnus_text_grams")},
            )

        migrate("registry", url, "0017")
        assert stored() == sorted(grams)
        assert shape() == (
            ["field", "gram", "alumnus_seq"],
            ["field", "gram", "alumnus_seq"],
            {"ix_alumnus_text_grams_alumnus_seq"},
        )
        migrate("registry", url, "head")
        schema_matches_models(engine, RegistryBase)
        # 0018: the name keys' lead index, gone again on the way down.
        assert "ix_alumnus_name_keys_lead" in key_indexes(engine)

        migrate("registry", url, "0016", command.downgrade)
        assert "ix_alumnus_name_keys_lead" not in key_indexes(engine)
        assert stored() == sorted(grams)
        assert shape() == (
            ["id", "field", "gram", "alumnus_seq"],
            ["id"],
            {"ix_alumnus_text_grams_alumnus_seq", "ix_alumnus_text_grams_lookup"},
        )
    finally:
        engine.dispose()
