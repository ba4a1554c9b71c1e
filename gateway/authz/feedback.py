"""Suggestions and service requests: an alumnus submits and reads their own; the office
submits on an alumnus's behalf and handles them all; the committee reads them all."""

from __future__ import annotations

from typing import Any

from gateway.auth import Principal
from gateway.authz.base import (
    ALUMNUS,
    COMMITTEE,
    OFFICE,
    as_themselves,
    require_role,
    required_alumnus,
)


def submitter(principal: Principal, data: dict[str, Any]) -> str:
    """Whose suggestion or service request: an alumnus's own; the office names the alumnus."""
    require_role(principal, OFFICE, ALUMNUS)
    if principal.role == ALUMNUS:
        return as_themselves(principal, data.get("alumnus_id"), "alumnus_id")
    return required_alumnus(data)


def scope_own_submissions(principal: Principal, params: dict[str, Any]) -> dict[str, Any]:
    """Suggestions and service requests: staff who read everything see all; an alumnus theirs."""
    require_role(principal, OFFICE, COMMITTEE, ALUMNUS)
    if principal.role != ALUMNUS:
        return params
    return {
        **params,
        "alumnus_id": as_themselves(principal, params.get("alumnus_id"), "alumnus_id"),
    }
