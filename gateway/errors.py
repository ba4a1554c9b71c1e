"""The one table that maps platform errors to HTTP statuses, and the JSON error body.

Body: {"error": {"code": "...", "message": "...", "details": {...}}}. Anything
not in the table is a bug: it is logged with its traceback and answered with a
generic 500 that reveals nothing of the internals.
"""

from __future__ import annotations

import json
import logging

from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from services.common import errors

log = logging.getLogger(__name__)


class PayloadTooLarge(errors.AppError):
    code = "PAYLOAD_TOO_LARGE"


class RouteNotFound(errors.AppError):
    code = "NOT_FOUND"


class MethodNotDeclared(errors.AppError):
    code = "METHOD_NOT_ALLOWED"


class UnsupportedMediaType(errors.AppError):
    code = "UNSUPPORTED_MEDIA_TYPE"


class RateLimited(errors.TooManyRequests):
    """Over a gateway rate limit; `details["retry_after_seconds"]` becomes `Retry-After`
    (429, as for too many logins)."""

    code = "RATE_LIMITED"


STATUS_BY_ERROR: dict[type[errors.AppError], int] = {
    errors.BadRequest: 400,
    errors.ValidationFailed: 422,
    errors.AuthenticationFailed: 401,
    errors.PermissionDenied: 403,
    errors.NotFound: 404,
    RouteNotFound: 404,
    errors.Conflict: 409,
    PayloadTooLarge: 413,
    errors.TooManyRequests: 429,
    MethodNotDeclared: 405,
    UnsupportedMediaType: 415,
    errors.ServiceUnavailable: 503,
    errors.ServiceTimeout: 504,
}


def json_response(payload: object, status: int = 200, headers: dict | None = None) -> Response:
    return Response(
        json.dumps(payload, ensure_ascii=False),
        status=status,
        headers=headers,
        content_type="application/json; charset=utf-8",
    )


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(exc: BaseException) -> Response:
    for error_type in type(exc).__mro__:
        status = STATUS_BY_ERROR.get(error_type)
        if status is not None:
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
            if "retry_after_seconds" in exc.details:
                headers["Retry-After"] = str(exc.details["retry_after_seconds"])
            return json_response(error_body(exc.code, exc.message, exc.details), status, headers)
    if isinstance(exc, HTTPException) and exc.code and exc.code < 500:
        return json_response(error_body("BAD_REQUEST", "请求无效。"), exc.code)
    log.error("unhandled error answering a request", exc_info=exc)
    return json_response(error_body("INTERNAL_ERROR", "服务器内部错误，请稍后重试。"), 500)
