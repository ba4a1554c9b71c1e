"""Errors that cross service boundaries.

Each carries a stable `code` (mapped to an HTTP status in one table, gateway/errors.py),
a Chinese `message` for people, and `details`; where a caller may need to tell one
refusal from another, `details["reason"]` names it in a machine-readable word
(`event_full`, `expired`, …), so that messages can be reworded without breaking clients
or tests.

This module imports no framework. nameko learns these types (so that an RPC caller gets
the same exception back instead of a `RemoteError`) from services.common.rpc, which
registers every subclass, present and future, when nameko is loaded.
"""

from __future__ import annotations

from typing import Any

KNOWN_ERRORS: list[type[AppError]] = []
"""Every AppError type defined so far, for the RPC layer to register with nameko."""
_on_new_error: list = []


class AppError(Exception):
    code = "ERROR"

    def __init__(
        self, message: str, details: dict[str, Any] | None = None, *, reason: str | None = None
    ) -> None:
        details = dict(details or {})
        if reason is not None:
            details["reason"] = reason
        super().__init__(message, details)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        KNOWN_ERRORS.append(cls)
        for hook in _on_new_error:
            hook(cls)

    @property
    def message(self) -> str:
        return self.args[0]

    @property
    def details(self) -> dict[str, Any]:
        return self.args[1]

    @property
    def reason(self) -> str | None:
        return self.details.get("reason")

    def __str__(self) -> str:
        return self.message


KNOWN_ERRORS.append(AppError)


def on_new_error_type(hook) -> None:
    """Call `hook(cls)` for every AppError type, those defined already and those to come."""
    _on_new_error.append(hook)
    for cls in list(KNOWN_ERRORS):
        hook(cls)


class BadRequest(AppError):
    code = "BAD_REQUEST"


class ValidationFailed(AppError):
    code = "VALIDATION_ERROR"


class NotFound(AppError):
    code = "NOT_FOUND"


class Conflict(AppError):
    code = "CONFLICT"


class AuthenticationFailed(AppError):
    code = "UNAUTHENTICATED"


class PermissionDenied(AppError):
    code = "FORBIDDEN"


class TooManyRequests(AppError):
    """Too many attempts (logins): `details["retry_after_seconds"]` says how long to wait."""

    code = "TOO_MANY_REQUESTS"


class ServiceUnavailable(AppError):
    code = "SERVICE_UNAVAILABLE"


class ServiceTimeout(AppError):
    code = "SERVICE_TIMEOUT"


EXPECTED_ERRORS = (
    BadRequest,
    ValidationFailed,
    NotFound,
    Conflict,
    AuthenticationFailed,
    PermissionDenied,
    TooManyRequests,
)
"""Errors that are the caller's fault; RPC entrypoints log them as warnings, not crashes."""
