"""The archive and the stories and news: domain functions over a migrated database, the
plain-text rule of their contracts, and the gateway's decisions (docs/community.md)."""

from __future__ import annotations

import uuid

import pytest

from gateway.auth import Principal
from gateway.authz import community_archive as rules
from services.common.contracts import registry_archive as contract
from services.common.contracts.base import load_or_raise
from services.common.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from services.registry import archive, domain, stories
from services.registry.models import Account
from tests.conftest import BACKENDS
from tests.unit.test_registry_domain import OFFICE, actor, alumnus_input

PAGE = {"limit": 50, "cursor": None}


@pytest.fixture(params=["sqlite"])
def backend(request):
    return request.param


both_backends = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
def session(registry_session_factory):
    with registry_session_factory() as session:
        yield session


@pytest.fixture
def place(session):
    made = {
        "cs": domain.create_department(session, {"name": "计算机学院", "code": "CS"})["id"],
        "phy": domain.create_department(session, {"name": "物理学院", "code": "PHY"})["id"],
    }
    made["alumnus"] = domain.register_alumnus(session, alumnus_input(made["cs"]), OFFICE)["id"]
    for role, department in (("liaison", made["cs"]), ("committee", None)):
        account = Account(
            username=f"{role}.user", password_hash="x", role=role, department_id=department
        )
        session.add(account)
        session.flush()
        made[role] = account.id
    session.commit()
    return made


def liaison_actor(place):
    return {**actor("liaison", place["cs"]), "account_id": place["liaison"]}


# ---- the archive -------------------------------------------------------------------------------


@both_backends
def test_nomination_to_archive_with_steward_log_and_honours(session, place):
    entry = archive.nominate(
        session, {"alumnus_id": place["alumnus"], "reasons": "贡献突出"}, liaison_actor(place)
    )
    assert (entry["status"], entry["department_id"]) == ("nominated", place["cs"])
    assert entry["alumnus_name"] == "王小明" and entry["steward"] is None
    with pytest.raises(Conflict) as taken:
        archive.nominate(session, {"alumnus_id": place["alumnus"], "reasons": "再提"}, OFFICE)
    assert taken.value.details["reason"] == "already_nominated"
    with pytest.raises(Conflict):  # not in the archive yet
        archive.add_interaction(
            session,
            entry["id"],
            {"kind": "call", "occurred_on": "2026-01-02", "summary": "电话"},
            OFFICE,
        )

    approved = archive.decide(session, entry["id"], "approve", OFFICE, "", place["liaison"])
    assert approved["status"] == "approved" and approved["steward"]["id"] == place["liaison"]
    assert approved["decided_by"] == OFFICE["username"]
    for day, kind in (("2026-01-02", "visit"), ("2026-03-04", "call")):
        archive.add_interaction(
            session, entry["id"], {"kind": kind, "occurred_on": day, "summary": "往来"}, OFFICE
        )
    archive.add_honour(
        session, entry["id"], {"year": 2025, "title": "杰出校友", "citation": "表彰"}, OFFICE
    )
    session.commit()
    shown = archive.get_entry(session, entry["id"])
    assert (shown["interactions_count"], shown["honours_count"]) == (2, 1)
    assert shown["last_interaction_on"] == "2026-03-04"
    log = archive.list_interactions(session, entry["id"], PAGE)["items"]
    assert [i["kind"] for i in log] == ["call", "visit"]

    steward_list = archive.list_entries(session, PAGE, archived=True, steward_id=place["liaison"])[
        "items"
    ]
    assert [e["id"] for e in steward_list] == [entry["id"]]
    assert archive.list_entries(session, PAGE, archived=True, steward_id=str(uuid.uuid4())) == {
        "items": [],
        "next_cursor": None,
    }
    with pytest.raises(Conflict) as again:
        archive.decide(session, entry["id"], "reject", OFFICE, "晚了")
    assert again.value.details["reason"] == "invalid_transition"


def test_only_writing_staff_may_be_stewards(session, place):
    entry = archive.nominate(session, {"alumnus_id": place["alumnus"], "reasons": "好"}, OFFICE)
    for steward in (place["committee"], str(uuid.uuid4()), "not-a-uuid"):
        with pytest.raises(ValidationFailed) as refused:
            archive.decide(session, entry["id"], "approve", OFFICE, "", steward)
        assert "steward_id" in refused.value.details["fields"]
    with pytest.raises(Conflict):  # a steward is for an archived entry
        archive.assign_steward(session, entry["id"], place["liaison"])
    with pytest.raises(NotFound):
        archive.get_entry(session, str(uuid.uuid4()))


def test_a_rejected_alumnus_may_be_nominated_again(session, place):
    first = archive.nominate(session, {"alumnus_id": place["alumnus"], "reasons": "好"}, OFFICE)
    rejected = archive.decide(session, first["id"], "reject", OFFICE, "材料不足")
    assert (rejected["status"], rejected["decision_note"]) == ("rejected", "材料不足")
    second = archive.nominate(session, {"alumnus_id": place["alumnus"], "reasons": "补充"}, OFFICE)
    assert second["id"] != first["id"]
    mine = archive.list_entries(session, {**PAGE, "status": "rejected"}, archived=False)
    assert [e["id"] for e in mine["items"]] == [first["id"]]


# ---- stories and news --------------------------------------------------------------------------


def story_input(alumnus_id, **overrides):
    raw = {
        "title": "标题",
        "body": "正文",
        "alumni": [{"alumnus_id": alumnus_id}],
        **overrides,
    }
    return load_or_raise(contract.StoryInput, raw)


@both_backends
def test_story_workflow_and_its_public_face(session, place):
    story = stories.create_story(session, story_input(place["alumnus"]), liaison_actor(place))
    assert story["alumni"] == [{"alumnus_id": place["alumnus"], "display_name": "王小明"}]
    assert story["department_id"] == place["cs"]
    with pytest.raises(NotFound):
        stories.public_story(session, story["id"])
    for step in ("review", "publish"):
        stories.step_story(session, story["id"], step, OFFICE)
    with pytest.raises(Conflict) as refused:
        stories.update_story(session, story["id"], {"title": "改"})
    assert refused.value.details["reason"] == "not_a_draft"
    session.commit()
    public = stories.public_story(session, story["id"])
    assert public["alumni"] == [{"display_name": "王小明"}]
    assert set(public) == {"id", "title", "summary", "body", "alumni", "published_at"}
    assert [s["id"] for s in stories.public_stories(session, PAGE)["items"]] == [story["id"]]
    stories.step_story(session, story["id"], "withdraw", OFFICE)
    assert stories.public_stories(session, PAGE)["items"] == []
    with pytest.raises(Conflict):
        stories.step_story(session, story["id"], "publish", OFFICE)


def test_a_story_names_existing_alumni_only(session, place):
    with pytest.raises(ValidationFailed) as refused:
        stories.create_story(session, story_input(str(uuid.uuid4())), OFFICE)
    assert "alumni" in refused.value.details["fields"]


def test_news_accepted_into_a_story_draft_or_dismissed(session, place):
    body = {"alumnus_id": place["alumnus"], "headline": "喜讯", "body": "内容", "source": "校报"}
    news = stories.submit_news(session, body, liaison_actor(place))
    assert (news["status"], news["department_id"]) == ("submitted", place["cs"])
    accepted = stories.accept_news(session, news["id"], OFFICE, make_story=True)
    story = stories.get_story(session, accepted["story_id"])
    assert (story["status"], story["department_id"]) == ("draft", place["cs"])
    assert story["body"].endswith("来源：校报")
    with pytest.raises(Conflict):
        stories.dismiss_news(session, news["id"], OFFICE, "重复")
    other = stories.submit_news(session, body, OFFICE)
    assert other["department_id"] is None
    dismissed = stories.dismiss_news(session, other["id"], OFFICE, "不实")
    assert (dismissed["status"], dismissed["dismissal_reason"]) == ("dismissed", "不实")
    queue = stories.list_news(session, {**PAGE, "status": "submitted"})
    assert queue["items"] == []


# ---- the plain-text rule ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["<script>x</script>", "a<b>c", "</p>", "<!-- c -->", "<!doctype html>", "<?xml?>", "<IMG>"],
)
def test_markup_is_refused(text):
    with pytest.raises(ValidationFailed) as refused:
        load_or_raise(contract.NewsDismissal, {"reason": text})
    assert refused.value.details["fields"]["reason"] == ["正文为纯文本，不接受 HTML 标签。"]


@pytest.mark.parametrize("text", ["成绩 < 60", "a < b > c", "1<2", "<<", "比 <5% 少", "→ <-"])
def test_prose_with_angle_brackets_is_text(text):
    assert load_or_raise(contract.NewsDismissal, {"reason": text})["reason"] == text


def test_a_gift_goes_with_gift_noted_only():
    gift = str(uuid.uuid4())
    base = {"occurred_on": "2026-01-01", "summary": "s"}
    with pytest.raises(ValidationFailed):
        load_or_raise(contract.InteractionInput, {**base, "kind": "gift_noted"})
    with pytest.raises(ValidationFailed):
        load_or_raise(contract.InteractionInput, {**base, "kind": "visit", "gift_id": gift})
    loaded = load_or_raise(
        contract.InteractionInput, {**base, "kind": "gift_noted", "gift_id": gift}
    )
    assert str(loaded["gift_id"]) == gift


# ---- the gateway's decisions -------------------------------------------------------------------


def principal(role, account_id="acc-1", department_id=None):
    return Principal(account_id, f"{role}.user", role, department_id)


def entry(status="approved", steward="acc-steward", nominator="acc-nominator"):
    return {
        "id": "e1",
        "status": status,
        "steward": {"id": steward, "username": "s", "role": "liaison"} if steward else None,
        **{name: None for name in rules.NOMINATION_FIELDS if name not in ("id", "status")},
        "nominator_id": nominator,
    }


def test_who_sees_an_archive_entry():
    for reader in (
        principal("office"),
        principal("committee"),
        principal("liaison", "acc-steward"),
    ):
        rules.check_entry_read(reader, entry())
    for outsider in (principal("liaison", "acc-other"), principal("liaison", "acc-nominator")):
        with pytest.raises(NotFound):
            rules.check_entry_read(outsider, entry())
    with pytest.raises(NotFound):  # a nomination is not an archive entry, even to the office
        rules.check_entry_read(principal("office"), entry(status="nominated"))
    with pytest.raises(PermissionDenied):
        rules.check_interaction_write(principal("committee"), entry())
    rules.check_interaction_write(principal("liaison", "acc-steward"), entry())


def test_a_nominator_sees_the_status_not_the_archive():
    view = rules.check_nomination_read(principal("liaison", "acc-nominator"), entry())
    assert set(view) == set(rules.NOMINATION_FIELDS) and "steward" not in view
    with pytest.raises(NotFound):
        rules.check_nomination_read(principal("liaison", "acc-other"), entry())


def test_a_liaison_lists_only_their_own_stewardship():
    assert rules.scope_archive(principal("liaison", "me"), {}) == {"steward_id": "me"}
    with pytest.raises(PermissionDenied):
        rules.scope_archive(principal("liaison", "me"), {"steward_id": "you"})
    assert rules.scope_archive(principal("committee"), {"steward_id": "you"}) == {
        "steward_id": "you"
    }


def test_the_persons_export_holds_the_archive_stories_and_news(session, place):
    from services.registry import rights

    entry = archive.nominate(session, {"alumnus_id": place["alumnus"], "reasons": "好"}, OFFICE)
    archive.decide(session, entry["id"], "approve", OFFICE)
    archive.add_interaction(
        session,
        entry["id"],
        {"kind": "call", "occurred_on": "2026-01-02", "summary": "电话"},
        OFFICE,
    )
    stories.create_story(session, story_input(place["alumnus"]), OFFICE)
    news = {"alumnus_id": place["alumnus"], "headline": "喜讯", "body": "内容", "source": "校报"}
    stories.submit_news(session, news, OFFICE)
    session.commit()
    export = rights.export_person(session, place["alumnus"])
    assert [e["id"] for e in export["distinguished"]] == [entry["id"]]
    assert export["distinguished"][0]["interactions"][0]["summary"] == "电话"
    assert len(export["stories"]) == 1 and len(export["news"]) == 1


def test_an_erasure_forgets_the_archive_entry_the_news_and_the_stories_links(session, place):
    from datetime import UTC, datetime

    from services.registry import rights

    entry = archive.nominate(session, {"alumnus_id": place["alumnus"], "reasons": "好"}, OFFICE)
    archive.decide(session, entry["id"], "approve", OFFICE)
    archive.add_honour(
        session, entry["id"], {"year": 2025, "title": "杰出校友", "citation": "表彰"}, OFFICE
    )
    story = stories.create_story(session, story_input(place["alumnus"]), OFFICE)
    for step in ("review", "publish"):
        stories.step_story(session, story["id"], step, OFFICE)
    news = {"alumnus_id": place["alumnus"], "headline": "喜讯", "body": "内容", "source": "校报"}
    stories.submit_news(session, news, OFFICE)
    session.commit()

    rights.erase_alumnus(session, place["alumnus"], datetime.now(UTC))
    session.commit()
    export = rights.export_person(session, place["alumnus"])
    assert (export["distinguished"], export["stories"], export["news"]) == ([], [], [])
    with pytest.raises(NotFound):
        stories.public_story(session, story["id"])
    withdrawn = stories.get_story(session, story["id"])
    assert (withdrawn["status"], withdrawn["alumni"]) == ("withdrawn", [])
