"""Shaping registry answers for the caller: personal fields masked unless the role may see them.

Phone, e-mail and WeChat ID are personal information (DESIGN.md, PIPL). Whether
a caller may see them is decided in gateway/authz.py; this module only knows
how a masked value looks (`138****5678`).
"""

from __future__ import annotations

from typing import Any

from gateway import authz
from gateway.auth import Principal

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


def present_alumnus(principal: Principal, alumnus: dict[str, Any]) -> dict[str, Any]:
    if authz.may_see_personal_fields(principal, alumnus):
        return alumnus
    return {**alumnus, **{f: mask(f, alumnus.get(f)) for f in PERSONAL_FIELDS}}


def present_page(principal: Principal, page: dict[str, Any]) -> dict[str, Any]:
    return {**page, "items": [present_alumnus(principal, a) for a in page["items"]]}


def present_history(
    principal: Principal, alumnus: dict[str, Any], page: dict[str, Any]
) -> dict[str, Any]:
    if authz.may_see_personal_fields(principal, alumnus):
        return page
    items = [
        {
            **change,
            "old_value": mask(change["field"], change["old_value"]),
            "new_value": mask(change["field"], change["new_value"]),
        }
        if change["field"] in PERSONAL_FIELDS
        else change
        for change in page["items"]
    ]
    return {**page, "items": items}
