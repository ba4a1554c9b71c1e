"""merged references: rows moved by registry merges, for their undo

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 03:50:00

"""

from collections.abc import Sequence

from services.common.migrations.shared_tables import (
    create_merged_references_table,
    drop_merged_references_table,
)

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    create_merged_references_table()


def downgrade() -> None:
    """Downgrade schema."""
    drop_merged_references_table()
