"""Tables of the events service's own database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.inbox import ProcessedMessageMixin
from services.common.outbox import OutboxMessageMixin


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class OutboxMessage(OutboxMessageMixin, Base):
    pass


class ProcessedMessage(ProcessedMessageMixin, Base):
    pass


class LectureSeries(Base):
    """A recurring lecture programme (校友大讲堂); its lectures are events of kind `lecture`."""

    __tablename__ = "lecture_series"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    title: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        # The database refuses an oversold event even if a code path forgot the lock.
        CheckConstraint(
            "seats_taken >= 0 AND seats_taken <= capacity", name="ck_events_seats_within_capacity"
        ),
        CheckConstraint("capacity >= 0", name="ck_events_capacity_non_negative"),
        Index("ix_events_starts_at_id", "starts_at", "id"),
        Index("ix_events_organiser", "organiser_type", "organiser_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    organiser_type: Mapped[str] = mapped_column(String(20))
    organiser_id: Mapped[str | None] = mapped_column(String(36))
    venue: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    capacity: Mapped[int] = mapped_column(Integer)
    registration_opens_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    registration_closes_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    series_id: Mapped[str | None] = mapped_column(ForeignKey("lecture_series.id"), index=True)
    speaker_alumnus_id: Mapped[str | None] = mapped_column(String(36))
    # Seats held by confirmed registrations; changed only under the event's row lock.
    seats_taken: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Registration(Base):
    __tablename__ = "registrations"
    __table_args__ = (
        # One registration per alumnus and event: a second sign-up finds this row.
        UniqueConstraint("event_id", "alumnus_id", name="uq_registrations_event_alumnus"),
        CheckConstraint("guests >= 0", name="ck_registrations_guests_non_negative"),
        CheckConstraint(
            "(status = 'waitlisted') = (position IS NOT NULL)",
            name="ck_registrations_position_iff_waitlisted",
        ),
        Index("ix_registrations_event_status", "event_id", "status"),
    )

    # An internal, increasing key gives listings a stable keyset order for cursors;
    # clients only ever see the UUID.
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    alumnus_id: Mapped[str] = mapped_column(String(36), index=True)
    guests: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20))
    # 1-based place on the waitlist, kept without gaps; NULL unless waitlisted.
    position: Mapped[int | None] = mapped_column(Integer)
    checkin_token: Mapped[str] = mapped_column(String(64), unique=True)
    checked_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    @property
    def seats(self) -> int:
        return 1 + self.guests


class ActivityReport(Base):
    """What the organiser reports after an event (活动通报); the office reads these."""

    __tablename__ = "activity_reports"
    __table_args__ = (Index("ix_activity_reports_filed_at_id", "filed_at", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), unique=True)
    summary: Mapped[str] = mapped_column(Text)
    attendance: Mapped[int] = mapped_column(Integer)
    participants: Mapped[list] = mapped_column(JSON, default=list)
    filed_by: Mapped[str] = mapped_column(String(50))
    filed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RosterEntry(Base):
    """A local copy of the alumni fields rosters need, fed by the registry's events.

    `updated_at` is the registry record's own `updated_at`: the version of the
    snapshot held, so that a late, older event never overwrites a newer one.
    """

    __tablename__ = "roster_entries"

    alumnus_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    department_ids: Mapped[list] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
