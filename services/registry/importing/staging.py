"""A parsed row as the registry stages it (`import_rows`), and a staged record read back.

A large file's parse runs in a process of its own (services/common/offload.py
`ChildProcess`, from `imports._parse`): `staged_batches` is what that process runs, so this
module imports only the importing package, which such a process loads in a fraction of the
registry's time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

from services.registry.importing.rows import (
    ImportedGraduation,
    ImportedRecord,
    ImportOptions,
    Progress,
    RowResult,
    open_import,
)

PARSE_BATCH = 5000
"""Staged rows per transaction of the parse phase (and per message from its process)."""
YIELD_EVERY = 100
"""Rows between two pauses of a parse run in the registry itself: it answers other calls
(progress reads) meanwhile."""


def staged_batches(
    inbox: Iterator[Any],
    job_id: str,
    upload: bytes,
    options: ImportOptions,
    pause: Callable[[], None] | None = None,
) -> Iterator[tuple[list[dict[str, Any]], Progress]]:
    """*In the parsing process*, or in the registry for a small file (with `pause`): the
    file's rows as staged rows, in batches of `PARSE_BATCH`, each with the progress so far;
    the last batch may be empty. A file found malformed raises `ImportRejected` after the
    batches already given."""
    registrar_file = open_import(upload, options)
    batch: list[dict[str, Any]] = []
    for result in registrar_file:
        batch.append(staged_row(job_id, result))
        if pause is not None and len(batch) % YIELD_EVERY == 0:
            pause()
        if len(batch) >= PARSE_BATCH:
            yield batch, registrar_file.progress
            batch = []
    yield batch, registrar_file.progress


def staged_row(job_id: str, result: RowResult) -> dict[str, Any]:
    record = result.record
    return {
        "job_id": job_id,
        "row_number": result.row_number,
        "status": "valid" if record else "refused",
        "import_key": record.idempotency_key if record else None,
        "record": record_json(record) if record else None,
        "problems": result.problems(),
        # The cells are kept for the report only, which lists the rows with problems.
        "cells": list(result.cells) if result.errors or result.warnings else [],
        "alumnus_id": None,
    }


def record_json(record: ImportedRecord) -> dict[str, Any]:
    graduation = record.graduation
    return {
        "name": record.name,
        "gender": record.gender,
        "birth_date": record.birth_date.isoformat() if record.birth_date else None,
        "phone": record.phone,
        "email": record.email,
        "wechat": record.wechat,
        "province": record.province,
        "city": record.city,
        "employer": record.employer,
        "industry": record.industry,
        "title": record.title,
        "tags": list(record.tags),
        "graduation": {
            "department_id": graduation.department_id,
            "department": graduation.department,
            "major": graduation.major,
            "degree": graduation.degree,
            "class_year": graduation.class_year,
            "class_name": graduation.class_name,
            "student_number": graduation.student_number,
            "enrolment_year": graduation.enrolment_year,
        },
    }


def record_of(data: dict[str, Any]) -> ImportedRecord:
    fields = dict(data)
    graduation = ImportedGraduation(**fields.pop("graduation"))
    birth = fields.pop("birth_date")
    return ImportedRecord(
        graduation=graduation,
        birth_date=date.fromisoformat(birth) if birth else None,
        tags=tuple(fields.pop("tags")),
        **fields,
    )
