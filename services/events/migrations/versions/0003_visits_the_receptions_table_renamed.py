"""visits: the receptions table renamed

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 21:13:45.715234

The code calls a return visit a visit; its table follows. A rename, not autogenerate's
drop and create: the rows stay. Its indexes and named constraints follow the table's
name too, and on PostgreSQL so do the primary key, the unique key on `id` and the
sequence behind `seq` (the names `CREATE TABLE visits` would have given them). SQLite
cannot rename a CHECK constraint or an index, so there the table is rebuilt (batch mode
copies the rows) with the new names.
"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "department_status": ["department_id", "status"],
    "requester_alumnus_id": ["requester_alumnus_id"],
    "status": ["status"],
}
CHECKS = {
    "group_size_positive": "group_size >= 1",
    "has_requester": "requester_alumnus_id IS NOT NULL OR class_year IS NOT NULL",
}


def upgrade() -> None:
    """Upgrade schema."""
    rename("receptions", "visits")


def downgrade() -> None:
    """Downgrade schema."""
    rename("visits", "receptions")


def rename(old: str, new: str) -> None:
    op.rename_table(old, new)
    if op.get_bind().dialect.name == "postgresql":
        for suffix in INDEXES:
            op.execute(f"ALTER INDEX ix_{old}_{suffix} RENAME TO ix_{new}_{suffix}")
        constraints = [f"ck_{{}}_{suffix}" for suffix in CHECKS] + ["{}_pkey", "{}_id_key"]
        for name in constraints:
            op.execute(
                f"ALTER TABLE {new} RENAME CONSTRAINT {name.format(old)} TO {name.format(new)}"
            )
        op.execute(f"ALTER SEQUENCE {old}_seq_seq RENAME TO {new}_seq_seq")
        return
    with op.batch_alter_table(new, recreate="always") as batch_op:
        for suffix, columns in INDEXES.items():
            batch_op.drop_index(f"ix_{old}_{suffix}")
            batch_op.create_index(f"ix_{new}_{suffix}", columns, unique=False)
        for suffix, condition in CHECKS.items():
            batch_op.drop_constraint(f"ck_{old}_{suffix}", type_="check")
            batch_op.create_check_constraint(f"ck_{new}_{suffix}", condition)
