"""How a masked contact looks (`138****5678`, `z***@example.com`): the gateway's answers to
callers who may not see contacts, and the registry's history once its retention is over.

Standard library only.
"""

from __future__ import annotations

from typing import Any

PERSONAL_FIELDS = ("phone", "email", "wechat")


def mask(field: str, value: Any) -> Any:
    if not isinstance(value, str) or not value:
        return value
    if field == "phone":
        return value[:3] + "****" + value[-4:] if len(value) >= 7 else "****"
    if field == "email":
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    return value[:1] + "***"
