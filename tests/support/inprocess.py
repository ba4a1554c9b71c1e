"""`offload.ChildProcess`'s conversation with its function, run here on the caller's thread:
the in-memory stand-in for unit tests of code that talks to a child process."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from typing import Any


class InProcess:
    """`function(inbox, *args)` run in this process: `put` queues a message for `inbox`,
    `get` runs the function to what it yields next (`EOFError` when it has ended). The
    calls alternate as they do with a child: `inbox` ends when it is read with nothing put."""

    def __init__(self, function: Callable[..., Iterator[Any]], *args: Any) -> None:
        self._messages: deque[Any] = deque()
        self._results = function(self._inbox(), *args)

    def _inbox(self) -> Iterator[Any]:
        while self._messages:
            yield self._messages.popleft()

    def put(self, message: Any) -> None:
        self._messages.append(message)

    def get(self) -> Any:
        try:
            return next(self._results)
        except StopIteration:
            raise EOFError("the function has ended") from None

    def __enter__(self) -> InProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._results.close()
