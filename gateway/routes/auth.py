"""Logging in, refreshing tokens, and the calling account."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from gateway import schemas as edge
from gateway.auth import Principal, decode, issue_tokens
from gateway.authz.base import ALL_ROLES
from gateway.http import api
from services.common import config as settings
from services.common.contracts import registry as contract


class AuthRoutes:
    config: Any
    registry: Any

    @api(
        "POST",
        "/api/v1/auth/token",
        "Log in with username and password.",
        "auth",
        None,
        body=edge.TokenRequest,
        response=edge.TokenResponse,
        extra_statuses=(401,),
    )
    def token(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        account = self.registry.authenticate(body)
        return issue_tokens(account, self._secret())

    @api(
        "POST",
        "/api/v1/auth/refresh",
        "Trade a refresh token for a new token pair.",
        "auth",
        None,
        body=edge.RefreshRequest,
        response=edge.TokenResponse,
        extra_statuses=(401,),
    )
    def refresh(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        claims = decode(body["refresh_token"], self._secret(), "refresh")
        # The account is read again so a disabled account or a changed role takes effect now.
        account = self.registry.get_account(claims["sub"])
        return issue_tokens(account, self._secret())

    @api(
        "GET",
        "/api/v1/me",
        "The calling account; an alumnus's names its `alumnus_id` and carries their own "
        "record, unmasked, in `alumnus` (PIPL art. 44; null for staff).",
        "auth",
        ALL_ROLES,
        response=contract.Me,
    )
    def me(self, request: Request, principal: Principal) -> dict[str, Any]:
        return self.registry.get_me(principal.account_id)

    def _secret(self) -> str:
        return settings.jwt_secret(self.config)
