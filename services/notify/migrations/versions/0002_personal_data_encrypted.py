"""personal data encrypted at rest

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06 00:45:00

The directory's e-mail and phone, every message's address, every held address and every
outbox payload become AES-GCM ciphertext (services/common/crypto.py). Messages get the
blind index of their address, and a hold is keyed by its address's blind index, so both
are found without decrypting. Existing rows are converted here (docs/security/
data-at-rest.md).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.common import crypto
from services.common.migrations.encrypted_columns import Encrypted, decrypt, encrypt, to_text

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONTACTS = Encrypted("contacts", ["alumnus_id"], ["email", "phone"])
MESSAGES = Encrypted("messages", ["seq"], ["address"], indexes={"address_index": "address"})
OUTBOX = Encrypted("outbox", ["id"], ["payload"])


def upgrade() -> None:
    to_text("contacts", ["email", "phone"])
    to_text("messages", ["address"])
    with op.batch_alter_table("messages") as batch_op:
        batch_op.add_column(sa.Column("address_index", sa.String(length=64), nullable=True))
    for spec in (CONTACTS, MESSAGES, OUTBOX):
        encrypt(spec)
    # The blind index becomes the key of a hold, which is looked up by it: the table (a
    # few rows) is made again.
    holds = _take_holds()
    op.create_table(
        "address_holds",
        sa.Column("address_index", sa.String(length=64), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("address_index", name="address_holds_pkey"),
    )
    keyring = crypto.keyring()
    for hold in holds:
        hold["address_index"] = keyring.blind_index(hold["address"])
        hold["address"] = keyring.encrypt(hold["address"], "address_holds.address")
    _put_holds(holds)


def downgrade() -> None:
    for spec in (CONTACTS, MESSAGES, OUTBOX):
        decrypt(spec)
    holds = _take_holds()
    op.create_table(
        "address_holds",
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("address"),
    )
    keyring = crypto.keyring()
    for hold in holds:
        hold.pop("address_index")
        hold["address"] = keyring.decrypt(hold["address"], "address_holds.address")
    _put_holds(holds)
    with op.batch_alter_table("messages") as batch_op:
        batch_op.drop_column("address_index")
        batch_op.alter_column("address", type_=sa.String(length=254))
    with op.batch_alter_table("contacts") as batch_op:
        batch_op.alter_column("email", type_=sa.String(length=254))
        batch_op.alter_column("phone", type_=sa.String(length=20))


def _take_holds() -> list[dict]:
    """Every hold as a dict, and the table dropped."""
    rows = op.get_bind().execute(sa.text("SELECT * FROM address_holds")).mappings().all()
    op.drop_table("address_holds")
    return [dict(row) for row in rows]


def _put_holds(holds: list[dict]) -> None:
    if holds:
        columns = list(holds[0])
        op.get_bind().execute(
            sa.text(
                f"INSERT INTO address_holds ({', '.join(columns)}) "
                f"VALUES ({', '.join(':' + c for c in columns)})"
            ),
            holds,
        )
