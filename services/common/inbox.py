"""Inbox: idempotent event handling.

A handler claims `(event_id, handler)` in the same transaction as its effect.
A redelivered event finds its claim and does nothing; two concurrent
deliveries collide on the primary key and one of them rolls back and is
retried, then finds the claim.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from services.common.columns import utcnow


class ProcessedMessageMixin:
    """Columns of the `processed_messages` table; each consuming service maps it."""

    __tablename__ = "processed_messages"

    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    handler: Mapped[str] = mapped_column(String(200), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    @classmethod
    def claim(cls, session: Session, event_id: str, handler: str) -> bool:
        """True the first time `handler` sees `event_id`; the claim commits with the effect."""
        if session.get(cls, (event_id, handler)) is not None:
            return False
        session.add(cls(event_id=event_id, handler=handler))
        session.flush()
        return True
