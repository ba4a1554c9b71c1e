"""The registry service in a real nameko container, called over real RabbitMQ."""

from __future__ import annotations

import re
import uuid

import pytest
from nameko.exceptions import RemoteError

from services.common.errors import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    ValidationFailed,
)

CJK = re.compile(r"[\u4e00-\u9fff]")
OFFICE = {"account_id": "acc-1", "username": "zhao.office", "role": "office", "department_id": None}


def new_alumnus(department_id, **fields):
    return {
        "name": "王小明",
        "phone": "+8613812345678",
        "city": "北京",
        "employer": "Huawei",
        "graduations": [
            {
                "department_id": department_id,
                "major": "计算机科学与技术",
                "degree": "bachelor",
                "class_year": 2010,
            }
        ],
        **fields,
    }


@pytest.fixture
def registry(registry_container, rpc_cluster):
    return rpc_cluster.registry


@pytest.fixture
def department(registry):
    return registry.create_department({"name": "计算机学院", "code": "CS"})


def test_department_alumnus_get_search_update_history(registry, department):
    assert registry.health() == {"service": "registry", "status": "ok"}
    assert uuid.UUID(department["id"])
    assert registry.list_departments() == [department]

    created = registry.create_alumnus(new_alumnus(department["id"]), OFFICE)
    assert created["phone"] == "13812345678"
    assert created["graduations"][0]["department_id"] == department["id"]
    registry.create_alumnus(new_alumnus(department["id"], name="李雷", city="上海"), OFFICE)

    assert registry.get_alumnus(created["id"]) == created

    page = registry.search_alumni({"q": "小明", "department_id": department["id"]})
    assert [item["id"] for item in page["items"]] == [created["id"]]
    assert page["next_cursor"] is None
    first = registry.search_alumni({"limit": 1})
    second = registry.search_alumni({"limit": 1, "cursor": first["next_cursor"]})
    assert {first["items"][0]["name"], second["items"][0]["name"]} == {"王小明", "李雷"}
    assert second["next_cursor"] is None

    liaison = {
        "account_id": "acc-2",
        "username": "li.liaison",
        "role": "liaison",
        "department_id": department["id"],
    }
    updated = registry.update_alumnus(created["id"], {"employer": "Tencent"}, liaison)
    assert updated["employer"] == "Tencent"
    assert registry.get_alumnus(created["id"])["employer"] == "Tencent"

    history = registry.alumnus_history(created["id"])["items"]
    employer = [h for h in history if h["field"] == "employer"]
    assert [(h["old_value"], h["new_value"], h["actor"], h["source"]) for h in employer] == [
        (None, "Huawei", "zhao.office", "office"),
        ("Huawei", "Tencent", "li.liaison", "liaison"),
    ]
    graduations = registry.get_alumnus(created["id"])["graduations"]
    assert [g["department_id"] for g in graduations] == [department["id"]]


def test_validation_errors_arrive_as_platform_type_with_chinese_details(registry, department):
    with pytest.raises(ValidationFailed) as caught:
        registry.create_alumnus(new_alumnus(department["id"], phone="12345", nickname="x"), OFFICE)
    error = caught.value
    assert not isinstance(error, RemoteError)
    assert error.code == "VALIDATION_ERROR"
    assert CJK.search(error.message)
    assert error.details["fields"]["phone"] == ["手机号格式不正确，应为 11 位中国大陆手机号。"]
    assert error.details["fields"]["nickname"] == ["未知字段。"]


def test_unknown_department_is_a_validation_error(registry, department):
    missing = str(uuid.uuid4())
    with pytest.raises(ValidationFailed) as caught:
        registry.create_alumnus(new_alumnus(missing), OFFICE)
    assert caught.value.reason == "unknown_department"
    assert missing in caught.value.details["fields"]["graduations"][0]
    assert registry.search_alumni({})["items"] == []


def test_not_found_arrives_as_platform_type(registry):
    for alumnus_id in (str(uuid.uuid4()), "not-a-uuid"):
        with pytest.raises(NotFound) as caught:
            registry.get_alumnus(alumnus_id)
        assert caught.value.details == {"alumnus_id": alumnus_id, "reason": "alumnus_not_found"}
        with pytest.raises(NotFound):
            registry.update_alumnus(alumnus_id, {"city": "上海"}, OFFICE)
        with pytest.raises(NotFound):
            registry.alumnus_history(alumnus_id)


def test_conflict_and_bad_cursor_and_authentication(registry, department):
    with pytest.raises(Conflict) as conflict:
        registry.create_department({"name": "计算机学院", "code": "CS2"})
    assert CJK.search(conflict.value.message)
    assert conflict.value.reason == "department_taken"

    with pytest.raises(ValidationFailed) as bad_cursor:
        registry.search_alumni({"cursor": "!!!"})
    assert "cursor" in bad_cursor.value.details["fields"]

    credentials = {"username": "li.liaison", "password": "long-enough-password"}
    account = registry.create_account(
        {**credentials, "role": "liaison", "department_id": department["id"]}
    )
    assert registry.authenticate(credentials)["id"] == account["id"]
    with pytest.raises(AuthenticationFailed) as wrong:
        registry.authenticate({**credentials, "password": "wrong-password"})
    assert wrong.value.reason == "bad_credentials"
