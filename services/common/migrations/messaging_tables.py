"""The outbox and inbox tables in a service's first migration.

    from services.common.migrations.messaging_tables import (
        create_messaging_tables, drop_messaging_tables,
    )

    def upgrade() -> None:
        create_messaging_tables()
        ...

The tables are those of services/common/outbox.py and inbox.py, which every service's
declarative base maps (services/common/models.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def create_messaging_tables() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_sent_at"), ["sent_at"], unique=False)
    op.create_table(
        "processed_messages",
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("handler", sa.String(length=200), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", "handler"),
    )


UNSENT_WHERE = sa.text("sent_at IS NULL")


def create_unsent_index() -> None:
    """The outbox's partial index of unsent rows (services/common/outbox.py), added to
    every service's outbox in one migration each."""
    op.create_index(
        "ix_outbox_unsent",
        "outbox",
        ["id"],
        postgresql_where=UNSENT_WHERE,
        sqlite_where=UNSENT_WHERE,
    )


def drop_unsent_index() -> None:
    op.drop_index("ix_outbox_unsent", table_name="outbox")


def add_late_data_column() -> None:
    """The outbox's `late_data` (services/common/outbox.py), added to every service's
    outbox in one migration each."""
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("late_data", sa.Text(), nullable=True))


def drop_late_data_column() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("late_data")


def drop_messaging_tables() -> None:
    op.drop_table("processed_messages")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_sent_at"))
    op.drop_table("outbox")
