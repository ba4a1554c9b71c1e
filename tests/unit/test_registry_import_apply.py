"""Applying an import's rows in bulk (services/registry/imports.py, bulk.py) on SQLite and
PostgreSQL: what the driver-level writes store is what the ORM would have stored (contacts
encrypted, blind indexes, history, name keys, events), and a job stopped between two batches
resumes with each row applied once."""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from services.common import crypto
from services.common.contracts import check_event
from services.common.offload import ChildProcess
from services.common.visibility import mask
from services.registry import (
    departments,
    domain,
    duplicates,
    imports,
    provenance,
    retention,
    sample_import,
)
from services.registry.importing import ImportOptions, Limits, open_import
from services.registry.models import (
    Alumnus,
    AlumnusNameKey,
    ChangeRecord,
    DuplicateCandidate,
    ImportRow,
    OutboxMessage,
)

OFFICE = {"account_id": "acc-office", "username": "office", "role": "office", "department_id": None}
LIMITS = Limits(max_bytes=10 * 2**20)


@pytest.fixture
def transaction(registry_session_factory):
    session = registry_session_factory()

    @contextmanager
    def scope():
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise

    def post(path, body):
        with scope() as s:
            if path == "/api/v1/departments":
                return domain.create_department(s, body)
            if path.endswith("/rename"):
                return departments.rename_department(s, path.split("/")[-2], body, OFFICE)
            return departments.merge_departments(s, body, OFFICE)

    sample_import.create_departments(post)
    yield scope
    session.close()


def start(transaction, data: bytes, dry_run: bool = False) -> str:
    with transaction() as session:
        job = imports.create_job(session, {"filename": "a.csv", "dry_run": dry_run}, OFFICE)
        imports.add_chunk(session, job["id"], 0, data, LIMITS)
    with transaction() as session:
        imports.start_job(session, job["id"], LIMITS)
    return job["id"]


def run(transaction, job_id: str) -> dict:
    imports.run_job(transaction, job_id, LIMITS, lambda: None, ChildProcess)
    with transaction() as session:
        return imports.get_job(session, job_id)


def test_bulk_apply_stores_what_the_orm_would(transaction, monkeypatch):
    monkeypatch.setattr(imports, "APPLY_BATCH", 40)
    export = sample_import.generate(120, bad=3, duplicates=4, seed=5)
    job = run(transaction, start(transaction, export.encode("csv", "gbk")))
    assert (job["status"], job["rows_read"], job["rejected"]) == ("done", 120, 3), job
    assert job["imported"] == 117
    with transaction() as session:
        raw = session.execute(text("SELECT phone, email, phone_index FROM alumni")).all()
        assert len(raw) == 117
        assert all(r.phone is None or r.phone.startswith("e1:") for r in raw)
        assert any(r.phone for r in raw)
        alumni = session.scalars(select(Alumnus)).all()
        for alumnus in alumni:
            assert alumnus.phone_index == crypto.blind_index(alumnus.phone)
            assert alumnus.email_index == crypto.blind_index(alumnus.email)
            assert alumnus.created_at is not None and alumnus.tags is not None
            assert len(alumnus.graduations) == 1
        history = session.scalars(select(ChangeRecord)).all()
        assert {h.source for h in history} == {"import"}
        assert all(h.changed_at is not None for h in history)
        # One history row per imported record, every field it was created with in it.
        assert sorted(h.alumnus_seq for h in history) == sorted(a.seq for a in alumni)
        assert {h.field for h in history} == {"*"}
        by_seq = {h.alumnus_seq: json.loads(h.new_value) for h in history}
        raw_history = session.execute(text("SELECT new_value FROM change_records")).scalars()
        assert all(value.startswith("e1:") for value in raw_history)
        for alumnus in alumni:
            recorded = by_seq[alumnus.seq]
            assert recorded["name"] == alumnus.name
            assert recorded.get("phone") == alumnus.phone
            assert recorded["graduations"][0]["class_year"] == alumnus.graduations[0].class_year
            changes = domain.change_dicts(next(h for h in history if h.alumnus_seq == alumnus.seq))
            assert {c["field"] for c in changes} == set(recorded)
            assert all(c["old_value"] is None and c["source"] == "import" for c in changes)
        assert session.scalar(select(func.count()).select_from(AlumnusNameKey)) >= 3 * 117
        events = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        registered = [json.loads(e.payload) for e in events if e.event_type == "alumnus_registered"]
        assert len(registered) == 117
        check_event(registered[-1])
        assert events[-1].event_type == "alumni_imported"
        statuses = dict(
            session.execute(select(ImportRow.status, func.count()).group_by(ImportRow.status)).all()
        )
        assert statuses == {"applied": 117, "refused": 3}


def test_a_job_stopped_between_batches_resumes_and_applies_each_row_once(transaction, monkeypatch):
    monkeypatch.setattr(imports, "APPLY_BATCH", 25)
    export = sample_import.generate(100, seed=9)
    job_id = start(transaction, export.encode("csv", "gbk"))
    real_batch = imports._apply_batch
    calls = []

    def dies_on_the_third(session, job, batch, matches):
        calls.append(len(batch.new))
        real_batch(session, job, batch, matches)
        if len(calls) == 3:
            # Killed after the batch's writes, before its commit: the batch is rolled back.
            raise KeyboardInterrupt

    monkeypatch.setattr(imports, "_apply_batch", dies_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        imports.run_job(transaction, job_id, LIMITS, lambda: None, ChildProcess)
    committed = calls[0] + calls[1]  # batches are windows of 25 row numbers
    assert 0 < committed < 100
    with transaction() as session:
        assert imports.get_job(session, job_id)["imported"] == committed
        assert session.scalar(select(func.count()).select_from(Alumnus)) == committed
    monkeypatch.setattr(imports, "_apply_batch", real_batch)
    job = run(transaction, job_id)
    assert (job["status"], job["imported"], job["existing"]) == ("done", 100, 0), job
    with transaction() as session:
        assert session.scalar(select(func.count()).select_from(Alumnus)) == 100
        assert session.scalar(select(func.count(func.distinct(ImportRow.alumnus_id)))) == 100
    again = run(transaction, start(transaction, export.encode("csv", "gbk")))
    assert (again["imported"], again["existing"]) == (0, 100), again


@pytest.mark.parametrize("offloaded", [False, True], ids=["small", "large"])
def test_a_large_import_parses_and_matches_in_processes_of_their_own(
    transaction, monkeypatch, offloaded
):
    """A small import stays in the registry; above the thresholds (here every import) the
    parse and the matching go to children. Either way the pairs flagged are those of the
    rows among themselves."""
    export = sample_import.generate(90, bad=2, duplicates=6, seed=11)
    data = export.encode("csv", "gbk")
    with transaction() as session:
        options = ImportOptions(resolve_department=departments.resolver(session), limits=LIMITS)
    people = [
        duplicates.Person.from_imported(f"row:{r.row_number}", r.record)
        for r in open_import(data, options)
        if r.record
    ]
    expected = len(duplicates.find_candidates(people))
    spawned = []

    def spawn(function, *args):
        spawned.append(function.__name__)
        return ChildProcess(function, *args)

    if offloaded:
        monkeypatch.setattr(imports, "OFFLOAD_MIN_ROWS", 0)
        monkeypatch.setattr(imports, "OFFLOAD_MIN_BYTES", 0)
        monkeypatch.setattr(imports, "APPLY_BATCH", 30)
    job_id = start(transaction, data)
    imports.run_job(transaction, job_id, LIMITS, lambda: None, spawn)
    assert spawned == (["staged_batches", "matches_by_batch"] if offloaded else [])
    with transaction() as session:
        job = imports.get_job(session, job_id)
        flagged = session.scalar(select(func.count()).select_from(DuplicateCandidate))
    assert (job["status"], job["imported"], job["rejected"]) == ("done", 88, 2), job
    assert job["duplicates_flagged"] == flagged == expected > 0


def test_a_dry_run_writes_nothing_but_its_report(transaction):
    export = sample_import.generate(60, bad=2, seed=3)
    with transaction() as session:
        events_before = session.scalar(select(func.count()).select_from(OutboxMessage))
    job = run(transaction, start(transaction, export.encode("csv", "gbk"), dry_run=True))
    assert (job["status"], job["rejected"], job["imported"]) == ("done", 2, 0), job
    with transaction() as session:
        assert session.scalar(select(func.count()).select_from(Alumnus)) == 0
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == events_before


def test_encrypt_many_seals_as_encrypt_does_with_a_nonce_each():
    keyring = crypto.keyring()
    values = ["13800138000", "单雄信", "", "a@example.cn"] * 3
    sealed = keyring.encrypt_many(values, "alumni.phone")
    assert len(set(sealed)) == len(values)
    assert [keyring.decrypt(s, "alumni.phone") for s in sealed] == values
    with pytest.raises(crypto.DecryptionError):
        keyring.decrypt(sealed[0], "alumni.email")


@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
def test_bulk_insert_stores_awkward_values_as_the_orm_would(registry_session_factory):
    """COPY's text format on PostgreSQL: backslashes, tabs, line breaks, `\\N` as text, no
    value at all, dates and JSON come back as they went in."""
    from services.registry import bulk

    awkward = ["a\\b", "tab\there", "line\nbreak\r\n", "\\N", "", "名字 🎓"]
    with registry_session_factory() as session:
        bulk.insert_many(
            session,
            Alumnus.__table__,
            [
                {
                    "id": f"00000000-0000-0000-0000-00000000000{n}",
                    "name": value,
                    "employer": value,
                    "phone": value or None,
                    "city": None,
                    "tags": [value, "x"],
                }
                for n, value in enumerate(awkward)
            ],
        )
        session.commit()
    with registry_session_factory() as session:
        stored = session.scalars(select(Alumnus).order_by(Alumnus.id)).all()
        assert [a.name for a in stored] == awkward
        assert [a.employer for a in stored] == awkward
        assert [a.phone for a in stored] == [v or None for v in awkward]
        assert [a.city for a in stored] == [None] * len(awkward)
        assert [a.tags for a in stored] == [[v, "x"] for v in awkward]
        assert all(a.created_at is not None for a in stored)
        raw = session.execute(text("SELECT phone FROM alumni WHERE phone IS NOT NULL")).scalars()
        assert all(value.startswith(crypto.FORMAT) for value in raw), "encrypted at rest"


def test_an_imported_records_one_history_row_reads_as_each_fields_change(transaction):
    export = sample_import.generate(10, seed=3)
    run(transaction, start(transaction, export.encode("csv", "gbk")))
    with transaction() as session:
        alumnus = session.scalars(select(Alumnus).where(Alumnus.phone.is_not(None))).first()
        imported_phone, seq = alumnus.phone, alumnus.seq
        domain.update_alumnus(session, alumnus.id, {"phone": "13900001111"}, OFFICE)
    with transaction() as session:
        history = domain.alumnus_history(session, alumnus.id, {"limit": 50})["items"]
        imported = [c for c in history if c["source"] == "import"]
        assert {"name", "phone", "graduations"} <= {c["field"] for c in imported}
        assert all(c["old_value"] is None for c in imported)
        assert [(c["old_value"], c["new_value"]) for c in history if c["field"] == "phone"] == [
            (None, imported_phone),
            (imported_phone, "13900001111"),
        ]
        # Provenance: the import for the fields it set, the office's write for the phone.
        record = domain.get_alumnus(session, alumnus.id)
        values = {field: record[field] for field in ("name", "phone", "city")}
        found = provenance.provenance_of(session, seq, alumnus.field_provenance, values)
        assert found["name"]["source"] == "import"
        assert found["phone"]["source"] == "office"
        changed = max(c.changed_at for c in session.scalars(select(ChangeRecord)))
    with transaction() as session:
        # The replaced phone is masked where the import's row holds it too.
        later = changed + timedelta(days=31)
        assert retention.mask_old_contacts(session, later, timedelta(days=30)) == 1
    with transaction() as session:
        history = domain.alumnus_history(session, alumnus.id, {"limit": 50})["items"]
        masked = mask("phone", imported_phone)
        assert [(c["old_value"], c["new_value"]) for c in history if c["field"] == "phone"] == [
            (None, masked),
            (masked, "13900001111"),
        ]
        assert any(c["field"] == "name" and c["new_value"] == alumnus.name for c in history)
