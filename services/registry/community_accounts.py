"""The scope of a community account: the chapter a `chapter_officer` account is bound to,
the messenger appointment (hence the class) a `messenger` account is bound to.

The office creates these accounts through the one account route (POST /api/v1/accounts),
naming `chapter_id` or `messenger_id`; the scope then travels in the access token and the
signed caller (docs/community.md).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from services.common.errors import ValidationFailed
from services.registry.chapters import CHAPTER_OFFICER, check_chapter_exists
from services.registry.messengers import MESSENGER, check_messenger_exists

SCOPES = {CHAPTER_OFFICER: "chapter_id", MESSENGER: "messenger_id"}
ROLE_NAMES = {CHAPTER_OFFICER: "分会负责人", MESSENGER: "校友信使"}


def community_scope(session: Session, data: dict[str, Any]) -> dict[str, str | None]:
    """`{"chapter_id", "messenger_id"}` for a new account of `data["role"]`: the one its
    role needs (422 naming the field when missing or unknown), the other None; any other
    role names neither."""
    role = data["role"]
    scope: dict[str, str | None] = {"chapter_id": None, "messenger_id": None}
    for field in scope:
        if data.get(field) and SCOPES.get(role) != field:
            raise ValidationFailed(
                "请求数据校验失败。",
                {"fields": {field: ["该角色的账号不关联此项。"]}},
                reason="scope_not_for_role",
            )
    field = SCOPES.get(role)
    if field is None:
        return scope
    if not data.get(field):
        raise ValidationFailed(
            f"{ROLE_NAMES[role]}账号必须指定 {field}。",
            {"fields": {field: ["必须指定。"]}},
            reason="scope_required",
        )
    check = check_chapter_exists if role == CHAPTER_OFFICER else check_messenger_exists
    scope[field] = check(session, data[field])
    return scope
