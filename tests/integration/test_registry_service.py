"""The registry service in a real nameko container, called over real RabbitMQ."""

from __future__ import annotations

import re
import uuid

import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcProxy

from services.common.caller import HEADER, Caller, caller_key, sign
from services.common.errors import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from tests.support.callers import OFFICE, signed_context

CJK = re.compile(r"[\u4e00-\u9fff]")


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


def test_department_alumnus_get_search_update_history(registry, department, rabbit_config):
    assert registry.health() == {"service": "registry", "status": "ok", "broker": "ok"}
    assert uuid.UUID(department["id"])
    assert registry.list_departments() == [department]

    created = registry.create_alumnus(new_alumnus(department["id"]))
    assert created["phone"] == "13812345678"
    assert created["graduations"][0]["department_id"] == department["id"]
    registry.create_alumnus(new_alumnus(department["id"], name="李雷", city="上海"))

    # Shown for a purpose (a route), the office sees it whole and the read is logged; a
    # read for no one (the gateway checking departments) is masked and not logged.
    # The office's read adds where each value came from (docs/stewardship.md, item 4).
    read = registry.get_alumnus(created["id"], "GET /api/v1/alumni/{alumnus_id}")
    assert {k: v for k, v in read.items() if k not in ("provenance", "confirmed_at")} == created
    assert read["confirmed_at"] and read["provenance"]
    assert registry.get_alumnus(created["id"])["phone"] == "138****5678"
    logged = registry.access_log({"alumnus_id": created["id"]})["items"]
    assert [(e["username"], e["purpose"]) for e in logged] == [
        ("zhao.office", "GET /api/v1/alumni/{alumnus_id}")
    ]

    page = registry.search_alumni({"q": "小明", "department_id": department["id"]})
    assert [item["id"] for item in page["items"]] == [created["id"]]
    assert page["next_cursor"] is None
    first = registry.search_alumni({"limit": 1})
    second = registry.search_alumni({"limit": 1, "cursor": first["next_cursor"]})
    assert {first["items"][0]["name"], second["items"][0]["name"]} == {"王小明", "李雷"}
    assert second["next_cursor"] is None

    liaison = Caller("acc-2", "li.liaison", "liaison", department["id"])
    with ClusterRpcProxy(rabbit_config, context_data=signed_context(liaison)) as as_liaison:
        updated = as_liaison.registry.update_alumnus(created["id"], {"employer": "Tencent"})
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
        registry.create_alumnus(new_alumnus(department["id"], phone="12345", nickname="x"))
    error = caught.value
    assert not isinstance(error, RemoteError)
    assert error.code == "VALIDATION_ERROR"
    assert CJK.search(error.message)
    assert error.details["fields"]["phone"] == ["手机号格式不正确，应为 11 位中国大陆手机号。"]
    assert error.details["fields"]["nickname"] == ["未知字段。"]


def test_unknown_department_is_a_validation_error(registry, department):
    missing = str(uuid.uuid4())
    with pytest.raises(ValidationFailed) as caught:
        registry.create_alumnus(new_alumnus(missing))
    assert caught.value.reason == "unknown_department"
    assert missing in caught.value.details["fields"]["graduations"][0]
    assert registry.search_alumni({})["items"] == []


def test_not_found_arrives_as_platform_type(registry):
    for alumnus_id in (str(uuid.uuid4()), "not-a-uuid"):
        with pytest.raises(NotFound) as caught:
            registry.get_alumnus(alumnus_id)
        assert caught.value.details == {"alumnus_id": alumnus_id, "reason": "alumnus_not_found"}
        with pytest.raises(NotFound):
            registry.update_alumnus(alumnus_id, {"city": "上海"})
        with pytest.raises(NotFound):
            registry.alumnus_history(alumnus_id)


def test_conflict_and_bad_cursor_and_authentication(registry, department, rabbit_config):
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
    gateway = signed_context(Caller.for_service("gateway"))
    with ClusterRpcProxy(rabbit_config, timeout=15, context_data=gateway) as as_gateway:
        login = as_gateway.registry.authenticate(credentials, "10.0.0.9")
        assert login["account"]["id"] == account["id"]
        with pytest.raises(AuthenticationFailed) as wrong:
            as_gateway.registry.authenticate({**credentials, "password": "wrong-password"})
    assert wrong.value.reason == "bad_credentials"
    with pytest.raises(PermissionDenied):  # logins go through the gateway only
        registry.authenticate(credentials)


def refused_reason(rabbit_config, context_data, call) -> str:
    with (
        ClusterRpcProxy(rabbit_config, timeout=15, context_data=context_data) as cluster,
        pytest.raises(AuthenticationFailed) as refused,
    ):
        call(cluster.registry)
    return refused.value.reason


@pytest.mark.parametrize(
    "call",
    [
        # the attacks of issue 9: a made-up actor, an office account, every alumnus unmasked
        lambda registry: registry.create_alumnus(
            {"name": "伪造", "graduations": []},
            {"account_id": "x", "username": "forged", "role": "office", "department_id": None},
        ),
        lambda registry: registry.create_account(
            {"username": "intruder", "password": "a-long-password-1", "role": "office"}
        ),
        lambda registry: registry.search_alumni({}),
        lambda registry: registry.alumnus_history(str(uuid.uuid4())),
    ],
    ids=["made_up_actor", "office_account", "read_all", "history"],
)
def test_a_direct_call_without_a_signed_caller_is_refused(registry_container, rabbit_config, call):
    assert refused_reason(rabbit_config, {}, call) == "caller_missing"


def test_a_tampered_expired_or_misaddressed_caller_is_refused(
    registry_container, rabbit_config, department
):
    key = caller_key()
    liaison = Caller("acc-2", "li.liaison", "liaison", department["id"])
    token = sign(liaison, key, "registry")
    header, payload, signature = token.split(".")
    # The same signature over a payload that claims the office role.
    forged_payload = sign(OFFICE, key, "registry").split(".")[1]
    cases = {
        "tampered": f"{header}.{forged_payload}.{signature}",
        "wrong_key": sign(OFFICE, "another-deployment-key-" + "k" * 20, "registry"),
        "expired": sign(OFFICE, key, "registry", ttl=-60),
        "other_service": sign(OFFICE, key, "events"),
        "not_a_token": {"role": "office"},
    }
    search = lambda registry: registry.search_alumni({})  # noqa: E731
    reasons = {
        name: refused_reason(rabbit_config, {HEADER: value}, search)
        for name, value in cases.items()
    }
    assert reasons == {
        "tampered": "caller_invalid",
        "wrong_key": "caller_invalid",
        "expired": "caller_expired",
        "other_service": "caller_invalid",
        "not_a_token": "caller_invalid",
    }


def test_history_records_the_verified_caller_not_one_the_call_names(
    registry, department, rabbit_config
):
    liaison = Caller("acc-2", "li.liaison", "liaison", department["id"])
    with ClusterRpcProxy(rabbit_config, context_data=signed_context(liaison)) as as_liaison:
        created = as_liaison.registry.create_alumnus(
            new_alumnus(department["id"]), caller={"username": "forged", "role": "office"}
        )
    history = registry.alumnus_history(created["id"])["items"]
    assert {(h["actor"], h["source"]) for h in history} == {("li.liaison", "liaison")}
