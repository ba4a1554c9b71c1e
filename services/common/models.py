"""The declarative base every service's models start from.

`service_base()` makes a new SQLAlchemy declarative base (its own metadata, so each
service's tables stay its own) that already maps the two tables every service has:
`outbox` (events waiting for the relay, services/common/outbox.py) and
`processed_messages` (the inbox of idempotent handlers, services/common/inbox.py).

    Base = service_base()
    OutboxMessage, ProcessedMessage = Base.outbox_model, Base.inbox_model

Standard library and SQLAlchemy only.
"""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

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
    return Base
