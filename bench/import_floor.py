"""The import's write floor: the rows a finished import left, written again with no logic.

`write_floor(url, counts)` migrates a fresh registry database at `url` and writes as many
rows into each table as `counts` says (what the real import wrote: alumni, graduations,
history, name keys, events, the import's own rows), in transactions of 1,000 alumni with
their rows, through the same driver-level bulk insert the import uses (services/registry/
bulk.py: the encrypted columns encrypted, the JSON serialised). No file is read, no field
validated, no pinyin, no duplicate detection, no event built: values are made up. What is
left between this and the import is the import's own logic.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from services.common.columns import utcnow
from services.common.db import make_engine
from services.common.migrate import upgrade
from services.registry import bulk
from services.registry.models import (
    Alumnus,
    AlumnusNameKey,
    ChangeRecord,
    Department,
    Graduation,
    ImportJob,
    ImportRow,
    OutboxMessage,
)

BATCH = 1000
TABLES = {
    "alumni": Alumnus.__table__,
    "graduations": Graduation.__table__,
    "change_records": ChangeRecord.__table__,
    "alumnus_name_keys": AlumnusNameKey.__table__,
    "outbox": OutboxMessage.__table__,
    "import_rows": ImportRow.__table__,
}


def counts_of(url: str) -> dict[str, int]:
    """Rows per table of the import's database."""
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as connection:
            return {
                name: connection.execute(select(func.count()).select_from(table)).scalar_one()
                for name, table in TABLES.items()
            }
    finally:
        engine.dispose()


def write_floor(url: str, counts: dict[str, int]) -> tuple[float, float]:
    """(wall, CPU) seconds to write `counts` rows into a fresh registry database at `url`."""
    upgrade("registry", url)
    engine = make_engine(url, pool_size=1)
    factory = sessionmaker(engine)
    with factory() as session:
        job = ImportJob(filename="floor.csv", status="applying", created_by="bench", columns=[])
        department = Department(name="基准学院", code="FLOOR")
        session.add_all([job, department])
        session.commit()
        job_id, department_id = job.id, department.id
    alumni = counts["alumni"]
    per = {name: counts[name] / max(alumni, 1) for name in TABLES}
    wall, cpu = time.perf_counter(), time.process_time()
    made = {name: 0 for name in TABLES}
    try:
        for start in range(0, alumni, BATCH):
            end = min(start + BATCH, alumni)
            with factory() as session:
                ids = [str(uuid.uuid4()) for _ in range(start, end)]
                bulk.insert_many(
                    session, TABLES["alumni"], [_alumnus(i, a) for i, a in enumerate(ids, start)]
                )
                seqs = dict(
                    session.execute(
                        select(Alumnus.id, Alumnus.seq).where(Alumnus.id.in_(ids))
                    ).all()
                )
                rows = [seqs[a] for a in ids]
                for name, make in MAKERS.items():
                    want = round(per[name] * end) - made[name]
                    batch = [
                        make(rows[k % len(rows)], made[name] + k, (job_id, department_id))
                        for k in range(want)
                    ]
                    bulk.insert_many(session, TABLES[name], batch)
                    made[name] += want
                session.commit()
    finally:
        engine.dispose()
    return time.perf_counter() - wall, time.process_time() - cpu


def _alumnus(i: int, alumnus_id: str) -> dict[str, Any]:
    now = utcnow()
    return {
        "id": alumnus_id,
        "name": "张伟" if i % 2 else "欧阳明远",
        "gender": "male",
        "birth_date": date(1990, 1, 1 + i % 28),
        "phone": f"138{i:08d}",
        "email": f"a{i}@example.cn",
        "wechat": None,
        "province": "北京市",
        "city": "北京市",
        "employer": "某某科技有限公司",
        "industry": "信息技术",
        "title": "工程师",
        "tags": [],
        "phone_index": f"{i:064x}",
        "email_index": f"{i + 1:064x}",
        "created_at": now,
        "updated_at": now,
    }


MAKERS: dict[str, Callable[[int, int, tuple[str, str]], dict[str, Any]]] = {
    "graduations": lambda seq, i, job: {
        "alumnus_seq": seq,
        "department_id": job[1],
        "major": "软件工程",
        "degree": "bachelor",
        "class_year": 1990 + i % 30,
        "class_name": "软件1201",
        "student_number": f"{i:010d}",
        "enrolment_year": None,
        "import_key": f"{i:032x}",
    },
    "change_records": lambda seq, i, job: {
        "alumnus_seq": seq,
        "field": "employer",
        "old_value": None,
        "new_value": '"某某科技有限公司"',
        "actor": "bench",
        "source": "import",
        "changed_at": utcnow(),
    },
    "alumnus_name_keys": lambda seq, i, job: {
        "alumnus_seq": seq,
        "kind": "pinyin",
        "key": f"zhangwei{i}",
    },
    "outbox": lambda seq, i, job: {
        "event_id": str(uuid.uuid4()),
        "event_type": "alumnus_registered",
        "payload": '{"data": "' + "x" * 900 + '"}',
    },
    "import_rows": lambda seq, i, job: {
        "job_id": job[0],
        "row_number": i + 2,
        "status": "applied",
        "import_key": f"{i:032x}",
        "record": {"name": "张伟", "phone": "13800000000", "graduation": {"class_year": 2016}},
        "problems": [],
        "cells": [],
        "alumnus_id": None,
    },
}
