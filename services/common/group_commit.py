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

A commit's CPU is most of a logged read's (on SQLite, in-process: 0.75 ms a read at one
read a commit, 0.57 at two, 0.36 at sixteen), and a SQLite commit holds the hub: under the
gateway bench's load the writer found about 1.6 reads a commit. So, as PostgreSQL's
`commit_delay` does when at least `commit_siblings` other transactions are active, the
writer waits before it commits while other calls are in flight in the service
(`in_flight`, nameko's workers, those not yet started among them), for at most
`gather_seconds` or until every one of them has handed its rows over (issue 12). A read
alone is committed at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from eventlet.event import Event
from eventlet.queue import Empty, LightQueue
from sqlalchemy import Engine, Table

log = logging.getLogger(__name__)

_STOP = object()


class GroupCommit:
    """Inserts into `table` through `engine`: `insert(rows)` returns once they are
    committed; `run()` is the writer, a thread of its own until `stop()`. `in_flight()`:
    how many calls are under way in the process, the waiting readers among them."""

    def __init__(
        self,
        engine: Engine,
        table: Table,
        gather_seconds: float = 0.0,
        in_flight: Callable[[], int] = lambda: 0,
    ) -> None:
        self.engine = engine
        self.table = table
        self.gather_seconds = gather_seconds
        self.in_flight = in_flight
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
            if waiting[0] is not _STOP:
                self._gather(waiting)
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

    def _gather(self, waiting: list[Any]) -> None:
        """Wait while calls in flight have not handed rows over, at most `gather_seconds`."""
        deadline = time.monotonic() + self.gather_seconds
        while self.in_flight() > len(waiting) and (left := deadline - time.monotonic()) > 0:
            try:
                item = self._arrivals.get(timeout=left)
            except Empty:
                return
            waiting.append(item)
            if item is _STOP:
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
