"""Re-encrypt personal data under the newest key of `PII_KEYS` (services/common/crypto.py).

    python -m services.common.rotate_keys registry events     (some services)
    python -m services.common.rotate_keys --all               (every service with a database)

Every value of an encrypted column not yet under the newest key is decrypted (with
whichever configured key it names) and written again under the newest one, its blind
indexes with it, `--batch` rows per transaction, with a line of progress per batch. A row
once rewritten no longer matches, so a run that stopped is simply run again. When it ends
with nothing left, the old secret can be removed from `PII_KEYS`
(docs/security/data-at-rest.md, "Rotating the key").

It reads `PII_KEYS` and `<SERVICE>_DATABASE_URL` as the services do; run it with the
services' settings after they were restarted with the new secret in front. For the
donations service it also re-encrypts donors' ID numbers under the newest `DONOR_ID_KEY`,
which is rotated the same way.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable

from sqlalchemy import Engine, Table, Text, and_, func, or_, select, type_coerce, update

from services.common import catalogue, config, crypto
from services.common.crypto import EncryptedString
from services.common.db import make_engine

DEFAULT_BATCH = 500


def encrypted_tables(service: str) -> list[Table]:
    """The service's tables with at least one encrypted column."""
    metadata = importlib.import_module(catalogue.by_name(service).models_module).Base.metadata
    return [
        table
        for table in metadata.sorted_tables
        if any(isinstance(column.type, EncryptedString) for column in table.columns)
    ]


def rotate_table(
    engine: Engine, table: Table, batch: int, say: Callable[[str], None], label: str
) -> int:
    """Rewrite every row of `table` with a value under an older key; returns how many."""
    current = crypto.keyring().current.id
    encrypted = [c for c in table.columns if isinstance(c.type, EncryptedString)]
    indexes = {
        c: table.c[c.info["blind_index_of"]] for c in table.columns if "blind_index_of" in c.info
    }
    # The pattern is compared with the stored text, not encrypted as a value would be.
    stored = [type_coerce(c, Text) for c in encrypted]
    stale = or_(*(and_(c.is_not(None), c.not_like(f"{crypto.FORMAT}:{current}:%")) for c in stored))
    key = list(table.primary_key.columns)
    with engine.connect() as connection:
        remaining = connection.scalar(select(func.count()).select_from(table).where(stale))
    if not remaining:
        say(f"{label}: nothing to rotate")
        return 0
    done = 0
    while True:
        with engine.begin() as connection:
            rows = connection.execute(
                select(*key, *encrypted).where(stale).order_by(*key).limit(batch)
            ).all()
            for row in rows:
                values = {c.key: getattr(row, c.key) for c in encrypted}
                values |= {i.key: crypto.blind_index(values[s.key]) for i, s in indexes.items()}
                connection.execute(
                    update(table).where(*(k == getattr(row, k.key) for k in key)).values(values)
                )
        done += len(rows)
        if not rows:
            say(f"{label}: {done} rows now under key {current}")
            return done
        say(f"{label}: {done}/{remaining}")


def rotate_service(service: str, batch: int, say: Callable[[str], None]) -> int:
    engine = make_engine(config.database_url(service), pool_size=1)
    try:
        done = sum(
            rotate_table(engine, table, batch, say, f"{service}.{table.name}")
            for table in encrypted_tables(service)
        )
        if service == "donations":
            # Donors' ID numbers have a key of their own (services/donations/identity.py).
            from services.donations.identity import IdNumberCipher, rotate_id_numbers

            cipher = IdNumberCipher.from_setting(config.secret("DONOR_ID_KEY"))
            done += rotate_id_numbers(engine, cipher, batch, say)
        return done
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Re-encrypt personal data under the newest key.")
    parser.add_argument("services", nargs="*", help="services with a database, by name")
    parser.add_argument("--all", action="store_true", help="every service with a database")
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH, help="rows per transaction")
    args = parser.parse_args(argv)
    known = [e.name for e in catalogue.with_database()]
    services = known if args.all else args.services
    if not services or set(services) - set(known):
        parser.error(f"name services among {', '.join(known)}, or --all")
    config.private_files()
    keyring = crypto.configure()
    print(f"newest key {keyring.current.id}; keys configured: {', '.join(keyring.by_id)}")
    for service in services:
        rotate_service(service, args.batch, lambda line: print(line, flush=True))
    print("done: nothing is left under an older key; it may be removed from PII_KEYS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
