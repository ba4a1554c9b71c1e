"""Chapters, messengers and student volunteers: the registry's domain functions over a
migrated SQLite database (docs/community.md)."""

from __future__ import annotations

from datetime import date

import pytest

from services.common.caller import Caller
from services.common.contracts import community as contract
from services.common.contracts import registry as registry_contract
from services.common.contracts.base import load_or_raise
from services.common.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from services.registry import chapters, domain, messengers
from services.registry.community_accounts import community_scope

TODAY = date(2026, 12, 6)
PAGE = {"limit": 50, "cursor": None}
OFFICE = {"account_id": "acc-office", "username": "zhao.office", "role": "office"}


@pytest.fixture(params=["sqlite"])
def backend(request):
    return request.param


@pytest.fixture
def session(registry_session_factory):
    with registry_session_factory() as session:
        yield session


@pytest.fixture
def dept(session):
    made = domain.create_department(session, {"name": "计算机学院", "code": "CS"})
    session.commit()
    return made["id"]


def alumnus(session, dept, class_name=None, **fields):
    raw = {
        "name": fields.pop("name", "王小明"),
        "graduations": [
            {
                "department_id": dept,
                "major": "软件工程",
                "degree": "bachelor",
                "class_year": 2024,
                "class_name": class_name,
            }
        ],
        **fields,
    }
    payload = load_or_raise(registry_contract.AlumnusInput(), raw)
    record = domain.register_alumnus(session, payload, {**OFFICE, "department_id": None})
    session.commit()
    return record


def chapter_input(**fields):
    raw = {"name": "苏州校友会", "kind": "regional", "city": "苏州", "founded_on": "2015-05-04"}
    return load_or_raise(contract.ChapterInput(), {**raw, **fields})


# ---- chapters ---------------------------------------------------------------------------------


def test_the_kind_decides_what_a_chapter_must_name(session):
    with pytest.raises(ValidationFailed) as error:
        chapters.create_chapter(session, chapter_input(city=None), TODAY)
    assert "city" in error.value.details["fields"]
    with pytest.raises(ValidationFailed) as error:
        chapters.create_chapter(session, chapter_input(kind="industry", city=None), TODAY)
    assert "industry" in error.value.details["fields"]
    with pytest.raises(ValidationFailed) as error:
        chapters.create_chapter(
            session, chapter_input(registration_number="X1", founded_on="2030-01-01"), TODAY
        )
    assert set(error.value.details["fields"]) == {"legal_form", "founded_on"}


def test_one_general_association_and_unique_names(session):
    general = chapter_input(name="校友总会", kind="general", city=None)
    made = chapters.create_chapter(session, general, TODAY)
    with pytest.raises(Conflict):
        chapters.create_chapter(session, chapter_input(name="总会二", kind="general"), TODAY)
    # Changing the general association itself is not a second one.
    chapters.update_chapter(session, made["id"], {"name": "母校校友总会"}, TODAY)
    chapters.create_chapter(session, chapter_input(), TODAY)
    with pytest.raises(Conflict):
        chapters.create_chapter(session, chapter_input(), TODAY)


def test_confirmation_is_once_and_dated_within_the_chapter_life(session):
    made = chapters.create_chapter(session, chapter_input(), TODAY)
    with pytest.raises(ValidationFailed):
        chapters.confirm_chapter(
            session, made["id"], {"confirmed_on": date(2014, 1, 1)}, "office", TODAY
        )
    with pytest.raises(ValidationFailed):
        chapters.confirm_chapter(
            session, made["id"], {"confirmed_on": date(2027, 1, 1)}, "office", TODAY
        )
    done = chapters.confirm_chapter(
        session, made["id"], {"confirmed_on": date(2016, 1, 1), "note": "确认"}, "office", TODAY
    )
    assert done["confirmed"] and done["confirmed_by"] == "office"
    with pytest.raises(Conflict):
        chapters.confirm_chapter(
            session, made["id"], {"confirmed_on": date(2016, 1, 1)}, "office", TODAY
        )
    # Nor can the founding move past the confirmation afterwards.
    with pytest.raises(ValidationFailed):
        chapters.update_chapter(session, made["id"], {"founded_on": date(2017, 1, 1)}, TODAY)


def test_members_and_their_roles(session, dept):
    made = chapters.create_chapter(session, chapter_input(), TODAY)
    one, two = alumnus(session, dept, city="苏州"), alumnus(session, dept, name="李雷")
    first = chapters.add_member(session, made["id"], {"alumnus_id": one["id"]}, "o", TODAY)
    assert (first["role"], first["joined_on"]) == ("member", TODAY.isoformat())
    chapters.add_member(
        session, made["id"], {"alumnus_id": two["id"], "role": "volunteer"}, "o", TODAY
    )
    with pytest.raises(Conflict):
        chapters.add_member(session, made["id"], {"alumnus_id": one["id"]}, "o", TODAY)
    with pytest.raises(ValidationFailed):
        chapters.add_member(session, made["id"], {"alumnus_id": "nobody"}, "o", TODAY)
    volunteers = chapters.list_members(session, made["id"], {**PAGE, "role": "volunteer"})
    assert [m["name"] for m in volunteers["items"]] == ["李雷"]
    chapters.update_member(session, made["id"], first["id"], {"role": "officer"})
    with pytest.raises(Conflict):
        chapters.delete_chapter(session, made["id"])
    other = chapters.create_chapter(session, chapter_input(name="杭州校友会", city="杭州"), TODAY)
    with pytest.raises(NotFound):  # a member is reached through its own chapter only
        chapters.remove_member(session, other["id"], first["id"])
    chapters.delete_chapter(session, other["id"])


def test_suggestions_follow_city_and_industry(session, dept):
    near = chapters.create_chapter(session, chapter_input(city="苏州市"), TODAY)
    trade = chapters.create_chapter(
        session,
        chapter_input(name="芯片校友会", kind="industry", city=None, industry="集成电路"),
        TODAY,
    )
    chapters.create_chapter(session, chapter_input(name="未确认", city="苏州"), TODAY)
    for made in (near, trade):
        chapters.confirm_chapter(
            session, made["id"], {"confirmed_on": date(2020, 1, 1)}, "office", TODAY
        )
    person = alumnus(session, dept, city=" 苏州 ", industry="集成电路")
    suggested = chapters.suggested_chapters(session, person["id"])
    assert [(s["id"], s["reason"]) for s in suggested] == [
        (near["id"], "city"),
        (trade["id"], "industry"),
    ]
    assert chapters.city_key("北京市") == chapters.city_key("北京") == "北京"


def test_a_chapter_officer_scope(session):
    made = chapters.create_chapter(session, chapter_input(), TODAY)
    officer = Caller("a", "co", "chapter_officer", None, chapter_id=made["id"])
    chapters.check_chapter_scope(officer, made["id"])
    with pytest.raises(NotFound):
        chapters.check_chapter_scope(officer, "another")
    chapters.check_chapter_scope(Caller("b", "o", "office", None), "another")
    assert community_scope(session, {"role": "chapter_officer", "chapter_id": made["id"]}) == {
        "chapter_id": made["id"],
        "messenger_id": None,
    }
    for data in (
        {"role": "chapter_officer"},
        {"role": "chapter_officer", "chapter_id": "8c4f0c1e-0000-4000-8000-000000000000"},
        {"role": "committee", "chapter_id": made["id"]},
        {"role": "messenger", "chapter_id": made["id"]},
    ):
        with pytest.raises(ValidationFailed):
            community_scope(session, data)


# ---- messengers and volunteers ----------------------------------------------------------------


def test_a_messenger_is_of_the_class_and_sees_it(session, dept):
    one = [alumnus(session, dept, "一班", name=f"甲{i}", phone=f"1391234000{i}") for i in range(3)]
    other = alumnus(session, dept, "二班", name="乙")
    appoint = {"department_id": dept, "class_year": 2024, "class_name": "一班"}
    with pytest.raises(ValidationFailed):
        messengers.appoint_messenger(session, {**appoint, "alumnus_id": other["id"]}, "o", TODAY)
    made = messengers.appoint_messenger(
        session, {**appoint, "alumnus_id": one[0]["id"]}, "o", TODAY
    )
    with pytest.raises(Conflict):
        messengers.appoint_messenger(session, {**appoint, "alumnus_id": one[0]["id"]}, "o", TODAY)
    mates = messengers.classmates(session, made["id"], PAGE, "messenger")["items"]
    assert [m["name"] for m in mates] == ["甲0", "甲1", "甲2"]
    assert mates[1]["phone"] == "139****0001"

    messenger = Caller("m", "m", "messenger", None, messenger_id=made["id"])
    messengers.check_messenger_scope(messenger, made)
    with pytest.raises(NotFound):
        messengers.check_messenger_scope(messenger, {**made, "id": "another"})
    with pytest.raises(NotFound):
        messengers.check_messenger_scope(Caller("l", "l", "liaison", "other-dept"), made)

    with pytest.raises(ValidationFailed):  # ending takes effect at once
        messengers.end_messenger(session, made["id"], {"ended_on": date(2027, 1, 1)}, TODAY)
    ended = messengers.end_messenger(session, made["id"], {}, TODAY)
    assert not ended["active"]
    with pytest.raises(PermissionDenied):
        messengers.classmates(session, made["id"], PAGE, "messenger")
    assert messengers.classmates(session, made["id"], PAGE, "office")["items"]
    with pytest.raises(ValidationFailed):  # no account for an ended appointment
        community_scope(session, {"role": "messenger", "messenger_id": made["id"]})


def test_student_volunteer_terms(session, dept):
    body = {
        "name": "李同学",
        "department_id": dept,
        "class_year": 2026,
        "position": "president",
        "term_start": date(2027, 9, 1),
    }
    current = messengers.add_volunteer(session, {**body, "term_start": date(2026, 1, 1)}, TODAY)
    future = messengers.add_volunteer(session, body, TODAY)
    assert current["current"] and not future["current"]
    with pytest.raises(ValidationFailed):
        messengers.add_volunteer(session, {**body, "term_end": date(2027, 1, 1)}, TODAY)
    listed = messengers.list_volunteers(session, {**PAGE, "current": True}, TODAY)
    assert [v["id"] for v in listed["items"]] == [current["id"]]
    ended = messengers.update_volunteer(session, current["id"], {"term_end": TODAY}, TODAY)
    assert ended["current"]  # the last day still counts
    with pytest.raises(ValidationFailed):
        messengers.update_volunteer(session, current["id"], {"name": None}, TODAY)
