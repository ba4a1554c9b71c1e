"""Running domain functions the way a service's `transaction()` does, for tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import sessionmaker


def in_transaction(factory: sessionmaker, fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """`fn(session, *args, **kwargs)` in a transaction of its own: commit, or roll back and
    raise."""
    with factory() as session:
        try:
            result = fn(session, *args, **kwargs)
            session.commit()
            return result
        except BaseException:
            session.rollback()
            raise


@contextmanager
def statements_sent(engine: Engine) -> Iterator[list[str]]:
    """The SQL of every statement `engine` sends while inside, in order, as the code gave
    it: a prepared statement's own SQL rather than its EXECUTE, a statement without the
    BEGIN or COMMIT it carries (services/common/db.py)."""
    sent: list[str] = []

    def record(_connection, _cursor, statement, _parameters, context, _many) -> None:
        sent.append(statement if context is None else context.statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)
