"""Running domain functions the way a service's `transaction()` does, for tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
