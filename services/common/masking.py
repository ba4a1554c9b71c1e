"""How a masked contact looks (`138****5678`, `z***@example.com`) in the registry's history
once its retention is over (services/registry/retention.py): as the gateway masks it for
callers who may not see contacts (gateway/presenters.py `mask`, the same rule; one of the
two goes when masking moves into the services).

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
