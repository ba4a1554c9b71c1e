"""The outbox relay: publishes committed outbox rows, in order, then marks them sent.

In a service it publishes through `BrokerPublisher` (services/common/adapters/
publisher.py: `<service>.events`, routing key = event type, publisher confirms). A row
whose publish was confirmed but whose mark was lost in a crash is sent again on restart,
so delivery is at least once; consumers deduplicate by `event_id` (services/common/
inbox.py).

While the broker is away the relay keeps the rows (a pass stops at the first row it cannot
publish, so the order holds), says so once, retries on `reconnect_delays()`, and says once
that the broker is back when it publishes again (services/common/broker.py).

Between passes it also deletes the rows sent more than `retention` ago (at most once every
`purge_interval`): a sent payload is of no more use, and it holds personal data.
"""

from __future__ import annotations

import contextlib
import logging
import time
from datetime import timedelta

import eventlet
from eventlet.queue import Empty, LightQueue
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import sessionmaker

from services.common.adapters.publisher import EventPublisher, PartlyPublished, StoredEvent
from services.common.broker import BROKER_ERRORS, BrokerLink, reconnect_delays
from services.common.columns import utcnow
from services.common.outbox import OutboxMessageMixin

log = logging.getLogger(__name__)

POLL_INTERVAL_SECONDS = 1.0
BATCH_SIZE = 200
COALESCE_SECONDS = 0.02
"""After a pass, the relay lets commits gather this long before the next: under a rush
(every sign-up commits a row) one pass then takes many rows for one SELECT, one UPDATE
and one COMMIT, instead of a pass per row (docs/PERFORMANCE.md). Events leave at most
this much later."""


class OutboxRelay:
    """Publishes committed outbox rows in order; woken after each commit, polls otherwise."""

    def __init__(
        self,
        session_factory: sessionmaker,
        outbox_model: type[OutboxMessageMixin],
        publisher: EventPublisher,
        paused: bool = False,
        retention: timedelta = timedelta(days=7),
        purge_interval: float = 3600.0,
    ) -> None:
        self.session_factory = session_factory
        self.outbox_model = outbox_model
        self.publisher = publisher
        self.paused = paused
        self.retention = retention
        self.purge_interval = purge_interval
        self._next_purge = 0.0
        self.broker_link = BrokerLink("outbox relay")
        self._wakeups: LightQueue = LightQueue(maxsize=1)
        self._running = True
        # Built once and run on the session's connection, as plain rows: a pass under a
        # rush carries a few rows, and the ORM's objects and statement building were a
        # third of its CPU (docs/performance/signups.md).
        outbox = outbox_model.__table__
        self._unsent = (
            select(
                outbox.c.id,
                outbox.c.event_id,
                outbox.c.event_type,
                outbox.c.payload,
                outbox.c.late_data,
            )
            .where(outbox.c.sent_at.is_(None))
            .order_by(outbox.c.id)
            .limit(BATCH_SIZE)
            # Several instances of one service may relay at once; each takes its own rows.
            .with_for_update(skip_locked=True)
        )
        self._mark_sent = (
            update(outbox)
            .where(outbox.c.id.in_(bindparam("ids", expanding=True)))
            .values(sent_at=bindparam("now"))
        )

    def wake(self) -> None:
        if self._wakeups.qsize() == 0:
            self._wakeups.put_nowait(True)

    def stop(self) -> None:
        self._running = False
        self.wake()

    def run(self) -> None:
        try:
            self._relay()
        finally:
            self.publisher.close()

    def _relay(self) -> None:
        delays = reconnect_delays()
        while self._running:
            if not self.paused:
                try:
                    self._drain()
                except Exception as error:
                    if isinstance(error, BROKER_ERRORS):
                        self.broker_link.lost(error)
                    else:
                        log.exception("outbox relay failed; retrying")
                    eventlet.sleep(next(delays))
                    continue
                delays = reconnect_delays()
            self._purge_when_due()
            eventlet.sleep(COALESCE_SECONDS)
            with contextlib.suppress(Empty):
                self._wakeups.get(timeout=POLL_INTERVAL_SECONDS)

    def _drain(self) -> None:
        """Flush batches until one is not full. The broker is back as soon as it has taken
        a batch: under a steady load the batches may stay full for a long while."""
        while True:
            sent = self.flush()
            self.broker_link.restored()
            if sent < BATCH_SIZE:
                return

    def _purge_when_due(self) -> None:
        if time.monotonic() < self._next_purge:
            return
        self._next_purge = time.monotonic() + self.purge_interval
        try:
            purged = self.purge()
        except Exception:
            log.exception("purging sent outbox rows failed; trying again later")
            return
        if purged:
            log.info("purged %d sent outbox rows older than %s", purged, self.retention)

    def purge(self) -> int:
        """Delete every row sent more than `retention` ago, a batch per transaction."""
        total = 0
        while True:
            with self.session_factory() as session:
                deleted = self.outbox_model.purge_sent(session, self.retention, utcnow())
                session.commit()
            total += deleted
            if deleted == 0:
                return total
            eventlet.sleep(0)

    def flush(self) -> int:
        """Publish one batch of unsent rows; returns how many were sent."""
        with self.session_factory() as session:
            connection = session.connection()
            rows = connection.execute(self._unsent).all()
            if connection.dialect.name == "sqlite":
                # A SQLite read snapshot cannot be upgraded to a write once another
                # connection has committed, so end it before the (slow) publishing.
                session.commit()
            # The batch goes out at once and the broker's confirms are waited for once
            # (services/common/broker.py `ConfirmingPublisher.publish_many`); a row is
            # marked sent only once the broker has confirmed it and every row before it.
            confirmed = 0
            try:
                self.publisher.publish_many(
                    [
                        StoredEvent(
                            row.event_id,
                            row.event_type,
                            self.outbox_model.event_text(row.payload, row.late_data),
                        )
                        for row in rows
                    ]
                )
                confirmed = len(rows)
            except PartlyPublished as failure:
                confirmed = failure.confirmed
                raise failure.error from None
            finally:
                sent = [row.id for row in rows[:confirmed]]
                # One UPDATE for the rows published, not one per row (docs/PERFORMANCE.md).
                if sent:
                    session.connection().execute(self._mark_sent, {"ids": sent, "now": utcnow()})
                session.commit()
            return len(sent)
