"""access log

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 00:28:23.838177

"""

from collections.abc import Sequence

from services.common.migrations.shared_tables import (
    create_access_log_table,
    drop_access_log_table,
)

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    create_access_log_table()


def downgrade() -> None:
    """Downgrade schema."""
    drop_access_log_table()
