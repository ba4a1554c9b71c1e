"""Logins and sessions: throttled attempts, one-time refresh tokens, and what ends a session.

A login starts a *session*: a family of refresh tokens. Each refresh uses up the token
presented (its `jti` is marked used) and issues the next one of the family; a used token
presented again was copied by somebody, so the whole family is revoked and both holders
must log in again. Logging out revokes the family; a password change raises the account's
`token_version` and revokes every family; disabling an account revokes every family too.
The gateway asks `session_status` (cached for a few seconds) on each request, so access
tokens of a revoked session, an older token version or a disabled account stop working
within that time (docs/security/identity.md).

Failed logins are counted per username and per client address; past a number of free
attempts each further failure locks the key for a growing time (doubling, capped), and a
locked key is answered with TooManyRequests before any password is hashed.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common.errors import AuthenticationFailed, NotFound, TooManyRequests
from services.registry.domain import account_to_dict
from services.registry.models import Account, LoginThrottle, RefreshToken


@dataclass(frozen=True)
class LoginRules:
    """How many failures are free and how long lockouts last (settings, config.py)."""

    free_per_user: int = 5
    free_per_address: int = 20
    first_lockout_seconds: float = 1.0
    max_lockout_seconds: float = 900.0
    window_seconds: float = 900.0
    refresh_ttl_seconds: int = 7 * 24 * 3600


def aware(moment: datetime | None) -> datetime | None:
    """SQLite gives times back without their zone; they were stored in UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def throttle_keys(username: str, address: str | None) -> list[str]:
    keys = [f"user:{username.strip().lower()}"]
    if address:
        keys.append(f"addr:{address}")
    return keys


# ---- throttling ------------------------------------------------------------


def check_throttle(session: Session, username: str, address: str | None, now: datetime) -> None:
    """TooManyRequests (with `retry_after_seconds`) while the username or address is locked."""
    check_locked(session, throttle_keys(username, address), now, "登录失败次数过多", "login_locked")


def check_locked(session: Session, keys: list[str], now: datetime, what: str, reason: str) -> None:
    """TooManyRequests (with `retry_after_seconds`) while any of `keys` is locked. Shared by
    logins and alumni claims (services/registry/claims.py): one mechanism, keys of each."""
    for key in keys:
        row = session.get(LoginThrottle, key)
        locked_until = aware(row.locked_until) if row is not None else None
        if locked_until is not None and locked_until > now:
            wait = max(1, math.ceil((locked_until - now).total_seconds()))
            raise TooManyRequests(
                f"{what}，请 {wait} 秒后再试。",
                {"retry_after_seconds": wait},
                reason=reason,
            )


def record_failure(
    session: Session, username: str, address: str | None, now: datetime, rules: LoginRules
) -> None:
    keys = throttle_keys(username, address)
    count_failures(
        session,
        [
            (k, rules.free_per_user if k.startswith("user:") else rules.free_per_address)
            for k in keys
        ],
        now,
        rules,
    )


def count_failures(
    session: Session, keys: list[tuple[str, int]], now: datetime, rules: LoginRules
) -> None:
    """One more failure for each (key, free attempts); past the free ones the key locks for
    `first_lockout_seconds` doubled per further failure, capped."""
    for key, free in keys:
        row = _throttle_row(session, key, now)
        last = aware(row.last_failure_at)
        if last is not None and now - last > timedelta(seconds=rules.window_seconds):
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        beyond = row.failures - free
        if beyond > 0:
            doubled = rules.first_lockout_seconds * 2 ** (beyond - 1)
            lockout = min(rules.max_lockout_seconds, doubled)
            row.locked_until = now + timedelta(seconds=lockout)


def _throttle_row(session: Session, key: str, now: datetime) -> LoginThrottle:
    query = select(LoginThrottle).where(LoginThrottle.key == key).with_for_update()
    row = session.scalars(query).first()
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = LoginThrottle(key=key, failures=0, last_failure_at=now)
            session.add(row)
    except IntegrityError:  # a concurrent failure inserted it first
        row = session.scalars(query).one()
    return row


def clear_user_failures(session: Session, username: str) -> None:
    row = session.get(LoginThrottle, throttle_keys(username, None)[0])
    if row is not None:
        session.delete(row)


# ---- logging in ------------------------------------------------------------


def password_hash_for_login(session: Session, username: str) -> str | None:
    """The hash to verify a login against; None for an unknown or disabled username."""
    account = _active_account_named(session, username)
    return account.password_hash if account is not None else None


def finish_login(
    session: Session,
    username: str,
    address: str | None,
    password_ok: bool,
    now: datetime,
    rules: LoginRules,
) -> dict[str, Any] | None:
    """After the password was verified: the account and a new session, or None (and the
    failure counted) for bad credentials."""
    account = _active_account_named(session, username) if password_ok else None
    if account is None:
        record_failure(session, username, address, now, rules)
        return None
    clear_user_failures(session, username)
    return _issue(session, account, str(uuid.uuid4()), now, rules)


def _active_account_named(session: Session, username: str) -> Account | None:
    return session.scalars(
        select(Account).where(Account.username == username, Account.active.is_(True))
    ).first()


def _issue(
    session: Session, account: Account, family_id: str, now: datetime, rules: LoginRules
) -> dict[str, Any]:
    token = RefreshToken(
        jti=str(uuid.uuid4()),
        family_id=family_id,
        account_id=account.id,
        issued_at=now,
        expires_at=now + timedelta(seconds=rules.refresh_ttl_seconds),
    )
    session.add(token)
    session.flush()
    return {
        "account": account_to_dict(account),
        "session": {
            "id": family_id,
            "refresh_jti": token.jti,
            "token_version": account.token_version,
        },
    }


# ---- refreshing and ending sessions -----------------------------------------


def rotate(session: Session, jti: str, now: datetime, rules: LoginRules) -> dict[str, Any]:
    """Use up refresh token `jti` and issue the next of its family.

    A token used before revokes its family (reason `refresh_reused`); a revoked or expired
    token, or one of a disabled account, is refused. The caller commits in every case: the
    revocation must stay even though the call fails.
    """
    token = session.scalars(
        select(RefreshToken).where(RefreshToken.jti == jti).with_for_update()
    ).first()
    if token is None or token.revoked_at is not None:
        raise AuthenticationFailed("刷新令牌已失效，请重新登录。", reason="refresh_revoked")
    if token.used_at is not None:
        revoke_family(session, token.family_id, now)
        raise AuthenticationFailed(
            "刷新令牌已被使用过：为安全起见，该会话已注销，请重新登录。", reason="refresh_reused"
        )
    if aware(token.expires_at) <= now:
        raise AuthenticationFailed("刷新令牌已过期，请重新登录。", reason="refresh_expired")
    account = session.get(Account, token.account_id)
    if account is None or not account.active:
        raise AuthenticationFailed("账号已停用。", reason="account_disabled")
    token.used_at = now
    return _issue(session, account, token.family_id, now, rules)


def revoke_family(session: Session, family_id: str, now: datetime) -> None:
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def revoke_all(session: Session, account_id: str, now: datetime) -> None:
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.account_id == account_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def end_session(session: Session, account_id: str, family_id: str, now: datetime) -> None:
    """Log out: the caller's own session only (another's id changes nothing)."""
    session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.family_id == family_id,
            RefreshToken.account_id == account_id,
            RefreshToken.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )


def session_status(session: Session, account_id: str, family_id: str | None) -> dict[str, Any]:
    """What the gateway checks an access token against."""
    account = session.get(Account, account_id)
    alive = False
    if family_id:
        alive = (
            session.scalars(
                select(RefreshToken.jti).where(
                    RefreshToken.family_id == family_id,
                    RefreshToken.account_id == account_id,
                    RefreshToken.revoked_at.is_(None),
                )
            ).first()
            is not None
        )
    return {
        "active": bool(account is not None and account.active),
        "token_version": account.token_version if account is not None else -1,
        "session_alive": alive,
    }


# ---- what a user and the office change ----------------------------------------


def login_of(session: Session, account_id: str) -> tuple[str, str]:
    """(username, password hash) of an active account, for a password change."""
    account = _account(session, account_id)
    if not account.active:
        raise AuthenticationFailed("账号已停用。", reason="account_disabled")
    return account.username, account.password_hash


def change_password(session: Session, account_id: str, new_hash: str, now: datetime) -> None:
    """Store a new password's hash (the caller verified the current password and checked
    the new one against the policy) and end every session of the account."""
    account = _account(session, account_id)
    account.password_hash = new_hash
    account.token_version += 1
    revoke_all(session, account.id, now)


def set_active(session: Session, account_id: str, active: bool, now: datetime) -> dict[str, Any]:
    account = _account(session, account_id)
    account.active = active
    if not active:
        revoke_all(session, account.id, now)
    return account_to_dict(account)


def _account(session: Session, account_id: str) -> Account:
    account = session.get(Account, str(account_id))
    if account is None:
        raise NotFound("账号不存在。", reason="account_not_found")
    return account
