"""outbox payloads encrypted at rest

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06 00:45:00

Every outbox payload becomes AES-GCM ciphertext (services/common/crypto.py), as in every
service: an event can name a donor. Existing rows are converted here (docs/security/
data-at-rest.md). Donors' ID numbers were encrypted from the start (services/donations/
identity.py); the alumni copy holds names only.
"""

from collections.abc import Sequence

from services.common.migrations.encrypted_columns import Encrypted, decrypt, encrypt

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTBOX = Encrypted("outbox", ["id"], ["payload"])


def upgrade() -> None:
    encrypt(OUTBOX)


def downgrade() -> None:
    decrypt(OUTBOX)
