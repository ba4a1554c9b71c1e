"""yearly alumni reports (statistics and publication)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 03:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "yearly_reports",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("requested_by", sa.String(length=50), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("html", sa.Text(), nullable=True),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("year"),
    )
    op.create_index("ix_yearly_reports_status", "yearly_reports", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_yearly_reports_status", table_name="yearly_reports")
    op.drop_table("yearly_reports")
