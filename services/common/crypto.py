"""Personal data at rest: AES-256-GCM with rotatable keys, and HMAC blind indexes.

Phone numbers, e-mail addresses, WeChat IDs, postal addresses and ID-card numbers are kept
encrypted in every service's database (docs/security/data-at-rest.md). The keys come from
one secret setting, `PII_KEYS` (`config.secret`: the environment, else generated once under
var/): a comma-separated list of secrets, the newest first. The newest encrypts; every one
listed decrypts, so a key is rotated by putting a new secret in front, running
`python -m services.common.rotate_keys --all`, then removing the old secret.

Each secret gives, through HKDF-SHA256, an encryption key, a blind-index key and a key id
(8 hex characters, a fingerprint that reveals nothing of the key). A stored value is
`e1:<key id>:<base64(nonce ‖ ciphertext ‖ tag)>`, with a random 96-bit nonce and the
column's name as associated data, so a ciphertext moved into another column does not
decrypt. A blind index is the HMAC-SHA256 of the normalised value (e-mail lower-cased,
phone digits only): equal values have equal indexes, so exact-match lookup and duplicate
detection work without decrypting, while nothing else about the value shows.

`EncryptedString` and `EncryptedJSON` are SQLAlchemy column types that encrypt on the way
in and decrypt on the way out, so domain code keeps reading plain values. A column whose
`info` has `{"blind_index_of": "<column>"}` is kept equal to that column's blind index by
services/common/models.py on every ORM insert and update.

Standard library, `cryptography` and SQLAlchemy only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
from collections.abc import Iterable
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Text
from sqlalchemy.sql import operators
from sqlalchemy.types import TypeDecorator

from services.common import config

FORMAT = "e1"
NONCE_BYTES = 12
MIN_SECRET_LENGTH = 32
INDEX_LENGTH = 64
"""Characters of a blind index: the hex of a full HMAC-SHA256."""
SETTING = "PII_KEYS"

_PHONE = re.compile(r"^[+\d][\d\s()-]*$")


class DecryptionError(ValueError):
    """A stored value that does not decrypt: tampered with, moved, or under an unknown key."""


def _derive(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
        secret.encode()
    )


class Key:
    """One secret's encryption key, blind-index key and key id."""

    def __init__(self, secret: str) -> None:
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(f"every {SETTING} secret must be at least {MIN_SECRET_LENGTH} long")
        self.aead = AESGCM(_derive(secret, b"alumni-pii-encryption"))
        self.index_key = _derive(secret, b"alumni-pii-blind-index")
        self.id = _derive(secret, b"alumni-pii-key-id").hex()[:8]


class Keyring:
    """The configured keys, newest first: the newest encrypts and indexes, all decrypt."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.keys = [Key(s) for s in secrets]
        if not self.keys:
            raise ValueError(f"{SETTING} names no key")
        self.by_id = {key.id: key for key in self.keys}
        self.current = self.keys[0]

    @classmethod
    def from_setting(cls, value: str) -> Keyring:
        return cls(part.strip() for part in value.split(",") if part.strip())

    def encrypt(self, plain: str, context: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self.current.aead.encrypt(nonce, plain.encode(), context.encode())
        return f"{FORMAT}:{self.current.id}:{base64.b64encode(nonce + sealed).decode()}"

    def encrypt_many(self, plains: list[str], context: str) -> list[str]:
        """`encrypt` of each value (a random nonce each, drawn in one call), for bulk
        writes: the same ciphertexts, at a third less of the cost per value."""
        nonces = os.urandom(NONCE_BYTES * len(plains))
        seal, aad = self.current.aead.encrypt, context.encode()
        prefix = f"{FORMAT}:{self.current.id}:"
        b64 = base64.b64encode
        out = []
        for i, plain in enumerate(plains):
            nonce = nonces[i * NONCE_BYTES : (i + 1) * NONCE_BYTES]
            out.append(prefix + b64(nonce + seal(nonce, plain.encode(), aad)).decode())
        return out

    def decrypt(self, stored: str, context: str) -> str:
        form, _, rest = stored.partition(":")
        key_id, _, payload = rest.partition(":")
        if form != FORMAT or not payload:
            raise DecryptionError(f"not an encrypted value (column {context})")
        key = self.by_id.get(key_id)
        if key is None:
            raise DecryptionError(f"key {key_id!r} is not among {SETTING} (column {context})")
        try:
            raw = base64.b64decode(payload, validate=True)
            plain = key.aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode())
        except (InvalidTag, ValueError):
            raise DecryptionError(f"a value of column {context} does not decrypt") from None
        return plain.decode()

    def blind_index(self, value: str) -> str:
        """The index of `value` under the newest key: what is stored."""
        return _index(self.current.index_key, value)

    def blind_indexes(self, value: str) -> list[str]:
        """The index of `value` under every key: what a lookup matches, so that rows not yet
        rotated are found too."""
        return [_index(key.index_key, value) for key in self.keys]


def key_id_of(stored: str) -> str:
    """The id of the key a stored value was encrypted under."""
    return stored.split(":", 2)[1]


def normalise(value: str) -> str:
    """What a blind index is taken of: an e-mail address lower-cased, a phone number its
    digits without the +86 country code, anything else stripped."""
    value = value.strip()
    if "@" in value:
        return value.lower()
    if _PHONE.match(value):
        digits = re.sub(r"\D", "", value)
        return digits[2:] if len(digits) == 13 and digits.startswith("86") else digits
    return value


def _index(key: bytes, value: str) -> str:
    return hmac.new(key, normalise(value).encode(), hashlib.sha256).hexdigest()


# ---- the process's keyring ---------------------------------------------------------------

_keyring: Keyring | None = None


def configure(settings: dict[str, Any] | None = None) -> Keyring:
    """Load `PII_KEYS` (from `settings`, the environment, else var/) as this process's
    keyring; done on first use otherwise. Every process of a service (and its migrations
    and the rotation command) reads the same setting."""
    global _keyring
    _keyring = Keyring.from_setting(config.secret(SETTING, settings))
    return _keyring


def keyring() -> Keyring:
    return _keyring if _keyring is not None else configure()


def encrypt(plain: str, context: str) -> str:
    return keyring().encrypt(plain, context)


def decrypt(stored: str, context: str) -> str:
    return keyring().decrypt(stored, context)


def blind_index(value: str | None) -> str | None:
    return None if value is None or value == "" else keyring().blind_index(value)


def blind_indexes(value: str) -> list[str]:
    return keyring().blind_indexes(value)


# ---- column types ------------------------------------------------------------------------


class EncryptedString(TypeDecorator):
    """A text column stored encrypted; `context` (the table and column) is bound into each
    ciphertext. Stored as TEXT: a ciphertext is longer than its value."""

    impl = Text
    cache_ok = True

    class Comparator(TypeDecorator.Comparator):
        """Only `IS [NOT] NULL`: a value compared in SQL would be encrypted afresh (a new
        nonce) and match nothing, so a comparison is refused rather than silently false.
        Exact matches go through a blind index."""

        def operate(self, op, *other, **kwargs):
            if op in (operators.is_, operators.is_not) or (
                op in (operators.eq, operators.ne) and other == (None,)
            ):
                return super().operate(op, *other, **kwargs)
            raise TypeError(
                f"an encrypted column ({self.type.context}) cannot be compared in SQL; "
                "look it up by its blind index"
            )

    comparator_factory = Comparator

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: Any, dialect) -> str | None:
        if value is None:
            return None
        return encrypt(self.serialise(value), self.context)

    def process_result_value(self, value: Any, dialect) -> Any:
        if value is None:
            return None
        return self.deserialise(decrypt(value, self.context))

    def serialise(self, value: Any) -> str:
        return str(value)

    def deserialise(self, text: str) -> Any:
        return text


class EncryptedJSON(EncryptedString):
    """A JSON document (a contact, a list of contacts, a payload) stored encrypted whole."""

    cache_ok = True

    def serialise(self, value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    def deserialise(self, text: str) -> Any:
        return json.loads(text)


def blind_index_column_info(source: str) -> dict[str, str]:
    """The `info` of a column that holds the blind index of column `source`."""
    return {"blind_index_of": source}
