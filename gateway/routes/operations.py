"""Operations: liveness, readiness, the API's description (unknown routes: gateway/edge.py)."""

from __future__ import annotations

from typing import Any

from kombu import Connection
from werkzeug.wrappers import Request, Response

from gateway import schemas as edge
from gateway.edge import edge_http
from gateway.errors import json_response
from gateway.http import api
from gateway.openapi import docs_asset, docs_page, openapi_document
from services.common import catalogue
from services.common.config import amqp_ssl
from services.common.errors import AppError

READINESS_TIMEOUT_SECONDS = 3


def probe_name(service: str) -> str:
    """The gateway's dependency that asks `service` for its health, with a short deadline."""
    return f"{service}_probe"


class OperationsRoutes:
    config: Any

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
        "Readiness: the broker answers, and every service answers with its own links to the "
        "broker up.",
        "operations",
        None,
        response=edge.Readiness,
        extra_statuses=(503,),
    )
    def ready(self, request: Request):
        checks = {"broker": self._broker_check()}
        for entry in catalogue.rpc_services():
            checks[entry.name] = self._service_check(entry.name)
        ready = all(state == "ok" for state in checks.values())
        return (200 if ready else 503), {
            "status": "ready" if ready else "not_ready",
            "checks": checks,
        }

    def _service_check(self, service: str) -> str:
        """`ok`, or why not: it does not answer, or it answers while its consumers or its
        outbox relay are still reconnecting to the broker (services/common/entrypoints.py
        `HealthMixin`)."""
        try:
            answer = getattr(self, probe_name(service)).health()
        except AppError as error:
            return error.message
        if answer.get("broker", "ok") != "ok":
            links = "、".join(answer.get("reconnecting", ()))
            return f"服务 {service} 与消息代理的连接正在恢复（{links}）。"
        return "ok"

    def _broker_check(self) -> str:
        try:
            with Connection(self.config["AMQP_URI"], ssl=amqp_ssl()) as connection:
                connection.ensure_connection(max_retries=1, timeout=READINESS_TIMEOUT_SECONDS)
            return "ok"
        except Exception:
            return "消息代理不可达。"

    @edge_http("GET", "/openapi.json")
    def openapi(self, request: Request) -> Response:
        return json_response(openapi_document())

    @edge_http("GET", "/docs")
    def docs(self, request: Request) -> Response:
        return docs_page()

    @edge_http("GET", "/docs/static/<string:asset>")
    def docs_static(self, request: Request, asset: str) -> Response:
        return docs_asset(asset)
