"""Tables of the registry's own database."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.common.access_log import AccessLogMixin
from services.common.columns import new_id, utcnow
from services.common.crypto import (
    INDEX_LENGTH,
    EncryptedJSON,
    EncryptedString,
    blind_index_column_info,
)
from services.common.models import service_base

Base = service_base()
OutboxMessage = Base.outbox_model
ProcessedMessage = Base.inbox_model


class Department(Base):
    __tablename__ = "departments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Alumnus(Base):
    __tablename__ = "alumni"

    # An internal, increasing key gives search a stable keyset order for cursors;
    # clients only ever see the UUID.
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    name: Mapped[str] = mapped_column(String(50), index=True)
    gender: Mapped[str | None] = mapped_column(String(10))
    birth_date: Mapped[date | None] = mapped_column(Date)
    # Contacts are stored encrypted (services/common/crypto.py); the blind indexes make
    # exact-match search and duplicate lookup possible without decrypting.
    phone: Mapped[str | None] = mapped_column(EncryptedString("alumni.phone"))
    email: Mapped[str | None] = mapped_column(EncryptedString("alumni.email"))
    wechat: Mapped[str | None] = mapped_column(EncryptedString("alumni.wechat"))
    phone_index: Mapped[str | None] = mapped_column(
        String(INDEX_LENGTH), index=True, info=blind_index_column_info("phone")
    )
    email_index: Mapped[str | None] = mapped_column(
        String(INDEX_LENGTH), index=True, info=blind_index_column_info("email")
    )
    province: Mapped[str | None] = mapped_column(String(50))
    city: Mapped[str | None] = mapped_column(String(50), index=True)
    employer: Mapped[str | None] = mapped_column(String(200))
    industry: Mapped[str | None] = mapped_column(String(100), index=True)
    title: Mapped[str | None] = mapped_column(String(100))
    tags: Mapped[list] = mapped_column(JSON, default=list)
    # Set when a merge absorbed this record into another (services/registry/merges.py): it
    # stays, out of search, so that the merge can be undone.
    merged_into: Mapped[str | None] = mapped_column(String(36), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    # Set when an approved erasure request blanked the record: it takes no more changes.
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Each field's provenance (services/registry/review.py): {field: {"source", "confirmed_at",
    # "by"}}, read and written whole with its record. No personal values in it.
    field_provenance: Mapped[dict | None] = mapped_column(JSON)
    # When the record as a whole was last confirmed: the list of records to check.
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)

    graduations: Mapped[list[Graduation]] = relationship(
        back_populates="alumnus",
        cascade="all, delete-orphan",
        order_by="Graduation.class_year",
        lazy="selectin",
    )


class Graduation(Base):
    __tablename__ = "graduations"
    __table_args__ = (
        Index("ix_graduations_department_year", "department_id", "class_year"),
        # 学号: unique per department and class year where present (docs/stewardship.md).
        Index(
            "uq_graduations_student_number",
            "department_id",
            "class_year",
            "student_number",
            unique=True,
            sqlite_where=text("student_number IS NOT NULL"),
            postgresql_where=text("student_number IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alumnus_seq: Mapped[int] = mapped_column(
        ForeignKey("alumni.seq", ondelete="CASCADE"), index=True
    )
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"))
    major: Mapped[str] = mapped_column(String(100))
    degree: Mapped[str] = mapped_column(String(20))
    class_year: Mapped[int] = mapped_column(Integer, index=True)
    class_name: Mapped[str | None] = mapped_column(String(100))
    # Indexed alone too: a search by student number names no department or year.
    student_number: Mapped[str | None] = mapped_column(String(32), index=True)
    enrolment_year: Mapped[int | None] = mapped_column(Integer)
    # The idempotency key of the imported row that created it (services/registry/imports.py).
    import_key: Mapped[str | None] = mapped_column(String(32), unique=True, index=True)

    alumnus: Mapped[Alumnus] = relationship(back_populates="graduations")


class ChangeRecord(Base):
    """One changed field of one alumnus: the field-level history.

    Values are JSON, stored encrypted. A contact value (phone, e-mail, WeChat ID) replaced
    longer ago than `HISTORY_CONTACT_RETENTION_DAYS` is masked (services/registry/
    retention.py); `masked_at` marks the change whose old value was.
    """

    __tablename__ = "change_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alumnus_seq: Mapped[int] = mapped_column(
        ForeignKey("alumni.seq", ondelete="CASCADE"), index=True
    )
    field: Mapped[str] = mapped_column(String(50))
    old_value: Mapped[str | None] = mapped_column(EncryptedString("change_records.old_value"))
    new_value: Mapped[str | None] = mapped_column(EncryptedString("change_records.new_value"))
    actor: Mapped[str] = mapped_column(String(50))
    source: Mapped[str] = mapped_column(String(20))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    masked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Account(Base):
    """A login: a staff member's (office, committee, liaison) or an alumnus's.

    An alumnus account (role `alumnus`) names its alumnus record in `alumnus_id`;
    one login per record.
    """

    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    department_id: Mapped[str | None] = mapped_column(ForeignKey("departments.id"))
    alumnus_id: Mapped[str | None] = mapped_column(
        ForeignKey("alumni.id", name="fk_accounts_alumnus_id_alumni"),
        unique=True,
        index=True,
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Raised by a password change: access tokens stating an older version stop working.
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The scope of a `chapter_officer` (its chapter) and of a `messenger` (its appointment,
    # hence its class): carried in the access token (docs/community.md). No foreign key: the
    # registry checks the scope when the account is made and again on every scoped read.
    chapter_id: Mapped[str | None] = mapped_column(String(36), index=True)
    messenger_id: Mapped[str | None] = mapped_column(String(36), index=True)


class RefreshToken(Base):
    """A refresh token issued (its `jti`). A login starts a family (a session); each refresh
    uses up the token presented and adds the next one to the family. A used token presented
    again means it was stolen: the whole family is revoked."""

    __tablename__ = "refresh_tokens"

    jti: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    family_id: Mapped[str] = mapped_column(String(36), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LoginThrottle(Base):
    """Failed logins of one username (`user:<name>`) or one client address (`addr:<ip>`)."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# ---- stewardship (docs/stewardship.md) ----------------------------------------------


class DepartmentSuccession(Base):
    """A department merged into another: `current_id` is the end of its successor chain, so
    "alumni of X" are those of X and of every department whose `current_id` is X."""

    __tablename__ = "department_successions"

    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"), primary_key=True)
    successor_id: Mapped[str] = mapped_column(ForeignKey("departments.id"))
    current_id: Mapped[str] = mapped_column(ForeignKey("departments.id"), index=True)
    changed_by: Mapped[str] = mapped_column(String(50))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DepartmentName(Base):
    """A name or code a department was known by before a rename: an old registrar export
    still finds it, and the department's lineage lists it."""

    __tablename__ = "department_names"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"), index=True)
    used_until: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ImportJob(Base):
    __tablename__ = "import_jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    filename: Mapped[str] = mapped_column(String(255))
    format: Mapped[str | None] = mapped_column(String(10))
    encoding: Mapped[str | None] = mapped_column(String(30))
    size: Mapped[int] = mapped_column(Integer, default=0)
    options: Mapped[dict] = mapped_column(JSON, default=dict)
    columns: Mapped[list] = mapped_column(JSON, default=list)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), index=True)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    imported: Mapped[int] = mapped_column(Integer, default=0)
    existing: Mapped[int] = mapped_column(Integer, default=0)
    duplicates_flagged: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[dict | None] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(50))
    department_id: Mapped[str | None] = mapped_column(String(36))
    """A liaison's import: only rows of this department's lineage are taken."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ImportUpload(Base):
    """The uploaded file in chunks, until its job ends."""

    __tablename__ = "import_uploads"

    job_id: Mapped[str] = mapped_column(
        ForeignKey("import_jobs.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ImportRow(Base):
    """One parsed row of an import: `valid`, `refused`, `applied` or `existing`."""

    __tablename__ = "import_rows"

    job_id: Mapped[str] = mapped_column(
        ForeignKey("import_jobs.id", ondelete="CASCADE"), primary_key=True
    )
    row_number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(10))
    import_key: Mapped[str | None] = mapped_column(String(32))
    # A staged row holds the registrar's values (contacts among them): encrypted at rest
    # like the record it becomes (docs/security/data-at-rest.md).
    record: Mapped[dict | None] = mapped_column(EncryptedJSON("import_rows.record"))
    problems: Mapped[list] = mapped_column(JSON, default=list)
    cells: Mapped[list] = mapped_column(EncryptedJSON("import_rows.cells"), default=list)
    alumnus_id: Mapped[str | None] = mapped_column(String(36))


class DuplicateCandidate(Base):
    """A pair of alumni that may be one person, for the office's review queue; the ids in
    order (`first_id < second_id`), so a pair is stored once."""

    __tablename__ = "duplicate_candidates"
    __table_args__ = (UniqueConstraint("first_id", "second_id", name="uq_duplicate_pair"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    first_id: Mapped[str] = mapped_column(String(36))
    second_id: Mapped[str] = mapped_column(String(36))
    score: Mapped[float] = mapped_column(Float, index=True)
    evidence: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), index=True)
    found_by: Mapped[str] = mapped_column(String(50))
    found_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(50))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    merge_id: Mapped[str | None] = mapped_column(String(36))


class AlumnusMerge(Base):
    """A merge of two alumni, with what its undo needs (`duplicates.MergeResult.undo`)."""

    __tablename__ = "alumnus_merges"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    survivor_id: Mapped[str] = mapped_column(String(36), index=True)
    absorbed_id: Mapped[str] = mapped_column(String(36), index=True)
    undo: Mapped[dict] = mapped_column(JSON)
    merged_by: Mapped[str] = mapped_column(String(50))
    merged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    undone_by: Mapped[str | None] = mapped_column(String(50))
    undone_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AlumnusNameKey(Base):
    """The pinyin search keys of an alumnus's name (`pinyin.name_keys(name).rows()`).

    Like the grams below, a search index kept by services/registry/namekeys.py alone, in
    the transaction that writes the alumnus, and read only joined to `alumni`: no foreign
    key. Its check (a lookup and a lock of the alumnus per row) cost 40 % of writing an
    import's 1.5 million grams on PostgreSQL, ~7 s of 100,000 rows
    (docs/performance/import.md). Alumni are never deleted: an erasure blanks the record
    and `namekeys.forget`s its keys."""

    __tablename__ = "alumnus_name_keys"
    __table_args__ = (Index("ix_alumnus_name_keys_lookup", "kind", "key", "alumnus_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alumnus_seq: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(10))
    key: Mapped[str] = mapped_column(
        String(200).with_variant(String(200, collation="C"), "postgresql")
    )


def name_key_lead() -> ColumnElement[str]:
    """A name key's first character, as `ix_alumnus_name_keys_lead` indexes it and
    namekeys.first_key_rows looks it up: SQLite uses an index on an expression only for
    that same expression, its numbers written out rather than bound."""
    return func.substr(AlumnusNameKey.key, literal_column("1"), literal_column("1"))


# A key's first character with its kind and alumnus: a one-character query's keys (`王`,
# `w`) read in `seq` order and stopped at a page's end, not all sorted.
Index(
    "ix_alumnus_name_keys_lead",
    AlumnusNameKey.kind,
    name_key_lead(),
    AlumnusNameKey.alumnus_seq,
)


class ChangeRequest(Base):
    """A liaison's change to an alumnus, waiting for the office (services/registry/review.py):
    pending → approved | rejected. `patch` is what the liaison asked for, `seen` the values
    of those fields when they asked; both JSON, encrypted (they may hold contacts)."""

    __tablename__ = "change_requests"
    __table_args__ = (Index("ix_change_requests_status_seq", "status", "seq"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    alumnus_id: Mapped[str] = mapped_column(String(36), index=True)
    department_id: Mapped[str | None] = mapped_column(String(36), index=True)
    fields: Mapped[list] = mapped_column(JSON, default=list)
    patch: Mapped[str] = mapped_column(EncryptedString("change_requests.patch"))
    seen: Mapped[str] = mapped_column(EncryptedString("change_requests.seen"))
    status: Mapped[str] = mapped_column(String(20))
    submitted_by: Mapped[str] = mapped_column(String(50))
    submitted_by_id: Mapped[str] = mapped_column(String(36), index=True)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(50))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(Text)
    conflicts: Mapped[list] = mapped_column(JSON, default=list)


class AlumnusTextGram(Base):
    """The character bigrams of an alumnus's name, employer and city (lower-cased), so that
    a part of any of them is found through an index (services/registry/namekeys.py).

    Keyed by what a search looks up, with no surrogate id: an import writes 1.5 million of
    these for 100,000 rows, and an id's key cost every one of them an index entry (and on
    PostgreSQL a sequence number) that nothing read. On SQLite the rows are stored in the
    key's order (WITHOUT ROWID): the table is the lookup index."""

    __tablename__ = "alumnus_text_grams"
    __table_args__ = {"sqlite_with_rowid": False}

    field: Mapped[str] = mapped_column(String(10), primary_key=True)
    gram: Mapped[str] = mapped_column(
        String(2).with_variant(String(2, collation="C"), "postgresql"), primary_key=True
    )
    alumnus_seq: Mapped[int] = mapped_column(
        Integer, primary_key=True, autoincrement=False, index=True
    )


class ErasureRequest(Base):
    """An alumnus's request to erase their personal information (PIPL art. 47), and the
    office's decision: requested → approved | rejected."""

    __tablename__ = "erasure_requests"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    alumnus_id: Mapped[str] = mapped_column(String(36), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), index=True)
    requested_by: Mapped[str] = mapped_column(String(36))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(50))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str | None] = mapped_column(Text)


class AccessLogEntry(AccessLogMixin, Base):
    """Who read which personal fields of which alumnus unmasked (services/common/access_log.py)."""


# Reads by id and searches log their rows together (services/common/group_commit.py).
Base.access_log_model = AccessLogEntry


class YearlyReport(Base):
    """A yearly alumni report (services/registry/reports.py): `queued` when asked for (by
    the office or the schedule), `ready` once the registry's timer has generated it; then
    served as stored."""

    __tablename__ = "yearly_reports"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(10), index=True)
    requested_by: Mapped[str] = mapped_column(String(50))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    generated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    html: Mapped[str | None] = mapped_column(Text)
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary)


# ---- community: chapters, messengers, student volunteers (docs/community.md) ----------------


class Chapter(Base):
    """校友总会 or a 地方/行业校友分会: its kind, where or what it gathers, its registration
    as a legal person where it has one, and the school's confirmation."""

    __tablename__ = "chapters"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    city: Mapped[str | None] = mapped_column(String(50), index=True)
    industry: Mapped[str | None] = mapped_column(String(100), index=True)
    founded_on: Mapped[date] = mapped_column(Date)
    legal_form: Mapped[str | None] = mapped_column(String(50))
    registration_number: Mapped[str | None] = mapped_column(String(50))
    confirmed_on: Mapped[date | None] = mapped_column(Date)
    confirmed_by: Mapped[str | None] = mapped_column(String(50))
    confirmation_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class ChapterMember(Base):
    """An alumnus in a chapter, as `member`, `officer` or `volunteer` (积极分子)."""

    __tablename__ = "chapter_members"
    __table_args__ = (UniqueConstraint("chapter_id", "alumnus_id", name="uq_chapter_members"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    chapter_id: Mapped[str] = mapped_column(ForeignKey("chapters.id"), index=True)
    alumnus_id: Mapped[str] = mapped_column(ForeignKey("alumni.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    joined_on: Mapped[date] = mapped_column(Date)
    added_by: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Messenger(Base):
    """校友信使: an alumnus (a student of the class) appointed for a graduating class, named by
    department, class year and class name; `ended_on` once the appointment ends."""

    __tablename__ = "messengers"
    __table_args__ = (Index("ix_messengers_class", "department_id", "class_year", "class_name"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    alumnus_id: Mapped[str] = mapped_column(ForeignKey("alumni.id"), index=True)
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"))
    class_year: Mapped[int] = mapped_column(Integer)
    class_name: Mapped[str] = mapped_column(String(100))
    appointed_on: Mapped[date] = mapped_column(Date)
    appointed_by: Mapped[str] = mapped_column(String(50))
    ended_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StudentVolunteer(Base):
    """A member of the student alumni volunteer association (学生校友志愿者协会), for a term."""

    __tablename__ = "student_volunteers"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    name: Mapped[str] = mapped_column(String(50))
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"), index=True)
    class_year: Mapped[int] = mapped_column(Integer)
    position: Mapped[str] = mapped_column(String(20))
    term_start: Mapped[date] = mapped_column(Date)
    term_end: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# The community's tables (docs/community.md) live in modules of their own: the archive and
# stories, and verification, the alumni card and the directory's privacy choices; imported
# here so that the base's metadata knows them.
from services.registry import (  # noqa: E402, F401
    community_archive_models,
    identity_models,
)
