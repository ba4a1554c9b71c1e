"""Donors' ID-card numbers (PIPL): collected only for an individual's official receipt,
under separate consent, kept encrypted, shown masked.

The number is validated by its GB 11643 check character (the contract does that), then
stored as AES-256-GCM ciphertext under the keys of `DONOR_ID_KEY` (services/common/
config.py): like `PII_KEYS`, a comma-separated list of secrets, newest first, each value
carrying its key id (services/common/crypto.py `Keyring`), and the gift's id bound in as
associated data, so a ciphertext copied onto another gift does not decrypt. Only the
e-bill request reads the number back; every answer and receipt shows it masked.
`rotate_id_numbers` re-encrypts under the newest key (`python -m services.common.rotate_keys
donations`). A value of the first format (`v1:`, one key: the SHA-256 of the secret) still
decrypts, and is rewritten by the rotation.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Engine, select, update

from services.common.crypto import FORMAT, DecryptionError, Keyring
from services.donations.models import Gift

LEGACY_VERSION = "v1"
NONCE_BYTES = 12


def mask_id_number(number: str) -> str:
    """`370802199001011234` → `3708**********1234`: region and last four only."""
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


class IdNumberCipher:
    """AES-GCM over ID numbers under `DONOR_ID_KEY`'s keys, newest first."""

    def __init__(self, secrets: list[str]) -> None:
        self.keyring = Keyring(secrets)
        self._legacy = [AESGCM(hashlib.sha256(s.encode()).digest()) for s in secrets]

    @classmethod
    def from_setting(cls, value: str) -> IdNumberCipher:
        """The cipher of a `DONOR_ID_KEY` setting: long random texts, comma-separated."""
        return cls([part.strip() for part in value.split(",") if part.strip()])

    def encrypt(self, number: str, record_id: str) -> str:
        return self.keyring.encrypt(number, _context(record_id))

    def decrypt(self, stored: str, record_id: str) -> str:
        if stored.startswith(f"{LEGACY_VERSION}:"):
            return self._decrypt_legacy(stored, record_id)
        return self.keyring.decrypt(stored, _context(record_id))

    def current_prefix(self) -> str:
        """How a value under the newest key begins."""
        return f"{FORMAT}:{self.keyring.current.id}:"

    def _decrypt_legacy(self, stored: str, record_id: str) -> str:
        raw = base64.b64decode(stored.partition(":")[2])
        for aead in self._legacy:
            try:
                return aead.decrypt(
                    raw[:NONCE_BYTES], raw[NONCE_BYTES:], record_id.encode()
                ).decode()
            except InvalidTag:
                continue
        raise DecryptionError("the ID number does not decrypt with any DONOR_ID_KEY")


def _context(record_id: str) -> str:
    return f"gifts.id_number:{record_id}"


def rotate_id_numbers(
    engine: Engine, cipher: IdNumberCipher, batch: int, say: Callable[[str], None]
) -> int:
    """Re-encrypt every gift's ID number not under the newest key, `batch` per transaction;
    returns how many. Restartable: a rewritten row no longer matches."""
    column = Gift.__table__.c.id_number_ciphertext
    stale = column.is_not(None) & column.not_like(f"{cipher.current_prefix()}%")
    done = 0
    while True:
        with engine.begin() as connection:
            rows = connection.execute(
                select(Gift.__table__.c.seq, Gift.__table__.c.id, column)
                .where(stale)
                .order_by(Gift.__table__.c.seq)
                .limit(batch)
            ).all()
            for seq, gift_id, stored in rows:
                number = cipher.decrypt(stored, gift_id)
                connection.execute(
                    update(Gift.__table__)
                    .where(Gift.__table__.c.seq == seq)
                    .values(id_number_ciphertext=cipher.encrypt(number, gift_id))
                )
        done += len(rows)
        if not rows:
            say(
                f"donations.gifts.id_number_ciphertext: {done} rows now under key "
                f"{cipher.keyring.current.id}"
            )
            return done
        say(f"donations.gifts.id_number_ciphertext: {done}")
