"""The baseline: the least a nameko service can do for one RPC and one HTTP request.

Two services, run as two processes like the registry and the gateway:

    nameko run --config services/common/nameko.yaml bench.echo_service:EchoService
    nameko run --config services/common/nameko.yaml bench.echo_service:EchoHttpService

`GET /echo?v=...` does nothing but call `bench_echo.echo(v)` and return the result as
JSON, so its throughput is the ceiling for any gateway route that makes one RPC call
under the same nameko configuration (max_workers, eventlet wsgi server, broker).

`GET /kept/<name>` is the same with a larger answer: the RPC returns a body stored before
under that name (`PUT /kept/<name>`, e.g. a real search page), and the HTTP service sends
it on as JSON, as the gateway would. Its throughput is the ceiling for a route that moves
that body, however little work the services behind it did.
"""

from __future__ import annotations

import json

from nameko.rpc import RpcProxy, rpc
from nameko.web.handlers import http
from werkzeug.wrappers import Request, Response

ECHO_SERVICE = "bench_echo"
KEPT: dict[str, object] = {}
"""The bodies `keep` stored, by name: one process's, for the bench's life."""


class EchoService:
    name = ECHO_SERVICE

    @rpc
    def echo(self, value):
        return value

    @rpc
    def keep(self, name, body):
        KEPT[name] = body

    @rpc
    def kept(self, name):
        return KEPT[name]


class EchoHttpService:
    name = "bench_echo_http"

    echo_rpc = RpcProxy(ECHO_SERVICE)

    @http("GET", "/echo")
    def echo(self, request: Request) -> Response:
        result = self.echo_rpc.echo(request.args.get("v", "ping"))
        return Response(
            json.dumps({"echo": result}), content_type="application/json; charset=utf-8"
        )

    @http("GET", "/kept/<name>")
    def kept(self, request: Request, name: str) -> Response:
        return Response(
            json.dumps(self.echo_rpc.kept(name), ensure_ascii=False),
            content_type="application/json; charset=utf-8",
        )

    @http("PUT", "/kept/<name>")
    def keep(self, request: Request, name: str) -> Response:
        self.echo_rpc.keep(name, json.loads(request.get_data()))
        return Response(status=204)

    @http("GET", "/health")
    def health(self, request: Request) -> Response:
        return Response('{"status": "ok"}', content_type="application/json; charset=utf-8")
