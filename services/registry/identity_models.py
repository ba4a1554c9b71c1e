"""Tables of alumni verification, the electronic alumni card and the directory's privacy
choices (issue 11, items 5–7; docs/community.md). Mapped on the registry's own base, so
its migrations and sessions know them; services/registry/models.py imports this module.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.common.columns import new_id, utcnow
from services.registry.models import Base


class AlumnusClaim(Base):
    """Someone's claim to be the person of a roster record (校友认证).

    `method` is `student_number` (name, student number and class year matched the roster)
    or `vouch` (no number on file: two verified classmates vouch). A vouch claim that
    matched no record keeps `alumnus_id` null and simply expires: its answer was the same
    as a matched one's, so that it tells nobody whether the record exists.
    Status: awaiting_vouches → verified → activated, or expired.
    The one-time code that sets the password is kept as an HMAC (`code_hash`), never in
    clear; it lives `CLAIM_CODE_TTL_SECONDS` and takes `CLAIM_CODE_MAX_ATTEMPTS` tries.
    """

    __tablename__ = "alumnus_claims"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    alumnus_id: Mapped[str | None] = mapped_column(String(36), index=True)
    method: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), index=True)
    department_id: Mapped[str | None] = mapped_column(String(36))
    class_year: Mapped[int] = mapped_column(Integer)
    claimed_name: Mapped[str] = mapped_column(String(50))
    code_hash: Mapped[str | None] = mapped_column(String(64))
    code_channel: Mapped[str | None] = mapped_column(String(10))
    code_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    code_attempts: Mapped[int] = mapped_column(Integer, default=0)
    codes_sent: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    account_id: Mapped[str | None] = mapped_column(String(36))


class ClaimVouch(Base):
    """A request to one verified classmate to vouch for a claim: requested → approved |
    declined. Only the classmate it is addressed to sees and answers it."""

    __tablename__ = "claim_vouches"
    __table_args__ = (UniqueConstraint("claim_id", "voucher_alumnus_id", name="uq_claim_voucher"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    claim_id: Mapped[str] = mapped_column(String(36), index=True)
    voucher_alumnus_id: Mapped[str] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(20))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CardPrivilege(Base):
    """A privilege an alumni card grants (library, gym, campus entry), as the office
    configures them; a card approved gets the active ones of that moment."""

    __tablename__ = "card_privileges"

    code: Mapped[str] = mapped_column(String(30), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class AlumniCard(Base):
    """An electronic alumni card (电子校友卡): applied → active | rejected; active → revoked."""

    __tablename__ = "alumni_cards"
    __table_args__ = (Index("ix_alumni_cards_status_seq", "status", "seq"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    alumnus_id: Mapped[str] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(20))
    privileges: Mapped[list] = mapped_column(JSON, default=list)
    applied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(50))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)


class DirectoryChoice(Base):
    """What an alumnus lets other verified alumni see in the directory: `name_only`,
    `work` (plus employer and city) or `contacts` (plus phone, e-mail, WeChat)."""

    __tablename__ = "directory_choices"

    alumnus_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    level: Mapped[str] = mapped_column(String(20))
    chosen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
