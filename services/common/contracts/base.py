"""The event envelope, the contract type, and zh-CN validation messages.

Marshmallow's stock messages are English; clients of this platform read
Chinese, so the default messages of the field types we use are set here, once,
for every schema in the project.
"""

from __future__ import annotations

import functools
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from services.common.errors import ValidationFailed

fields.Field.default_error_messages.update(
    {
        "required": "缺少必填字段。",
        "null": "该字段不能为空。",
        "validator_failed": "取值无效。",
    }
)
fields.String.default_error_messages.update({"invalid": "应为字符串。"})
fields.Integer.default_error_messages.update({"invalid": "应为整数。", "too_large": "数值过大。"})
fields.Boolean.default_error_messages.update({"invalid": "应为布尔值。"})
fields.Date.default_error_messages.update({"invalid": "应为 YYYY-MM-DD 格式的日期。"})
fields.DateTime.default_error_messages.update({"invalid": "应为 ISO 8601 格式的时间。"})
fields.AwareDateTime.default_error_messages.update({"invalid_awareness": "时间须带时区。"})
fields.Email.default_error_messages.update({"invalid": "电子邮箱格式不正确。"})
fields.UUID.default_error_messages.update({"invalid_uuid": "应为 UUID。"})
fields.List.default_error_messages.update({"invalid": "应为列表。"})
fields.Dict.default_error_messages.update({"invalid": "应为对象。"})
fields.Nested.default_error_messages.update({"type": "应为对象。"})
Schema.error_messages = {"unknown": "未知字段。", "type": "应为 JSON 对象。"}

CHINA_MOBILE = re.compile(r"^(?:\+86)?1[3-9]\d{9}$")

# Characters no name or free text of the platform carries: C0 controls (free text keeps
# tab and line feed), DEL and the C1 controls; the bidirectional embeddings, overrides and
# isolates (U+202A–U+202E, U+2066–U+2069), which can make a name read differently from
# what it is ("Trojan Source"); and the invisible zero-width characters (U+200B–U+200D,
# U+2060, U+FEFF), which make two names that look the same compare different.
_INVISIBLE = r"\u200b-\u200d\u2060\ufeff\u202a-\u202e\u2066-\u2069"  # escapes, as re reads them
_NAME_FORBIDDEN = f"\\x00-\\x1f\\x7f-\\x9f{_INVISIBLE}"
_TEXT_FORBIDDEN = f"\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f{_INVISIBLE}"
NAME_FORBIDDEN = re.compile(f"[{_NAME_FORBIDDEN}]")
TEXT_FORBIDDEN = re.compile(f"[{_TEXT_FORBIDDEN}]")


def _documented_pattern(forbidden: str) -> str:
    """The same rule as a JSON Schema `pattern` for /openapi.json (ECMA 262 and Python
    alike): no forbidden character anywhere, and some character that is not whitespace,
    or nothing at all. No `$`: Python's matches before a trailing newline."""
    return f"^(?![\\s\\S]*[{forbidden}])(?:(?=[\\s\\S]*\\S)|(?![\\s\\S]))"


NAME_PATTERN = _documented_pattern(_NAME_FORBIDDEN)
TEXT_PATTERN = _documented_pattern(_TEXT_FORBIDDEN)


def length(min_len: int | None = None, max_len: int | None = None) -> validate.Length:
    if min_len and max_len:
        message = f"长度应在 {min_len} 到 {max_len} 之间。"
    elif max_len:
        message = f"长度不能超过 {max_len}。"
    else:
        message = f"长度至少为 {min_len}。"
    return validate.Length(min=min_len, max=max_len, error=message)


def one_of(choices: list[str]) -> validate.OneOf:
    return validate.OneOf(choices, error="取值应为以下之一：" + "、".join(choices) + "。")


def in_range(low: int, high: int) -> validate.Range:
    return validate.Range(min=low, max=high, error=f"应在 {low} 到 {high} 之间。")


class FullMatch(validate.Regexp):
    """`validate.Regexp` over the whole value. Regexp's `match` with a pattern ending in
    `$` accepts a trailing newline (`$` matches just before one); `fullmatch` does not.
    The pattern itself stays `^…$`, so /openapi.json states it as JSON Schema reads it."""

    def __call__(self, value: str) -> str:
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


def pattern(regex: str | re.Pattern, error: str) -> FullMatch:
    return FullMatch(regex, error=error)


def china_mobile() -> FullMatch:
    return pattern(CHINA_MOBILE, error="手机号格式不正确，应为 11 位中国大陆手机号。")


class Name(fields.String):
    """A name, title or other one-line text: no control, bidi-override or zero-width
    character, and not only whitespace."""

    forbidden = NAME_FORBIDDEN
    documented_pattern = NAME_PATTERN
    default_error_messages = {
        "forbidden_character": "含有不允许的字符（控制字符、双向文本控制符或零宽字符）。",
        "blank": "不能只含空白字符。",
    }

    def __init__(self, **kwargs) -> None:
        kwargs["metadata"] = {"pattern": self.documented_pattern, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if self.forbidden.search(text):
            raise self.make_error("forbidden_character")
        if text and not text.strip():
            raise self.make_error("blank")
        return text


class Flag(fields.Boolean):
    """A yes/no in a JSON body: `true` or `false` only (marshmallow's Boolean also takes
    1, 0, "yes", "on", …, which /openapi.json's `boolean` does not allow). Query strings
    keep `fields.Boolean`: there every value is text."""

    def _deserialize(self, value, attr, data, **kwargs) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class Text(Name):
    """Free text over several lines: a `Name` that may also hold line feeds and tabs."""

    forbidden = TEXT_FORBIDDEN
    documented_pattern = TEXT_PATTERN


def iso_utc(moment: datetime) -> str:
    """UTC ISO 8601 with offset; SQLite hands back naive datetimes that were stored as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


class UtcDateTime(fields.AwareDateTime):
    """A moment on the wire: UTC ISO 8601 with its offset (`date-time` in OpenAPI).

    Dumps the datetimes the databases hand back (`iso_utc`: SQLite's naive ones are UTC),
    so that an output schema can be dumped straight from a row; loads only times that
    carry an offset.
    """

    def _serialize(self, value: datetime | None, attr, obj, **kwargs) -> str | None:
        return None if value is None else iso_utc(value)


class StrictSchema(Schema):
    """Rejects unknown fields: a misspelt field is an error, not silently dropped."""

    class Meta:
        unknown = RAISE


def load_or_raise(schema: Schema | type[Schema], data: Any, **kwargs) -> Any:
    """`schema.load`, turning marshmallow's error into the platform's ValidationFailed.

    A schema class is loaded through one shared instance of it: building a schema costs
    several times what loading a small payload does, and `load` keeps no state in it.
    """
    if isinstance(schema, type):
        schema = _shared_instance(schema)
    try:
        return schema.load(data, **kwargs)
    except ValidationError as error:
        raise ValidationFailed("请求数据校验失败。", {"fields": error.messages}) from None


@functools.cache
def _shared_instance(schema_class: type[Schema]) -> Schema:
    return schema_class()


@functools.cache
def _envelope_schema(data_schema: type[Schema]) -> Schema:
    nested = type(
        f"{data_schema.__name__}Event",
        (EventEnvelope,),
        {"data": fields.Nested(data_schema, required=True)},
    )
    return nested()


class PageQuery(StrictSchema):
    """`?limit=&cursor=` of every list (DESIGN.md: lists are cursor-paged)."""

    limit = fields.Integer(load_default=50, validate=in_range(1, 100))
    cursor = fields.String(load_default=None, allow_none=True, validate=length(1, 100))


class EventEnvelope(StrictSchema):
    event_id = fields.UUID(required=True)
    event_type = fields.String(required=True)
    occurred_at = fields.AwareDateTime(required=True)
    version = fields.Integer(required=True, strict=True, validate=in_range(1, 1000))
    data = fields.Dict(required=True)


@dataclass(frozen=True)
class EventContract:
    """An event type's payload schema; the envelope around it is the same for every event."""

    event_type: str
    version: int
    data_schema: type[Schema]
    description: str

    def envelope_schema(self) -> Schema:
        """The envelope with this contract's data nested: one instance per contract, made
        on first use (a schema class and instance per received event cost more than
        checking it)."""
        return _envelope_schema(self.data_schema)

    def build(self, data: dict[str, Any]) -> dict[str, Any]:
        errors = _shared_instance(self.data_schema).validate(data)
        if errors:
            raise ValueError(f"{self.event_type} payload breaks its contract: {errors}")
        return {
            "event_id": str(uuid.uuid4()),
            "event_type": self.event_type,
            "occurred_at": datetime.now(UTC).isoformat(),
            "version": self.version,
            "data": data,
        }

    def check(self, event: dict[str, Any]) -> dict[str, Any]:
        """Validate a received event; returns it unchanged (JSON-native) when it conforms."""
        errors = self.envelope_schema().validate(event)
        if errors:
            raise ValidationFailed(
                f"事件 {self.event_type} 不符合契约。", {"fields": errors}, reason="contract_breach"
            )
        return event


# ---- who reads, and the access log of every service that unmasks (security/rights.md) ----


class AccessLogQuery(PageQuery):
    alumnus_id = fields.UUID()
    account_id = fields.String(validate=length(1, 36))
    since = UtcDateTime()
    until = UtcDateTime()


class AccessLogEntry(StrictSchema):
    at = fields.String(required=True, metadata={"format": "date-time"})
    account_id = fields.String(required=True)
    username = fields.String(required=True)
    role = fields.String(required=True)
    alumnus_id = fields.String(
        required=True, allow_none=True, metadata={"description": "whose data it was"}
    )
    record = fields.String(
        required=True,
        metadata={
            "description": "what was read: alumnus:<id>, visit:<id>, project:<id>, "
            "event:<id> (its roster), message:<id> (the delivery log)"
        },
    )
    fields_ = fields.List(fields.String(), required=True, data_key="fields")
    purpose = fields.String(required=True)
    service = fields.String(metadata={"description": "the service that logged the read"})
