"""Errors that cross service boundaries.

Each is registered with nameko's `deserialize_to_instance`, so a caller of an
RPC method receives the same exception type, with its message and details,
instead of a generic `RemoteError`. The gateway maps each `code` to an HTTP
status in one table (gateway/errors.py).
"""

from __future__ import annotations

from typing import Any

from nameko.exceptions import deserialize_to_instance


@deserialize_to_instance
class AppError(Exception):
    code = "ERROR"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details or {})

    @property
    def message(self) -> str:
        return self.args[0]

    @property
    def details(self) -> dict[str, Any]:
        return self.args[1]

    def __str__(self) -> str:
        return self.message


@deserialize_to_instance
class BadRequest(AppError):
    code = "BAD_REQUEST"


@deserialize_to_instance
class ValidationFailed(AppError):
    code = "VALIDATION_ERROR"


@deserialize_to_instance
class NotFound(AppError):
    code = "NOT_FOUND"


@deserialize_to_instance
class Conflict(AppError):
    code = "CONFLICT"


@deserialize_to_instance
class AuthenticationFailed(AppError):
    code = "UNAUTHENTICATED"


@deserialize_to_instance
class PermissionDenied(AppError):
    code = "FORBIDDEN"


@deserialize_to_instance
class ServiceUnavailable(AppError):
    code = "SERVICE_UNAVAILABLE"


@deserialize_to_instance
class ServiceTimeout(AppError):
    code = "SERVICE_TIMEOUT"


EXPECTED_ERRORS = (
    BadRequest,
    ValidationFailed,
    NotFound,
    Conflict,
    AuthenticationFailed,
    PermissionDenied,
)
"""Errors that are the caller's fault; RPC entrypoints log them as warnings, not crashes."""
