"""*nameko side*: CPU-heavy work (password hashing) off the service's event loop, bounded.

A nameko service runs its workers as green threads on one OS thread: an Argon2 hash
(tens of milliseconds of CPU) run there stops every other worker, so thirty concurrent
logins made an ordinary read wait seconds. `BoundedOffload.run` runs the function in
eventlet's pool of real threads (Argon2 releases the GIL while it computes), at most
`at_once` at a time; at most `waiting` more wait for a turn, and any beyond that are
refused at once with TooManyRequests, so a burst of logins cannot take every worker of
the service either. The pool's threads run at a lower scheduling priority (`nice` 10,
Linux: per thread, inherited by the threads Argon2 starts for its lanes), so that on a busy
machine the service's own thread, which answers every other call, is served first.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from eventlet import tpool
from eventlet.semaphore import Semaphore

from services.common.errors import TooManyRequests

T = TypeVar("T")
BACKGROUND_NICENESS = 10
_lowered = threading.local()


def _at_low_priority(function: Callable[..., T], *args: Any) -> T:
    if not getattr(_lowered, "done", False):
        _lowered.done = True
        # Not Linux, or not allowed: the thread runs at normal priority.
        with contextlib.suppress(AttributeError, OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICENESS)
    return function(*args)


class BoundedOffload:
    def __init__(self, at_once: int, waiting: int) -> None:
        self.slots = Semaphore(max(1, at_once))
        self.capacity = max(1, at_once) + max(0, waiting)
        self.admitted = 0

    def run(self, function: Callable[..., T], *args: Any) -> T:
        if self.admitted >= self.capacity:
            raise TooManyRequests(
                "登录请求过多，请稍后重试。", {"retry_after_seconds": 1}, reason="login_busy"
            )
        self.admitted += 1
        try:
            with self.slots:
                return tpool.execute(_at_low_priority, function, *args)
        finally:
            self.admitted -= 1
