"""The baseline: the least a nameko service can do for one RPC and one HTTP request.

Two services, run as two processes like the registry and the gateway:

    nameko run --config services/common/nameko.yaml bench.echo_service:EchoService
    nameko run --config services/common/nameko.yaml bench.echo_service:EchoHttpService

`GET /echo?v=...` does nothing but call `bench_echo.echo(v)` and return the result as
JSON, so its throughput is the ceiling for any gateway route that makes one RPC call
under the same nameko configuration (max_workers, eventlet wsgi server, broker).

`SessionStandIn` answers the gateway's session check for a bench that signs its own
access tokens and starts no registry (bench/gifts.py).
"""

from __future__ import annotations

import json

from nameko.rpc import RpcProxy, rpc
from nameko.web.handlers import http
from werkzeug.wrappers import Request, Response

ECHO_SERVICE = "bench_echo"


class EchoService:
    name = ECHO_SERVICE

    @rpc
    def echo(self, value):
        return value


class EchoHttpService:
    name = "bench_echo_http"

    echo_rpc = RpcProxy(ECHO_SERVICE)

    @http("GET", "/echo")
    def echo(self, request: Request) -> Response:
        result = self.echo_rpc.echo(request.args.get("v", "ping"))
        return Response(
            json.dumps({"echo": result}), content_type="application/json; charset=utf-8"
        )

    @http("GET", "/health")
    def health(self, request: Request) -> Response:
        return Response('{"status": "ok"}', content_type="application/json; charset=utf-8")


class SessionStandIn:
    """The registry's `session_status` alone: every session alive, at token version 0."""

    name = "registry"

    @rpc
    def session_status(self, session_id):
        return {"active": True, "token_version": 0, "session_alive": True}
