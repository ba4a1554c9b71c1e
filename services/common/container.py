"""The service container every platform process runs: nameko's, with a deadline on dying;
and the filter that keeps its logs of expected errors to one line.

nameko kills a container when an error escapes one of its extensions' threads, then its
runner ends the process. Killing waits for each extension to finish, and one waiting for
a broker that is away would keep a dead service's process alive: nothing restarts a
process that has not exited. So a kill that has not finished within
`KILL_DEADLINE_SECONDS` ends the process, and the supervisor (`make run`,
services/run.py) or the container platform's restart policy starts it again.
"""

from __future__ import annotations

import logging
import os

import eventlet
from nameko.containers import ServiceContainer as NamekoServiceContainer

log = logging.getLogger(__name__)

KILL_DEADLINE_SECONDS = 10.0
EXIT_CODE_HUNG_KILL = 70


class ServiceContainer(NamekoServiceContainer):
    def kill(self, exc_info=None) -> None:
        if exc_info is not None and not self._being_killed:
            eventlet.spawn_after(KILL_DEADLINE_SECONDS, self._exit_process)
        super().kill(exc_info)

    def _exit_process(self) -> None:
        log.critical(
            "%s did not finish dying within %g s; ending the process so that it is restarted",
            self.service_name,
            KILL_DEADLINE_SECONDS,
        )
        logging.shutdown()
        os._exit(EXIT_CODE_HUNG_KILL)


class ExpectedErrorWithoutTraceback(logging.Filter):
    """nameko logs every expected error of a worker (a caller's mistake; a 503 while the
    broker is away) as a warning with its traceback: one per request. The line says all
    there is to know; the traceback is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "nameko.containers" and str(record.msg).startswith("(expected)"):
            record.exc_info = None
            record.exc_text = None
        return True
