"""The gateway's HTTP entrypoint: nameko's `http` with JSON in and out, auth and limits.

`api(method, path, ...)` declares a route. Besides registering the nameko
entrypoint it records the route's documentation (summary, schemas, roles) in
`ROUTES`, from which /openapi.json is generated, so a route cannot exist
undocumented.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from marshmallow import Schema
from nameko.web.handlers import HttpRequestHandler
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from gateway.auth import principal_from_header
from gateway.errors import PayloadTooLarge, error_response, json_response
from services.common import config
from services.common.errors import AppError, BadRequest

MAX_JSON_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class RouteDoc:
    method: str
    path: str
    summary: str
    tag: str
    roles: tuple[str, ...] | None  # None: no token needed
    body: type[Schema] | None = None
    response: type[Schema] | None = None
    many: bool = False
    status: int = 200
    query: type[Schema] | None = None
    extra_statuses: tuple[int, ...] = field(default=())


ROUTES: list[RouteDoc] = []


class ApiEndpoint(HttpRequestHandler):
    """An HTTP route whose handler gets `principal=` when it needs a token."""

    def __init__(self, method: str, url: str, authenticated: bool = True, **kwargs) -> None:
        self.authenticated = authenticated
        # The caller's mistakes are logged as warnings, not as crashes with tracebacks.
        kwargs.setdefault("expected_exceptions", (AppError,))
        super().__init__(method, url, **kwargs)

    def setup(self) -> None:
        super().setup()
        self.jwt_secret = self.container.config.get("JWT_SECRET") or config.jwt_secret()

    def get_entrypoint_parameters(self, request: Request):
        if (request.content_length or 0) > MAX_JSON_BODY_BYTES:
            raise PayloadTooLarge(
                f"请求体过大：上限为 {MAX_JSON_BODY_BYTES // 1024} KiB。",
                {"limit_bytes": MAX_JSON_BODY_BYTES},
            )
        # Bounds bodies sent without a Content-Length (chunked) as well.
        request.max_content_length = MAX_JSON_BODY_BYTES
        args, kwargs = super().get_entrypoint_parameters(request)
        kwargs = dict(kwargs)
        if self.authenticated:
            kwargs["principal"] = principal_from_header(
                request.headers.get("Authorization"), self.jwt_secret
            )
        return args, kwargs

    def response_from_result(self, result: Any) -> Response:
        if isinstance(result, Response):
            return result
        if result is None:
            return Response(status=204)
        if isinstance(result, tuple):
            status, payload = result
            return json_response(payload, status)
        return json_response(result)

    def response_from_exception(self, exc: BaseException) -> Response:
        if isinstance(exc, RequestEntityTooLarge):
            exc = PayloadTooLarge(f"请求体过大：上限为 {MAX_JSON_BODY_BYTES // 1024} KiB。")
        return error_response(exc)


def api(
    method: str,
    path: str,
    summary: str,
    tag: str,
    roles: tuple[str, ...] | None,
    **doc: Any,
):
    """Declare a route; `roles=None` makes it public, otherwise it needs a Bearer token."""
    ROUTES.append(RouteDoc(method, path, summary, tag, roles, **doc))
    nameko_path = path.replace("{", "<").replace("}", ">")
    return ApiEndpoint.decorator(method, nameko_path, authenticated=roles is not None)


def read_json(request: Request) -> Any:
    """The request body as JSON: 400 for a body that is not JSON, 413 past the limit."""
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise PayloadTooLarge(f"请求体过大：上限为 {MAX_JSON_BODY_BYTES // 1024} KiB。") from None
    if len(raw) > MAX_JSON_BODY_BYTES:
        raise PayloadTooLarge(f"请求体过大：上限为 {MAX_JSON_BODY_BYTES // 1024} KiB。")
    if not raw:
        raise BadRequest("请求体为空，应为 JSON。")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadRequest("请求体不是有效的 JSON。", {"reason": str(error)}) from None


def query_params(request: Request) -> dict[str, str]:
    """Single-valued query parameters (repeated ones keep the first)."""
    return {key: request.args.get(key) for key in request.args}
