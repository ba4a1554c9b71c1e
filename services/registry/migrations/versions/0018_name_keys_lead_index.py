"""name keys' lead index: a one-character query's keys read in seq order

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 19:30:00

A query of one character (`王`, `w`) reached every key starting with it, and its first page
sorted them all (722 keys for 王 among 10,000 alumni) to keep the best 25. An index on
(kind, the key's first character, alumnus_seq) gives them in seq order, a rank at a time,
so the page stops at its end (services/registry/namekeys.py `first_key_rows`,
docs/PERFORMANCE.md).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX, TABLE = "ix_alumnus_name_keys_lead", "alumnus_name_keys"


def upgrade() -> None:
    op.create_index(INDEX, TABLE, ["kind", sa.text('substr("key", 1, 1)'), "alumnus_seq"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name=TABLE)
