"""outbox unsent index: the relay's oldest unsent rows read without stepping over sent ones

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 16:45:00

services/common/outbox.py says why; the index is the same in every service.
"""

from collections.abc import Sequence

from services.common.migrations.messaging_tables import create_unsent_index, drop_unsent_index

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_unsent_index()


def downgrade() -> None:
    drop_unsent_index()
