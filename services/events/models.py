"""Tables of the events service's own database."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.common.access_log import AccessLogMixin
from services.common.columns import new_id, utcnow
from services.common.crypto import EncryptedJSON, EncryptedString
from services.common.merged_references import MergedReferenceMixin
from services.common.models import service_base

Base = service_base()
OutboxMessage = Base.outbox_model
ProcessedMessage = Base.inbox_model


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
    # How many registrations wait: the next waitlisted sign-up's position is this + 1.
    # Changed in the same statement that decides a sign-up, and under the row lock on
    # cancellation and promotion (services/events/waitlist.py).
    waitlist_length: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
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
    # Stored encrypted (services/common/crypto.py), as is every contact below.
    phone: Mapped[str | None] = mapped_column(EncryptedString("roster_entries.phone"))
    email: Mapped[str | None] = mapped_column(EncryptedString("roster_entries.email"))
    department_ids: Mapped[list] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# ---- engagement workflows ---------------------------------------------------
#
# Each table has an internal, increasing `seq` for stable keyset paging and a
# UUID `id` that clients see, as registrations do. Names in `*_by`, `actor`,
# `author`, `host`, `owner` and `assignee` are staff usernames (at most 50).


class Visit(Base):
    """A request to visit the campus (校友返校接待) and how it was handled.

    `department_id` decides whose liaison may handle it (null: the office).
    """

    __tablename__ = "visits"
    __table_args__ = (
        CheckConstraint("group_size >= 1", name="ck_visits_group_size_positive"),
        CheckConstraint(
            "requester_alumnus_id IS NOT NULL OR class_year IS NOT NULL",
            name="ck_visits_has_requester",
        ),
        Index("ix_visits_department_status", "department_id", "status"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    requester_alumnus_id: Mapped[str | None] = mapped_column(String(36), index=True)
    department_id: Mapped[str | None] = mapped_column(String(36))
    class_year: Mapped[int | None] = mapped_column(Integer)
    class_name: Mapped[str | None] = mapped_column(String(100))
    visit_date: Mapped[date] = mapped_column(Date)
    group_size: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(Text)
    # {name, phone, email}: personal information, never put on the bus.
    contact: Mapped[dict] = mapped_column(EncryptedJSON("visits.contact"))
    status: Mapped[str] = mapped_column(String(20), index=True)
    decision_note: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(50))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    host: Mapped[str | None] = mapped_column(String(50))
    outcome_notes: Mapped[str | None] = mapped_column(Text)
    completed_by: Mapped[str | None] = mapped_column(String(50))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    cancelled_by: Mapped[str | None] = mapped_column(String(50))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    @property
    def requester_type(self) -> str:
        return "class" if self.class_year is not None else "alumnus"


class WorkPlan(Base):
    """A year's work plan (工作计划) of a department, or of the office (`department_id` null).

    `owner_key` is the department's id or "office": a unique key over a
    nullable column would let the office have two plans a year, since NULLs
    are distinct in both PostgreSQL and SQLite.
    """

    __tablename__ = "work_plans"
    __table_args__ = (
        UniqueConstraint("owner_key", "year", name="uq_work_plans_owner_year"),
        Index("ix_work_plans_year_department", "year", "department_id"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    department_id: Mapped[str | None] = mapped_column(String(36))
    owner_key: Mapped[str] = mapped_column(String(36))
    year: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PlanTask(Base):
    """A task of a plan: assigned → checked → done (有布置、有检查、有落实)."""

    __tablename__ = "plan_tasks"
    __table_args__ = (
        CheckConstraint(
            "(status = 'done') = (done_at IS NOT NULL)", name="ck_plan_tasks_done_at_iff_done"
        ),
        # What the overdue scan reads: unflagged tasks by due date.
        Index("ix_plan_tasks_overdue_scan", "overdue_flagged_at", "due_date"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    plan_id: Mapped[str] = mapped_column(
        ForeignKey("work_plans.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str] = mapped_column(String(50), index=True)
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set once, by the scan that recorded the task's `task_overdue` event.
    overdue_flagged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    steps: Mapped[list[TaskStep]] = relationship(
        order_by="TaskStep.seq", lazy="selectin", cascade="all, delete-orphan"
    )


class TaskStep(Base):
    """A task's history: each step it reached, with its evidence, who and when."""

    __tablename__ = "task_steps"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(
        ForeignKey("plan_tasks.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(50))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Suggestion(Base):
    """An alumnus's suggestion (建议) and the school's answer."""

    __tablename__ = "suggestions"
    __table_args__ = (
        CheckConstraint(
            "(status = 'answered') = (answered_at IS NOT NULL)",
            name="ck_suggestions_answered_at_iff_answered",
        ),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    alumnus_id: Mapped[str] = mapped_column(String(36), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), index=True)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(50))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ServiceRequest(Base):
    """An alumni company's request for help (三.7): talent training, consulting, …"""

    __tablename__ = "service_requests"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    alumnus_id: Mapped[str] = mapped_column(String(36), index=True)
    company: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), index=True)
    assignee: Mapped[str | None] = mapped_column(String(50), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    history: Mapped[list[ServiceRequestEntry]] = relationship(
        order_by="ServiceRequestEntry.seq", lazy="selectin", cascade="all, delete-orphan"
    )


class ServiceRequestEntry(Base):
    """A request's history: assignments, status changes and notes, in order."""

    __tablename__ = "service_request_entries"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(
        ForeignKey("service_requests.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(50))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CooperationProject(Base):
    """A school–alumni cooperation project (三.8) with its partner and contacts."""

    __tablename__ = "cooperation_projects"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    title: Mapped[str] = mapped_column(String(200))
    partner: Mapped[str] = mapped_column(String(200))
    # [{name, phone, email, alumnus_id}]
    contacts: Mapped[list] = mapped_column(
        EncryptedJSON("cooperation_projects.contacts"), default=list
    )
    status: Mapped[str] = mapped_column(String(20), index=True)
    department_id: Mapped[str | None] = mapped_column(String(36), index=True)
    created_by: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    notes: Mapped[list[ProjectNote]] = relationship(
        order_by="ProjectNote.seq", lazy="selectin", cascade="all, delete-orphan"
    )


class ProjectNote(Base):
    """Append-only notes of a project: rows are added, never changed."""

    __tablename__ = "project_notes"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("cooperation_projects.id", ondelete="CASCADE"), index=True
    )
    note: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(50))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MergedReference(MergedReferenceMixin, Base):
    """A reference moved from an absorbed alumnus to the survivor of a registry merge, so
    that the merge's undo moves back exactly these (services/events/merges.py)."""


class AccessLogEntry(AccessLogMixin, Base):
    """Who saw which contacts of visits, projects and rosters unmasked
    (services/common/access_log.py)."""
