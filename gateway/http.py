"""The gateway's HTTP entrypoint: nameko's `http` with JSON in and out, auth and limits.

`api(method, path, ...)` declares a route. Besides registering the nameko
entrypoint it records the route's documentation (summary, schemas, roles) in
`ROUTES`, from which /openapi.json is generated, so a route cannot exist
undocumented. The roles it declares are enforced too: a caller of another role
gets 403 before the handler runs (gateway/authz.py `require_role`); the
handler then makes the finer decisions (whose department, whose record).
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from marshmallow import Schema
from nameko.web.handlers import HttpRequestHandler
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from gateway import authz
from gateway.auth import principal_from_header
from gateway.errors import PayloadTooLarge, error_response, json_response
from services.common import config
from services.common.contracts.base import load_or_raise
from services.common.errors import AppError, BadRequest

MAX_JSON_BODY_BYTES = 1024 * 1024
# Text no database of the platform can store: NUL (PostgreSQL) and lone UTF-16 surrogates,
# which JSON escapes can carry but UTF-8 cannot encode.
UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")


def payload_too_large() -> PayloadTooLarge:
    return PayloadTooLarge(
        f"请求体过大：上限为 {MAX_JSON_BODY_BYTES // 1024} KiB。",
        {"limit_bytes": MAX_JSON_BODY_BYTES},
    )


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
    # Further success statuses answered with the same body (e.g. 200 beside 201).
    extra_success: tuple[int, ...] = field(default=())
    # A success body that is not JSON (e.g. "image/png"); `response` is then unused.
    content_type: str = "application/json"
    body_optional: bool = False


ROUTES: list[RouteDoc] = []


class ApiEndpoint(HttpRequestHandler):
    """An HTTP route whose handler gets `principal=` when it needs a token."""

    def __init__(
        self,
        method: str,
        url: str,
        authenticated: bool = True,
        roles: tuple[str, ...] = (),
        **kwargs,
    ) -> None:
        self.authenticated = authenticated
        self.roles = roles
        # The caller's mistakes are logged as warnings, not as crashes with tracebacks.
        kwargs.setdefault("expected_exceptions", (AppError,))
        super().__init__(method, url, **kwargs)

    def setup(self) -> None:
        super().setup()
        self.jwt_secret = self.container.config.get("JWT_SECRET") or config.jwt_secret()

    def get_entrypoint_parameters(self, request: Request):
        if (request.content_length or 0) > MAX_JSON_BODY_BYTES:
            raise payload_too_large()
        # Bounds bodies sent without a Content-Length (chunked) as well. One byte past the
        # limit is read, so that read_json can tell a body at the limit from a longer one.
        request.max_content_length = MAX_JSON_BODY_BYTES + 1
        # eventlet's server ends every body (by Content-Length or the chunked framing); unless
        # told so, werkzeug reads a body without Content-Length as empty and drops it.
        request.environ["wsgi.input_terminated"] = True
        args, kwargs = super().get_entrypoint_parameters(request)
        kwargs = dict(kwargs)
        reject_unstorable_text(kwargs)
        if self.authenticated:
            principal = principal_from_header(request.headers.get("Authorization"), self.jwt_secret)
            authz.require_role(principal, *self.roles)
            kwargs["principal"] = principal
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
            exc = payload_too_large()
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
    return ApiEndpoint.decorator(
        method, nameko_path, authenticated=roles is not None, roles=roles or ()
    )


def read_json(request: Request, optional: bool = False) -> Any:
    """The request body as JSON: 400 for a body that is not JSON, 413 past the limit.

    `optional`: an empty body is None instead of a 400.
    """
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise payload_too_large() from None
    except (ValueError, OSError):  # broken chunked framing, or the client went away
        raise BadRequest("请求体无法读取。") from None
    if len(raw) > MAX_JSON_BODY_BYTES:
        raise payload_too_large()
    if not raw:
        if optional:
            return None
        raise BadRequest("请求体为空，应为 JSON。")
    try:
        data = json.loads(raw)
    # ValueError: also integers past Python's digit limit; RecursionError: absurd nesting.
    except (ValueError, RecursionError) as error:
        raise BadRequest("请求体不是有效的 JSON。", {"reason": str(error)}) from None
    reject_unstorable_text(data)
    return data


def query_params(request: Request) -> dict[str, str]:
    """Single-valued query parameters (repeated ones keep the first)."""
    params = {key: request.args.get(key) for key in request.args}
    reject_unstorable_text(params)
    return params


def query_args(request: Request, schema: Schema) -> dict[str, Any]:
    """The query string checked by `schema` (422 naming the field), JSON-native for an RPC.

    Defaults of the schema are filled in; UUIDs, dates and times become strings again,
    in their canonical form, so the service loads exactly what the gateway checked.
    """
    return json_native(load_or_raise(schema, query_params(request)))


def json_native(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: json_native(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_native(item) for item in value]
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def reject_unstorable_text(value: Any) -> None:
    """400 for any string (key or value, at any depth) holding NUL or a lone surrogate."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if UNSTORABLE_TEXT.search(item):
                raise BadRequest("文本中含有不允许的字符（NUL 或孤立的代理项）。")
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
