"""Donors' ID-card numbers (PIPL): collected only for an individual's official receipt,
under separate consent, kept encrypted, shown masked.

The number is validated by its GB 11643 check character (the contract does that), then
stored as AES-256-GCM ciphertext under a key from the environment (`DONOR_ID_KEY`,
services/common/config.py), with a random 96-bit nonce per value and the gift's id as
associated data, so a ciphertext copied onto another gift does not decrypt. Only the
e-bill request reads the number back; every answer and receipt shows it masked.
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_VERSION = "v1"
NONCE_BYTES = 12
MIN_SECRET_LENGTH = 32


def mask_id_number(number: str) -> str:
    """`370802199001011234` → `3708**********1234`: region and last four only."""
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


class IdNumberCipher:
    """AES-GCM over ID numbers with one 256-bit key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("an AES-256 key is 32 bytes")
        self._aead = AESGCM(key)

    @classmethod
    def from_setting(cls, value: str) -> IdNumberCipher:
        """The cipher of a `DONOR_ID_KEY` setting: any long random text (its SHA-256 is the
        256-bit key), so that it is kept and passed on like the platform's other secrets."""
        if len(value) < MIN_SECRET_LENGTH:
            raise ValueError(f"DONOR_ID_KEY must be at least {MIN_SECRET_LENGTH} characters")
        return cls(hashlib.sha256(value.encode()).digest())

    def encrypt(self, number: str, record_id: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, number.encode(), record_id.encode())
        return f"{KEY_VERSION}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, stored: str, record_id: str) -> str:
        version, _, payload = stored.partition(":")
        if version != KEY_VERSION:
            raise ValueError(f"unknown key version {version!r}")
        raw = base64.b64decode(payload)
        try:
            plain = self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], record_id.encode())
        except InvalidTag:
            raise ValueError("the ID number does not decrypt with this key") from None
        return plain.decode()
