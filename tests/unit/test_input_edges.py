"""Input edges of every contract: names and free text refuse control, bidi-override and
zero-width characters and whitespace-only values; patterns match the whole value (a
trailing newline is not "the end"); every human-text field of every schema uses the
shared field types, so a new field cannot forget them."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import uuid

import pytest
from marshmallow import Schema, fields, validate

from gateway import schemas as edge_schemas
from services.common import contracts
from services.common.contracts import registry
from services.common.contracts.base import (
    Flag,
    FullMatch,
    Name,
    StrictSchema,
    Text,
    load_or_raise,
)
from services.common.contracts.events import common as events_common
from services.common.errors import ValidationFailed


class OneLine(StrictSchema):
    name = Name(required=True)


class Free(StrictSchema):
    text = Text(required=True)


def refused(schema: type[Schema], data: dict) -> dict:
    with pytest.raises(ValidationFailed) as caught:
        load_or_raise(schema, data)
    return caught.value.details["fields"]


BIDI_AND_INVISIBLE = [
    *[chr(c) for c in range(0x202A, 0x202F)],
    *[chr(c) for c in range(0x2066, 0x206A)],
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\ufeff",
]


@pytest.mark.parametrize("character", ["\x01", "\x1b", "\r", "\n", "\t", "\x7f", "\x85"])
def test_a_name_refuses_every_control_character(character):
    assert "name" in refused(OneLine, {"name": f"张{character}伟"})


@pytest.mark.parametrize("character", BIDI_AND_INVISIBLE)
def test_names_and_text_refuse_bidi_controls_and_zero_width_characters(character):
    assert "name" in refused(OneLine, {"name": f"张{character}伟"})
    assert "text" in refused(Free, {"text": f"第一行{character}"})


@pytest.mark.parametrize("blank", [" ", "   ", "\u3000", "\u00a0 "])
def test_whitespace_only_is_refused(blank):
    assert "name" in refused(OneLine, {"name": blank})
    assert "text" in refused(Free, {"text": blank + "\n\t"})


@pytest.mark.parametrize("character", ["\r", "\x00", "\x0b", "\x0c", "\x1f", "\x9b"])
def test_free_text_refuses_controls_other_than_line_feed_and_tab(character):
    assert "text" in refused(Free, {"text": f"一{character}二"})


def test_ordinary_names_and_multi_line_text_load_unchanged():
    names = ["张伟", "买买提·艾力", "O'Brien-Smith Jr.", "李 雷"]
    for name in names:
        assert load_or_raise(OneLine, {"name": name}) == {"name": name}
    text = "第一行\n\t第二行：带制表符\n"
    assert load_or_raise(Free, {"text": text}) == {"text": text}


def test_the_registry_refuses_a_bidi_override_in_an_alumnus_name():
    assert "name" in refused(registry.AlumnusFields, {"name": "张\u202e伟"})


@pytest.mark.parametrize("phone", ["13812345678\n", "+8613812345678\n", "13812345678\r\n"])
def test_a_phone_number_with_a_trailing_newline_is_refused(phone):
    graduation = {"department_id": str(uuid.uuid4()), "major": "数学", "degree": "bachelor"}
    good = {"name": "张伟", "graduations": [{**graduation, "class_year": 2010}]}
    good["phone"] = "13812345678"
    load_or_raise(registry.AlumnusInput, good)
    assert "phone" in refused(registry.AlumnusInput, {**good, "phone": phone})
    contact = {"name": "张伟", "phone": phone}
    assert "phone" in refused(events_common.ContactInput, contact)


def test_usernames_and_wechat_ids_are_matched_whole():
    account = {"username": "li.lei\n", "password": "a long passphrase", "role": "office"}
    assert "username" in refused(registry.AccountInput, account)
    assert "wechat" in refused(registry.AlumnusFields, {"wechat": "wxid_abcdef\n"})


# ---- every schema, so that a new field cannot forget ----------------------------------

HUMAN_TEXT = {
    "name", "title", "subject", "venue", "city", "province", "class_name", "major",
    "industry", "employer", "company", "partner", "host", "signer_name", "payer_name",
    "receipt_name", "item", "unit", "custody_location", "appraiser", "location",
    "plaque_text", "q", "document_ref", "note", "notes", "description", "body", "text_body",
    "reason", "purpose", "answer", "summary", "decision_note", "outcome_notes",
}  # fmt: skip
# Raw bytes as another party sent them, checked by their signature, not by these rules.
NOT_HUMAN_TEXT = {("PaymentNotification", "body")}


def all_schemas() -> list[type[Schema]]:
    modules = [edge_schemas]
    for info in pkgutil.walk_packages(contracts.__path__, contracts.__name__ + "."):
        modules.append(importlib.import_module(info.name))
    found = []
    for module in modules:
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, Schema) and value.__module__ == module.__name__:
                found.append(value)
    return found


def loaded_fields(schema: type[Schema]):
    """The fields of `schema` a client's input goes through: those with validators (the
    answers' schemas describe, they do not check), other than fixed choices."""
    for name, field in schema._declared_fields.items():
        inner = field.inner if isinstance(field, fields.List) else field
        checked = inner.validators
        # A choice among fixed words is stricter than any rule on text.
        if any(isinstance(v, validate.OneOf) for v in checked):
            continue
        if isinstance(inner, fields.String) and not field.dump_only and checked:
            yield name, inner


def test_the_schemas_were_found():
    assert len(all_schemas()) > 100


def test_every_human_text_field_of_every_schema_uses_name_or_text():
    offenders = [
        f"{schema.__module__}.{schema.__name__}.{name}"
        for schema in all_schemas()
        for name, field in loaded_fields(schema)
        if name in HUMAN_TEXT
        and (schema.__name__, name) not in NOT_HUMAN_TEXT
        and not isinstance(field, Name)
    ]
    assert offenders == []


def test_every_pattern_of_every_schema_matches_the_whole_value():
    offenders = []
    for schema in all_schemas():
        for name, field in schema._declared_fields.items():
            inner = field.inner if isinstance(field, fields.List) else field
            for validator in inner.validators:
                if isinstance(validator, validate.Regexp) and not isinstance(validator, FullMatch):
                    offenders.append(f"{schema.__name__}.{name}")
    assert offenders == []


# ---- the same rules as /openapi.json states them -------------------------------------------

SAMPLES = [
    "",
    "张伟",
    " 张伟 ",
    "a\nb",
    "a\tb",
    "a\n",
    "\n",
    " \t ",
    "\u3000",
    "a\rb",
    "a\x00",
    "a\u202eb",
    "\u200b",
    "x\ufeff",
    "a\x85",
    "\U0001f393 学院",
]


@pytest.mark.parametrize("sample", SAMPLES)
def test_the_documented_pattern_says_what_the_field_does(sample):
    for schema, key in ((OneLine, "name"), (Free, "text")):
        field = schema._declared_fields[key]
        documented = re.search(field.metadata["pattern"], sample) is not None
        try:
            load_or_raise(schema, {key: sample})
            accepted = True
        except ValidationFailed:
            accepted = False
        assert documented == accepted, (key, sample)


class Choice(StrictSchema):
    flag = Flag(required=True)


@pytest.mark.parametrize("value", [0, 1, "true", "false", "yes", None, 1.0])
def test_a_flag_in_a_body_is_true_or_false_only(value):
    assert "flag" in refused(Choice, {"flag": value})


def test_every_yes_no_of_every_route_body_is_a_flag():
    import gateway.service  # noqa: F401  (declares the routes)
    from gateway.http import ROUTES

    offenders = []

    def walk(schema: type[Schema]) -> None:
        for name, field in schema._declared_fields.items():
            inner = field.inner if isinstance(field, fields.List) else field
            if isinstance(inner, fields.Boolean) and not isinstance(inner, Flag):
                offenders.append(f"{schema.__name__}.{name}")
            if isinstance(inner, fields.Nested) and isinstance(inner.nested, type):
                walk(inner.nested)

    for route in ROUTES:
        if route.body is not None:
            walk(route.body)
    assert load_or_raise(Choice, {"flag": False}) == {"flag": False}
    assert offenders == []
