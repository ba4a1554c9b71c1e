"""Tables that several services keep alike, for their migrations:

- `access_log` (services/common/access_log.py): the same everywhere, so the office's merged
  log reads them alike;
- `merged_references` (services/common/merged_references.py): the rows a registry merge
  moved, for its undo.

    from services.common.migrations.shared_tables import (
        create_access_log_table, drop_access_log_table,
    )
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def create_access_log_table() -> None:
    op.create_table(
        "access_log",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("username", sa.String(length=50), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("alumnus_id", sa.String(length=36), nullable=True),
        sa.Column("record", sa.String(length=80), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.create_index("ix_access_log_account", ["account_id", "seq"], unique=False)
        batch_op.create_index("ix_access_log_alumnus", ["alumnus_id", "seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_access_log_at"), ["at"], unique=False)


def drop_access_log_table() -> None:
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_log_at"))
        batch_op.drop_index("ix_access_log_alumnus")
        batch_op.drop_index("ix_access_log_account")
    op.drop_table("access_log")


def create_merged_references_table() -> None:
    op.create_table(
        "merged_references",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("merge_id", sa.String(length=36), nullable=False),
        sa.Column("table_name", sa.String(length=50), nullable=False),
        sa.Column("row_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("merged_references", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_merged_references_merge_id"), ["merge_id"], unique=False
        )


def drop_merged_references_table() -> None:
    with op.batch_alter_table("merged_references", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_merged_references_merge_id"))
    op.drop_table("merged_references")
