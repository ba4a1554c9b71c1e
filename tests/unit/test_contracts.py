"""Contracts: what the registry accepts, in Chinese, and what an event must look like."""

from __future__ import annotations

import re
import uuid

import pytest
from marshmallow import Schema

from services.common.contracts import EVENT_CONTRACTS, build_event, check_event
from services.common.contracts import registry as contract
from services.common.contracts.base import load_or_raise
from services.common.errors import ValidationFailed
from tests.support.registry_data import alumnus_snapshot

CJK = re.compile(r"[\u4e00-\u9fff]")


def valid_input(**overrides):
    data = {
        "name": "王小明",
        "phone": "13812345678",
        "email": "wang@example.com",
        "graduations": [
            {
                "department_id": str(uuid.uuid4()),
                "major": "计算机科学与技术",
                "degree": "bachelor",
                "class_year": 2010,
            }
        ],
    }
    data.update(overrides)
    return data


def alumnus_record(**overrides):
    return alumnus_snapshot(
        phone="13812345678",
        city="北京",
        graduations=[
            {
                "department_id": str(uuid.uuid4()),
                "major": "物理学",
                "degree": "master",
                "class_year": 2015,
                "class_name": None,
            }
        ],
        **overrides,
    )


def field_errors(data):
    with pytest.raises(ValidationFailed) as caught:
        load_or_raise(contract.AlumnusInput(), data)
    assert CJK.search(caught.value.message)
    return caught.value.details["fields"]


def leaf_messages(errors):
    if isinstance(errors, dict):
        for value in errors.values():
            yield from leaf_messages(value)
    elif isinstance(errors, list):
        for value in errors:
            yield from leaf_messages(value)
    else:
        yield errors


def test_valid_input_loads():
    loaded = load_or_raise(contract.AlumnusInput(), valid_input())
    assert loaded["name"] == "王小明"
    assert isinstance(loaded["graduations"][0]["department_id"], uuid.UUID)


def test_accepts_phone_with_plus86_prefix():
    loaded = load_or_raise(contract.AlumnusInput(), valid_input(phone="+8613812345678"))
    assert loaded["phone"] == "+8613812345678"


@pytest.mark.parametrize(
    "phone", ["1381234567", "138123456789", "12812345678", "+85213812345678", "1381234567a"]
)
def test_rejects_malformed_phone(phone):
    errors = field_errors(valid_input(phone=phone))
    assert list(errors) == ["phone"]
    assert "手机号" in errors["phone"][0]


@pytest.mark.parametrize("email", ["wang", "wang@", "@example.com", "wang example.com"])
def test_rejects_malformed_email(email):
    errors = field_errors(valid_input(email=email))
    assert errors == {"email": ["电子邮箱格式不正确。"]}


@pytest.mark.parametrize("class_year", ["2010", "二〇一〇", 2010.5, None])
def test_rejects_non_integer_class_year(class_year):
    data = valid_input()
    data["graduations"][0]["class_year"] = class_year
    errors = field_errors(data)
    assert list(errors) == ["graduations"]
    assert "class_year" in errors["graduations"][0]


def test_rejects_missing_name_and_graduations():
    data = valid_input()
    del data["name"], data["graduations"]
    errors = field_errors(data)
    assert errors == {"name": ["缺少必填字段。"], "graduations": ["缺少必填字段。"]}


def test_rejects_empty_graduations():
    errors = field_errors(valid_input(graduations=[]))
    assert list(errors) == ["graduations"]


def test_rejects_unknown_fields_top_level_and_nested():
    data = valid_input(nickname="小明")
    data["graduations"][0]["advisor"] = "李老师"
    errors = field_errors(data)
    assert errors["nickname"] == ["未知字段。"]
    assert errors["graduations"][0]["advisor"] == ["未知字段。"]


def test_every_validation_message_is_chinese():
    data = {
        "name": "",
        "gender": "robot",
        "birth_date": "1990-13-45",
        "phone": "12345",
        "email": "nope",
        "wechat": "1abc",
        "tags": "not-a-list",
        "graduations": [
            {"department_id": "x", "major": "", "degree": "phd", "class_year": 1800, "bad": 1}
        ],
        "unknown": True,
    }
    errors = field_errors(data)
    messages = list(leaf_messages(errors))
    assert len(messages) >= 10
    not_chinese = [m for m in messages if not CJK.search(m)]
    assert not_chinese == []


def test_build_event_envelope_checks_against_its_contract():
    record = alumnus_record()
    event = build_event("alumnus_registered", record)
    assert uuid.UUID(event["event_id"])
    assert event["event_type"] == "alumnus_registered"
    assert event["version"] == EVENT_CONTRACTS["alumnus_registered"].version
    assert event["occurred_at"].endswith("+00:00")
    assert event["data"] == record
    assert check_event(event) is event


def test_event_contract_build_rejects_payload_that_breaks_schema():
    contract_ = EVENT_CONTRACTS["alumnus_registered"]
    missing_id = alumnus_record()
    del missing_id["id"]
    with pytest.raises(ValueError, match="alumnus_registered"):
        contract_.build(missing_id)
    with pytest.raises(ValueError):
        contract_.build(alumnus_record(surprise="field"))
    with pytest.raises(ValueError):
        build_event(
            "alumnus_updated", {"id": "x", "changes": {}, "source": "hacker", "alumnus": {}}
        )


@pytest.mark.parametrize("missing", ["event_id", "event_type", "occurred_at", "version", "data"])
def test_check_event_rejects_missing_envelope_field(missing):
    event = build_event("alumnus_registered", alumnus_record())
    del event[missing]
    with pytest.raises(ValidationFailed) as caught:
        check_event(event)
    assert CJK.search(caught.value.message)
    if missing != "event_type":
        assert missing in caught.value.details["fields"]


def test_check_event_rejects_bad_envelope_values():
    event = build_event("alumnus_registered", alumnus_record())
    for field, value in [
        ("event_id", "not-a-uuid"),
        ("occurred_at", "2024-01-01T00:00:00"),
        ("version", 0),
        ("version", "one"),
    ]:
        broken = {**event, field: value}
        with pytest.raises(ValidationFailed) as caught:
            check_event(broken)
        assert field in caught.value.details["fields"]


def test_check_event_rejects_data_that_breaks_contract():
    event = build_event("alumnus_registered", alumnus_record())
    event["data"] = {**event["data"], "tags": "not-a-list"}
    with pytest.raises(ValidationFailed) as caught:
        check_event(event)
    assert "data" in caught.value.details["fields"]


@pytest.mark.parametrize("event", [{"event_type": "alumnus_abducted"}, {}, "a string", None])
def test_check_event_rejects_unknown_event_type(event):
    with pytest.raises(ValidationFailed) as caught:
        check_event(event)
    assert caught.value.reason == "unknown_event_type"


def test_a_payload_loaded_and_an_event_built_and_checked_again_build_no_schema(monkeypatch):
    """One schema instance per class, made on first use (issue 12): building a schema costs
    more than loading or checking a small payload with it."""

    def once():
        load_or_raise(contract.AlumnusInput, valid_input())
        check_event(build_event("alumnus_registered", alumnus_record()))

    once()
    built = []
    real_init = Schema.__init__

    def counting_init(self, *args, **kwargs):
        built.append(type(self).__name__)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(Schema, "__init__", counting_init)
    once()
    assert built == []
