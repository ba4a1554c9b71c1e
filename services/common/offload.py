"""*nameko side*: CPU-heavy work off the service's event loop: password hashing in threads
(`BoundedOffload`), a bulk import's pure part in a process of its own (`ChildProcess`).

A nameko service runs its workers as green threads on one OS thread: an Argon2 hash
(tens of milliseconds of CPU) run there stops every other worker, so thirty concurrent
logins made an ordinary read wait seconds. `BoundedOffload.run` runs the function in
eventlet's pool of real threads (Argon2 releases the GIL while it computes), at most
`at_once` at a time; at most `waiting` more wait for a turn, and any beyond that are
refused at once with TooManyRequests, so a burst of logins cannot take every worker of
the service either. The pool's threads run at a lower scheduling priority (`nice` 10,
Linux: per thread, inherited by the threads Argon2 starts for its lanes), so that on a busy
machine the service's own thread, which answers every other call, is served first. A function
run there must not log, nor import what logs: logging's locks are green here, and a pool
thread waiting on one the event loop holds kills the loop (eventlet#432). Argon2 does not;
the yearly reports' drawing does, so it runs in a `ChildProcess`.

A thread does not help pure-Python work (the GIL): `ChildProcess` runs a generator function
in a new interpreter (`python -m services.common.offload`, not `multiprocessing`: its
'fork' would copy the service's monkey-patched state and its 'spawn' would import the
service's `__main__`, which monkey-patches) and talks to it over two pipes, one pickled
message at a time, each read or write waiting on the hub (non-blocking pipes) so the
service answers meanwhile. The child reads nothing from the service but the messages: it dies with
it (its pipe ends) and has no database connection.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import pickle
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypeVar

from eventlet import tpool
from eventlet.green import subprocess as green_subprocess
from eventlet.hubs import trampoline
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


_ITEM, _ERROR, _END = "item", "error", "end"
CODE_ROOT = str(Path(__file__).resolve().parents[2])
CHILD_EXIT_SECONDS = 10.0


class ChildProcess:
    """`function(inbox, *args)`, a generator function of a module, run in a process of its
    own: `put` sends it a message (`inbox` yields them, in order, until `close`), `get` or
    iterating gives what it yields; an exception it raises is raised here (it must pickle:
    an AppError does). Use it as a context manager: leaving stops the child.

    Every wait is green: the pipes are non-blocking on this side and a read or write that
    would block waits on the hub (`trampoline`), so the service's other green threads run
    meanwhile, whether the child is starting, working, or has a full pipe. So do not `put`
    or `get` inside a SQLite write transaction: a green thread let in there could wait in
    C for the write lock that transaction holds, blocking the whole process
    (services/registry/imports.py talks to its children between transactions)."""

    def __init__(self, function: Callable[..., Iterator[Any]], *args: Any) -> None:
        child_in, self._to_child = os.pipe()
        self._from_child, child_out = os.pipe()
        target = f"{function.__module__}:{function.__qualname__}"
        command = [sys.executable, "-m", __name__, target, str(child_in), str(child_out)]
        # The child imports the code this process runs, wherever it was started from.
        path = os.pathsep.join(filter(None, (CODE_ROOT, os.environ.get("PYTHONPATH"))))
        try:
            # eventlet's Popen: vfork and exec (no copy of this process's memory), and a
            # `wait` that polls on the hub instead of blocking in waitpid.
            self._process = green_subprocess.Popen(
                command, pass_fds=(child_in, child_out), env={**os.environ, "PYTHONPATH": path}
            )
        finally:
            os.close(child_in)
            os.close(child_out)
        os.set_blocking(self._to_child, False)
        os.set_blocking(self._from_child, False)
        self._ended = False
        try:
            self._send(args)
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise

    def put(self, message: Any) -> None:
        self._send(message)

    def get(self) -> Any:
        """The next thing the child yields (`EOFError` when it has ended)."""
        item = self._next()
        if item is _END:
            raise EOFError("the child process has ended")
        return item

    def __iter__(self) -> Iterator[Any]:
        while (item := self._next()) is not _END:
            yield item

    def _send(self, message: Any) -> None:
        # The framing of multiprocessing.connection.Connection, which the child reads with.
        data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
        if len(data) > 0x7FFFFFFF:
            header = struct.pack("!iQ", -1, len(data))
        else:
            header = struct.pack("!i", len(data))
        _write_green(self._to_child, header)
        _write_green(self._to_child, data)

    def _receive(self) -> Any:
        (size,) = struct.unpack("!i", _read_green(self._from_child, 4))
        if size == -1:
            (size,) = struct.unpack("!Q", _read_green(self._from_child, 8))
        return pickle.loads(_read_green(self._from_child, size))

    def _next(self) -> Any:
        if self._ended:
            return _END
        try:
            kind, value = self._receive()
        except EOFError:
            # Gone without a word: killed, or out of memory. Not an end: a part is missing.
            self._ended = True
            raise ChildProcessError(f"the child process died ({self._process.wait()})") from None
        if kind == _ITEM:
            return value
        self._ended = True
        if kind == _ERROR:
            raise value
        return _END

    def close(self) -> None:
        """End the inbox, wait for the child to finish (killed if it does not)."""
        os.close(self._to_child)
        try:
            self._process.wait(CHILD_EXIT_SECONDS)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        finally:
            os.close(self._from_child)

    def __enter__(self) -> ChildProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if exc_info[0] is not None:
            # Failing: the child's results are not wanted, and it may be blocked writing.
            self._process.kill()
        self.close()


def _write_green(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.writev(fd, [view]) :]
        except BlockingIOError:
            trampoline(fd, write=True)


def _read_green(fd: int, size: int) -> bytearray:
    """`size` bytes from the non-blocking `fd`, waiting on the hub (`EOFError` at its end)."""
    buffer = bytearray(size)
    view = memoryview(buffer)
    while view:
        try:
            count = os.readv(fd, [view])
        except BlockingIOError:
            trampoline(fd, read=True)
            continue
        if count == 0:
            raise EOFError
        view = view[count:]
    return buffer


def _serve(target: str, read_fd: int, write_fd: int) -> None:
    """The child's side of `ChildProcess`."""
    module, _, name = target.partition(":")
    function = getattr(importlib.import_module(module), name)
    inbox = Connection(read_fd, writable=False)
    outbox = Connection(write_fd, readable=False)

    def messages() -> Iterator[Any]:
        while True:
            try:
                yield inbox.recv()
            except EOFError:
                return

    try:
        args = inbox.recv()
        try:
            for item in function(messages(), *args):
                outbox.send((_ITEM, item))
        except (EOFError, BrokenPipeError):
            raise
        except Exception as error:
            try:
                outbox.send((_ERROR, error))
            except (TypeError, AttributeError, pickle.PicklingError):  # it does not pickle
                outbox.send((_ERROR, RuntimeError(f"{type(error).__name__}: {error}")))
            return
        outbox.send((_END, None))
    except (EOFError, BrokenPipeError):
        pass  # the caller is gone: nobody wants what is left


def _main() -> None:
    # The child builds up what it keeps (an index of 100,000 people) and ends with its
    # job: the cyclic collector's full passes over all of it would only slow it down.
    gc.disable()
    _serve(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
    sys.stdout.flush()
    sys.stderr.flush()
    # At once: the interpreter's own exit would first free everything the function built
    # (an index of 100,000 people: most of a second), while the service waits to reap it.
    os._exit(0)


if __name__ == "__main__":
    _main()
