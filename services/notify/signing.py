"""One-click unsubscribe tokens: who, which channel, which purpose, signed with HMAC-SHA256.

A token is `<payload>.<signature>`, both base64url without padding; the payload is
`alumnus_id:channel:purpose`. Without the service's secret a token cannot be made or
altered, so a link cannot be guessed for someone else; it needs no login and does not
expire (RFC 8058 links must keep working for as long as the mail may be read).

Standard library only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from services.common.errors import ValidationFailed


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: str, payload: str) -> str:
    return _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())


def unsubscribe_token(secret: str, alumnus_id: str, channel: str, purpose: str) -> str:
    payload = _b64(f"{alumnus_id}:{channel}:{purpose}".encode())
    return f"{payload}.{_signature(secret, payload)}"


def read_unsubscribe_token(secret: str, token: str) -> tuple[str, str, str]:
    """(alumnus_id, channel, purpose) of a token this service signed; 422 otherwise."""
    payload, _, signature = token.partition(".")
    if (
        not payload
        or not signature
        or not hmac.compare_digest(signature, _signature(secret, payload))
    ):
        raise bad_token()
    try:
        alumnus_id, channel, purpose = _unb64(payload).decode().split(":")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad_token() from None
    return alumnus_id, channel, purpose


def bad_token() -> ValidationFailed:
    return ValidationFailed(
        "退订链接无效或已被改动。",
        {"fields": {"token": ["签名不符。"]}},
        reason="bad_signature",
    )
