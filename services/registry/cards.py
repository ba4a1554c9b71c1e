"""The electronic alumni card (电子校友卡; docs/community.md, "Electronic alumni card").

An alumnus applies, the office approves (the card gets the privileges configured at that
moment and an expiry) or rejects with a reason, and may later revoke an active card:
`CARD`, a state machine. An active card's QR code carries a signed token, an EdDSA
(Ed25519) JWT with the card id, the alumnus id, the name, the privileges and the expiry,
that a gate or the library verifies offline with the published public key
(`verify_card_token`), checking the signed revocation list (`revocation_list`,
`verify_revocation_list`) it fetched last.

The signing key is the secret setting `CARD_SIGNING_KEY`: an Ed25519 private key in PEM,
or any other secret text, from which the key is derived (SHA-256 of it as the seed), so
that the generated secret of a laptop setup (var/card-signing-key) works as it is.

The token and list functions use PyJWT and `cryptography` only (a gate imports this module
without a database); the workflow functions take a SQLAlchemy session, and the caller
commits.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

ISSUER = "alumni-platform/card"
TOKEN_TYPE = "alumni-card+jwt"
CLOCK_LEEWAY_SECONDS = 60


class CardTokenInvalid(Exception):
    """A card token that must not be honoured; `reason` says why (for the gate's log)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


# ---- keys ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardKey:
    private: Ed25519PrivateKey

    @classmethod
    def from_secret(cls, secret: str) -> CardKey:
        text = secret.strip()
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode(), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise ValueError("CARD_SIGNING_KEY must be an Ed25519 private key")
            return cls(key)
        seed = hashlib.sha256(b"alumni-card-signing:" + text.encode()).digest()
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def public_raw(self) -> bytes:
        return self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @property
    def kid(self) -> str:
        """A fingerprint of the public key, so a gate can tell which key a token names."""
        return hashlib.sha256(self.public_raw).hexdigest()[:16]

    def public_jwk(self) -> dict[str, Any]:
        """The public key as a JWK (RFC 8037) and as PEM: what GET /api/v1/cards/public-key
        publishes."""
        pem = self.public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": _b64(self.public_raw),
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
            "pem": pem,
        }


def public_key_from(published: Any) -> Ed25519PublicKey:
    """A public key from what a gate holds: the key object, PEM text or bytes, or the JWK
    (a dict or its JSON text) as published."""
    if isinstance(published, Ed25519PublicKey):
        return published
    if isinstance(published, bytes):
        published = published.decode()
    if isinstance(published, str):
        text = published.strip()
        if text.startswith("{"):
            published = json.loads(text)
        else:
            key: PublicKeyTypes = serialization.load_pem_public_key(text.encode())
            if not isinstance(key, Ed25519PublicKey):
                raise ValueError("not an Ed25519 public key")
            return key
    if isinstance(published, dict) and published.get("crv") == "Ed25519" and "x" in published:
        return Ed25519PublicKey.from_public_bytes(_unb64(published["x"]))
    raise ValueError("not an Ed25519 public key (PEM or JWK)")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# ---- tokens ----------------------------------------------------------------------------------


def card_token(key: CardKey, card: dict[str, Any], now: datetime) -> str:
    """The QR code's token of an active card: who, which card, what it grants, until when."""
    claims = {
        "iss": ISSUER,
        "sub": card["alumnus_id"],
        "cid": card["id"],
        "name": card["name"],
        "priv": [p["code"] for p in card["privileges"]],
        "iat": int(now.timestamp()),
        "exp": int(datetime.fromisoformat(card["expires_at"]).timestamp()),
    }
    return jwt.encode(
        claims, key.private, algorithm="EdDSA", headers={"kid": key.kid, "typ": TOKEN_TYPE}
    )


def verify_card_token(
    token: str,
    public_key: Any,
    revoked: Iterable[str] = (),
    now: datetime | None = None,
) -> dict[str, Any]:
    """The card's claims when `token` was signed by the card key, has not expired and its
    card is not in `revoked` (the ids of the last revocation list); CardTokenInvalid
    otherwise. Works offline: nothing but the published public key is needed.

    Returns {"card_id", "alumnus_id", "name", "privileges", "expires_at"}.
    """
    key = public_key_from(public_key)
    options = {"require": ["exp", "iat", "iss", "sub", "cid"]}
    try:
        if now is None:
            claims = jwt.decode(
                token,
                key,
                algorithms=["EdDSA"],
                issuer=ISSUER,
                leeway=CLOCK_LEEWAY_SECONDS,
                options=options,
            )
        else:  # a given moment (tests, a gate replaying its log): expiry checked here
            claims = jwt.decode(
                token,
                key,
                algorithms=["EdDSA"],
                issuer=ISSUER,
                options={**options, "verify_exp": False, "verify_iat": False},
            )
            if claims["exp"] + CLOCK_LEEWAY_SECONDS <= now.timestamp():
                raise jwt.ExpiredSignatureError("expired")
    except jwt.ExpiredSignatureError:
        raise CardTokenInvalid("expired", "校友卡已过期。") from None
    except jwt.InvalidTokenError:
        raise CardTokenInvalid("invalid", "校友卡二维码无效（签名不符或已被改动）。") from None
    if claims["cid"] in set(revoked):
        raise CardTokenInvalid("revoked", "校友卡已注销。")
    return {
        "card_id": claims["cid"],
        "alumnus_id": claims["sub"],
        "name": claims.get("name", ""),
        "privileges": list(claims.get("priv", [])),
        "expires_at": datetime.fromtimestamp(claims["exp"], UTC).isoformat(),
    }


# ---- the revocation list -------------------------------------------------------------------


def _canonical(document: dict[str, Any]) -> bytes:
    body = {k: v for k, v in document.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signed_revocation_list(
    key: CardKey, revoked: list[dict[str, str]], now: datetime
) -> dict[str, Any]:
    document = {
        "issuer": ISSUER,
        "issued_at": now.astimezone(UTC).isoformat(),
        "kid": key.kid,
        "revoked": revoked,
    }
    return {**document, "signature": _b64(key.private.sign(_canonical(document)))}


def verify_revocation_list(document: dict[str, Any], public_key: Any) -> set[str]:
    """The revoked card ids of a list signed by the card key; CardTokenInvalid when the
    list was altered (a gate then keeps its previous list)."""
    key = public_key_from(public_key)
    try:
        key.verify(_unb64(str(document["signature"])), _canonical(document))
    except Exception:
        raise CardTokenInvalid("bad_list", "注销名单的签名不符。") from None
    return {str(item["card_id"]) for item in document.get("revoked", [])}
