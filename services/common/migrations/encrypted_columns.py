"""Data migrations that encrypt the personal data a database already holds in plaintext
(services/common/crypto.py), and decrypt it again on the way down.

    from services.common.migrations.encrypted_columns import Encrypted, encrypt, to_text

    def upgrade() -> None:
        to_text("alumni", ["phone", "email"])                      # the columns become TEXT
        encrypt(Encrypted("alumni", ["seq"], ["phone", "email"], indexes={"phone_index": "phone"}))

Rows are read and written with plain SQL (never the models, which change later), a batch
at a time; a value already encrypted is left as it is, so a migration that stopped half
way is run again safely. The keys are the running process's `PII_KEYS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from alembic import op

from services.common import crypto

BATCH = 1000


@dataclass(frozen=True)
class Encrypted:
    """The encrypted columns of one table; `indexes` maps a blind-index column to the
    column whose value it indexes."""

    table: str
    key: list[str]
    columns: list[str]
    indexes: dict[str, str] = field(default_factory=dict)

    def context(self, column: str) -> str:
        return f"{self.table}.{column}"


def to_text(table: str, columns: list[str]) -> None:
    """Make `columns` TEXT (a ciphertext is longer than its value; JSON kept as its text)."""
    with op.batch_alter_table(table) as batch:
        for column in columns:
            batch.alter_column(column, type_=sa.Text(), postgresql_using=f"{column}::text")


def encrypt(spec: Encrypted) -> None:
    """Encrypt every plaintext value of `spec`'s columns and fill its blind indexes."""
    keyring = crypto.keyring()

    def change(row: dict) -> dict:
        values = {}
        for column in spec.columns:
            value = row[column]
            if value is not None and not _encrypted(value):
                values[column] = keyring.encrypt(value, spec.context(column))
        for index, source in spec.indexes.items():
            plain = row[source]
            if plain is not None and _encrypted(plain):
                plain = keyring.decrypt(plain, spec.context(source))
            values[index] = None if plain in (None, "") else keyring.blind_index(plain)
        return values

    _rewrite(spec, change)


def decrypt(spec: Encrypted) -> None:
    """Put every value of `spec`'s columns back in plaintext (a downgrade)."""
    keyring = crypto.keyring()

    def change(row: dict) -> dict:
        return {
            column: keyring.decrypt(row[column], spec.context(column))
            for column in spec.columns
            if row[column] is not None and _encrypted(row[column])
        }

    _rewrite(spec, change)


def _encrypted(value: str) -> bool:
    return value.startswith(f"{crypto.FORMAT}:")


def _rewrite(spec: Encrypted, change) -> None:
    connection = op.get_bind()
    table = sa.table(spec.table, *(sa.column(c) for c in {*spec.key, *spec.columns, *spec.indexes}))
    order = [table.c[k] for k in spec.key]
    selected = [table.c[c] for c in {*spec.key, *spec.columns}]
    after: tuple | None = None
    while True:
        query = sa.select(*selected).order_by(*order).limit(BATCH)
        if after is not None:
            query = query.where(sa.tuple_(*order) > sa.tuple_(*after))
        rows = [dict(r._mapping) for r in connection.execute(query)]
        if not rows:
            return
        for row in rows:
            values = change(row)
            if values:
                connection.execute(
                    sa.update(table)
                    .where(*(table.c[k] == row[k] for k in spec.key))
                    .values(**values)
                )
        after = tuple(rows[-1][k] for k in spec.key)
