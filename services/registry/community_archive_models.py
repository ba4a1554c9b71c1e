"""Tables of the distinguished-alumni archive and of stories and news (docs/community.md).

Imported at the end of services/registry/models.py, so that they are part of the registry's
metadata (its migrations and its test databases) without that module growing."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.common.columns import new_id, utcnow
from services.registry.models import Base


class DistinguishedEntry(Base):
    """A nomination of an alumnus to the distinguished-alumni archive (杰出校友档案) and,
    once the office approved it, the archive entry: nominated → approved | rejected.
    `steward_id` names the staff account that looks after the alumnus (专人负责)."""

    __tablename__ = "distinguished_entries"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    alumnus_id: Mapped[str] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    reasons: Mapped[str] = mapped_column(Text)
    # The department whose liaison nominated (None: the office's nomination).
    department_id: Mapped[str | None] = mapped_column(String(36), index=True)
    nominated_by: Mapped[str] = mapped_column(String(36), index=True)
    nominated_by_name: Mapped[str] = mapped_column(String(50))
    nominated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(50))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str | None] = mapped_column(Text)
    steward_id: Mapped[str | None] = mapped_column(String(36), index=True)
    steward_assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DistinguishedInteraction(Base):
    """One contact with a distinguished alumnus: a visit, a call, a service provided, or a
    gift noted (by the donations service's gift id: a reference, never a copy)."""

    __tablename__ = "distinguished_interactions"
    __table_args__ = (Index("ix_distinguished_interactions_entry", "entry_seq", "seq"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    entry_seq: Mapped[int] = mapped_column(ForeignKey("distinguished_entries.seq"))
    kind: Mapped[str] = mapped_column(String(20))
    occurred_on: Mapped[date] = mapped_column(Date)
    summary: Mapped[str] = mapped_column(Text)
    gift_id: Mapped[str | None] = mapped_column(String(36))
    recorded_by: Mapped[str] = mapped_column(String(50))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DistinguishedHonour(Base):
    """An honour or commendation (表彰) of a distinguished alumnus."""

    __tablename__ = "distinguished_honours"
    __table_args__ = (Index("ix_distinguished_honours_entry", "entry_seq", "seq"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    entry_seq: Mapped[int] = mapped_column(ForeignKey("distinguished_entries.seq"))
    year: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    citation: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(50))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Story(Base):
    """An alumni story (校友风采): draft → reviewed → published → withdrawn. The body is
    plain text (docs/community.md: no HTML is stored or served)."""

    __tablename__ = "stories"
    __table_args__ = (Index("ix_stories_public", "status", "published_at", "seq"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str | None] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), index=True)
    # The department whose liaison wrote it (None: the office's story).
    department_id: Mapped[str | None] = mapped_column(String(36), index=True)
    author_id: Mapped[str] = mapped_column(String(36))
    author_name: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    reviewed_by: Mapped[str | None] = mapped_column(String(50))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)


class StoryAlumnus(Base):
    """An alumnus a story is about, with the name the story gives them (what the public
    page shows; never the record's contacts)."""

    __tablename__ = "story_alumni"
    __table_args__ = (Index("ix_story_alumni_story", "story_seq", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    story_seq: Mapped[int] = mapped_column(ForeignKey("stories.seq", ondelete="CASCADE"))
    alumnus_id: Mapped[str] = mapped_column(String(36), index=True)
    display_name: Mapped[str] = mapped_column(String(50))
    position: Mapped[int] = mapped_column(Integer)


class AlumniNews(Base):
    """A piece of alumni news a liaison collected, in the office's queue:
    submitted → accepted | dismissed; an accepted one may have become a story draft."""

    __tablename__ = "alumni_news"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    alumnus_id: Mapped[str] = mapped_column(String(36), index=True)
    headline: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20), index=True)
    department_id: Mapped[str | None] = mapped_column(String(36), index=True)
    submitted_by: Mapped[str] = mapped_column(String(36))
    submitted_by_name: Mapped[str] = mapped_column(String(50))
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(50))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    dismissal_reason: Mapped[str | None] = mapped_column(Text)
    story_id: Mapped[str | None] = mapped_column(String(36))
