"""Access tokens of ended sessions stop working within seconds, not at their expiry.

An access token is valid for 15 minutes by its signature alone. On each request the
gateway also asks the registry (`session_status`, for the calling account) whether the
account is still active, whether the token's `token_version` is the account's current one
(a password change raises it) and whether its session is alive (logout, a reused refresh
token, a password change and disabling the account revoke sessions). A positive answer is
remembered for `SESSION_CHECK_SECONDS` (5 s by default) per account, session and version:
that is the bound on how long a disabled account, a changed password or a logout leaves an
existing access token working on a gateway process (docs/security/identity.md).
"""

from __future__ import annotations

import time
from typing import Any

from gateway.auth import Principal
from services.common.errors import AuthenticationFailed

MAX_REMEMBERED = 10_000


class SessionCheck:
    """The per-process cache of sessions known to be valid, until when (monotonic)."""

    def __init__(self) -> None:
        self.valid_until: dict[tuple[str, str, int], float] = {}

    def check(self, principal: Principal, registry: Any, ttl_seconds: float) -> None:
        key = (principal.account_id, principal.session_id, principal.token_version)
        now = time.monotonic()
        if self.valid_until.get(key, 0.0) > now:
            return
        status = registry.session_status(principal.session_id)
        if not status["active"]:
            raise AuthenticationFailed("账号已停用。", reason="account_disabled")
        if status["token_version"] != principal.token_version:
            raise AuthenticationFailed("密码已更改，请重新登录。", reason="token_outdated")
        if not status["session_alive"]:
            raise AuthenticationFailed("会话已结束，请重新登录。", reason="session_ended")
        if len(self.valid_until) >= MAX_REMEMBERED:
            self.valid_until = {k: t for k, t in self.valid_until.items() if t > now}
        self.valid_until[key] = now + ttl_seconds

    def forget(self, principal: Principal) -> None:
        """This process stops trusting the principal's session at once (its logout)."""
        key = (principal.account_id, principal.session_id, principal.token_version)
        self.valid_until.pop(key, None)


SESSIONS = SessionCheck()
