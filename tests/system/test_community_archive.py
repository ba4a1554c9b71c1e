"""The distinguished-alumni archive and stories and news over HTTP (docs/community.md), as
the office, the committee, liaisons, stewards and anonymous readers drive them; on SQLite
and PostgreSQL (the `system` fixture)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.system.helpers import alumnus_body, assert_error, department_body, unique

PASSWORD = "community-pass-1"
NOMINATIONS = "/api/v1/distinguished/nominations"
PHONE = "13912345678"


@pytest.fixture(scope="module")
def office(system):
    return system.admin()


@pytest.fixture(scope="module")
def place(system, office) -> dict[str, Any]:
    """Two departments, a liaison of each, a committee member, and an alumnus of each."""
    made: dict[str, Any] = {}
    for key in ("a", "b"):
        response = office.post("/api/v1/departments", json=department_body())
        assert response.status_code == 201, response.text
        made[f"dept_{key}"] = response.json()["id"]
        made[f"liaison_{key}"], made[f"liaison_{key}_id"] = account(
            system, office, "liaison", made[f"dept_{key}"]
        )
        made[f"alumnus_{key}"] = new_alumnus(office, made[f"dept_{key}"])
    made["committee"], made["committee_id"] = account(system, office, "committee")
    return made


def account(system, office, role: str, department_id: str | None = None):
    username = unique(role)
    response = office.post(
        "/api/v1/accounts",
        json={
            "username": username,
            "password": PASSWORD,
            "role": role,
            "department_id": department_id,
        },
    )
    assert response.status_code == 201, response.text
    return system.client().login(username, PASSWORD), response.json()["id"]


def new_alumnus(office, department_id: str) -> dict[str, Any]:
    body = alumnus_body(department_id, phone=PHONE, email="hero@example.com")
    response = office.post("/api/v1/alumni", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def nominate(client, alumnus_id: str, status: int = 201) -> dict[str, Any]:
    response = client.post(NOMINATIONS, json={"alumnus_id": alumnus_id, "reasons": "科研成就突出"})
    assert response.status_code == status, response.text
    return response.json()


def approved_entry(office, department_id: str, steward_id: str | None = None) -> dict[str, Any]:
    alumnus = new_alumnus(office, department_id)
    entry = nominate(office, alumnus["id"])
    body = {"steward_id": steward_id} if steward_id else None
    response = office.post(f"{NOMINATIONS}/{entry['id']}/approve", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def a_gift(office, department_id: str, alumnus_id: str) -> str:
    fund = office.post(
        "/api/v1/funds",
        json={"name": unique("奖学金"), "kind": "scholarship", "department_id": department_id},
    )
    assert fund.status_code == 201, fund.text
    gift = office.post(
        "/api/v1/gifts",
        json={
            "donor": {"type": "alumnus", "alumnus_id": alumnus_id},
            "amount_fen": 100_000,
            "allocations": [{"fund_id": fund.json()["id"], "amount_fen": 100_000}],
            "channel": "bank_transfer",
        },
    )
    assert gift.status_code == 201, gift.text
    return gift.json()["id"]


# ---- the distinguished-alumni archive --------------------------------------------------------


def test_nominate_approve_steward_and_log(system, office, place):
    liaison, steward = place["liaison_a"], place["liaison_b"]
    alumnus = new_alumnus(office, place["dept_a"])

    # A liaison nominates an alumnus of their department and follows the nomination.
    entry = nominate(liaison, alumnus["id"])
    assert entry["status"] == "nominated" and entry["department_id"] == place["dept_a"]
    assert entry["alumnus_name"] == alumnus["name"] and "steward" not in entry
    path = f"/api/v1/distinguished/{entry['id']}"
    assert liaison.get(f"{NOMINATIONS}/{entry['id']}").json()["status"] == "nominated"
    assert_error(liaison.get(path), 404)  # not (yet) in the archive
    assert_error(office.get(path), 404)
    mine = liaison.get(NOMINATIONS).json()["items"]
    assert [n["id"] for n in mine] == [entry["id"]]
    assert_error(steward.get(f"{NOMINATIONS}/{entry['id']}"), 404)  # not theirs

    # The office approves and names the steward (专人负责).
    approved = office.post(
        f"{NOMINATIONS}/{entry['id']}/approve", json={"steward_id": place["liaison_b_id"]}
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert approved.json()["steward"]["id"] == place["liaison_b_id"]

    # The steward, the office and the committee see the entry; the nominator does not.
    for reader in (steward, office, place["committee"]):
        response = reader.get(path)
        assert response.status_code == 200, response.text
        assert response.json()["alumnus_id"] == alumnus["id"]
    assert_error(liaison.get(path), 404)
    assert liaison.get(f"{NOMINATIONS}/{entry['id']}").json()["status"] == "approved"
    assert entry["id"] in {e["id"] for e in steward.get("/api/v1/distinguished").json()["items"]}
    assert liaison.get("/api/v1/distinguished").json()["items"] == []
    assert_error(
        liaison.get("/api/v1/distinguished", params={"steward_id": place["liaison_b_id"]}), 403
    )

    # The steward keeps the interaction log; a gift is noted by its id in donations.
    visit = steward.post(
        f"{path}/interactions",
        json={"kind": "visit", "occurred_on": "2026-11-20", "summary": "登门拜访，介绍学院近况。"},
    )
    assert visit.status_code == 201, visit.text
    assert visit.json()["recorded_by"] and visit.json()["gift_id"] is None
    gift_id = a_gift(office, place["dept_a"], alumnus["id"])
    gift = steward.post(
        f"{path}/interactions",
        json={
            "kind": "gift_noted",
            "occurred_on": "2026-11-21",
            "summary": "捐赠奖学金",
            "gift_id": gift_id,
        },
    )
    assert gift.status_code == 201, gift.text
    assert gift.json()["gift_id"] == gift_id
    error = assert_error(
        steward.post(
            f"{path}/interactions",
            json={
                "kind": "gift_noted",
                "occurred_on": "2026-11-21",
                "summary": "捐赠",
                "gift_id": str(uuid.uuid4()),
            },
        ),
        422,
    )
    assert "gift_id" in error["details"]["fields"]
    error = assert_error(
        steward.post(
            f"{path}/interactions",
            json={"kind": "gift_noted", "occurred_on": "2026-11-21", "summary": "捐赠"},
        ),
        422,
    )
    assert "gift_id" in error["details"]["fields"]
    assert_error(
        steward.post(
            f"{path}/interactions",
            json={"kind": "dinner", "occurred_on": "2026-11-21", "summary": "聚餐"},
        ),
        422,
    )
    assert_error(
        place["committee"].post(
            f"{path}/interactions",
            json={"kind": "call", "occurred_on": "2026-11-21", "summary": "电话"},
        ),
        403,
    )
    log = steward.get(f"{path}/interactions").json()["items"]
    assert [i["kind"] for i in log] == ["gift_noted", "visit"]

    # Honours (表彰) are the office's to record; the steward reads them.
    honour = office.post(
        f"{path}/honours",
        json={"year": 2025, "title": "杰出校友奖", "citation": "表彰其在新能源领域的贡献。"},
    )
    assert honour.status_code == 201, honour.text
    assert_error(
        steward.post(f"{path}/honours", json={"year": 2025, "title": "x", "citation": "y"}), 403
    )
    assert [h["title"] for h in steward.get(f"{path}/honours").json()["items"]] == ["杰出校友奖"]
    shown = steward.get(path).json()
    assert (shown["honours_count"], shown["interactions_count"]) == (1, 2)
    assert shown["last_interaction_on"] == "2026-11-21"

    # Reassigned: the new steward sees it, the old one no longer does.
    moved = office.post(f"{path}/steward", json={"steward_id": place["liaison_a_id"]})
    assert moved.status_code == 200, moved.text
    assert liaison.get(path).status_code == 200
    assert_error(steward.get(path), 404)
    assert_error(steward.get(f"{path}/interactions"), 404)
    assert_error(
        steward.post(
            f"{path}/interactions",
            json={"kind": "call", "occurred_on": "2026-11-22", "summary": "电话问候"},
        ),
        404,
    )


def test_a_steward_of_one_entry_does_not_see_another(office, place):
    mine = approved_entry(office, place["dept_a"], place["liaison_b_id"])
    other = approved_entry(office, place["dept_b"])
    steward = place["liaison_b"]
    assert steward.get(f"/api/v1/distinguished/{mine['id']}").status_code == 200
    for suffix in ("", "/interactions", "/honours"):
        assert_error(steward.get(f"/api/v1/distinguished/{other['id']}{suffix}"), 404)
    listed = {e["id"] for e in steward.get("/api/v1/distinguished").json()["items"]}
    assert mine["id"] in listed and other["id"] not in listed


def test_rejection_needs_a_reason_and_the_workflow_holds(office, place):
    alumnus = new_alumnus(office, place["dept_a"])
    entry = nominate(office, alumnus["id"])
    again = nominate(office, alumnus["id"], status=409)
    assert again["error"]["details"]["reason"] == "already_nominated"

    error = assert_error(office.post(f"{NOMINATIONS}/{entry['id']}/reject", json={}), 422)
    assert "reason" in error["details"]["fields"]
    assert_error(office.post(f"{NOMINATIONS}/{entry['id']}/reject", json={"reason": "  "}), 422)
    rejected = office.post(f"{NOMINATIONS}/{entry['id']}/reject", json={"reason": "材料不足"})
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["status"], rejected.json()["decision_note"]) == ("rejected", "材料不足")
    late = assert_error(office.post(f"{NOMINATIONS}/{entry['id']}/approve"), 409)
    assert late["details"]["reason"] == "invalid_transition"
    # Not in the archive: no log, no steward.
    assert_error(office.get(f"/api/v1/distinguished/{entry['id']}"), 404)
    assert_error(
        office.post(
            f"/api/v1/distinguished/{entry['id']}/steward",
            json={"steward_id": place["liaison_a_id"]},
        ),
        404,
    )
    # After a rejection, the alumnus may be nominated anew.
    nominate(office, alumnus["id"])
    rejected_only = office.get(NOMINATIONS, params={"status": "rejected"}).json()["items"]
    assert all(n["status"] == "rejected" for n in rejected_only)
    assert entry["id"] in {n["id"] for n in rejected_only}


def test_nominations_are_scoped_and_stewards_must_be_staff_who_write(office, place):
    liaison = place["liaison_a"]
    # Another department's alumnus, and one that does not exist, are told apart by nobody.
    for alumnus_id in (place["alumnus_b"]["id"], str(uuid.uuid4())):
        error = assert_error(
            liaison.post(NOMINATIONS, json={"alumnus_id": alumnus_id, "reasons": "优秀"}), 422
        )
        assert error["details"]["fields"] == {"alumnus_id": ["校友不存在。"]}
    assert_error(liaison.post(NOMINATIONS, json={"alumnus_id": "x", "reasons": "优秀"}), 422)
    assert_error(liaison.post(NOMINATIONS, json={"alumnus_id": place["alumnus_a"]["id"]}), 422)
    assert_error(place["committee"].post(NOMINATIONS, json={}), 403)

    entry = nominate(office, new_alumnus(office, place["dept_a"])["id"])
    for steward in (place["committee_id"], str(uuid.uuid4())):
        error = assert_error(
            office.post(f"{NOMINATIONS}/{entry['id']}/approve", json={"steward_id": steward}),
            422,
        )
        assert "steward_id" in error["details"]["fields"]
    # Nothing changed by the refused approvals.
    assert office.get(f"{NOMINATIONS}/{entry['id']}").json()["status"] == "nominated"


# ---- stories -----------------------------------------------------------------------------------


def story_body(alumnus_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "title": "扎根西部的工程师",
        "summary": "一位校友的二十年。",
        "body": "他毕业后奔赴西部。\n\n二十年来，他主持修建了三座桥梁。",
        "alumni": [{"alumnus_id": alumnus_id, "display_name": "张工"}],
        **overrides,
    }


def test_a_story_from_draft_to_the_public_page(system, office, place):
    liaison = place["liaison_a"]
    anonymous = system.client()
    alumnus = place["alumnus_a"]
    created = liaison.post("/api/v1/staff/stories", json=story_body(alumnus["id"]))
    assert created.status_code == 201, created.text
    story = created.json()
    assert (story["status"], story["department_id"]) == ("draft", place["dept_a"])
    staff_path = f"/api/v1/staff/stories/{story['id']}"
    public_path = f"/api/v1/stories/{story['id']}"

    # A draft is nowhere on the public site, for anyone.
    assert_error(anonymous.get(public_path), 404)
    assert_error(office.get(public_path), 404)
    assert story["id"] not in {s["id"] for s in anonymous.get("/api/v1/stories").json()["items"]}
    # Another department's liaison does not see it.
    assert_error(place["liaison_b"].get(staff_path), 404)
    assert_error(place["liaison_b"].patch(staff_path, json={"title": "改"}), 404)

    changed = liaison.patch(staff_path, json={"title": "扎根西部二十年"})
    assert changed.status_code == 200, changed.text
    assert_error(liaison.post(f"{staff_path}/review"), 403)
    assert_error(office.post(f"{staff_path}/publish"), 409)  # not reviewed yet
    assert office.post(f"{staff_path}/review").json()["status"] == "reviewed"
    assert_error(liaison.patch(staff_path, json={"title": "再改"}), 409)
    assert_error(anonymous.get(public_path), 404)
    published = office.post(f"{staff_path}/publish")
    assert published.status_code == 200, published.text

    # The public page: the story and the names it gives, nothing else of the alumni.
    page = anonymous.get(public_path)
    assert page.status_code == 200, page.text
    shown = page.json()
    assert shown["title"] == "扎根西部二十年"
    assert shown["alumni"] == [{"display_name": "张工"}]
    assert alumnus["id"] not in page.text and PHONE not in page.text
    assert alumnus["name"] not in page.text and "hero@example.com" not in page.text
    listing = anonymous.get("/api/v1/stories").json()["items"]
    assert listing[0]["id"] == story["id"]

    # Withdrawn: gone from the public site; redrafted, it can be worked on again.
    assert office.post(f"{staff_path}/withdraw").json()["status"] == "withdrawn"
    assert_error(anonymous.get(public_path), 404)
    assert story["id"] not in {s["id"] for s in anonymous.get("/api/v1/stories").json()["items"]}
    assert office.post(f"{staff_path}/redraft").json()["status"] == "draft"
    assert liaison.patch(staff_path, json={"summary": None}).status_code == 200


def test_stories_are_plain_text_and_scoped(system, office, place):
    liaison = place["liaison_a"]
    for body in ("<script>alert(1)</script>", "好<b>校友</b>", "<!-- x -->", "<img src=x>"):
        error = assert_error(
            liaison.post(
                "/api/v1/staff/stories", json=story_body(place["alumnus_a"]["id"], body=body)
            ),
            422,
        )
        assert error["details"]["fields"]["body"] == ["正文为纯文本，不接受 HTML 标签。"]
    # A lone "<" in prose is text, not markup.
    prose = liaison.post(
        "/api/v1/staff/stories",
        json=story_body(place["alumnus_a"]["id"], body="及格线 < 60 分，他考了 100 分。"),
    )
    assert prose.status_code == 201, prose.text
    # A liaison's story is about their own department's alumni, filed under it.
    error = assert_error(
        liaison.post("/api/v1/staff/stories", json=story_body(place["alumnus_b"]["id"])), 422
    )
    assert "alumni" in error["details"]["fields"]
    assert_error(
        liaison.post(
            "/api/v1/staff/stories",
            json=story_body(place["alumnus_a"]["id"], department_id=place["dept_b"]),
        ),
        403,
    )
    duplicate = story_body(place["alumnus_a"]["id"])
    duplicate["alumni"] *= 2
    assert_error(office.post("/api/v1/staff/stories", json=duplicate), 422)
    assert_error(office.post("/api/v1/staff/stories", json=story_body(str(uuid.uuid4()))), 422)
    assert_error(office.post("/api/v1/staff/stories", json={**duplicate, "alumni": []}), 422)
    # The liaison lists their department's; asking for another's is refused.
    listed = liaison.get("/api/v1/staff/stories").json()["items"]
    assert listed and all(s["department_id"] == place["dept_a"] for s in listed)
    assert_error(
        liaison.get("/api/v1/staff/stories", params={"department_id": place["dept_b"]}), 403
    )
    assert_error(system.client().get("/api/v1/staff/stories"), 401)
    assert_error(system.client().get("/api/v1/stories", params={"limit": "0"}), 422)
    assert_error(system.client().get("/api/v1/stories", params={"cursor": "!!"}), 422)


def test_public_stories_page_through(system, office, place):
    made = []
    for number in range(3):
        story = office.post(
            "/api/v1/staff/stories",
            json=story_body(place["alumnus_b"]["id"], title=f"翻页{number}"),
        ).json()
        office.post(f"/api/v1/staff/stories/{story['id']}/review")
        office.post(f"/api/v1/staff/stories/{story['id']}/publish")
        made.append(story["id"])
    anonymous = system.client()
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        answer = anonymous.get("/api/v1/stories", params=params).json()
        seen += [s["id"] for s in answer["items"]]
        cursor = answer["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    assert seen[:3] == list(reversed(made))


# ---- alumni news -----------------------------------------------------------------------------


def news_body(alumnus_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "alumnus_id": alumnus_id,
        "headline": "校友当选院士",
        "body": "据报道，该校友当选中国工程院院士。",
        "source": "人民日报 2026-11-20",
        **overrides,
    }


def test_news_flows_to_the_office_queue(office, place):
    liaison = place["liaison_a"]
    submitted = liaison.post("/api/v1/alumni-news", json=news_body(place["alumnus_a"]["id"]))
    assert submitted.status_code == 201, submitted.text
    news = submitted.json()
    assert (news["status"], news["department_id"]) == ("submitted", place["dept_a"])
    assert_error(liaison.post("/api/v1/alumni-news", json=news_body(place["alumnus_b"]["id"])), 422)
    assert_error(
        liaison.post(
            "/api/v1/alumni-news", json=news_body(place["alumnus_a"]["id"], body="<p>x</p>")
        ),
        422,
    )
    queue = office.get("/api/v1/alumni-news", params={"status": "submitted", "limit": 100})
    assert news["id"] in {n["id"] for n in queue.json()["items"]}
    assert_error(place["liaison_b"].get(f"/api/v1/alumni-news/{news['id']}"), 404)
    assert liaison.get(f"/api/v1/alumni-news/{news['id']}").status_code == 200
    assert_error(liaison.post(f"/api/v1/alumni-news/{news['id']}/accept"), 403)

    accepted = office.post(f"/api/v1/alumni-news/{news['id']}/accept", json={"make_story": True})
    assert accepted.status_code == 200, accepted.text
    story_id = accepted.json()["story_id"]
    story = liaison.get(f"/api/v1/staff/stories/{story_id}").json()
    assert (story["status"], story["title"]) == ("draft", "校友当选院士")
    assert story["alumni"][0]["alumnus_id"] == place["alumnus_a"]["id"]
    assert "人民日报" in story["body"]
    assert_error(
        office.post(f"/api/v1/alumni-news/{news['id']}/dismiss", json={"reason": "重复"}), 409
    )

    other = liaison.post("/api/v1/alumni-news", json=news_body(place["alumnus_a"]["id"])).json()
    error = assert_error(office.post(f"/api/v1/alumni-news/{other['id']}/dismiss", json={}), 422)
    assert "reason" in error["details"]["fields"]
    dismissed = office.post(
        f"/api/v1/alumni-news/{other['id']}/dismiss", json={"reason": "消息来源不可靠"}
    )
    assert dismissed.status_code == 200, dismissed.text
    assert (dismissed.json()["status"], dismissed.json()["dismissal_reason"]) == (
        "dismissed",
        "消息来源不可靠",
    )
    assert dismissed.json()["story_id"] is None
    mine = liaison.get("/api/v1/alumni-news", params={"limit": 100}).json()["items"]
    assert mine and all(n["department_id"] == place["dept_a"] for n in mine)
