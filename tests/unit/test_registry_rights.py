# ruff: noqa: F811  (the fixtures of test_registry_domain, imported, are parameters here)
"""The registry's rights functions: masking decided here and logged, the alumnus's own
record, erasure (services/registry/rights.py), over a migrated SQLite database."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from services.common.caller import Caller as Reader
from services.common.errors import Conflict
from services.registry import domain, rights
from services.registry.models import AccessLogEntry, Account, OutboxMessage
from tests.unit.test_registry_domain import (  # noqa: F401  (fixtures)
    OFFICE,
    backend,
    departments,
    register,
    session,
)

PHONE = "13912345678"
EMAIL = "wang.xm@example.com"
PAGE = {"limit": 50, "cursor": None}


def reader(role, department_id=None, alumnus_id=None):
    return Reader(f"acc-{role}", f"{role}.user", role, department_id, alumnus_id)


@pytest.fixture
def person(session, departments):
    record = register(session, departments["CS"], phone=PHONE, email=EMAIL, wechat="wxm_2010")
    account = domain.create_alumnus_account(
        session, record["id"], {"username": "wangxm", "password": "a-long-password"}
    )
    session.commit()
    return {**record, "account_id": account["id"]}


def logged(session):
    return [
        (e.username, e.alumnus_id, json.loads(e.fields), e.purpose)
        for e in session.scalars(select(AccessLogEntry).order_by(AccessLogEntry.seq))
    ]


def test_unmasked_reads_are_logged_and_masked_ones_are_not(session, departments, person):
    office = rights.read_alumnus(session, person["id"], reader("office"), "GET /x")
    assert office["phone"] == PHONE
    committee = rights.read_alumnus(session, person["id"], reader("committee"), "GET /x")
    assert committee["phone"] == "139****5678" and committee["email"] == "w***@example.com"
    # A search lists summaries (issue 12): no contacts in them, so nothing logged, even for
    # the office; a platform service's copy lists whole records, unlogged.
    for role, department in (("liaison", departments["PHY"]), ("office", None)):
        listed = rights.read_alumni(session, PAGE, reader(role, department), "GET /s")["items"]
        assert listed and not set(listed[0]) & {"phone", "email", "wechat", "tags"}
    copy = rights.read_alumni(session, PAGE, Reader.for_service("events"), "")["items"]
    assert copy[0]["phone"] == PHONE
    own_liaison = reader("liaison", departments["CS"])
    rights.read_history(session, person["id"], PAGE, own_liaison, "GET /h")
    # The alumnus reading their own record sees it whole, and that is no one else's read.
    own = rights.read_alumnus(session, person["id"], reader("alumnus", None, person["id"]), "me")
    assert own["phone"] == PHONE
    stranger = rights.read_alumnus(session, person["id"], reader("alumnus", None, "x"), "me")
    assert stranger["phone"] == "139****5678"
    # The gateway's check of a record (no purpose) shows nothing; a service's copy is whole.
    assert rights.read_alumnus(session, person["id"], reader("office"), "")["phone"] == (
        "139****5678"
    )
    service = Reader.for_service("events")
    assert rights.read_alumnus(session, person["id"], service, "")["phone"] == PHONE
    session.commit()
    assert logged(session) == [
        ("office.user", person["id"], ["email", "phone", "wechat"], "GET /x"),
        ("liaison.user", person["id"], ["email", "phone", "wechat"], "GET /h"),
    ]
    found = rights.search_access_log(session, {**PAGE, "account_id": "acc-liaison"})
    assert [e["purpose"] for e in found["items"]] == ["GET /h"]
    assert found["items"][0]["service"] == "registry"


def test_self_service_correction_is_recorded_as_such(session, person):
    actor = {"account_id": person["account_id"], "username": "wangxm", "role": "alumnus"}
    changed = rights.correct_own_record(session, person["id"], {"city": "杭州"}, actor)
    session.commit()
    assert changed["city"] == "杭州"
    history = domain.alumnus_history(session, person["id"], PAGE)["items"]
    assert (history[-1]["field"], history[-1]["source"]) == ("city", "self_service")
    me = rights.get_me(session, person["account_id"])
    assert me["alumnus"]["city"] == "杭州" and me["role"] == "alumnus"


def test_approved_erasure_blanks_the_record_history_and_login(session, person):
    request = rights.request_erasure(session, person["id"], person["account_id"], {"reason": "王"})
    with pytest.raises(Conflict):
        rights.request_erasure(session, person["id"], person["account_id"], {})
    session.commit()
    decided = rights.decide_erasure(session, request["id"], "approve", OFFICE, "同意")
    session.commit()
    assert decided["status"] == "approved" and decided["reason"] == ""
    with pytest.raises(Conflict):
        rights.decide_erasure(session, request["id"], "reject", OFFICE)
    record = domain.get_alumnus(session, person["id"])
    assert record["name"] == rights.ERASED_ALUMNUS_NAME
    assert record["phone"] is None and record["email"] is None and record["graduations"]
    account = session.get(Account, person["account_id"])
    assert not account.active and account.username != "wangxm"
    dump = "\n".join(
        str(tuple(row))
        for table in ("alumni", "change_records", "accounts", "outbox", "erasure_requests")
        for row in session.execute(text(f"SELECT * FROM {table}"))
    )
    for value in ("王小明", PHONE, EMAIL, "wxm_2010", "wangxm"):
        assert value not in dump
    erased = session.scalars(
        select(OutboxMessage).where(OutboxMessage.event_type == "alumnus_erased")
    ).all()
    assert [json.loads(e.payload)["data"]["id"] for e in erased] == [person["id"]]
    with pytest.raises(Conflict):
        domain.update_alumnus(session, person["id"], {"city": "上海"}, OFFICE)


def test_export_holds_record_history_and_requests(session, person):
    rights.request_erasure(session, person["id"], person["account_id"], {"reason": "不再联系"})
    session.commit()
    export = rights.export_person(session, person["id"])
    assert export["record"]["phone"] == PHONE
    assert {c["field"] for c in export["history"]} >= {"name", "phone", "email"}
    assert export["account"]["username"] == "wangxm"
    assert export["erasure_requests"][0]["status"] == "requested"
