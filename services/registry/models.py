"""Tables of the registry's own database."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.common.access_log import AccessLogMixin
from services.common.columns import new_id, utcnow
from services.common.crypto import INDEX_LENGTH, EncryptedString, blind_index_column_info
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
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    # Set when an approved erasure request blanked the record: it takes no more changes.
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    graduations: Mapped[list[Graduation]] = relationship(
        back_populates="alumnus",
        cascade="all, delete-orphan",
        order_by="Graduation.class_year",
        lazy="selectin",
    )


class Graduation(Base):
    __tablename__ = "graduations"
    __table_args__ = (Index("ix_graduations_department_year", "department_id", "class_year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alumnus_seq: Mapped[int] = mapped_column(
        ForeignKey("alumni.seq", ondelete="CASCADE"), index=True
    )
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"))
    major: Mapped[str] = mapped_column(String(100))
    degree: Mapped[str] = mapped_column(String(20))
    class_year: Mapped[int] = mapped_column(Integer, index=True)
    class_name: Mapped[str | None] = mapped_column(String(100))

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
