"""Transactional outbox: events are rows written in the business transaction.

`OutboxMessage.record(session, ...)` adds a row in the caller's session, so the
event exists if and only if the state change commits. The relay
(services/common/relay.py) publishes committed rows after the commit. This module is
the table, the writing side and the purge of sent rows, and imports no framework.

A payload carries personal data (an alumnus's contacts), so it is stored encrypted
(services/common/crypto.py), and a sent row is deleted once `OUTBOX_RETENTION_SECONDS`
have passed (the relay purges, services/common/relay.py): the rows are a queue, not an
archive.

A few values of an event are decided by the very statement that writes its row (a
waitlist place, taken by that statement's UPDATE of the event's row): those go in
`late_data`, plaintext JSON that the database fills, and `OutboxMessageMixin.event_text`
merges them into the payload's `data` when the row is read. They are never personal
data (docs/performance/signups.md, "The waitlist's place in one statement").
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, DateTime, Index, Integer, String, Text, delete, select, text
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column

from services.common.columns import utcnow
from services.common.contracts import build_event
from services.common.crypto import EncryptedString


class OutboxMessageMixin:
    """Columns of the `outbox` table; each service maps it on its own declarative base."""

    __tablename__ = "outbox"

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Index]:
        # The relay's "oldest unsent rows" (relay.py) read through this index stops after
        # its batch; through the primary key it stepped over every sent row still kept
        # (a week's), ~0.1 s a pass at 50,000 of them (docs/performance/import.md). An
        # Index per mapped table: every service's base maps this mixin.
        return (
            Index(
                "ix_outbox_unsent",
                "id",
                postgresql_where=text("sent_at IS NULL"),
                sqlite_where=text("sent_at IS NULL"),
            ),
        )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True, nullable=False)
    event_type: Mapped[str] = mapped_column(String(100), nullable=False)
    payload: Mapped[str] = mapped_column(EncryptedString("outbox.payload"), nullable=False)
    late_data: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True, index=True
    )

    @classmethod
    def record(cls, session: Session, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
        """Validate `data` against its contract and add the enveloped event to `session`."""
        event = build_event(event_type, data)
        session.add(
            cls(
                event_id=event["event_id"],
                event_type=event_type,
                payload=json.dumps(event, ensure_ascii=False),
            )
        )
        return event

    @classmethod
    def record_in(cls, connection: Connection, event_type: str, data: dict[str, Any]) -> None:
        """`record` for a caller writing through Core on `connection` (a hot path): the same
        checks and row, one INSERT now instead of an ORM object flushed at commit."""
        connection.execute(cls.__table__.insert(), cls.row(event_type, data))

    @classmethod
    def row(cls, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
        """The column values of the row `record` adds, for a Core INSERT of the caller's."""
        event = build_event(event_type, data)
        return {
            "event_id": event["event_id"],
            "event_type": event_type,
            "payload": json.dumps(event, ensure_ascii=False),
            "created_at": utcnow(),
        }

    @staticmethod
    def event_text(payload: str, late_data: str | None) -> str:
        """The enveloped event's JSON as relayed: `payload`, with `late_data`'s values
        merged into its `data` (objects merged key by key, anything else replaced)."""
        if late_data is None:
            return payload
        event = json.loads(payload)
        _merge(event["data"], json.loads(late_data))
        return json.dumps(event, ensure_ascii=False)

    @classmethod
    def purge_sent(
        cls, session: Session, retention: timedelta, now: datetime, batch: int = 500
    ) -> int:
        """Delete up to `batch` rows sent before `now - retention`; returns how many. The
        caller commits, and calls again while a full batch was deleted."""
        ids = session.scalars(
            select(cls.id)
            .where(cls.sent_at.is_not(None), cls.sent_at < now - retention)
            .order_by(cls.id)
            .limit(batch)
        ).all()
        if ids:
            session.execute(delete(cls).where(cls.id.in_(ids)))
        return len(ids)


def _merge(into: dict[str, Any], values: dict[str, Any]) -> None:
    for key, value in values.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value
