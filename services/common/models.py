"""The declarative base every service's models start from.

`service_base()` makes a new SQLAlchemy declarative base (its own metadata, so each
service's tables stay its own) that already maps the two tables every service has:
`outbox` (events waiting for the relay, services/common/outbox.py) and
`processed_messages` (the inbox of idempotent handlers, services/common/inbox.py).

    Base = service_base()
    OutboxMessage, ProcessedMessage = Base.outbox_model, Base.inbox_model

Every model of such a base keeps its blind-index columns (a column whose `info` names
`blind_index_of`, services/common/crypto.py) equal to the index of their source column on
each ORM insert and update.

Standard library and SQLAlchemy only.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import DeclarativeBase, Mapper

from services.common import crypto
from services.common.inbox import ProcessedMessageMixin
from services.common.outbox import OutboxMessageMixin


def service_base() -> type[DeclarativeBase]:
    """A new declarative base whose `outbox_model` and `inbox_model` are already mapped."""

    class Base(DeclarativeBase):
        pass

    class OutboxMessage(OutboxMessageMixin, Base):
        pass

    class ProcessedMessage(ProcessedMessageMixin, Base):
        pass

    Base.outbox_model = OutboxMessage
    Base.inbox_model = ProcessedMessage
    event.listen(Base, "before_insert", _set_blind_indexes, propagate=True)
    event.listen(Base, "before_update", _set_blind_indexes, propagate=True)
    return Base


_BLIND_INDEXES: dict[Mapper, list[tuple[str, str]]] = {}
"""Per model, its (blind-index column, source column) pairs: found once, not per flush."""


def _set_blind_indexes(mapper: Mapper, _connection, target) -> None:
    pairs = _BLIND_INDEXES.get(mapper)
    if pairs is None:
        pairs = _BLIND_INDEXES[mapper] = [
            (column.key, column.info["blind_index_of"])
            for column in mapper.columns
            if "blind_index_of" in column.info
        ]
    for index, source in pairs:
        setattr(target, index, crypto.blind_index(getattr(target, source)))
