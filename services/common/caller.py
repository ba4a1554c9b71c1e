"""Who is calling a service, in a form the service can verify (docs/security/identity.md).

The gateway authenticates a person (their access token) and then calls services over the
broker. A service must not take the gateway's word from anybody who can publish to the
broker, so every call made for a person carries a *caller token*: the `Caller` signed
with the deployment's caller key (`CALLER_KEY`, HMAC-SHA256 through PyJWT), valid for
`CALLER_TOKEN_TTL_SECONDS` and for one service only (its audience), so a token seen on
the way to one service cannot be replayed against another, nor for long.

A service calling another for its own purposes (the events service reading alumni for
its roster) signs a caller of role `service` named after itself (`Caller.for_service`).

Framework-free: the nameko side (services/common/rpc.py signs, services/common/
entrypoints.py verifies) is the only user of the header name.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import jwt

from services.common import config
from services.common.errors import AuthenticationFailed
from services.common.expiring import ExpiringEntries

ALGORITHM = "HS256"
ISSUER = "alumni-platform/caller"
CALLER_TOKEN_TTL_SECONDS = 60
# Clock skew allowed between the signing and the verifying process.
LEEWAY_SECONDS = 5
HEADER = "alumni_caller"
"""The nameko context key (message header `nameko.alumni_caller`) that carries the token."""
SERVICE_ROLE = "service"
REUSE_SECONDS = 10
"""How long `token_for` hands out a token it has signed (of CALLER_TOKEN_TTL_SECONDS)."""
TOKENS_KEPT = 10_000


@dataclass(frozen=True)
class Caller:
    """The person (or service) a call is made for; the gateway's `Principal`."""

    account_id: str
    username: str
    role: str
    department_id: str | None
    # The alumnus record an `alumnus` account logs in for; None for staff.
    alumnus_id: str | None = None
    # The scope of a `chapter_officer` (its chapter) and of a `messenger` (its appointment).
    # Keyword-only, so that a `Principal`'s positional fields stay where they were.
    chapter_id: str | None = field(default=None, kw_only=True)
    messenger_id: str | None = field(default=None, kw_only=True)

    @classmethod
    def for_service(cls, service: str) -> Caller:
        return cls(f"service:{service}", service, SERVICE_ROLE, None)

    def as_actor(self) -> dict[str, Any]:
        """Who did it, as records store it (history rows, decisions, notes)."""
        return {
            "account_id": self.account_id,
            "username": self.username,
            "role": self.role,
            "department_id": self.department_id,
        }


def caller_key(overrides: Mapping[str, Any] | None = None) -> str:
    """The deployment's caller key: `CALLER_KEY`, else generated once under var/."""
    return config.secret("CALLER_KEY", overrides)


def sign(
    caller: Caller, key: str, audience: str | list[str], ttl: int = CALLER_TOKEN_TTL_SECONDS
) -> str:
    """A caller token for `audience` (a service name, or several for a test's client)."""
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": audience,
        "iat": now,
        "exp": now + ttl,
        "caller": asdict(caller),
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def token_for(caller: Caller, key: str, audience: str) -> str:
    """A caller token for `audience`, the one signed for the same caller and audience in
    the last `REUSE_SECONDS` if there is one: a process calling for the same person again
    and again (the gateway for a signed-in user, a service for itself) signs once in a
    while rather than at every call. Its validity left is at least the TTL less
    `REUSE_SECONDS`, several times the longest RPC deadline."""
    reuse = (caller, key, audience)
    token = SIGNED.get(reuse)
    if token is None:
        token = sign(caller, key, audience)
        SIGNED.add(reuse, time.time() + REUSE_SECONDS, token)
    return token


def verify(token: Any, key: str, audience: str) -> Caller:
    """The caller a token states, if `key` signed it for `audience` and it has not expired.

    Raises AuthenticationFailed (reason `caller_missing`, `caller_expired` or
    `caller_invalid`) otherwise. A token verified before, for the same key and audience,
    is answered from `VERIFIED` until its `exp`, without decoding it again.
    """
    if not token:
        raise AuthenticationFailed("调用缺少经签名的调用者，已拒绝。", reason="caller_missing")
    if not isinstance(token, str):
        raise AuthenticationFailed("调用者令牌无效，已拒绝。", reason="caller_invalid")
    known = VERIFIED.get((key, audience, token))
    if known is not None:
        return known
    caller, expires = _decoded(token, key, audience)
    VERIFIED.add((key, audience, token), expires, caller)
    return caller


def _decoded(token: str, key: str, audience: str) -> tuple[Caller, int]:
    """The caller the token states and its `exp`, once its signature and claims hold."""
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=ISSUER,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "aud", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise AuthenticationFailed("调用者令牌已过期，已拒绝。", reason="caller_expired") from None
    except jwt.InvalidTokenError:
        raise AuthenticationFailed("调用者令牌无效，已拒绝。", reason="caller_invalid") from None
    stated = claims.get("caller")
    try:
        caller = Caller(
            account_id=str(stated["account_id"]),
            username=str(stated["username"]),
            role=str(stated["role"]),
            department_id=stated.get("department_id"),
            alumnus_id=stated.get("alumnus_id"),
            chapter_id=stated.get("chapter_id"),
            messenger_id=stated.get("messenger_id"),
        )
    except (TypeError, KeyError):
        raise AuthenticationFailed("调用者令牌无效，已拒绝。", reason="caller_invalid") from None
    return caller, claims["exp"]


VERIFIED: ExpiringEntries[Caller] = ExpiringEntries(TOKENS_KEPT)
"""Caller tokens this process has verified, with the caller each states, until the token's
`exp`; keyed by the key, the audience and the token, so a token verified for one service is
never taken for another's. Only what the signed token says is kept."""
SIGNED: ExpiringEntries[str] = ExpiringEntries(TOKENS_KEPT)
"""Tokens `token_for` has signed, by caller, key and audience, for `REUSE_SECONDS`."""
