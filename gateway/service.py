"""The gateway's routes. Each one: authorise, validate, one or two RPC calls, shape the answer."""

from __future__ import annotations

from typing import Any

from kombu import Connection
from nameko.dependency_providers import Config
from nameko.web.handlers import http
from werkzeug.wrappers import Request, Response

from gateway import authz
from gateway import schemas as edge
from gateway.auth import Principal, decode, issue_tokens
from gateway.errors import RouteNotFound, error_response, json_response
from gateway.http import api, query_params, read_json
from gateway.openapi import docs_asset, docs_page, openapi_document
from gateway.presenters import present_alumnus, present_history, present_page
from services.common import config as settings
from services.common.contracts import registry as contract
from services.common.contracts.base import PageQuery, load_or_raise
from services.common.errors import AppError
from services.common.rpc import TimedRpcProxy

STAFF = authz.STAFF_ROLES
OFFICE = (authz.OFFICE,)
READINESS_TIMEOUT_SECONDS = 3
PROBED_SERVICES = ("registry",)


class GatewayService:
    name = "gateway"

    config = Config()
    registry = TimedRpcProxy("registry")
    registry_probe = TimedRpcProxy("registry", timeout=READINESS_TIMEOUT_SECONDS)

    # ---- operations ---------------------------------------------------------

    @api(
        "GET",
        "/health",
        "Liveness: the gateway process answers.",
        "operations",
        None,
        response=edge.Health,
    )
    def health(self, request: Request) -> dict[str, str]:
        return {"status": "ok"}

    @api(
        "GET",
        "/ready",
        "Readiness: the broker and every service answer.",
        "operations",
        None,
        response=edge.Readiness,
        extra_statuses=(503,),
    )
    def ready(self, request: Request):
        checks = {"broker": self._broker_check()}
        for service in PROBED_SERVICES:
            try:
                getattr(self, f"{service}_probe").health()
                checks[service] = "ok"
            except AppError as error:
                checks[service] = error.message
        ready = all(state == "ok" for state in checks.values())
        return (200 if ready else 503), {
            "status": "ready" if ready else "not_ready",
            "checks": checks,
        }

    def _broker_check(self) -> str:
        try:
            with Connection(self.config["AMQP_URI"]) as connection:
                connection.ensure_connection(max_retries=1, timeout=READINESS_TIMEOUT_SECONDS)
            return "ok"
        except Exception:
            return "消息代理不可达。"

    @http("GET", "/openapi.json")
    def openapi(self, request: Request) -> Response:
        return json_response(openapi_document())

    @http("GET", "/docs")
    def docs(self, request: Request) -> Response:
        return docs_page()

    @http("GET", "/docs/static/<string:asset>")
    def docs_static(self, request: Request, asset: str) -> Response:
        return docs_asset(asset)

    @http("GET,POST,PUT,PATCH,DELETE", "/api/<path:rest>")
    def unknown_route(self, request: Request, rest: str) -> Response:
        return error_response(RouteNotFound("没有这个接口。", {"path": request.path}))

    # ---- auth ---------------------------------------------------------------

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

    @api("GET", "/api/v1/me", "The calling account.", "auth", STAFF, response=contract.Account)
    def me(self, request: Request, principal: Principal) -> dict[str, Any]:
        return self.registry.get_account(principal.account_id)

    def _secret(self) -> str:
        return self.config.get("JWT_SECRET") or settings.jwt_secret()

    # ---- accounts -----------------------------------------------------------

    @api(
        "GET",
        "/api/v1/accounts",
        "List staff accounts.",
        "accounts",
        OFFICE,
        response=contract.Account,
        many=True,
    )
    def list_accounts(self, request: Request, principal: Principal) -> dict[str, Any]:
        authz.check_manage_accounts(principal)
        return {"items": self.registry.list_accounts(), "next_cursor": None}

    @api(
        "POST",
        "/api/v1/accounts",
        "Create a staff account (office, committee, liaison).",
        "accounts",
        OFFICE,
        body=contract.AccountInput,
        response=contract.Account,
        status=201,
    )
    def create_account(self, request: Request, principal: Principal):
        authz.check_manage_accounts(principal)
        body = read_json(request)
        load_or_raise(contract.AccountInput(), body)
        return 201, self.registry.create_account(body)

    # ---- departments --------------------------------------------------------

    @api(
        "GET",
        "/api/v1/departments",
        "List departments.",
        "departments",
        STAFF,
        response=contract.Department,
        many=True,
    )
    def list_departments(self, request: Request, principal: Principal) -> dict[str, Any]:
        authz.check_read_departments(principal)
        return {"items": self.registry.list_departments(), "next_cursor": None}

    @api(
        "POST",
        "/api/v1/departments",
        "Create a department.",
        "departments",
        OFFICE,
        body=contract.DepartmentInput,
        response=contract.Department,
        status=201,
    )
    def create_department(self, request: Request, principal: Principal):
        authz.check_manage_departments(principal)
        body = read_json(request)
        load_or_raise(contract.DepartmentInput(), body)
        return 201, self.registry.create_department(body)

    @api(
        "GET",
        "/api/v1/departments/{department_id}",
        "One department.",
        "departments",
        STAFF,
        response=contract.Department,
    )
    def get_department(self, request: Request, principal: Principal, department_id: str):
        authz.check_read_departments(principal)
        return self.registry.get_department(department_id)

    # ---- alumni -------------------------------------------------------------

    @api(
        "GET",
        "/api/v1/alumni",
        "Search alumni: q matches any part of the name.",
        "alumni",
        STAFF,
        query=contract.AlumnusSearch,
        response=contract.Alumnus,
        many=True,
    )
    def search_alumni(self, request: Request, principal: Principal) -> dict[str, Any]:
        params = query_params(request)
        load_or_raise(contract.AlumnusSearch(), params)
        page = self.registry.search_alumni(authz.scope_alumni_search(principal, params))
        return present_page(principal, page)

    @api(
        "POST",
        "/api/v1/alumni",
        "Register an alumnus with one or more graduation records.",
        "alumni",
        (authz.OFFICE, authz.LIAISON),
        body=contract.AlumnusInput,
        response=contract.Alumnus,
        status=201,
    )
    def create_alumnus(self, request: Request, principal: Principal):
        body = read_json(request)
        load_or_raise(contract.AlumnusInput(), body)
        authz.check_alumnus_create(principal, body)
        return 201, self.registry.create_alumnus(body, principal.as_actor())

    @api(
        "GET",
        "/api/v1/alumni/{alumnus_id}",
        "One alumnus.",
        "alumni",
        STAFF,
        response=contract.Alumnus,
    )
    def get_alumnus(self, request: Request, principal: Principal, alumnus_id: str):
        alumnus = self.registry.get_alumnus(alumnus_id)
        authz.check_alumnus_read(principal, alumnus)
        return present_alumnus(principal, alumnus)

    @api(
        "PATCH",
        "/api/v1/alumni/{alumnus_id}",
        "Change some fields of an alumnus.",
        "alumni",
        (authz.OFFICE, authz.LIAISON),
        body=contract.AlumnusPatch,
        response=contract.Alumnus,
    )
    def update_alumnus(self, request: Request, principal: Principal, alumnus_id: str):
        body = read_json(request)
        load_or_raise(contract.AlumnusPatch(), body)
        current = self.registry.get_alumnus(alumnus_id)
        authz.check_alumnus_update(principal, current, body)
        return self.registry.update_alumnus(alumnus_id, body, principal.as_actor())

    @api(
        "GET",
        "/api/v1/alumni/{alumnus_id}/history",
        "Field-level change history: who, when, old and new value, source.",
        "alumni",
        STAFF,
        query=PageQuery,
        response=contract.Change,
        many=True,
    )
    def alumnus_history(self, request: Request, principal: Principal, alumnus_id: str):
        page = load_or_raise(PageQuery(), query_params(request))
        alumnus = self.registry.get_alumnus(alumnus_id)
        authz.check_alumnus_read(principal, alumnus)
        history = self.registry.alumnus_history(alumnus_id, page["limit"], page["cursor"])
        return present_history(principal, alumnus, history)
