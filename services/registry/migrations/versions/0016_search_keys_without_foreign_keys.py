"""search keys without foreign keys: the name keys and grams are the registry's own index

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 18:00:00

services/registry/models.py (`AlumnusNameKey`) says why.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("alumnus_name_keys", "alumnus_text_grams")
# PostgreSQL's own name for the unnamed keys the tables were made with; SQLite's reflection
# finds them unnamed, and batch mode names them so.
NAMING = {"fk": "%(table_name)s_%(column_0_name)s_fkey"}


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, naming_convention=NAMING) as batch:
            batch.drop_constraint(f"{table}_alumnus_seq_fkey", type_="foreignkey")


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, naming_convention=NAMING) as batch:
            batch.create_foreign_key(
                f"{table}_alumnus_seq_fkey", "alumni", ["alumnus_seq"], ["seq"], ondelete="CASCADE"
            )
