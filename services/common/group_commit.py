"""Group commit: the rows that several green threads must see committed before they go on,
inserted into one table by one transaction for all of those waiting at that moment.

What it is for: the access log of reads (services/common/access_log.py). A read of a
record shown unmasked is answered only once its log row is committed. Committed in each
reader's own transaction, every read paid for a COMMIT of its own (on SQLite a WAL write
and an fsync that hold the process's one hub; on PostgreSQL a WAL flush and a round trip),
half of a read's CPU in the registry (docs/PERFORMANCE.md, "Gateway reads"). Here the
readers hand their rows over and wait; one writer thread commits everyone's rows that have
arrived since its last commit, then lets them all go on. A reader still goes on only
after its row is committed, and a failed commit is raised in every reader of that batch.

eventlet and SQLAlchemy Core only: the nameko dependency provider that runs the writer is
services/common/dependencies.py (`Database`).
"""

from __future__ import annotations

import logging
from typing import Any

from eventlet.event import Event
from eventlet.queue import Empty, LightQueue
from sqlalchemy import Engine, Table

log = logging.getLogger(__name__)

_STOP = object()


class GroupCommit:
    """Inserts into `table` through `engine`: `insert(rows)` returns once they are
    committed; `run()` is the writer, a thread of its own until `stop()`."""

    def __init__(self, engine: Engine, table: Table) -> None:
        self.engine = engine
        self.table = table
        self._insert = table.insert()  # built once: each batch would build it again
        self._arrivals: LightQueue = LightQueue()
        self.batches = 0
        """Transactions committed: what a test reads to see rows grouped."""

    def insert(self, rows: list[dict[str, Any]]) -> None:
        """Insert `rows` and return once they are committed; raise what the commit raised."""
        if not rows:
            return
        committed = Event()
        self._arrivals.put((rows, committed))
        committed.wait()

    def run(self) -> None:
        while True:
            waiting = [self._arrivals.get()]
            while True:
                try:
                    waiting.append(self._arrivals.get_nowait())
                except Empty:
                    break
            stopping = any(item is _STOP for item in waiting)
            batch = [item for item in waiting if item is not _STOP]
            if batch:
                self._commit(batch)
            if stopping:
                return

    def stop(self) -> None:
        """The writer ends once the rows handed over before this are committed."""
        self._arrivals.put(_STOP)

    def _commit(self, batch: list[tuple[list[dict[str, Any]], Event]]) -> None:
        try:
            with self.engine.begin() as connection:
                connection.execute(self._insert, [row for rows, _ in batch for row in rows])
        except Exception as error:  # every waiter of the batch learns it; the writer goes on
            log.warning("group commit of %d rows into %s failed: %s", len(batch), self.table, error)
            for _, committed in batch:
                committed.send_exception(error)
            return
        self.batches += 1
        for _, committed in batch:
            committed.send(None)
