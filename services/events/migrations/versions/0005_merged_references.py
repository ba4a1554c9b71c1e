"""merged references: registrations moved by registry merges

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 01:02:30.588706

"""

from collections.abc import Sequence

from services.common.migrations.shared_tables import (
    create_merged_references_table,
    drop_merged_references_table,
)

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    create_merged_references_table()


def downgrade() -> None:
    """Downgrade schema."""
    drop_merged_references_table()
