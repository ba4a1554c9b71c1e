"""merged references: registrations moved by registry merges

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 01:02:30.588706

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
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


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("merged_references", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_merged_references_merge_id"))

    op.drop_table("merged_references")
