"""outbox late data: values the statement writing an event's row decides, merged when relayed

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08 00:15:00

services/common/outbox.py says why; the column is the same in every service.
"""

from collections.abc import Sequence

from services.common.migrations.messaging_tables import add_late_data_column, drop_late_data_column

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_late_data_column()


def downgrade() -> None:
    drop_late_data_column()
