"""Chapters, messengers and student volunteers over HTTP (docs/community.md), on SQLite and
PostgreSQL: the office sets them up, a chapter officer and a messenger log in and see only
their own chapter or class."""

from __future__ import annotations

from typing import Any

import pytest

from tests.system import helpers
from tests.system.helpers import (
    alumnus_body,
    assert_error,
    event_body,
    graduation,
    school_today,
    unique,
)

PASSWORD = "community-pass-1"


@pytest.fixture(scope="module")
def office(system):
    return system.admin()


def created(response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    return response.json()


def ok(response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def new_department(office) -> str:
    return helpers.new_department(office)["id"]


def new_alumnus(office, department_id: str, **overrides: Any) -> dict[str, Any]:
    return created(office.post("/api/v1/alumni", json=alumnus_body(department_id, **overrides)))


def regional(city: str = "苏州", **overrides: Any) -> dict[str, Any]:
    return {
        "name": unique(f"{city}校友会"),
        "kind": "regional",
        "city": city,
        "founded_on": "2015-05-04",
        **overrides,
    }


def account(system, office, role: str, **scope: str):
    """A login of `role` the office makes with the one account route, and its client."""
    return helpers.staff_account(system, office, role, **scope)


# ---- chapters ---------------------------------------------------------------------------------


def test_a_regional_chapter_with_an_officer_who_sees_only_their_own(system, office):
    """The issue's "done when": a regional chapter, its officer limited to it."""
    dept = new_department(office)
    mine = created(
        office.post(
            "/api/v1/chapters",
            json=regional(legal_form="社会团体法人", registration_number="51320500MJ1234567X"),
        )
    )
    assert (mine["kind"], mine["city"], mine["confirmed"]) == ("regional", "苏州", False)
    other = created(office.post("/api/v1/chapters", json=regional("杭州")))

    confirmed = ok(
        office.post(
            f"/api/v1/chapters/{mine['id']}/confirm",
            json={"confirmed_on": "2016-01-10", "note": "校长办公会确认"},
        )
    )
    assert confirmed["confirmed"] and confirmed["confirmed_on"] == "2016-01-10"
    assert confirmed["confirmed_by"] == "admin"
    again = office.post(
        f"/api/v1/chapters/{mine['id']}/confirm", json={"confirmed_on": "2016-01-10"}
    )
    assert assert_error(again, 409)["details"]["reason"] == "already_confirmed"

    officer = account(system, office, "chapter_officer", chapter_id=mine["id"])
    me = ok(officer.get("/api/v1/me"))
    assert (me["role"], me["chapter_id"]) == ("chapter_officer", mine["id"])

    # Their list is their chapter; another chapter is answered as a missing one.
    assert [c["id"] for c in ok(officer.get("/api/v1/chapters"))["items"]] == [mine["id"]]
    assert ok(officer.get(f"/api/v1/chapters/{mine['id']}"))["name"] == mine["name"]
    for path in (f"/api/v1/chapters/{other['id']}", f"/api/v1/chapters/{other['id']}/members"):
        assert assert_error(officer.get(path), 404)["details"]["reason"] == "chapter_not_found"
    alumnus = new_alumnus(office, dept, city="苏州")
    refused = officer.post(
        f"/api/v1/chapters/{other['id']}/members", json={"alumnus_id": alumnus["id"]}
    )
    assert_error(refused, 404)

    # They grow their own chapter: a member, a volunteer (积极分子) made an officer.
    member = created(
        officer.post(f"/api/v1/chapters/{mine['id']}/members", json={"alumnus_id": alumnus["id"]})
    )
    assert (member["role"], member["name"], member["city"]) == ("member", alumnus["name"], "苏州")
    assert member["joined_on"] == school_today()
    volunteer = new_alumnus(office, dept)
    helper = created(
        officer.post(
            f"/api/v1/chapters/{mine['id']}/members",
            json={"alumnus_id": volunteer["id"], "role": "volunteer", "joined_on": "2020-03-01"},
        )
    )
    twice = officer.post(
        f"/api/v1/chapters/{mine['id']}/members", json={"alumnus_id": alumnus["id"]}
    )
    assert assert_error(twice, 409)["details"]["reason"] == "already_member"
    promoted = ok(
        officer.patch(
            f"/api/v1/chapters/{mine['id']}/members/{helper['id']}", json={"role": "officer"}
        )
    )
    assert promoted["role"] == "officer"
    officers = ok(officer.get(f"/api/v1/chapters/{mine['id']}/members", params={"role": "officer"}))
    assert [m["alumnus_id"] for m in officers["items"]] == [volunteer["id"]]
    assert "phone" not in officers["items"][0]  # no contacts on a member list

    # The officer manages members, not the chapter itself.
    assert_error(officer.patch(f"/api/v1/chapters/{mine['id']}", json={"city": "无锡"}), 403)
    assert_error(officer.get("/api/v1/alumni"), 403)

    # Their chapter's events are theirs to run; another chapter's are not.
    body = {**event_body(None), "organiser_type": "chapter", "organiser_id": mine["id"]}
    event = created(officer.post("/api/v1/events", json=body))
    assert ok(officer.post(f"/api/v1/events/{event['id']}/publish"))["status"] == "published"
    theirs = {**body, "organiser_id": other["id"]}
    assert_error(officer.post("/api/v1/events", json=theirs), 403)
    listed = ok(officer.get("/api/v1/events", params={"organiser_id": mine["id"]}))["items"]
    assert [e["id"] for e in listed] == [event["id"]]
    unknown = {**body, "organiser_id": "8c4f0c1e-0000-4000-8000-000000000000"}
    assert (
        "organiser_id"
        in assert_error(office.post("/api/v1/events", json=unknown), 422)["details"]["fields"]
    )

    gone = officer.delete(f"/api/v1/chapters/{mine['id']}/members/{member['id']}")
    assert gone.status_code == 204, gone.text
    left = ok(office.get(f"/api/v1/chapters/{mine['id']}/members"))["items"]
    assert [m["id"] for m in left] == [helper["id"]]

    # A chapter with members or an officer account is not deleted; an empty one is.
    assert_error(office.delete(f"/api/v1/chapters/{mine['id']}"), 409)
    assert office.delete(f"/api/v1/chapters/{other['id']}").status_code == 204
    assert_error(office.get(f"/api/v1/chapters/{other['id']}"), 404)


def test_chapter_rules_are_answered_in_chinese(office):
    missing_city = office.post("/api/v1/chapters", json=regional(city=None))
    assert "city" in assert_error(missing_city, 422)["details"]["fields"]
    industry = office.post(
        "/api/v1/chapters",
        json={"name": unique("IT"), "kind": "industry", "founded_on": "2019-01-01"},
    )
    assert "industry" in assert_error(industry, 422)["details"]["fields"]
    for bad in (
        {"kind": "club"},
        {"founded_on": "2019-13-01"},
        {"founded_on": "2999-01-01"},
        {"registration_number": "X123", "legal_form": None},
        {"colour": "red"},
    ):
        response = office.post("/api/v1/chapters", json=regional(**bad))
        assert_error(response, 422)
    body = regional()
    created(office.post("/api/v1/chapters", json=body))
    assert_error(office.post("/api/v1/chapters", json=body), 409)
    assert_error(office.get("/api/v1/chapters/not-a-uuid"), 404)

    general = {"name": unique("校友总会"), "kind": "general", "founded_on": "1990-10-01"}
    made = created(office.post("/api/v1/chapters", json=general))
    second = office.post("/api/v1/chapters", json={**general, "name": unique("总会")})
    assert assert_error(second, 409)["details"]["reason"] == "general_exists"
    early = office.post(
        f"/api/v1/chapters/{made['id']}/confirm", json={"confirmed_on": "1980-01-01"}
    )
    assert "confirmed_on" in assert_error(early, 422)["details"]["fields"]


def test_an_officer_account_needs_an_existing_chapter(office):
    body = {"username": unique("co"), "password": PASSWORD, "role": "chapter_officer"}
    assert (
        "chapter_id"
        in assert_error(office.post("/api/v1/accounts", json=body), 422)["details"]["fields"]
    )
    unknown = {**body, "chapter_id": "8c4f0c1e-0000-4000-8000-000000000000"}
    assert_error(office.post("/api/v1/accounts", json=unknown), 422)
    chapter = created(office.post("/api/v1/chapters", json=regional("宁波")))
    liaison_with_chapter = {
        "username": unique("li"),
        "password": PASSWORD,
        "role": "committee",
        "chapter_id": chapter["id"],
    }
    assert_error(office.post("/api/v1/accounts", json=liaison_with_chapter), 422)


def test_chapters_are_suggested_to_an_alumnus_by_city_and_industry(system, office):
    dept = new_department(office)
    city = unique("城")[:8]
    alumnus = new_alumnus(office, dept, city=city + "市", industry="集成电路" + city)
    near = created(office.post("/api/v1/chapters", json=regional(city)))
    trade = created(
        office.post(
            "/api/v1/chapters",
            json={
                "name": unique("芯片校友会"),
                "kind": "industry",
                "industry": "集成电路" + city,
                "founded_on": "2018-06-01",
            },
        )
    )
    unconfirmed = created(office.post("/api/v1/chapters", json=regional(city)))
    far = created(office.post("/api/v1/chapters", json=regional(unique("远")[:8])))
    for chapter in (near, trade, far):
        ok(
            office.post(
                f"/api/v1/chapters/{chapter['id']}/confirm", json={"confirmed_on": "2020-01-01"}
            )
        )
    created(
        office.post(f"/api/v1/chapters/{trade['id']}/members", json={"alumnus_id": alumnus["id"]})
    )

    username = unique("alu")
    created(
        office.post(
            f"/api/v1/alumni/{alumnus['id']}/account",
            json={"username": username, "password": PASSWORD},
        )
    )
    me = system.client().login(username, PASSWORD)
    items = ok(me.get("/api/v1/me/chapters/suggested"))["items"]
    by_id = {item["id"]: item for item in items}
    assert by_id[near["id"]]["reason"] == "city" and not by_id[near["id"]]["member"]
    assert by_id[trade["id"]]["reason"] == "industry" and by_id[trade["id"]]["member"]
    assert unconfirmed["id"] not in by_id and far["id"] not in by_id
    assert items[0]["id"] == near["id"]  # the city's chapters first
    assert_error(office.get("/api/v1/me/chapters/suggested"), 403)
    assert_error(me.get("/api/v1/chapters"), 403)


# ---- messengers -------------------------------------------------------------------------------


def class_of(office, dept: str, class_name: str, size: int, **extra: Any) -> list[dict]:
    return [
        new_alumnus(
            office,
            dept,
            phone=f"1391234{i:04d}",
            graduations=[graduation(dept, class_year=2024, class_name=class_name)],
            **extra,
        )
        for i in range(size)
    ]


def test_a_messenger_sees_only_their_own_class(system, office):
    dept_a, dept_b = new_department(office), new_department(office)
    class_one = class_of(office, dept_a, "软件2001班", 3)
    class_two = class_of(office, dept_a, "软件2002班", 2)
    liaison_username = unique("liaison")
    created(
        office.post(
            "/api/v1/accounts",
            json={
                "username": liaison_username,
                "password": PASSWORD,
                "role": "liaison",
                "department_id": dept_a,
            },
        )
    )
    liaison = system.client().login(liaison_username, PASSWORD)

    appoint = {
        "alumnus_id": class_one[0]["id"],
        "department_id": dept_a,
        "class_year": 2024,
        "class_name": "软件2001班",
    }
    first = created(liaison.post("/api/v1/messengers", json=appoint))
    assert (first["name"], first["active"], first["appointed_by"]) == (
        class_one[0]["name"],
        True,
        liaison_username,
    )
    assert_error(liaison.post("/api/v1/messengers", json=appoint), 409)
    outside = {**appoint, "alumnus_id": class_two[0]["id"]}
    assert (
        "alumnus_id"
        in assert_error(liaison.post("/api/v1/messengers", json=outside), 422)["details"]["fields"]
    )
    other_department = {**appoint, "department_id": dept_b}
    assert_error(liaison.post("/api/v1/messengers", json=other_department), 403)
    second = created(
        office.post(
            "/api/v1/messengers",
            json={**appoint, "alumnus_id": class_two[0]["id"], "class_name": "软件2002班"},
        )
    )

    messenger = account(system, office, "messenger", messenger_id=first["id"])
    mine = ok(messenger.get("/api/v1/me/classmates"))["items"]
    assert {c["id"] for c in mine} == {a["id"] for a in class_one}
    assert all(c["phone"].startswith("139****") for c in mine)  # masked
    assert ok(messenger.get(f"/api/v1/messengers/{first['id']}"))["id"] == first["id"]
    same = ok(messenger.get(f"/api/v1/messengers/{first['id']}/classmates", params={"limit": 2}))
    assert len(same["items"]) == 2 and same["next_cursor"]

    # Another class's messenger and classmates: answered as missing.
    for path in (
        f"/api/v1/messengers/{second['id']}",
        f"/api/v1/messengers/{second['id']}/classmates",
    ):
        assert assert_error(messenger.get(path), 404)["details"]["reason"] == "messenger_not_found"
    assert_error(messenger.get("/api/v1/alumni"), 403)
    assert_error(messenger.get("/api/v1/messengers"), 403)

    # Staff: the liaison lists their department's; the office everyone's, filtered.
    listed = ok(liaison.get("/api/v1/messengers"))["items"]
    assert {m["id"] for m in listed} == {first["id"], second["id"]}
    assert_error(liaison.get("/api/v1/messengers", params={"department_id": dept_b}), 403)
    assert ok(office.get(f"/api/v1/messengers/{second['id']}/classmates"))["items"]

    # The appointment ends: the messenger's scope ends with it.
    ended = ok(liaison.post(f"/api/v1/messengers/{first['id']}/end", json={}))
    assert not ended["active"] and ended["ended_on"] == school_today()
    assert_error(liaison.post(f"/api/v1/messengers/{first['id']}/end"), 409)
    assert assert_error(messenger.get("/api/v1/me/classmates"), 403)["details"]["reason"] == (
        "messenger_ended"
    )
    active = ok(
        office.get("/api/v1/messengers", params={"department_id": dept_a, "active": "true"})
    )
    assert [m["id"] for m in active["items"]] == [second["id"]]


def test_a_liaison_of_another_department_does_not_see_a_messenger(system, office):
    dept_a, dept_b = new_department(office), new_department(office)
    [student] = class_of(office, dept_a, "化工2001班", 1)
    appointed = created(
        office.post(
            "/api/v1/messengers",
            json={
                "alumnus_id": student["id"],
                "department_id": dept_a,
                "class_year": 2024,
                "class_name": "化工2001班",
            },
        )
    )
    username = unique("liaison")
    created(
        office.post(
            "/api/v1/accounts",
            json={
                "username": username,
                "password": PASSWORD,
                "role": "liaison",
                "department_id": dept_b,
            },
        )
    )
    liaison_b = system.client().login(username, PASSWORD)
    assert_error(liaison_b.get(f"/api/v1/messengers/{appointed['id']}"), 404)
    assert_error(liaison_b.get(f"/api/v1/messengers/{appointed['id']}/classmates"), 404)
    assert_error(liaison_b.post(f"/api/v1/messengers/{appointed['id']}/end"), 404)


# ---- the student volunteer association ---------------------------------------------------------


def test_student_volunteers_have_terms_and_positions(office):
    dept = new_department(office)
    body = {
        "name": "李同学",
        "department_id": dept,
        "class_year": 2026,
        "position": "president",
        "term_start": "2024-09-01",
    }
    president = created(office.post("/api/v1/student-volunteers", json=body))
    assert president["current"] and president["term_end"] is None
    past = created(
        office.post(
            "/api/v1/student-volunteers",
            json={
                **body,
                "name": "王同学",
                "position": "member",
                "term_end": "2024-06-30",
                "term_start": "2023-09-01",
            },
        )
    )
    assert not past["current"]
    current = ok(
        office.get("/api/v1/student-volunteers", params={"department_id": dept, "current": "true"})
    )
    assert [v["id"] for v in current["items"]] == [president["id"]]

    ended = ok(
        office.patch(
            f"/api/v1/student-volunteers/{president['id']}", json={"term_end": "2024-12-31"}
        )
    )
    assert ended["term_end"] == "2024-12-31" and not ended["current"]
    backwards = office.patch(
        f"/api/v1/student-volunteers/{president['id']}", json={"term_end": "2020-01-01"}
    )
    assert "term_end" in assert_error(backwards, 422)["details"]["fields"]
    for bad in ({"position": "king"}, {"term_start": "yesterday"}, {"class_year": "2026"}):
        assert_error(office.post("/api/v1/student-volunteers", json={**body, **bad}), 422)
    assert_error(
        office.patch(f"/api/v1/student-volunteers/{past['id']}", json={"department_id": dept}), 422
    )
