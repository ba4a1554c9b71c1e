"""Bearer tokens: short-lived access JWTs and longer-lived refresh JWTs (HS256).

Both name the session they belong to (`sid`, a family of one-time refresh tokens the
registry keeps: services/registry/sessions.py); the access token also states the account's
`token_version`, which a password change raises. The refresh token's `jti` is the one the
registry issued, so that using it twice is noticed there.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from services.common import config
from services.common.caller import Caller
from services.common.errors import AuthenticationFailed
from services.common.expiring import ExpiringEntries

ALGORITHM = "HS256"
ISSUER = "alumni-platform"


@dataclass(frozen=True)
class Principal(Caller):
    """The authenticated caller, as the access token states it; the gateway's proxies sign
    it for each service they call (services/common/rpc.py). Its session and token version
    are checked against the registry on each request (gateway/sessions.py)."""

    session_id: str = ""
    token_version: int = 0


def issue_tokens(login: dict[str, Any], secret: str) -> dict[str, Any]:
    """A token pair for what the registry answered a login or a refresh with: the account
    and its session (`id`, `refresh_jti`, `token_version`)."""
    account, session = login["account"], login["session"]
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": account["id"],
        "username": account["username"],
        "role": account["role"],
        "department_id": account.get("department_id"),
        "alumnus_id": account.get("alumnus_id"),
        # The scope of a chapter officer or a messenger (docs/community.md).
        "chapter_id": account.get("chapter_id"),
        "messenger_id": account.get("messenger_id"),
        "sid": session["id"],
        "ver": session["token_version"],
        "iat": now,
    }
    access = {
        **claims,
        "typ": "access",
        "exp": now + config.ACCESS_TOKEN_TTL_SECONDS,
        "jti": str(uuid.uuid4()),
    }
    refresh = {
        "iss": ISSUER,
        "sub": account["id"],
        "sid": session["id"],
        "typ": "refresh",
        "iat": now,
        "exp": now + config.REFRESH_TOKEN_TTL_SECONDS,
        "jti": session["refresh_jti"],
    }
    return {
        "access_token": jwt.encode(access, secret, algorithm=ALGORITHM),
        "refresh_token": jwt.encode(refresh, secret, algorithm=ALGORITHM),
        "token_type": "bearer",
        "expires_in": config.ACCESS_TOKEN_TTL_SECONDS,
    }


def decode(token: str, secret: str, expected_type: str) -> dict[str, Any]:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "iss", "sid"]},
        )
    except jwt.ExpiredSignatureError:
        raise AuthenticationFailed("令牌已过期，请重新登录或刷新令牌。", reason="expired") from None
    except jwt.InvalidTokenError:
        raise AuthenticationFailed("令牌无效。", reason="invalid") from None
    if claims.get("typ") != expected_type:
        raise AuthenticationFailed("令牌类型不符。", reason="wrong_type")
    return claims


VERIFIED_TOKENS_KEPT = 10_000
VERIFIED: ExpiringEntries[Principal] = ExpiringEntries(VERIFIED_TOKENS_KEPT)
"""Access tokens this process has verified, each with the principal it states, until the
token's expiry, keyed by the secret and the token: the same token on the next request (a
client sends its token for 15 minutes) is not decoded and its signature not computed again.
Only what the token itself says is remembered: whether its session is still alive, its
account active and its token version current is asked on each request all the same
(gateway/sessions.py), so a logout, a disabled account or a changed password is refused as
before."""


def principal_from_header(header: str | None, secret: str) -> Principal:
    if not header:
        raise AuthenticationFailed(
            "需要登录：请在 Authorization 头中提供 Bearer 令牌。", reason="missing_token"
        )
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed(
            "Authorization 头应为 “Bearer <令牌>”。", reason="malformed_header"
        )
    token = token.strip()
    known = VERIFIED.get((secret, token))
    if known is not None:
        return known
    claims = decode(token, secret, "access")
    principal = Principal(
        account_id=claims["sub"],
        username=claims["username"],
        role=claims["role"],
        department_id=claims.get("department_id"),
        alumnus_id=claims.get("alumnus_id"),
        chapter_id=claims.get("chapter_id"),
        messenger_id=claims.get("messenger_id"),
        session_id=str(claims["sid"]),
        token_version=int(claims.get("ver", 0)),
    )
    VERIFIED.add((secret, token), claims["exp"], principal)
    return principal
