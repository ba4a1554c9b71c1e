"""two-level stewardship: liaisons' change requests, field provenance, confirmation

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 03:30:00

Issue 10 item 4 (docs/stewardship.md): a liaison's change waits in `change_requests` for
the office; every field of an alumnus keeps its provenance (`alumni.field_provenance`) and
the record when it was last confirmed (`alumni.confirmed_at`). Records that exist already
count as confirmed when they were last changed; their fields' provenance stays the newest
history row until a write sets it (services/registry/review.py `provenance_of`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "change_requests",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("alumnus_id", sa.String(length=36), nullable=False),
        sa.Column("department_id", sa.String(length=36), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("patch", sa.Text(), nullable=False),
        sa.Column("seen", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("submitted_by", sa.String(length=50), nullable=False),
        sa.Column("submitted_by_id", sa.String(length=36), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=50), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("conflicts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
    )
    with op.batch_alter_table("change_requests", schema=None) as batch_op:
        batch_op.create_index("ix_change_requests_status_seq", ["status", "seq"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_change_requests_alumnus_id"), ["alumnus_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_change_requests_department_id"), ["department_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_change_requests_submitted_by_id"), ["submitted_by_id"], unique=False
        )

    with op.batch_alter_table("alumni", schema=None) as batch_op:
        batch_op.add_column(sa.Column("field_provenance", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_alumni_confirmed_at"), ["confirmed_at"], unique=False)
    op.execute("UPDATE alumni SET confirmed_at = updated_at WHERE confirmed_at IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("alumni", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alumni_confirmed_at"))
        batch_op.drop_column("confirmed_at")
        batch_op.drop_column("field_provenance")
    with op.batch_alter_table("change_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_change_requests_submitted_by_id"))
        batch_op.drop_index(batch_op.f("ix_change_requests_department_id"))
        batch_op.drop_index(batch_op.f("ix_change_requests_alumnus_id"))
        batch_op.drop_index("ix_change_requests_status_seq")
    op.drop_table("change_requests")
