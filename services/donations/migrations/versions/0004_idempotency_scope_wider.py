"""idempotency keys: a scope long enough for 'refund:<gift id>'

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 08:05:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.alter_column("scope", existing_type=sa.String(length=30), type_=sa.String(length=80))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.alter_column("scope", existing_type=sa.String(length=80), type_=sa.String(length=30))
