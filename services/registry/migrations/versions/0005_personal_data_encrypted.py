"""personal data encrypted at rest

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 00:45:00

The alumni's phone, e-mail and WeChat ID, every value of the field-level history and
every outbox payload become AES-GCM ciphertext (services/common/crypto.py); phone and
e-mail get blind-index columns for exact-match search; a history row records when its
old contact value was masked. Existing rows are converted here (docs/security/
data-at-rest.md).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.common.migrations.encrypted_columns import Encrypted, decrypt, encrypt, to_text

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ALUMNI = Encrypted(
    "alumni",
    ["seq"],
    ["phone", "email", "wechat"],
    indexes={"phone_index": "phone", "email_index": "email"},
)
HISTORY = Encrypted("change_records", ["id"], ["old_value", "new_value"])
OUTBOX = Encrypted("outbox", ["id"], ["payload"])


def upgrade() -> None:
    to_text("alumni", ["phone", "email", "wechat"])
    with op.batch_alter_table("alumni") as batch_op:
        batch_op.add_column(sa.Column("phone_index", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("email_index", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_alumni_phone_index", ["phone_index"], unique=False)
        batch_op.create_index("ix_alumni_email_index", ["email_index"], unique=False)
    with op.batch_alter_table("change_records") as batch_op:
        batch_op.add_column(sa.Column("masked_at", sa.DateTime(timezone=True), nullable=True))
    for spec in (ALUMNI, HISTORY, OUTBOX):
        encrypt(spec)


def downgrade() -> None:
    for spec in (ALUMNI, HISTORY, OUTBOX):
        decrypt(spec)
    with op.batch_alter_table("change_records") as batch_op:
        batch_op.drop_column("masked_at")
    with op.batch_alter_table("alumni") as batch_op:
        batch_op.drop_index("ix_alumni_email_index")
        batch_op.drop_index("ix_alumni_phone_index")
        batch_op.drop_column("email_index")
        batch_op.drop_column("phone_index")
        batch_op.alter_column("phone", type_=sa.String(length=20))
        batch_op.alter_column("email", type_=sa.String(length=254))
        batch_op.alter_column("wechat", type_=sa.String(length=30))
