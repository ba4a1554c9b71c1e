"""erasure requests, access log, erased alumni

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 00:28:04.863758

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.common.migrations.shared_tables import (
    create_access_log_table,
    drop_access_log_table,
)

# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    create_access_log_table()

    op.create_table(
        "erasure_requests",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("alumnus_id", sa.String(length=36), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("requested_by", sa.String(length=36), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=50), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
    )
    with op.batch_alter_table("erasure_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_erasure_requests_alumnus_id"), ["alumnus_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_erasure_requests_status"), ["status"], unique=False)

    with op.batch_alter_table("alumni", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("alumni", schema=None) as batch_op:
        batch_op.drop_column("erased_at")

    with op.batch_alter_table("erasure_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_erasure_requests_status"))
        batch_op.drop_index(batch_op.f("ix_erasure_requests_alumnus_id"))

    op.drop_table("erasure_requests")
    drop_access_log_table()
