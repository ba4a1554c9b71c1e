"""What the events service's areas share: contacts, notes, histories, staff usernames."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validates_schema

from services.common.contracts.base import (
    Name,
    StrictSchema,
    Text,
    UtcDateTime,
    china_mobile,
    in_range,
    length,
    pattern,
)

MAX_PAGE_SIZE = 100
STAFF_USERNAME = pattern(
    r"^[A-Za-z0-9_.-]{3,50}$", error="应为员工用户名：3 到 50 位字母、数字或 _.-。"
)


def page_limit(default: int) -> fields.Integer:
    """`limit` of a list whose page is shorter by default than the shared page query's."""
    return fields.Integer(load_default=default, validate=in_range(1, MAX_PAGE_SIZE))


class ContactInput(StrictSchema):
    """A person to reach; at least a phone number or an e-mail address."""

    name = Name(required=True, validate=length(1, 50))
    phone = fields.String(allow_none=True, load_default=None, validate=china_mobile())
    email = fields.Email(allow_none=True, load_default=None, validate=length(max_len=254))

    @validates_schema
    def _reachable(self, data, **_kwargs) -> None:
        if not data.get("phone") and not data.get("email"):
            raise ValidationError("联系电话或电子邮箱至少填写一项。", "phone")


class ContactOut(StrictSchema):
    name = fields.String(required=True)
    phone = fields.String(allow_none=True, required=True)
    email = fields.String(allow_none=True, required=True)


class NoteInput(StrictSchema):
    note = Text(required=True, validate=length(1, 5_000))


class Step(StrictSchema):
    """One entry of a history: the status after it, its note, who and when."""

    status = fields.String(required=True)
    note = fields.String(allow_none=True, required=True)
    actor = fields.String(required=True)
    at = UtcDateTime(required=True)
