"""The alumni's rights (PIPL arts. 44–47) and who saw what, through real processes over HTTP.

One alumnus takes part in every service (an event, a visit, a suggestion, a gift that is
partly refunded, notification preferences); they read and correct their own record, get a
copy of all that is held on them, and ask for erasure. After the office approves it, their
name, phone and e-mail are found in no table of any service's database (read directly:
SQLite files or PostgreSQL databases), and the donations ledger still balances. Meanwhile
every unmasked read of their record is in the registry's access log, and no masked one.
"""

from __future__ import annotations

import random
import time
import uuid
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, inspect, text

from tests.support.donations_data import alumnus_donor, fund_body, gift_body
from tests.support.processes import ApiClient
from tests.system.helpers import (
    alumnus_body,
    assert_error,
    department_body,
    event_body,
    graduation,
    visit_body,
)

PASSWORD = "rights-password-1"
DEADLINE_SECONDS = 30


def wait_until(condition, what: str, timeout: float = DEADLINE_SECONDS) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def ok(response: requests.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.text[:500])
    return response.json() if "json" in response.headers.get("Content-Type", "") else response


def login(system, username: str, password: str = PASSWORD) -> ApiClient:
    return system.client().login(username, password)


def database_text(url: str) -> str:
    """Every row of every table of one database, as text (bytes decoded where they can be)."""
    engine = create_engine(url)
    try:
        parts = []
        with engine.connect() as connection:
            for name in inspect(connection).get_table_names():
                for row in connection.execute(text(f'SELECT * FROM "{name}"')):
                    parts.append(" ".join(_text(value) for value in row))
        return "\n".join(parts)
    finally:
        engine.dispose()


def _text(value: Any) -> str:
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("utf-8", errors="ignore")
    return str(value)


@pytest.fixture(scope="module")
def world(system) -> dict[str, Any]:
    office = system.admin()
    dept = ok(office.post("/api/v1/departments", json=department_body()), 201)["id"]
    other = ok(office.post("/api/v1/departments", json=department_body()), 201)["id"]
    marker = uuid.uuid4().hex[:6]
    person = {
        "name": f"隐私{marker}",
        "phone": f"139{random.randrange(10**8):08d}",
        "email": f"privacy.{marker}@example.com",
    }
    alumnus = ok(
        office.post("/api/v1/alumni", json=alumnus_body(dept, **person, wechat=f"wx{marker}ab")),
        201,
    )
    username = f"rights{marker}"
    ok(
        office.post(
            f"/api/v1/alumni/{alumnus['id']}/account",
            json={"username": username, "password": PASSWORD},
        ),
        201,
    )
    staff, names = {}, {}
    for role, department in (("committee", None), ("liaison", dept), ("liaison_other", other)):
        name = f"{role.replace('_', '')}{marker}"
        body = {"username": name, "password": PASSWORD, "role": role.split("_")[0]}
        if department:
            body["department_id"] = department
        ok(office.post("/api/v1/accounts", json=body), 201)
        staff[role], names[role] = login(system, name), name
    return {
        "system": system,
        "office": office,
        "me": login(system, username),
        "dept": dept,
        "alumnus": alumnus,
        "person": person,
        "username": username,
        "names": names,
        **staff,
    }


def test_an_alumnus_reads_and_corrects_their_own_record(world):
    me, person = world["me"], world["person"]
    mine = ok(me.get("/api/v1/me"))
    assert (mine["role"], mine["alumnus_id"]) == ("alumnus", world["alumnus"]["id"])
    assert mine["alumnus"]["phone"] == person["phone"]  # their own: unmasked
    assert mine["alumnus"]["email"] == person["email"]
    assert ok(world["committee"].get("/api/v1/me"))["alumnus"] is None

    changed = ok(me.patch("/api/v1/me", json={"city": "杭州", "employer": "某研究所"}))
    assert (changed["city"], changed["employer"]) == ("杭州", "某研究所")
    history = ok(world["office"].get(f"/api/v1/alumni/{world['alumnus']['id']}/history"))
    assert {c["field"]: c["source"] for c in history["items"]}["city"] == "self_service"
    # The school's records are not theirs to change, and staff have no record of their own.
    assert_error(me.patch("/api/v1/me", json={"graduations": [graduation(world["dept"])]}), 422)
    assert_error(me.patch("/api/v1/me", json={"phone": "12345"}), 422)
    assert_error(world["office"].patch("/api/v1/me", json={"city": "上海"}), 403)
    assert_error(world["liaison"].get("/api/v1/me/export"), 403)


def test_every_unmasked_read_is_in_the_access_log_and_no_masked_one(world):
    office, alumnus_id = world["office"], world["alumnus"]["id"]
    record = f"/api/v1/alumni/{alumnus_id}"
    before = ok(office.get("/api/v1/access-log", params={"alumnus_id": alumnus_id}))["items"]
    assert ok(office.get(record))["phone"] == world["person"]["phone"]
    assert ok(world["liaison"].get(record))["phone"] == world["person"]["phone"]
    # A search lists summaries (issue 12): no contacts shown, nothing logged.
    found = ok(world["liaison"].get("/api/v1/alumni", params={"q": world["person"]["name"]}))
    assert [a["id"] for a in found["items"]] == [alumnus_id]
    assert "email" not in found["items"][0]
    # Masked: the committee, a liaison of another department (404), the alumnus's own view.
    assert "****" in ok(world["committee"].get(record))["phone"]
    history = ok(world["committee"].get(record + "/history"))["items"]
    assert [c["new_value"] for c in history if c["field"] == "phone"] == [
        world["person"]["phone"][:3] + "****" + world["person"]["phone"][-4:]
    ]
    assert_error(world["liaison_other"].get(record), 404)
    ok(world["me"].get("/api/v1/me"))

    log = ok(office.get("/api/v1/access-log", params={"alumnus_id": alumnus_id}))["items"]
    new = log[: len(log) - len(before)]
    assert [(e["username"], e["purpose"]) for e in reversed(new)] == [
        ("admin", "GET /api/v1/alumni/{alumnus_id}"),
        (world["names"]["liaison"], "GET /api/v1/alumni/{alumnus_id}"),
    ]
    assert all(set(e["fields"]) == {"phone", "email", "wechat"} for e in new)
    assert all(e["service"] == "registry" and e["alumnus_id"] == alumnus_id for e in new)
    by_account = ok(office.get("/api/v1/access-log", params={"account_id": new[0]["account_id"]}))
    assert {e["username"] for e in by_account["items"]} == {world["names"]["liaison"]}
    assert_error(world["committee"].get("/api/v1/access-log"), 403)


def test_contacts_in_the_events_service_are_logged_there_and_searched_with_the_rest(world):
    office, committee, dept = world["office"], world["committee"], world["dept"]
    contact = {"name": "联系人", "phone": "13700001111", "email": "contact@example.com"}
    body = visit_body(dept, None, contact=contact, class_year=2001, class_name="软件1班")
    visit = ok(office.post("/api/v1/visits", json=body), 201)
    record = f"visit:{visit['id']}"

    def entries() -> list[dict[str, Any]]:
        found, cursor = [], None
        while True:
            params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
            page = ok(office.get("/api/v1/access-log", params=params))
            found += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return [e for e in found if e["record"] == record]

    # Creating it showed the office the contact: logged once, by the events service.
    assert [(e["service"], e["purpose"]) for e in entries()] == [("events", "POST /api/v1/visits")]
    # This module's department only: the system is shared with other modules' visits.
    mine = {"department_id": dept}
    listed = ok(committee.get("/api/v1/visits", params=mine))["items"]
    assert {v["contact"]["phone"] for v in listed if v["id"] == visit["id"]} == {"137****1111"}
    assert len(entries()) == 1  # the committee's masked read is not there
    listed = ok(world["liaison"].get("/api/v1/visits", params=mine))["items"]
    assert {v["contact"]["phone"] for v in listed if v["id"] == visit["id"]} == {"13700001111"}
    logged = entries()
    assert [(e["username"], e["purpose"]) for e in logged] == [
        (world["names"]["liaison"], "GET /api/v1/visits"),
        ("admin", "POST /api/v1/visits"),
    ]
    assert logged[0]["fields"] == ["email", "phone"] and logged[0]["alumnus_id"] is None


def take_part_everywhere(world) -> dict[str, Any]:
    """The alumnus in every service: an event, a visit, a suggestion, a gift (partly
    refunded), notification preferences."""
    office, me, alumnus_id = world["office"], world["me"], world["alumnus"]["id"]
    event = ok(office.post("/api/v1/events", json=event_body(world["dept"])), 201)
    ok(office.post(f"/api/v1/events/{event['id']}/publish"))
    ok(me.post(f"/api/v1/events/{event['id']}/registrations", json={}), 201)
    visit = visit_body(world["dept"], None, contact=world["person"])
    ok(me.post("/api/v1/visits", json=visit), 201)
    suggestion = {"subject": "建议", "body": f"我是{world['person']['name']}，建议多办讲座。"}
    ok(me.post("/api/v1/suggestions", json=suggestion), 201)
    fund = ok(office.post("/api/v1/funds", json=fund_body(name="隐私测试基金")), 201)
    gift = ok(
        office.post(
            "/api/v1/gifts",
            json=gift_body(fund["id"], 300_000, donor=alumnus_donor(alumnus_id)),
        ),
        201,
    )
    ok(
        office.post(
            f"/api/v1/gifts/{gift['id']}/refund", json={"amount_fen": 50_000, "reason": "部分退回"}
        ),
        201,
    )
    wait_until(
        lambda: me.get("/api/v1/me/notification-preferences").status_code == 200,
        "the notify directory to hold the alumnus",
    )
    change = {"changes": [{"channel": "email", "purpose": "marketing", "granted": True}]}
    ok(me.patch("/api/v1/me/notification-preferences", json=change))
    return {"event": event, "gift": gift, "fund": fund}


def test_export_holds_what_every_service_keeps(world):
    world["activity"] = take_part_everywhere(world)
    me, person = world["me"], world["person"]
    export = wait_until(
        lambda: (e := ok(me.get("/api/v1/me/export")))["events"]["roster"] and e,
        "the events service's roster copy",
    )
    assert export["registry"]["record"]["phone"] == person["phone"]
    assert {c["source"] for c in export["registry"]["history"]} == {"office", "self_service"}
    assert export["events"]["roster"]["email"] == person["email"]
    assert [r["event_id"] for r in export["events"]["registrations"]] == [
        world["activity"]["event"]["id"]
    ]
    assert export["events"]["visits"][0]["contact"]["phone"] == person["phone"]
    assert person["name"] in export["events"]["suggestions"][0]["body"]
    assert [g["id"] for g in export["donations"]["gifts"]] == [world["activity"]["gift"]["id"]]
    assert export["donations"]["receipts"], "the gift's receipt"
    assert export["notify"]["contact"]["email"] == person["email"]
    granted = {
        (c["channel"], c["purpose"]): (c["granted"], c["source"])
        for c in export["notify"]["consents"]
    }
    assert granted[("email", "marketing")] == (True, "self_service")
    assert export["notify"]["consent_history"][-1]["source"] == "self_service"

    page = me.get("/api/v1/me/export.html")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "个人信息副本" in page.text and person["name"] in page.text
    assert "<script" not in page.text


def test_addresses_in_the_delivery_log_are_logged_by_notify(world):
    office, alumnus_id = world["office"], world["alumnus"]["id"]

    def emails() -> list[dict[str, Any]]:
        lines = ok(office.get("/api/v1/notifications", params={"alumnus_id": alumnus_id}))
        return [line for line in lines["items"] if line["channel"] == "email"]

    shown = wait_until(emails, "the welcome e-mail in the delivery log")
    assert shown[0]["address"] == world["person"]["email"]
    log = ok(office.get("/api/v1/access-log", params={"alumnus_id": alumnus_id}))["items"]
    from_notify = {(e["record"], tuple(e["fields"])) for e in log if e["service"] == "notify"}
    assert (f"message:{shown[0]['id']}", ("address",)) in from_notify


def test_an_approved_erasure_leaves_the_person_in_no_database(world):
    system, office, me, person = world["system"], world["office"], world["me"], world["person"]
    alumnus_id = world["alumnus"]["id"]
    identity = [person["name"], person["phone"], person["email"], world["username"]]

    def left() -> dict[str, list[str]]:
        return {
            service: [value for value in identity if value in database_text(url)]
            for service, url in system.database_urls.items()
        }

    # Before: every service holds the person's name (contacts are encrypted at rest, so
    # only their ciphertext and blind index are there to find).
    held = left()
    assert set(held) == {"registry", "events", "donations", "notify"}
    assert all(person["name"] in values for values in held.values()), held

    request = ok(me.post("/api/v1/me/erasure", json={"reason": "不再希望被联系"}), 201)
    assert request["status"] == "requested"
    assert_error(me.post("/api/v1/me/erasure", json={}), 409)
    assert_error(me.post(f"/api/v1/erasure-requests/{request['id']}/approve"), 403)
    pending = ok(office.get("/api/v1/erasure-requests", params={"status": "requested"}))
    assert request["id"] in [r["id"] for r in pending["items"]]
    approved = ok(office.post(f"/api/v1/erasure-requests/{request['id']}/approve", json={}))
    assert approved["status"] == "approved"
    assert_error(office.post(f"/api/v1/erasure-requests/{request['id']}/reject"), 409)

    remaining = {}

    def gone() -> bool:
        remaining.update(left())
        return not any(remaining.values())

    deadline = time.monotonic() + DEADLINE_SECONDS
    while not gone():
        assert time.monotonic() < deadline, f"still held after erasure: {remaining}"
        time.sleep(0.5)

    # The money stays, the ledger balances, and the gift is still the alumnus's by id.
    books = ok(office.get("/api/v1/ledger/trial-balance"))
    assert (books["total_fen"], books["unbalanced_transactions"]) == (0, 0)
    gift = ok(office.get(f"/api/v1/gifts/{world['activity']['gift']['id']}"))
    assert (gift["amount_fen"], gift["refunded_fen"]) == (300_000, 50_000)
    assert gift["donor"]["alumnus_id"] == alumnus_id and gift["donor"]["name"] == "已注销"
    fund = ok(office.get(f"/api/v1/funds/{world['activity']['fund']['id']}"))
    assert fund["balance_fen"] == 250_000
    # The record stays as a blank, takes no changes, and its login is closed.
    record = ok(office.get(f"/api/v1/alumni/{alumnus_id}"))
    assert (record["phone"], record["email"]) == (None, None)
    assert_error(office.patch(f"/api/v1/alumni/{alumnus_id}", json={"city": "上海"}), 409)
    refused = requests.post(
        f"{system.base_url}/api/v1/auth/token",
        json={"username": world["username"], "password": PASSWORD},
        timeout=30,
    )
    assert refused.status_code == 401
