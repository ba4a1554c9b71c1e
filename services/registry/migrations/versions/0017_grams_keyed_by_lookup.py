"""search grams keyed by what they look up: no surrogate id

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 23:30:00

A gram row was found through an index on (field, gram, alumnus_seq) beside a primary key
on a serial id that nothing reads: a 100,000-row import wrote 1.5 million entries into
that key too (and on PostgreSQL drew as many numbers from its sequence). The looked-up
columns are now the primary key; on SQLite the table is WITHOUT ROWID, stored in that
order (services/registry/models.py `AlumnusTextGram`, docs/performance/import.md).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE, NEW = "alumnus_text_grams", "alumnus_text_grams_new"
COLUMNS = "field, gram, alumnus_seq"


def _columns() -> list[sa.Column]:
    return [
        sa.Column("field", sa.String(length=10), nullable=False),
        sa.Column(
            "gram",
            sa.String(length=2).with_variant(sa.String(length=2, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("alumnus_seq", sa.Integer(), nullable=False),
    ]


def _replace(create_new) -> None:
    """Build the table anew beside the old one, copy the grams, and put it in its place:
    the same steps on both databases (SQLite cannot change a primary key in place)."""
    create_new()
    op.execute(f"INSERT INTO {NEW} ({COLUMNS}) SELECT DISTINCT {COLUMNS} FROM {TABLE}")
    op.drop_table(TABLE)
    op.rename_table(NEW, TABLE)
    if op.get_bind().dialect.name == "postgresql":
        # A renamed table's key keeps its old name: given the one PostgreSQL gives a key.
        op.execute(f"ALTER TABLE {TABLE} RENAME CONSTRAINT {NEW}_pkey TO {TABLE}_pkey")
    op.create_index(f"ix_{TABLE}_alumnus_seq", TABLE, ["alumnus_seq"])


def upgrade() -> None:
    _replace(
        lambda: op.create_table(
            NEW,
            *_columns(),
            sa.PrimaryKeyConstraint("field", "gram", "alumnus_seq", name=f"{NEW}_pkey"),
            sqlite_with_rowid=False,
        )
    )


def downgrade() -> None:
    def create_new() -> None:
        op.create_table(
            NEW,
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            *_columns(),
            sa.PrimaryKeyConstraint("id", name=f"{NEW}_pkey"),
        )

    _replace(create_new)
    op.create_index(f"ix_{TABLE}_lookup", TABLE, ["field", "gram", "alumnus_seq"])
