"""search: bigrams of name, employer and city; name keys of alumni registered before 0006

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 03:50:00

Issue 10 item 5 (docs/stewardship.md, "Search"): `alumnus_text_grams` finds a name,
employer or city by any part of it through an index; student numbers get an index of their
own (a search by one names no department or year). Its data step writes the keys of
every alumnus already registered: the bigrams (new here) and the pinyin keys of names
registered before 0006 wrote them (0006 created `alumnus_name_keys` empty). The same
rewrite is `python -m services.registry.namekeys`, restartable batch by batch.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 2000


def upgrade() -> None:
    op.create_table(
        "alumnus_text_grams",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alumnus_seq", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=10), nullable=False),
        sa.Column(
            "gram",
            sa.String(length=2).with_variant(sa.String(length=2, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["alumnus_seq"], ["alumni.seq"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alumnus_text_grams", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alumnus_text_grams_alumnus_seq"), ["alumnus_seq"], unique=False
        )
        batch_op.create_index(
            "ix_alumnus_text_grams_lookup", ["field", "gram", "alumnus_seq"], unique=False
        )
    with op.batch_alter_table("graduations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_graduations_student_number"), ["student_number"], unique=False
        )
    # The data step: the registry's own key writer, in this migration's transaction (a
    # failure leaves the schema at 0007 with nothing written).
    from services.registry import namekeys

    connection = op.get_bind()
    after = 0
    while (after := namekeys.backfill_batch(connection, after, BATCH)) is not None:
        pass


def downgrade() -> None:
    with op.batch_alter_table("graduations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_graduations_student_number"))
    with op.batch_alter_table("alumnus_text_grams", schema=None) as batch_op:
        batch_op.drop_index("ix_alumnus_text_grams_lookup")
        batch_op.drop_index(batch_op.f("ix_alumnus_text_grams_alumnus_seq"))
    op.drop_table("alumnus_text_grams")
