"""Logging in and out, refreshing tokens, changing one's password, and the calling account."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from gateway import schemas as edge
from gateway.auth import Principal, decode, issue_tokens
from gateway.authz.base import SIGNED_IN
from gateway.edge import client_address, configured_list, trusted_networks
from gateway.http import api
from gateway.sessions import SESSIONS
from services.common import config as settings
from services.common.contracts import registry as contract


class AuthRoutes:
    config: Any
    registry: Any

    @api(
        "POST",
        "/api/v1/auth/token",
        "Log in with username and password. Failed attempts are limited per username and "
        "per client address: past the limit, 429 with `Retry-After` (seconds).",
        "auth",
        None,
        body=edge.TokenRequest,
        response=edge.TokenResponse,
        extra_statuses=(401, 429, 503),
        at_once_setting="GATEWAY_LOGINS_AT_ONCE",
    )
    def token(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        trusted = trusted_networks(configured_list("GATEWAY_TRUSTED_PROXIES", self.config))
        # The address the edge counts the client under (behind a trusted proxy, the client's).
        login = self.registry.authenticate(body, client_address(request.environ, trusted))
        return issue_tokens(login, self._secret())

    @api(
        "POST",
        "/api/v1/auth/refresh",
        "Trade a refresh token for a new token pair. Each refresh token works once: one "
        "presented again ends its whole session (401, reason `refresh_reused`).",
        "auth",
        None,
        body=edge.RefreshRequest,
        response=edge.TokenResponse,
        extra_statuses=(401, 503),
    )
    def refresh(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        claims = decode(body["refresh_token"], self._secret(), "refresh")
        login = self.registry.refresh_session(str(claims.get("jti") or ""))
        return issue_tokens(login, self._secret())

    @api(
        "POST",
        "/api/v1/auth/logout",
        "End the calling session: its refresh tokens stop working at once, its access "
        "tokens within seconds.",
        "auth",
        SIGNED_IN,
        status=204,
    )
    def logout(self, request: Request, principal: Principal) -> None:
        self.registry.logout(principal.session_id)
        SESSIONS.forget(principal)

    @api(
        "POST",
        "/api/v1/auth/password",
        "Change one's own password (the current one, and a new one meeting the policy: "
        "422 names the rule). Every session of the account ends; log in again.",
        "auth",
        SIGNED_IN,
        body=contract.PasswordChange,
        status=204,
        extra_statuses=(429,),
    )
    def change_password(self, request: Request, principal: Principal, body: dict[str, Any]) -> None:
        self.registry.change_password(body)
        SESSIONS.forget(principal)

    @api(
        "GET",
        "/api/v1/me",
        "The calling account; an alumnus's names its `alumnus_id` and carries their own "
        "record, unmasked, in `alumnus` (PIPL art. 44; null for staff).",
        "auth",
        SIGNED_IN,
        response=contract.Me,
    )
    def me(self, request: Request, principal: Principal) -> dict[str, Any]:
        return self.registry.get_me()

    def _secret(self) -> str:
        return settings.jwt_secret(self.config)
