"""Logging in, refreshing tokens, and the calling account."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from gateway import authz
from gateway import schemas as edge
from gateway.auth import Principal, decode, issue_tokens
from gateway.http import api, read_json
from services.common import config as settings
from services.common.contracts import registry as contract
from services.common.contracts.base import load_or_raise


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
    def token(self, request: Request) -> dict[str, Any]:
        credentials = load_or_raise(edge.TokenRequest(), read_json(request))
        account = self.registry.authenticate(credentials)
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
    def refresh(self, request: Request) -> dict[str, Any]:
        body = load_or_raise(edge.RefreshRequest(), read_json(request))
        claims = decode(body["refresh_token"], self._secret(), "refresh")
        # The account is read again so a disabled account or a changed role takes effect now.
        account = self.registry.get_account(claims["sub"])
        return issue_tokens(account, self._secret())

    @api(
        "GET",
        "/api/v1/me",
        "The calling account (staff or alumnus; an alumnus's names its `alumnus_id`).",
        "auth",
        authz.ALL_ROLES,
        response=contract.Account,
    )
    def me(self, request: Request, principal: Principal) -> dict[str, Any]:
        return self.registry.get_account(principal.account_id)

    def _secret(self) -> str:
        return self.config.get("JWT_SECRET") or settings.jwt_secret()
