"""personal data encrypted at rest

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 00:45:00

The roster copy's phone and e-mail, the contacts of visits and cooperation projects, and
every outbox payload become AES-GCM ciphertext (services/common/crypto.py); the JSON
columns are kept as encrypted JSON text. Existing rows are converted here (docs/security/
data-at-rest.md).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.common.migrations.encrypted_columns import Encrypted, decrypt, encrypt, to_text

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SPECS = (
    Encrypted("roster_entries", ["alumnus_id"], ["phone", "email"]),
    Encrypted("visits", ["seq"], ["contact"]),
    Encrypted("cooperation_projects", ["seq"], ["contacts"]),
    Encrypted("outbox", ["id"], ["payload"]),
)


def upgrade() -> None:
    to_text("roster_entries", ["phone", "email"])
    to_text("visits", ["contact"])
    to_text("cooperation_projects", ["contacts"])
    for spec in SPECS:
        encrypt(spec)


def downgrade() -> None:
    for spec in SPECS:
        decrypt(spec)
    with op.batch_alter_table("roster_entries") as batch_op:
        batch_op.alter_column("phone", type_=sa.String(length=20))
        batch_op.alter_column("email", type_=sa.String(length=254))
    for table, column in (("visits", "contact"), ("cooperation_projects", "contacts")):
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column(column, type_=sa.JSON(), postgresql_using=f"{column}::json")
