"""one name for logins: staff_accounts becomes accounts

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 21:40:00

The table holds staff logins and alumni logins alike (role `alumnus`), so it is called
`accounts`; its index and foreign key follow the table's name.
"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    _rename("staff_accounts", "accounts")


def downgrade() -> None:
    _rename("accounts", "staff_accounts")


def _rename(old: str, new: str) -> None:
    op.rename_table(old, new)
    with op.batch_alter_table(new, schema=None) as batch_op:
        batch_op.drop_index(f"ix_{old}_alumnus_id")
        batch_op.create_index(f"ix_{new}_alumnus_id", ["alumnus_id"], unique=True)
        batch_op.drop_constraint(f"fk_{old}_alumnus_id_alumni", type_="foreignkey")
        batch_op.create_foreign_key(f"fk_{new}_alumnus_id_alumni", "alumni", ["alumnus_id"], ["id"])
