"""import rows encrypted: a staged row's values and cells, as the record they become

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 05:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from services.common.migrations.encrypted_columns import Encrypted, decrypt, encrypt, to_text

# revision identifiers, used by Alembic.
revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IMPORT_ROWS = Encrypted("import_rows", ["job_id", "row_number"], ["record", "cells"])


def upgrade() -> None:
    to_text("import_rows", ["record", "cells"])
    encrypt(IMPORT_ROWS)


def downgrade() -> None:
    decrypt(IMPORT_ROWS)
    with op.batch_alter_table("import_rows") as batch:
        for column in IMPORT_ROWS.columns:
            batch.alter_column(column, type_=sa.JSON(), postgresql_using=f"{column}::json")
