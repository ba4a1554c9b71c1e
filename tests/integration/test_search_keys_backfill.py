"""The search keys of alumni registered before they existed (issue 10 item 5), on SQLite and
PostgreSQL: migration 0008's data step writes them, and `python -m services.registry.namekeys`
rewrites them batch by batch, restartable, each alumnus's keys once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from alembic import command
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from services.common.db import make_engine
from services.common.migrate import alembic_config, upgrade
from services.registry import domain, namekeys
from services.registry.models import AlumnusNameKey, AlumnusTextGram

NOW = datetime(2030, 5, 1, 9, 0, tzinfo=UTC)
PEOPLE = [
    ("单雄信", "华为技术有限公司", "深圳"),
    ("尉迟恭", "中国工商银行", "济南"),
    ("阿卜杜拉·艾力", None, None),
]


def migrate_to(url: str, revision: str) -> None:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as connection:
            cfg = alembic_config("registry", url)
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
            connection.commit()
    finally:
        engine.dispose()


def found(session: Session, q: str) -> list[str]:
    return [a["name"] for a in domain.search_alumni(session, {"q": q, "limit": 10})["items"]]


def counts(engine) -> tuple[int, int]:
    with engine.connect() as connection:
        return (
            connection.execute(select(func.count()).select_from(AlumnusNameKey)).scalar_one(),
            connection.execute(select(func.count()).select_from(AlumnusTextGram)).scalar_one(),
        )


def test_keys_of_earlier_alumni_are_written_by_the_migration_and_the_command(databases):
    url = databases.new("registry")
    migrate_to(url, "0005")  # before the name keys existed
    engine = make_engine(url, pool_size=1)
    try:
        with engine.begin() as connection:
            for name, employer, city in PEOPLE:
                connection.execute(
                    text(
                        "INSERT INTO alumni (id, name, employer, city, tags, created_at, "
                        "updated_at) VALUES (:id, :name, :employer, :city, '[]', :now, :now)"
                    ),
                    {"id": str(uuid.uuid4()), "name": name, "employer": employer, "city": city}
                    | {"now": NOW},
                )
        upgrade("registry", url)
        with Session(engine) as session:
            assert found(session, "sxx") == found(session, "shan") == ["单雄信"]
            assert found(session, "ycg") == ["尉迟恭"]
            assert found(session, "aili") == ["阿卜杜拉·艾力"]
            assert found(session, "华为") == ["单雄信"]
            assert found(session, "济南") == ["尉迟恭"]
        written = counts(engine)
        assert all(written)

        # The command, stopped after its first batch and run again from the start: the
        # same keys, none twice.
        with engine.begin() as connection:
            connection.execute(AlumnusNameKey.__table__.delete())
            connection.execute(AlumnusTextGram.__table__.delete())
        with engine.begin() as connection:
            assert namekeys.backfill_batch(connection, 0, 1) is not None
        assert 0 < counts(engine)[0] < written[0]
        assert namekeys.backfill(engine, size=2) == len(PEOPLE)
        assert counts(engine) == written
        # Resumed after the seq it printed last: the rest only.
        assert namekeys.backfill(engine, after=2, size=2) == 1
        assert counts(engine) == written
        with Session(engine) as session:
            assert found(session, "sxx") == ["单雄信"]
    finally:
        engine.dispose()
