"""Transactional outbox: events are rows written in the business transaction.

`OutboxMessage.record(session, ...)` adds a row in the caller's session, so the
event exists if and only if the state change commits. `OutboxRelay` publishes
committed rows to the service's nameko event exchange (`<service>.events`,
routing key = event type) with publisher confirms, then marks them sent. A row
whose publish was confirmed but whose mark was lost in a crash is sent again
on restart, so delivery is at least once; consumers deduplicate by `event_id`
(see inbox.py).
"""

from __future__ import annotations

import contextlib
import json
import logging
from datetime import datetime
from typing import Any

import eventlet
from eventlet.queue import Empty, LightQueue
from nameko.amqp.publish import Publisher
from nameko.standalone.events import get_event_exchange
from sqlalchemy import DateTime, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from services.common.columns import utcnow
from services.common.contracts import build_event

log = logging.getLogger(__name__)

POLL_INTERVAL_SECONDS = 1.0
BATCH_SIZE = 200
FAILURE_BACKOFF_SECONDS = 2.0


class OutboxMessageMixin:
    """Columns of the `outbox` table; each service maps it on its own declarative base."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True, nullable=False)
    event_type: Mapped[str] = mapped_column(String(100), nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False)
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


class OutboxRelay:
    """Publishes committed outbox rows in order; woken after each commit, polls otherwise."""

    def __init__(
        self,
        session_factory: sessionmaker,
        outbox_model: type[OutboxMessageMixin],
        amqp_uri: str,
        source_service: str,
        paused: bool = False,
    ) -> None:
        self.session_factory = session_factory
        self.outbox_model = outbox_model
        self.exchange = get_event_exchange(source_service, {})
        self.publisher = Publisher(amqp_uri, use_confirms=True, declare=[self.exchange])
        self.paused = paused
        self._wakeups: LightQueue = LightQueue(maxsize=1)
        self._running = True

    def wake(self) -> None:
        if self._wakeups.qsize() == 0:
            self._wakeups.put_nowait(True)

    def stop(self) -> None:
        self._running = False
        self.wake()

    def run(self) -> None:
        while self._running:
            if not self.paused:
                try:
                    while self.flush() == BATCH_SIZE:
                        pass
                except Exception:
                    log.exception("outbox relay could not publish; retrying")
                    eventlet.sleep(FAILURE_BACKOFF_SECONDS)
                    continue
            with contextlib.suppress(Empty):
                self._wakeups.get(timeout=POLL_INTERVAL_SECONDS)

    def flush(self) -> int:
        """Publish one batch of unsent rows; returns how many were sent."""
        model = self.outbox_model
        with self.session_factory() as session:
            rows = session.scalars(
                select(model)
                .where(model.sent_at.is_(None))
                .order_by(model.id)
                .limit(BATCH_SIZE)
                # Several instances of one service may relay at once; each takes its own rows.
                .with_for_update(skip_locked=True)
            ).all()
            if session.get_bind().dialect.name == "sqlite":
                # A SQLite read snapshot cannot be upgraded to a write once another
                # connection has committed, so end it before the (slow) publishing.
                session.commit()
            sent = 0
            try:
                for row in rows:
                    self.publisher.publish(
                        json.loads(row.payload),
                        exchange=self.exchange,
                        routing_key=row.event_type,
                        message_id=row.event_id,
                        type=row.event_type,
                    )
                    row.sent_at = utcnow()
                    sent += 1
            finally:
                session.commit()
            return sent
