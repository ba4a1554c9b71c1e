"""*nameko side*: CPU-heavy work (password hashing) off the service's event loop, bounded.

A nameko service runs its workers as green threads on one OS thread: an Argon2 hash
(tens of milliseconds of CPU) run there stops every other worker, so thirty concurrent
logins made an ordinary read wait seconds. `BoundedOffload.run` runs the function in
eventlet's pool of real threads (Argon2 releases the GIL while it computes), at most
`at_once` at a time; at most `waiting` more wait for a turn, and any beyond that are
refused at once with TooManyRequests, so a burst of logins cannot take every worker of
the service either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from eventlet import tpool
from eventlet.semaphore import Semaphore

from services.common.errors import TooManyRequests

T = TypeVar("T")


class BoundedOffload:
    def __init__(self, at_once: int, waiting: int) -> None:
        self.slots = Semaphore(max(1, at_once))
        self.capacity = max(1, at_once) + max(0, waiting)
        self.admitted = 0

    def run(self, function: Callable[..., T], *args: Any) -> T:
        if self.admitted >= self.capacity:
            raise TooManyRequests(
                "登录请求过多，请稍后重试。", {"retry_after": 1}, reason="login_busy"
            )
        self.admitted += 1
        try:
            with self.slots:
                return tpool.execute(function, *args)
        finally:
            self.admitted -= 1
