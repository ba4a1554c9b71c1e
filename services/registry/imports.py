"""Bulk import of registrar exports: the job, its staged rows, and applying them once each.

The flow (docs/stewardship.md, "Importing: the flow"):

1. `create_job` + `add_chunk` (the upload, in chunks over RPC) + `start_job`: the file is
   opened (`importing.open_import`): size, format, encoding, header and columns are checked
   now, so a bad file is refused at once (422, or 413 over the size limit) and its job and
   upload are deleted: nothing of it stays.
2. `run_job`, in the registry's background worker, in two phases, each a series of short
   transactions so that progress shows and a kill loses at most one batch:
   - **parse**: every row parsed into `import_rows` (`valid` or `refused`), with the job's
     counters. A file found malformed halfway deletes its rows and ends `rejected`:
     nothing was applied. A dry run ends here (`done`, nothing applied).
   - **apply**: the valid rows in batches; a row whose graduation is already in the
     registry (its idempotency key, or the same student number in the same department and
     class year) is `existing` and creates nothing; the others become alumni, in the same
     transaction as their row's status, so a job killed and resumed applies each row
     exactly once. New alumni are checked against the registry's duplicate index and the
     candidate pairs go to the office's review queue.
3. `alumni_imported` in the outbox with the last batch.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, func, insert, or_, select, tuple_, update
from sqlalchemy.orm import Session

from services.common import crypto
from services.common.contracts.base import iso_utc
from services.common.errors import NotFound
from services.common.outbox import build_event
from services.common.paging import page, paged_select
from services.registry import bulk, departments, domain, duplicates, namekeys
from services.registry.importing import (
    FileTooLarge,
    ImportedGraduation,
    ImportedRecord,
    ImportOptions,
    ImportRejected,
    Limits,
    Progress,
    RowResult,
    open_import,
    write_report,
)
from services.registry.importing.errors import size_text
from services.registry.importing.fields import FieldProblem
from services.registry.importing.staging import record_of, staged_batches
from services.registry.models import (
    Alumnus,
    AlumnusNameKey,
    ChangeRecord,
    DuplicateCandidate,
    Graduation,
    ImportJob,
    ImportRow,
    ImportUpload,
    OutboxMessage,
    utcnow,
)
from services.registry.pinyin import name_keys

if TYPE_CHECKING:
    from services.common.offload import ChildProcess

OFFLOAD_MIN_ROWS = 5000
"""An import applying fewer valid rows matches its duplicates in the registry's own
process, and a smaller file (`OFFLOAD_MIN_BYTES`, ~5,000 rows of a registrar export at
~190 bytes a row) is parsed there: a process of their own costs an interpreter's start
(~0.7 s of CPU, several seconds of wall time on a loaded machine) and the pickling both
ways, more than matching (~75 µs a row) or parsing (~50 µs a row) that many rows here
(docs/performance/import.md)."""
OFFLOAD_MIN_BYTES = 1 << 20
APPLY_BATCH = 1000
FIRST_APPLY_BATCH = 125
"""The apply phase's batches start small and double up to `APPLY_BATCH` (the setting
`REGISTRY_IMPORT_APPLY_BATCH`): the first alumni (and the progress counters) show within
a second, the bulk goes in large batches (a batch of 1,000 costs ~1 s of CPU, in which the
process answers nothing)."""
IMPORT_SOURCE = "import"

_json = json.JSONEncoder(ensure_ascii=False).encode
"""`json.dumps(value, ensure_ascii=False)` without building an encoder for each of a
million values."""

ALUMNI = Alumnus.__table__
GRADUATIONS = Graduation.__table__
ROWS = ImportRow.__table__

Transaction = Callable[[], AbstractContextManager[Session]]


# ---- the job and its upload ------------------------------------------------------------


def job_to_dict(job: ImportJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "filename": job.filename,
        "format": job.format,
        "encoding": job.encoding,
        "size": job.size,
        "dry_run": job.dry_run,
        "status": job.status,
        "columns": list(job.columns or []),
        "rows_read": job.rows_read,
        "accepted": job.accepted,
        "rejected": job.rejected,
        "imported": job.imported,
        "existing": job.existing,
        "duplicates_flagged": job.duplicates_flagged,
        "error": job.error,
        "created_by": job.created_by,
        "department_id": job.department_id,
        "created_at": iso_utc(job.created_at),
        "finished_at": iso_utc(job.finished_at) if job.finished_at else None,
    }


def create_job(session: Session, data: dict[str, Any], actor: dict[str, Any]) -> dict[str, Any]:
    """A job waiting for its upload. `data`: filename, dry_run, and the options (mapping,
    defaults, sheet). A liaison's job takes only rows of their department's lineage."""
    job = ImportJob(
        filename=data["filename"],
        dry_run=bool(data.get("dry_run")),
        options={k: data[k] for k in ("mapping", "defaults", "sheet") if data.get(k) is not None},
        status="uploading",
        created_by=actor["username"],
        department_id=actor.get("department_id") if actor["role"] == "liaison" else None,
        columns=[],
    )
    session.add(job)
    session.flush()
    return job_to_dict(job)


def add_chunk(session: Session, job_id: str, seq: int, data: bytes, limits: Limits) -> None:
    job = _job(session, job_id)
    if job.status != "uploading":
        raise ImportRejected("该导入任务已不再接收文件。", reason="not_uploading")
    job.size += len(data)
    if job.size > limits.max_bytes:
        # Checked again here, whatever the gateway did: the limit is the registry's. The
        # caller discards the job (`discard_job`) in a transaction of its own.
        raise FileTooLarge(
            f"文件超过 {size_text(limits.max_bytes)} 的上限，请拆分后分批导入。",
            reason="file_too_large",
            limit_bytes=limits.max_bytes,
        )
    session.add(ImportUpload(job_id=job.id, seq=seq, data=data))


def start_job(session: Session, job_id: str, limits: Limits) -> dict[str, Any]:
    """Check the whole file's shape now (`ImportRejected` for a file refused: the caller then
    discards the job with `discard_job`, so nothing of it stays)."""
    job = _job(session, job_id)
    if job.status != "uploading":
        raise ImportRejected("该导入任务已经开始。", reason="not_uploading")
    registrar_file = open_import(_upload(session, job.id), _options(session, job, limits))
    job.format = registrar_file.format
    job.encoding = registrar_file.encoding
    job.columns = registrar_file.mapping.describe()
    job.status = "queued"
    session.flush()
    return job_to_dict(job)


def get_job(session: Session, job_id: str) -> dict[str, Any]:
    return job_to_dict(_job(session, job_id))


def job_rows(session: Session, job_id: str, params: dict[str, Any]) -> dict[str, Any]:
    _job(session, job_id)
    query = select(ROWS).where(ROWS.c.job_id == job_id)
    if params.get("status"):
        query = query.where(ROWS.c.status == params["status"])
    rows = session.execute(paged_select(query, [ROWS.c.row_number], params, (int,))).all()
    return page(
        rows,
        params["limit"],
        lambda r: [r.row_number],
        lambda shown: [
            {
                "row_number": r.row_number,
                "status": r.status,
                "problems": r.problems or [],
                "alumnus_id": r.alumnus_id,
            }
            for r in shown
        ],
    )


def report_csv(session: Session, job_id: str) -> bytes:
    """The rows with problems (refused, or kept with warnings) as a CSV for Excel, under the
    file's own headers, so that it can be corrected and imported again."""
    job = _job(session, job_id)
    headers = [column["header"] for column in job.columns or []]
    results = (
        RowResult(
            row.row_number,
            tuple(row.cells or ()),
            record_of(row.record) if row.record else None,
            tuple(_problem(p) for p in row.problems or [] if not p["warning"]),
            tuple(_problem(p) for p in row.problems or [] if p["warning"]),
        )
        for row in session.execute(
            select(ROWS).where(ROWS.c.job_id == job.id).order_by(ROWS.c.row_number),
            execution_options={"yield_per": 2000},
        )
        # JSON has no equality in PostgreSQL: rows without problems are skipped here.
        if row.problems
    )
    out = io.BytesIO()
    write_report(results, headers, out)
    return out.getvalue()


def _problem(data: dict[str, Any]) -> FieldProblem:
    return FieldProblem(data["field"], data["reason"], data["message"])


# ---- the background worker ---------------------------------------------------------------


def claim_job(session: Session, stale_after: timedelta) -> str | None:
    """The next job to run: a queued one, or one whose worker stopped beating (a process
    killed mid-job); the claim is a conditional update, so two workers never share one."""
    now = utcnow()
    candidate = session.execute(
        select(ImportJob.id, ImportJob.heartbeat_at)
        .where(
            or_(
                ImportJob.status == "queued",
                and_(
                    ImportJob.status.in_(("parsing", "applying")),
                    or_(
                        ImportJob.heartbeat_at.is_(None),
                        ImportJob.heartbeat_at < now - stale_after,
                    ),
                ),
            )
        )
        .order_by(ImportJob.created_at)
        .limit(1)
    ).first()
    if candidate is None:
        return None
    beat = (
        ImportJob.heartbeat_at.is_(None)
        if candidate.heartbeat_at is None
        else ImportJob.heartbeat_at == candidate.heartbeat_at
    )
    claimed = session.execute(
        update(ImportJob).where(ImportJob.id == candidate.id, beat).values(heartbeat_at=now)
    )
    return candidate.id if claimed.rowcount == 1 else None


def run_job(
    transaction: Transaction,
    job_id: str,
    limits: Limits,
    pause: Callable[[], None],
    spawn: Callable[..., ChildProcess],
    apply_batch: int | None = None,
) -> None:
    """Parse (unless parsed), then apply what is left in batches of at most `apply_batch`
    rows (default `APPLY_BATCH`); `pause` lets other work run between batches, and
    `spawn(generator_function, *args)` runs a large import's parse and duplicate matching
    in processes of their own (`offload.ChildProcess`: the service hands it in, so that
    the domain loads no framework)."""
    with transaction() as session:
        status = _job(session, job_id).status
    if status in ("queued", "parsing") and not _parse(transaction, job_id, limits, pause, spawn):
        return
    _apply(transaction, job_id, pause, spawn, apply_batch or APPLY_BATCH)


class InProcess:
    """A generator function run here, as `ChildProcess` runs it in a process of its own:
    `put` a message, `get` what the function yields for it; iterating gives what it yields.
    For a small import, where starting an interpreter would cost more than the work."""

    def __init__(self, function: Callable[..., Iterator[Any]], *args: Any) -> None:
        self._messages: list[Any] = []
        self._results = function(self._inbox(), *args)

    def _inbox(self) -> Iterator[Any]:
        while self._messages:
            yield self._messages.pop(0)

    def put(self, message: Any) -> None:
        self._messages.append(message)

    def get(self) -> Any:
        return next(self._results)

    def __iter__(self) -> Iterator[Any]:
        return self._results

    def __enter__(self) -> InProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._results.close()


def _parse(
    transaction: Transaction,
    job_id: str,
    limits: Limits,
    pause: Callable,
    spawn: Callable[..., ChildProcess],
) -> bool:
    with transaction() as session:
        job = _job(session, job_id)
        # A parse cut short by a kill starts again from the top: its rows are only staged.
        session.execute(delete(ImportRow).where(ImportRow.job_id == job_id))
        job.status = "parsing"
        job.rows_read = job.accepted = job.rejected = 0
        upload = _upload(session, job_id).getvalue()
        options = _options(session, job, limits)
    # A large file is parsed in a process of its own, a batch ahead of the staging here.
    parser = (
        spawn(staged_batches, job_id, upload, options)
        if len(upload) >= OFFLOAD_MIN_BYTES
        else InProcess(staged_batches, job_id, upload, options, pause)
    )
    try:
        with parser:
            for batch, progress in parser:
                _stage(transaction, job_id, batch, progress)
                pause()
    except ImportRejected as rejected:
        with transaction() as session:
            job = _job(session, job_id)
            session.execute(delete(ImportRow).where(ImportRow.job_id == job_id))
            session.execute(delete(ImportUpload).where(ImportUpload.job_id == job_id))
            job.status = "rejected"
            job.error = {"code": rejected.code, "message": rejected.message, **rejected.details}
            job.finished_at = utcnow()
        return False
    with transaction() as session:
        job = _job(session, job_id)
        if job.dry_run:
            job.existing = _count_existing(session, job_id)
            _finish(session, job)
            return False
        job.status = "applying"
    return True


def _stage(transaction: Transaction, job_id: str, batch: list[dict], progress: Progress) -> None:
    with transaction() as session, bulk.collector_paused():
        bulk.insert_many(session, ROWS, batch)
        session.execute(
            update(ImportJob)
            .where(ImportJob.id == job_id)
            .values(
                rows_read=progress.rows_read,
                accepted=progress.accepted,
                rejected=progress.rejected,
                heartbeat_at=utcnow(),
            )
        )


def _count_existing(session: Session, job_id: str) -> int:
    existing = 0
    for rows in _batches(session, job_id, "valid"):
        existing += len(_existing_keys(session, [(r, record_of(r.record)) for r in rows]))
    return existing


def _batches(
    session: Session, job_id: str, status: str, size: int | None = None, after: int = -1
) -> Iterator[list]:
    """The job's rows of `status` past row number `after`, in order, read a window of `size`
    row numbers at a time. A window, not a LIMIT: with statistics from before the rows were
    staged, PostgreSQL read every later row of the job and sorted them for each batch
    (~0.1 s a batch, 25 s of a 100,000-row import: docs/performance/import.md)."""
    size = size or APPLY_BATCH
    last = session.scalar(select(func.max(ROWS.c.row_number)).where(ROWS.c.job_id == job_id))
    while last is not None and after < last:
        rows = session.execute(
            # Only what applying needs: each JSON column read is a `json.loads` per row.
            select(ROWS.c.row_number, ROWS.c.import_key, ROWS.c.record)
            .where(
                ROWS.c.job_id == job_id,
                ROWS.c.status == status,
                ROWS.c.row_number > after,
                ROWS.c.row_number <= after + size,
            )
            .order_by(ROWS.c.row_number)
        ).all()
        after += size
        if rows:
            yield rows


def _apply(
    transaction: Transaction,
    job_id: str,
    pause: Callable,
    spawn: Callable[..., ChildProcess],
    apply_batch: int,
) -> None:
    with transaction() as session:
        job = _job(session, job_id)
        left = job.accepted - job.imported - job.existing
        known = _registry_people(session)
    # A large import's duplicate matching runs in a process of its own.
    with (spawn if left >= OFFLOAD_MIN_ROWS else InProcess)(
        duplicates.matches_by_batch, known
    ) as matcher:
        size, after = FIRST_APPLY_BATCH, -1
        while True:
            with transaction() as session:
                rows = next(_batches(session, job_id, "valid", min(size, apply_batch), after), None)
                if rows is None:
                    _finish(session, _job(session, job_id))
                    return
                batch = _plan(session, rows)
            after = rows[-1].row_number
            size *= 2
            # The batch's new people are matched before its transaction, not in it: waiting
            # for the matching process lets other green threads run, and one of them could
            # wait in C for SQLite's write lock that transaction would hold (no commit until
            # the busy timeout, the whole process stopped). Its writes follow at once.
            matcher.put(
                [
                    (alumnus["id"], record, name_keys(record.name).pinyin)
                    for (_, record), alumnus in zip(batch.new, batch.alumni, strict=True)
                ]
            )
            # What needs no database is made while the child matches.
            batch = _prepared(batch)
            matches = matcher.get()
            with transaction() as session, bulk.collector_paused():
                job = _job(session, job_id)
                # No pause inside a batch: its transaction holds SQLite's write lock, and
                # another greenlet of this process waiting for that lock (the outbox relay)
                # would block the whole process until the busy timeout.
                _apply_batch(session, job, batch, matches)
                job.heartbeat_at = utcnow()
            pause()


@dataclass
class Batch:
    """A batch of valid rows as read, before its writes: the rows already in the registry
    (row number → alumnus) and the new ones with their alumni, ids drawn."""

    existing: dict[int, str]
    new: list[tuple[Any, ImportedRecord]]
    alumni: list[dict[str, Any]]
    now: datetime
    history_values: list[str] = field(default_factory=list)
    """Each new alumnus's history value: the fields it was created with, as JSON."""
    outbox: list[dict[str, Any]] = field(default_factory=list)
    """The outbox rows of their `alumnus_registered` events."""


def _plan(session: Session, rows: list) -> Batch:
    """A batch read: which rows are in the registry already, and the alumni of the others.
    Only this job's worker changes its rows (`claim_job`), so what is read here still holds
    in the transaction that writes them."""
    records = [(row, record_of(row.record)) for row in rows]
    existing = _existing_keys(session, records)
    now = utcnow()
    new = [(row, record) for row, record in records if row.row_number not in existing]
    alumni = [
        {
            "id": str(uuid.uuid4()),
            "name": record.name,
            "gender": record.gender,
            "birth_date": record.birth_date,
            "phone": record.phone,
            "email": record.email,
            "wechat": record.wechat,
            "province": record.province,
            "city": record.city,
            "employer": record.employer,
            "industry": record.industry,
            "title": record.title,
            "tags": sorted(set(record.tags)),
            # Core inserts skip the ORM's hook that keeps the blind indexes (services/
            # common/models.py): they are set here, as it would.
            "phone_index": crypto.blind_index(record.phone),
            "email_index": crypto.blind_index(record.email),
            "created_at": now,
            "updated_at": now,
            # No `field_provenance`: the history rows written below (source `import`) are
            # the fields' provenance until a write gives one its own (provenance.py); a JSON
            # per row would cost seconds at 100,000 rows.
            "confirmed_at": now,
        }
        for _, record in new
    ]
    return Batch(existing, new, alumni, now)


def _prepared(batch: Batch) -> Batch:
    """`batch` with its history values and events, which need no database."""
    snapshots = [
        _snapshot(alumnus, record)
        for (_, record), alumnus in zip(batch.new, batch.alumni, strict=True)
    ]
    history_values = [
        _json(
            {
                name: value
                for name, value in snapshot.items()
                if name in HISTORY_FIELDS and value not in (None, [], "")
            }
        )
        for snapshot in snapshots
    ]
    outbox = [
        {"event_id": e["event_id"], "event_type": e["event_type"], "payload": _json(e)}
        for e in (_registered_events(snapshots) if snapshots else [])
    ]
    return replace(batch, history_values=history_values, outbox=outbox)


def _apply_batch(
    session: Session, job: ImportJob, batch: Batch, matches: list[duplicates.Match]
) -> None:
    """One batch's writes in the session's transaction, with the candidates its new people
    were found to have (`duplicates.matches_by_batch`)."""
    existing, new, alumni, now = batch.existing, batch.new, batch.alumni, batch.now
    actor = job.created_by
    seqs: dict[str, int] = {}
    if alumni:
        bulk.insert_many(session, ALUMNI, alumni)
        # The ids are new: this finds exactly the batch's rows (one query, by the unique
        # index on `id`), on every database, where RETURNING through executemany does not.
        seqs = dict(
            session.execute(
                select(ALUMNI.c.id, ALUMNI.c.seq).where(ALUMNI.c.id.in_([a["id"] for a in alumni]))
            ).all()
        )
        bulk.insert_many(
            session,
            GRADUATIONS,
            [
                {
                    "alumnus_seq": seqs[alumnus["id"]],
                    **_graduation_columns(record),
                    "import_key": row.import_key,
                }
                for (row, record), alumnus in zip(new, alumni, strict=True)
            ],
        )
    history, keys, grams = [], [], []
    for (_row, record), alumnus, value in zip(new, alumni, batch.history_values, strict=True):
        seq = seqs[alumnus["id"]]
        # One history row for the record, every field it was created with in it (read as
        # one change per field, domain.changes_to_dicts): one row and one encryption per
        # alumnus instead of ~12, most of what the import wrote (docs/PERFORMANCE.md).
        history.append(
            {
                "alumnus_seq": seq,
                "field": domain.RECORD_FIELD,
                "old_value": None,
                "new_value": value,
                "actor": actor,
                "source": IMPORT_SOURCE,
                "changed_at": now,
            }
        )
        keys.extend(namekeys.key_values(seq, record.name))
        grams.extend(
            namekeys.gram_values(seq, {f: getattr(record, f) for f in namekeys.GRAM_FIELDS})
        )
    bulk.insert_many(session, ChangeRecord.__table__, history)
    # The two largest tables' rows are built as lists (no dict per row).
    bulk.insert_values(session, AlumnusNameKey.__table__, namekeys.KEY_COLUMNS, keys)
    bulk.insert_values(session, namekeys.GRAMS, namekeys.GRAM_COLUMNS, grams)
    bulk.insert_many(session, OutboxMessage.__table__, batch.outbox)
    flagged = _flag(session, matches, f"import:{job.id}")
    outcomes = [(job.id, n, "existing", a) for n, a in existing.items()]
    outcomes += [
        (job.id, row.row_number, "applied", alumnus["id"])
        for (row, _), alumnus in zip(new, alumni, strict=True)
    ]
    bulk.update_many(session, ROWS, ("job_id", "row_number"), ("status", "alumnus_id"), outcomes)
    job.imported += len(new)
    job.existing += len(existing)
    job.duplicates_flagged += flagged


NOT_IN_SNAPSHOT = ("created_at", "updated_at", "phone_index", "email_index", "confirmed_at")
HISTORY_FIELDS = (
    "name",
    "gender",
    "birth_date",
    "phone",
    "email",
    "wechat",
    "province",
    "city",
    "employer",
    "industry",
    "title",
    "tags",
    "graduations",
)


def _snapshot(alumnus: dict[str, Any], record: ImportedRecord) -> dict[str, Any]:
    """The record as `alumnus_registered` carries it (domain.alumnus_to_dict's shape)."""
    graduation = {
        **_graduation_columns(record),
        "class_name": record.graduation.class_name,
    }
    return {
        **{k: v for k, v in alumnus.items() if k not in NOT_IN_SNAPSHOT},
        "birth_date": record.birth_date.isoformat() if record.birth_date else None,
        "graduations": [graduation],
        "created_at": iso_utc(alumnus["created_at"]),
        "updated_at": iso_utc(alumnus["updated_at"]),
    }


def _graduation_columns(record: ImportedRecord) -> dict[str, Any]:
    graduation = record.graduation
    return {
        "department_id": graduation.department_id,
        "major": graduation.major,
        "degree": graduation.degree,
        "class_year": graduation.class_year,
        "class_name": graduation.class_name,
        "student_number": graduation.student_number,
        "enrolment_year": graduation.enrolment_year,
    }


def _registered_events(snapshots: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`alumnus_registered` for each new alumnus. The batch's first is checked against the
    contract; the others have its very shape (built by `_snapshot` from the same columns),
    and checking each of 100,000 with marshmallow would take longer than the import itself."""
    first = build_event("alumnus_registered", snapshots[0])
    return [first] + [
        {**first, "event_id": str(uuid.uuid4()), "data": snapshot} for snapshot in snapshots[1:]
    ]


def _existing_keys(session: Session, records: list[tuple[Any, ImportedRecord]]) -> dict[int, str]:
    """Row number → the alumnus already holding the row's graduation: the same idempotency
    key, or the same student number in the same department and class year."""
    by_key = {row.import_key: row.row_number for row, _ in records}
    by_number = {
        (r.graduation.department_id, r.graduation.class_year, r.graduation.student_number): (
            row.row_number
        )
        for row, r in records
        if r.graduation.student_number
    }
    found: dict[int, str] = {}
    for key, alumnus_id in session.execute(
        select(GRADUATIONS.c.import_key, ALUMNI.c.id)
        .join(ALUMNI, ALUMNI.c.seq == GRADUATIONS.c.alumnus_seq)
        .where(GRADUATIONS.c.import_key.in_(by_key))
    ):
        found[by_key[key]] = alumnus_id
    if by_number:
        # By the student numbers alone (their index), the department and class year
        # compared here: a row-value `IN` of 1,000 triples is, on PostgreSQL, an OR of
        # 1,000 conditions rechecked on every row the index finds (~2 s a batch at 50,000
        # alumni, docs/PERFORMANCE.md).
        for department_id, class_year, number, alumnus_id in session.execute(
            select(
                GRADUATIONS.c.department_id,
                GRADUATIONS.c.class_year,
                GRADUATIONS.c.student_number,
                ALUMNI.c.id,
            )
            .join(ALUMNI, ALUMNI.c.seq == GRADUATIONS.c.alumnus_seq)
            .where(GRADUATIONS.c.student_number.in_({number for _, _, number in by_number}))
        ):
            row_number = by_number.get((department_id, class_year, number))
            if row_number is not None:
                found.setdefault(row_number, alumnus_id)
    return found


def _registry_people(session: Session) -> list[duplicates.Person]:
    """Every alumnus in the registry as duplicate detection sees them, from two queries."""
    graduations: dict[int, list] = {}
    for g in session.execute(
        select(
            GRADUATIONS.c.alumnus_seq,
            GRADUATIONS.c.department_id,
            GRADUATIONS.c.class_year,
            GRADUATIONS.c.degree,
            GRADUATIONS.c.class_name,
            GRADUATIONS.c.student_number,
        )
    ):
        graduations.setdefault(g.alumnus_seq, []).append(g)
    return [
        person_of(a, graduations.get(a.seq, []))
        for a in session.execute(
            select(
                ALUMNI.c.seq,
                ALUMNI.c.id,
                ALUMNI.c.name,
                ALUMNI.c.birth_date,
                ALUMNI.c.phone,
                ALUMNI.c.email,
            ).where(ALUMNI.c.merged_into.is_(None))
        )
    ]


def person_of(alumnus: Any, graduations: list) -> duplicates.Person:
    """A registry row (with its graduation rows) as duplicate detection sees it."""
    return duplicates.Person(
        id=alumnus.id,
        name=alumnus.name,
        birth_date=alumnus.birth_date,
        phone=alumnus.phone,
        email=alumnus.email,
        student_numbers=frozenset(
            student_key(g.department_id, g.class_year, g.student_number)
            for g in graduations
            if g.student_number
        ),
        classes=frozenset(duplicates.class_key(g._mapping) for g in graduations),
    )


def student_key(department_id: str, class_year: int, number: str) -> str:
    """As `ImportedRecord.student_key` computes it for an imported row."""
    record = ImportedRecord(
        name="",
        graduation=ImportedGraduation(department_id, "", "", "", class_year, None, number),
    )
    return record.student_key


def _flag(session: Session, matches: list[duplicates.Match], found_by: str) -> int:
    """Put candidate pairs in the review queue (a pair already there, or dismissed, is not
    proposed again); returns how many were new."""
    if not matches:
        return 0
    pairs = {(m.first, m.second): m for m in matches}
    known = set(
        session.execute(
            select(DuplicateCandidate.first_id, DuplicateCandidate.second_id).where(
                tuple_(DuplicateCandidate.first_id, DuplicateCandidate.second_id).in_(list(pairs))
            )
        ).all()
    )
    fresh = [m for pair, m in pairs.items() if pair not in known]
    if fresh:
        session.execute(
            insert(DuplicateCandidate.__table__),
            [
                {
                    "first_id": m.first,
                    "second_id": m.second,
                    "score": m.score,
                    "evidence": m.as_dict(),
                    "status": "open",
                    "found_by": found_by,
                    "found_at": utcnow(),
                }
                for m in fresh
            ],
        )
    return len(fresh)


def _finish(session: Session, job: ImportJob) -> None:
    job.status = "done"
    job.finished_at = utcnow()
    session.execute(delete(ImportUpload).where(ImportUpload.job_id == job.id))
    if not job.dry_run:
        OutboxMessage.record(
            session,
            "alumni_imported",
            {
                "job_id": job.id,
                "filename": job.filename,
                "rows_read": job.rows_read,
                "imported": job.imported,
                "existing": job.existing,
                "rejected": job.rejected,
                "duplicates_flagged": job.duplicates_flagged,
                "dry_run": False,
                "started_by": job.created_by,
            },
        )


# ---- helpers -----------------------------------------------------------------------------


def _job(session: Session, job_id: str) -> ImportJob:
    job = session.get(ImportJob, str(job_id)) if _is_uuid(job_id) else None
    if job is None:
        raise NotFound("导入任务不存在。", {"job_id": str(job_id)}, reason="import_not_found")
    return job


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def discard_job(session: Session, job_id: str) -> None:
    """A job whose file was refused before any row was read: nothing of it stays."""
    job = session.get(ImportJob, str(job_id))
    if job is not None and job.status == "uploading":
        _discard(session, job)


def fail_job(session: Session, job_id: str, message: str) -> None:
    """A job that met a bug: its staged rows go; what it applied stays (each batch whole)."""
    job = _job(session, job_id)
    session.execute(delete(ImportUpload).where(ImportUpload.job_id == job.id))
    job.status = "failed"
    job.error = {"code": "INTERNAL_ERROR", "message": message}
    job.finished_at = utcnow()


def _discard(session: Session, job: ImportJob) -> None:
    session.execute(delete(ImportUpload).where(ImportUpload.job_id == job.id))
    session.execute(delete(ImportRow).where(ImportRow.job_id == job.id))
    session.delete(job)


def _upload(session: Session, job_id: str) -> io.BytesIO:
    chunks = session.scalars(
        select(ImportUpload.data).where(ImportUpload.job_id == job_id).order_by(ImportUpload.seq)
    )
    return io.BytesIO(b"".join(chunks))


def _options(session: Session, job: ImportJob, limits: Limits) -> ImportOptions:
    # A liaison imports their department's lineage only: other departments are unknown to
    # their import.
    scope = (
        None
        if job.department_id is None
        else set(session.scalars(departments.lineage_ids(job.department_id)))
    )
    options = job.options or {}
    return ImportOptions(
        resolve_department=departments.resolver(session, scope),
        mapping=options.get("mapping"),
        defaults=options.get("defaults"),
        sheet=options.get("sheet"),
        limits=limits,
    )
