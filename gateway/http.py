"""The gateway's HTTP entrypoint: nameko's `http` with JSON in and out, auth and limits.

`api(method, path, ...)` declares a route. The route record (`Route`) is the one
statement of what the route takes and gives, and everything follows from it:

- /openapi.json is generated from `ROUTES`, so a route cannot exist undocumented;
- its roles are enforced: a caller of another role gets 403 before the handler runs
  (gateway/authz/base.py `require_role`); the handler makes the finer decisions (whose
  department, whose record); a public route with `optional_auth` reads a token when one
  is sent (a bad one is still 401), so it may show a signed-in caller more;
- its `body` and `query` schemas are applied before the handler runs (415 for a body sent
  as anything but JSON, 400 for a body that is not JSON, 422 naming the field), and the
  handler receives the loaded data,
  JSON-native (`body=`, `query=`), ready to pass on to a service;
- its `status` is the status of a successful answer; a handler returns the payload only,
  or `(status, payload)` where the route lists further success statuses;
- a signed-in caller is held to the per-account rate limit (gateway/edge.py, which also
  holds the per-address one and the headers of every answer).
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from marshmallow import Schema, fields
from nameko.web.handlers import HttpRequestHandler
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from gateway.auth import principal_from_header
from gateway.authz.base import require_role
from gateway.edge import EdgeWebServer
from gateway.errors import PayloadTooLarge, UnsupportedMediaType, error_response, json_response
from gateway.sessions import SESSIONS
from services.common import config
from services.common.contracts.base import load_or_raise
from services.common.errors import AppError, BadRequest, TooManyRequests
from services.common.signatures import SignatureReadOnce

MAX_JSON_BODY_BYTES = 1024 * 1024
# Text no database of the platform can store: NUL (PostgreSQL) and lone UTF-16 surrogates,
# which JSON escapes can carry but UTF-8 cannot encode.
UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")


def payload_too_large(limit: int = MAX_JSON_BODY_BYTES) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"请求体过大：上限为 {limit // 1024} KiB。",
        {"limit_bytes": limit},
    )


@dataclass(frozen=True)
class Route:
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
    # Further success statuses answered with a body of their own: (status, schema), e.g. a
    # liaison's change answered 202 with the change request it became.
    other_success: tuple[tuple[int, type[Schema]], ...] = field(default=())
    # A success body that is not JSON (e.g. "image/png"); `response` is then unused.
    content_type: str = "application/json"
    body_optional: bool = False
    # A multipart upload: the OpenAPI schema of its form (the handler reads request.files),
    # and the largest body the route takes instead of MAX_JSON_BODY_BYTES.
    form: dict[str, Any] | None = None
    max_body_bytes: int = MAX_JSON_BODY_BYTES
    # A public route (roles None) that also reads a token when one is sent: the handler
    # gets `principal=` (None without a token) and may show a signed-in caller more.
    optional_auth: bool = False
    # A setting naming how many of this route's requests a gateway process serves at once;
    # more are answered 429 before they take a worker (logins: docs/security/identity.md).
    at_once_setting: str | None = None

    def error_statuses(self) -> list[int]:
        """Every error status the route can answer, as /openapi.json lists them."""
        # 429: every request counts against its client address's rate limit.
        statuses = set(self.extra_statuses) | {429}
        if self.optional_auth:
            statuses.add(401)
        if self.tag != "operations":
            statuses |= {503, 504}  # the service behind the route is down or slow
        if self.roles is not None:
            statuses |= {401, 403}
            if self.method not in ("GET", "HEAD"):
                # A write may meet a record changed or taken by someone else meanwhile.
                statuses.add(409)
        if self.body is not None:
            statuses |= {400, 413, 415, 422}
        if self.query is not None:
            statuses |= {400, 422}  # 400: text no database can store (NUL)
        if "{" in self.path or names_a_record(self.body) or names_a_record(self.query):
            # 400 for the path: text no database can store.
            statuses |= {400, 404} if "{" in self.path else {404}
        return sorted(statuses)


ROUTES: list[Route] = []


def names_a_record(schema: type[Schema] | None) -> bool:
    """Whether a body or query of `schema` may name a record (a UUID or an `…_id`, at any
    depth), which may not exist: a 404."""
    if schema is None:
        return False
    pending = list(schema._declared_fields.items())
    while pending:
        name, item = pending.pop()
        if isinstance(item, fields.UUID) or name.endswith(("_id", "_ids")):
            return True
        if isinstance(item, fields.List):
            pending.append((name, item.inner))
        elif isinstance(item, fields.Nested) and isinstance(item.nested, type):
            pending.extend(item.nested._declared_fields.items())
    return False


class ApiEndpoint(SignatureReadOnce, HttpRequestHandler):
    """An HTTP route: its handler gets `principal=` when the route needs a token, and
    `body=` / `query=` when the route names their schemas."""

    server = EdgeWebServer()

    def __init__(self, method: str, url: str, route: Route, **kwargs) -> None:
        self.route = route
        # The caller's mistakes are logged as warnings, not as crashes with tracebacks.
        kwargs.setdefault("expected_exceptions", (AppError,))
        super().__init__(method, url, **kwargs)

    def setup(self) -> None:
        super().setup()
        self.jwt_secret = config.jwt_secret(self.container.config)
        self.in_flight = 0
        self.at_once = (
            config.get_int(self.route.at_once_setting, self.container.config)
            if self.route.at_once_setting
            else None
        )

    def handle_request(self, request: Request) -> Response:
        if self.at_once is None:
            return super().handle_request(request)
        if self.in_flight >= self.at_once:
            # Answered here, in the server's green thread: a burst of such requests never
            # holds the workers that every other request needs.
            busy = TooManyRequests(
                "请求过多，请稍后重试。", {"retry_after_seconds": 1}, reason="busy"
            )
            return self.response_from_exception(busy)
        self.in_flight += 1
        try:
            return super().handle_request(request)
        finally:
            self.in_flight -= 1

    def get_entrypoint_parameters(self, request: Request):
        limit = self.route.max_body_bytes
        if (request.content_length or 0) > limit:
            raise payload_too_large(limit)
        # Bounds bodies sent without a Content-Length (chunked) as well. One byte past the
        # limit is read, so that read_json can tell a body at the limit from a longer one.
        request.max_content_length = limit + 1
        # eventlet's server ends every body (by Content-Length or the chunked framing); unless
        # told so, werkzeug reads a body without Content-Length as empty and drops it.
        request.environ["wsgi.input_terminated"] = True
        args, kwargs = super().get_entrypoint_parameters(request)
        # Ids reach handlers as text, in the UUID's canonical (lower-case) form.
        kwargs = {key: json_native(value) for key, value in kwargs.items()}
        reject_unstorable_text(kwargs)
        route = self.route
        if route.roles is not None:
            principal = principal_from_header(request.headers.get("Authorization"), self.jwt_secret)
            self.server.limits.check_account(principal.account_id)
            require_role(principal, *route.roles)
            kwargs["principal"] = principal
        elif route.optional_auth:
            header = request.headers.get("Authorization")
            principal = principal_from_header(header, self.jwt_secret) if header else None
            if principal is not None:
                self.server.limits.check_account(principal.account_id)
            kwargs["principal"] = principal
        if route.body is not None:
            raw = read_json(request, optional=route.body_optional)
            if raw is None and not request.get_data(cache=True):
                raw = {}  # an optional body left out
            kwargs["body"] = json_native(load_or_raise(route.body, raw))
        if route.query is not None:
            kwargs["query"] = json_native(load_or_raise(route.query, query_params(request)))
        return args, kwargs

    def response_from_result(self, result: Any) -> Response:
        if isinstance(result, Response):
            return result
        if result is None:
            return Response(status=204)
        if isinstance(result, tuple):
            status, payload = result
            declared = {
                self.route.status,
                *self.route.extra_success,
                *(status for status, _ in self.route.other_success),
                *self.route.error_statuses(),
            }
            if status not in declared:
                raise ValueError(f"{self.route.path} answered {status}, which it does not declare")
            return json_response(payload, status)
        return json_response(result, self.route.status)

    def response_from_exception(self, exc: BaseException) -> Response:
        if isinstance(exc, RequestEntityTooLarge):
            exc = payload_too_large(self.route.max_body_bytes)
        return error_response(exc)


def api(
    method: str,
    path: str,
    summary: str,
    tag: str,
    roles: tuple[str, ...] | None,
    **doc: Any,
):
    """Declare a route; `roles=None` makes it public, otherwise it needs a Bearer token,
    whose session is checked (gateway/sessions.py) before the handler runs."""
    route = Route(method, path, summary, tag, roles, **doc)
    ROUTES.append(route)
    register = ApiEndpoint.decorator(method, url_rule(path), route=route)
    if route.roles is None and not route.optional_auth:
        return register

    def decorate(handler):
        @functools.wraps(handler)
        def with_live_session(self, request: Request, *args: Any, **kwargs: Any) -> Any:
            principal = kwargs.get("principal")
            if principal is not None:
                ttl = config.get_float("SESSION_CHECK_SECONDS", self.config)
                SESSIONS.check(principal, self.registry, ttl)
            return handler(self, request, *args, **kwargs)

        return register(with_live_session)

    return decorate


def is_id_parameter(name: str) -> bool:
    """Path parameters named `…_id` are the platform's public ids: UUIDs (DESIGN.md)."""
    return name.endswith("_id")


def url_rule(path: str) -> str:
    """The werkzeug rule of an OpenAPI path. An id matches UUIDs only, so a malformed id is
    the door's 404 and a fixed path beside a parameter (`/plans/overdue-scan` beside
    `/plans/{plan_id}`) is never taken for an id: the `Allow` of a 405 stays true."""
    return re.sub(
        r"{(\w+)}",
        lambda m: f"<uuid:{m[1]}>" if is_id_parameter(m[1]) else f"<{m[1]}>",
        path,
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
        raise BadRequest("请求体无法读取。", reason="unreadable_body") from None
    if len(raw) > MAX_JSON_BODY_BYTES:
        raise payload_too_large()
    if not raw:
        if optional:
            return None
        raise BadRequest("请求体为空，应为 JSON。", reason="empty_body")
    if not is_json(request.mimetype):
        # Only JSON is read as JSON: a form or text/plain body is what a page on another
        # site can make a browser send without asking (no CORS preflight).
        raise UnsupportedMediaType(
            "请求体应为 JSON（Content-Type: application/json）。",
            {"content_type": request.mimetype or None},
            reason="unsupported_media_type",
        )
    try:
        data = json.loads(raw)
    # ValueError: also integers past Python's digit limit; RecursionError: absurd nesting.
    except (ValueError, RecursionError):
        # The parser's own words would tell an attacker about the parser, and a user nothing.
        raise BadRequest("请求体不是有效的 JSON。", reason="invalid_json") from None
    reject_unstorable_text(data)
    return data


def is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


def query_params(request: Request) -> dict[str, str]:
    """Single-valued query parameters (repeated ones keep the first)."""
    params = {key: request.args.get(key) for key in request.args}
    reject_unstorable_text(params)
    return params


def json_native(value: Any) -> Any:
    """Loaded data as JSON again, for an RPC: defaults of the schema filled in; UUIDs, dates
    and times strings in their canonical form, so the service loads exactly what the
    gateway checked."""
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
                raise BadRequest(
                    "文本中含有不允许的字符（NUL 或孤立的代理项）。", reason="unstorable_text"
                )
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
