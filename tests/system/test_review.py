"""Two-level stewardship over HTTP (docs/stewardship.md, issue 10 item 4): a liaison's change
waits in the office's review queue and is invisible in the record until approved; every
field keeps its provenance; records not confirmed for years are listed for their liaison.
On SQLite and PostgreSQL (the `system` fixture)."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, update

from services.common.columns import utcnow
from services.registry.models import Alumnus
from tests.system.helpers import (
    alumnus_body,
    assert_error,
    department_body,
    graduation,
    liaison_of,
    new_department,
    unique,
)

PASSWORD = "review-password-1"
QUEUE = "/api/v1/alumni/change-requests"


@pytest.fixture(scope="module")
def office(system):
    return system.admin()


def ok(response, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.text[:500])
    return response.json()


def new_alumnus(office, department_id: str, **fields: Any) -> dict[str, Any]:
    return ok(office.post("/api/v1/alumni", json=alumnus_body(department_id, **fields)), 201)


def history(client, alumnus_id: str) -> list[dict[str, Any]]:
    return ok(client.get(f"/api/v1/alumni/{alumnus_id}/history", params={"limit": 100}))["items"]


def test_a_liaisons_change_is_invisible_in_the_record_until_the_office_approves_it(system, office):
    dept = new_department(office)["id"]
    liaison = liaison_of(system, office, dept)
    alumnus = new_alumnus(office, dept, employer="甲公司", phone="13812345678")
    path = f"/api/v1/alumni/{alumnus['id']}"

    asked = ok(liaison.patch(path, json={"employer": "乙公司", "phone": "13900001111"}), 202)
    assert asked["status"] == "pending" and asked["fields"] == ["employer", "phone"]
    assert asked["patch"] == {"employer": "乙公司", "phone": "13900001111"}
    assert asked["seen"] == {"employer": "甲公司", "phone": "13812345678"}
    # Nothing of it in the record, its history or a search, for anyone.
    for reader in (office, liaison):
        record = ok(reader.get(path))
        assert (record["employer"], record["phone"]) == ("甲公司", "13812345678")
    assert [c["field"] for c in history(office, alumnus["id"]) if c["field"] == "employer"] == [
        "employer"
    ]
    found = ok(office.get("/api/v1/alumni", params={"employer": "乙公司", "department_id": dept}))
    assert found["items"] == []

    # The liaison sees their request; the office's queue has it, by department and status.
    mine = ok(liaison.get(QUEUE))["items"]
    assert [(r["id"], r["status"]) for r in mine] == [(asked["id"], "pending")]
    queue = ok(office.get(QUEUE, params={"status": "pending", "department_id": dept}))["items"]
    assert [r["id"] for r in queue] == [asked["id"]]
    assert queue[0]["current"] == asked["seen"] and queue[0]["stale"] is False
    other = new_department(office)["id"]
    assert ok(office.get(QUEUE, params={"department_id": other}))["items"] == []
    assert (
        ok(office.get(QUEUE, params={"status": "approved", "department_id": dept}))["items"] == []
    )

    approved = ok(office.post(f"{QUEUE}/{asked['id']}/approve"))
    assert approved["status"] == "approved" and approved["decided_by"]
    assert approved["alumnus"]["employer"] == "乙公司"
    record = ok(office.get(path))
    assert (record["employer"], record["phone"]) == ("乙公司", "13900001111")
    assert record["provenance"]["employer"]["source"] == "liaison"
    assert record["provenance"]["employer"]["by"] == liaison.username
    assert record["provenance"]["name"]["source"] == "office"
    change = [c for c in history(office, alumnus["id"]) if c["field"] == "employer"][-1]
    assert (change["source"], change["actor"], change["new_value"]) == (
        "liaison",
        liaison.username,
        "乙公司",
    )
    assert ok(liaison.get(f"{QUEUE}/{asked['id']}"))["status"] == "approved"
    # The liaison's read of the record shows no provenance: it is the office's view.
    assert "provenance" not in ok(liaison.get(path))

    again = office.post(f"{QUEUE}/{asked['id']}/approve")
    assert assert_error(again, 409)["details"]["reason"] == "invalid_transition"


def test_a_rejection_needs_a_reason_which_the_liaison_sees(system, office):
    dept = new_department(office)["id"]
    liaison = liaison_of(system, office, dept)
    stranger = liaison_of(system, office, new_department(office)["id"])
    alumnus = new_alumnus(office, dept, employer="甲公司")
    asked = ok(
        liaison.patch(
            f"/api/v1/alumni/{alumnus['id']}",
            json={"graduations": [graduation(dept, major="人工智能")]},
        ),
        202,
    )
    assert asked["fields"] == ["graduations"]

    for body in ({}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 1001}):
        assert_error(office.post(f"{QUEUE}/{asked['id']}/reject", json=body), 422)
    rejected = ok(office.post(f"{QUEUE}/{asked['id']}/reject", json={"reason": "专业名称有误"}))
    assert (rejected["status"], rejected["reason"]) == ("rejected", "专业名称有误")
    seen = ok(liaison.get(f"{QUEUE}/{asked['id']}"))
    assert (seen["status"], seen["reason"]) == ("rejected", "专业名称有误")
    record = ok(office.get(f"/api/v1/alumni/{alumnus['id']}"))
    assert record["graduations"][0]["major"] == "软件工程"

    # Another liaison neither reads it nor lists it; another department's queue is not theirs.
    assert_error(stranger.get(f"{QUEUE}/{asked['id']}"), 404)
    assert ok(stranger.get(QUEUE))["items"] == []
    assert_error(liaison.get(QUEUE, params={"department_id": str(uuid.uuid4())}), 403)
    assert_error(office.post(f"{QUEUE}/{asked['id']}/approve"), 409)


def test_a_request_overtaken_by_another_change_is_409_unless_forced(system, office):
    dept = new_department(office)["id"]
    liaison = liaison_of(system, office, dept)
    alumnus = new_alumnus(office, dept, employer="甲公司", city="青岛")
    path = f"/api/v1/alumni/{alumnus['id']}"
    asked = ok(liaison.patch(path, json={"employer": "乙公司"}), 202)
    ok(office.patch(path, json={"employer": "丙公司"}))

    listed = ok(office.get(f"{QUEUE}/{asked['id']}"))
    assert listed["stale"] is True and listed["current"] == {"employer": "丙公司"}
    refused = assert_error(office.post(f"{QUEUE}/{asked['id']}/approve"), 409)
    assert refused["details"]["reason"] == "changed_since_submitted"
    assert refused["details"]["fields"] == ["employer"]
    assert ok(office.get(path))["employer"] == "丙公司"
    assert ok(office.get(f"{QUEUE}/{asked['id']}"))["status"] == "pending"

    forced = ok(office.post(f"{QUEUE}/{asked['id']}/approve", json={"force": True}))
    assert forced["conflicts"] == ["employer"] and forced["alumnus"]["employer"] == "乙公司"


def test_bad_input_to_the_review_routes_is_a_clear_4xx(system, office):
    dept = new_department(office)["id"]
    liaison = liaison_of(system, office, dept)
    alumnus = new_alumnus(office, dept, employer="甲公司")
    path = f"/api/v1/alumni/{alumnus['id']}"
    assert assert_error(liaison.patch(path, json={}), 422)["details"]["reason"] == "empty_patch"
    same = liaison.patch(path, json={"employer": "甲公司"})
    assert assert_error(same, 422)["details"]["reason"] == "no_change"
    assert_error(liaison.patch(path, json={"salary": 1}), 422)
    assert_error(liaison.patch(path, json={"phone": "12345"}), 422)
    assert_error(liaison.patch(f"/api/v1/alumni/{uuid.uuid4()}", json={"city": "济南"}), 404)
    missing = f"{QUEUE}/{uuid.uuid4()}"
    assert_error(office.get(missing), 404)
    assert_error(office.post(f"{missing}/approve"), 404)
    assert_error(office.post(f"{missing}/reject", json={"reason": "无"}), 404)
    asked = ok(liaison.patch(path, json={"city": "济南"}), 202)
    assert_error(office.post(f"{QUEUE}/{asked['id']}/approve", json={"force": "yes"}), 422)
    assert_error(office.post(f"{QUEUE}/{asked['id']}/approve", json={"extra": 1}), 422)
    for params in ({"status": "bogus"}, {"department_id": "x"}, {"limit": 0}, {"cursor": "!"}):
        assert_error(office.get(QUEUE, params=params), 422)
    assert_error(office.get("/api/v1/alumni/unconfirmed", params={"limit": 1000}), 422)
    # Only the office decides and confirms.
    assert_error(liaison.post(f"{QUEUE}/{asked['id']}/approve"), 403)
    assert_error(liaison.post(f"{path}/confirm"), 403)


def _import_one(office, department: dict[str, Any]) -> str:
    """A one-row registrar export through the import; the id of the alumnus it made."""
    content = (
        f"姓名,院系,专业,学历,毕业年份,工作单位\n{unique('导入')},{department['name']},"
        "软件工程,本科,2010,某研究所\n"
    ).encode()
    job = ok(office.post("/api/v1/alumni/imports", files={"file": ("r.csv", content)}), 201)
    deadline = time.monotonic() + 60
    while job["status"] not in ("done", "rejected", "failed"):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
        job = ok(office.get(f"/api/v1/alumni/imports/{job['id']}"))
    assert job["status"] == "done" and job["imported"] == 1, job
    rows = ok(office.get(f"/api/v1/alumni/imports/{job['id']}/rows"))["items"]
    return rows[0]["alumnus_id"]


def test_each_field_keeps_its_provenance_and_a_confirmation_changes_no_value(system, office):
    department = new_department(office)
    alumnus_id = _import_one(office, department)
    path = f"/api/v1/alumni/{alumnus_id}"
    imported = ok(office.get(path))
    assert imported["provenance"]["name"]["source"] == "import"
    assert imported["provenance"]["employer"]["source"] == "import"
    assert "city" not in imported["provenance"]

    # Self-service (/me), then the office: each sets the source of what it changed.
    login = unique("alum")
    ok(office.post(f"{path}/account", json={"username": login, "password": PASSWORD}), 201)
    me = system.client().login(login, PASSWORD)
    ok(me.patch("/api/v1/me", json={"city": "杭州"}))
    ok(office.patch(path, json={"title": "工程师"}))
    record = ok(office.get(path))
    sources = {field: p["source"] for field, p in record["provenance"].items()}
    assert sources["city"] == "self_service" and sources["title"] == "office"
    assert sources["name"] == "import" and sources["employer"] == "import"

    changes = len(history(office, alumnus_id))
    time.sleep(0.01)
    confirmed = ok(office.post(f"{path}/confirm"))
    for field in ("name", "city", "title", "employer", "graduations", "updated_at"):
        assert confirmed[field] == record[field], field
    assert confirmed["confirmed_at"] > record["confirmed_at"]
    assert confirmed["provenance"]["city"]["source"] == "self_service"
    assert {p["confirmed_at"] for p in confirmed["provenance"].values()} == {
        confirmed["confirmed_at"]
    }
    assert len(history(office, alumnus_id)) == changes  # a confirmation is no change
    assert_error(office.post(f"/api/v1/alumni/{uuid.uuid4()}/confirm"), 404)


def test_records_not_confirmed_for_years_are_listed_for_their_departments_liaison(system, office):
    dept_a, dept_b = new_department(office), new_department(office)
    old_a = new_alumnus(office, dept_a["id"])
    fresh_a = new_alumnus(office, dept_a["id"])
    old_b = new_alumnus(office, dept_b["id"])
    engine = create_engine(system.database_urls["registry"])
    try:
        with engine.begin() as connection:
            connection.execute(
                update(Alumnus.__table__)
                .where(Alumnus.__table__.c.id.in_([old_a["id"], old_b["id"]]))
                .values(confirmed_at=utcnow() - timedelta(days=4 * 366))
            )
    finally:
        engine.dispose()
    liaison_a = liaison_of(system, office, dept_a["id"])
    listed = ok(liaison_a.get("/api/v1/alumni/unconfirmed"))["items"]
    assert [a["id"] for a in listed] == [old_a["id"]]
    assert listed[0]["confirmed_at"] < fresh_a["created_at"]
    assert_error(
        liaison_a.get("/api/v1/alumni/unconfirmed", params={"department_id": dept_b["id"]}), 403
    )
    # The office sees them all, one department's, a page at a time.
    everything = ok(office.get("/api/v1/alumni/unconfirmed", params={"limit": 1}))
    assert len(everything["items"]) == 1 and everything["next_cursor"]
    of_b = ok(office.get("/api/v1/alumni/unconfirmed", params={"department_id": dept_b["id"]}))
    assert [a["id"] for a in of_b["items"]] == [old_b["id"]]

    # Department B merged into a successor: its liaison checks B's old records (lineage).
    merged = office.post(
        "/api/v1/departments/merges",
        json={"department_ids": [dept_b["id"]], "successor": department_body()},
    )
    successor = ok(merged, 201)["id"]
    liaison_c = liaison_of(system, office, successor)
    assert [a["id"] for a in ok(liaison_c.get("/api/v1/alumni/unconfirmed"))["items"]] == [
        old_b["id"]
    ]

    ok(office.post(f"/api/v1/alumni/{old_a['id']}/confirm"))
    assert ok(liaison_a.get("/api/v1/alumni/unconfirmed"))["items"] == []
