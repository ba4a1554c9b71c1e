"""Notifications: the office manages templates, newsletters and the delivery log; a liaison
composes and sends newsletters to their own department's alumni only and sees those; the
committee reads newsletters; everyone reads their own inbox, and an alumnus their own
preferences. Nobody sees anyone else's messages."""

from __future__ import annotations

from typing import Any

from gateway.auth import Principal
from gateway.authz.base import LIAISON, in_own_department, scope_department
from services.common.errors import NotFound, PermissionDenied


def scope_newsletters(principal: Principal, params: dict[str, Any]) -> dict[str, Any]:
    return scope_department(principal, params) if principal.role == LIAISON else params


def newsletter_segment(principal: Principal, data: dict[str, Any]) -> dict[str, Any]:
    """A liaison's newsletter goes to their department's alumni: the segment's department is
    theirs (filled in when left out; another one is 403)."""
    if principal.role != LIAISON:
        return data
    segment = dict(data["segment"])
    asked = segment.get("department_id")
    if asked is not None and str(asked) != principal.department_id:
        raise PermissionDenied(
            "联络员只能向本院系校友发送通报。",
            {"field": "segment.department_id"},
            reason="other_department",
        )
    segment["department_id"] = principal.department_id
    return {**data, "segment": segment}


def check_newsletter(principal: Principal, newsletter: dict[str, Any]) -> None:
    """Another department's newsletter answers to a liaison as one that does not exist."""
    if not in_own_department(principal, newsletter):
        raise NotFound("通报不存在。", {"newsletter_id": newsletter["id"]})
