"""Who may do what, as a table: every route of gateway.http.ROUTES, for each role.

Roles: `office`, `committee`, `liaison` (of department A), `alumnus` (the login of alumnus
`a`, a graduate of department A) and `anonymous` (no token). A record outside a liaison's
department answers 404, exactly as one that does not exist, and so do another alumnus's
registration and a draft event to whoever may not see drafts; an action the role may never
take answers 403; no token answers 401.

Every answer is also checked against /openapi.json: its status must be one the document
lists for that route, and its body must match the schema given for it. A route added to
ROUTES without a row here fails `test_every_route_is_in_the_matrix`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import requests

import gateway.service  # noqa: F401  (declares the routes into ROUTES)
from gateway.http import ROUTES
from tests.support.processes import ADMIN_PASSWORD, ADMIN_USERNAME
from tests.system.helpers import (
    PNG_SIGNATURE,
    alumnus_body,
    assert_documented,
    assert_error,
    department_body,
    event_body,
    graduation,
    token_pair,
    unique,
    visit_body,
)

ROLES = ("office", "committee", "liaison", "alumnus", "chapter_officer", "messenger", "anonymous")
STAFF = ("office", "committee", "liaison")
# Accounts scoped to chapter A and to the messenger appointment of class one (docs/community.md):
# they reach only their own chapter's and class's routes, and their own account.
COMMUNITY = ("chapter_officer", "messenger")
ACCOUNT_ROLES = (*STAFF, "alumnus", *COMMUNITY)
PASSWORD = "matrix-password-1"
PHONE = "13812345678"
MASKED_PHONE = re.compile(r"\d{3}\*{4}\d{4}")
PLAN_YEAR = 2040
# Events of the world start within this many days; the fresh ones of single rows later.
WORLD_DAYS = 200


@dataclass
class World:
    """What the matrix runs against: two departments, one account per role, alumni in each."""

    base_url: str
    spec: dict
    dept_a: str
    dept_b: str
    credentials: dict[str, dict[str, str]]
    tokens: dict[str, dict[str, Any]]
    alumnus_a: str
    alumnus_b: str
    alumnus_ab: str
    # What the events service holds, made by the office (see `events_world`).
    ev: dict[str, Any] = field(default_factory=dict)
    # Chapters A and B, messengers of classes one and two (see `community_world`).
    co: dict[str, Any] = field(default_factory=dict)

    def call(
        self,
        role: str,
        method: str,
        path: str,
        json: Any = None,
        params: dict | None = None,
        files: dict | None = None,
        token: str | None = None,
    ) -> requests.Response:
        headers = {}
        if role != "anonymous":
            headers["Authorization"] = f"Bearer {token or self.tokens[role]['access_token']}"
        return requests.request(
            method,
            f"{self.base_url}{path}",
            json=json,
            params=params,
            files=files,
            headers=headers,
            timeout=30,
        )

    def new_alumnus(self, *departments: str) -> dict[str, Any]:
        """A fresh alumnus made by the office, for rows that change what they touch."""
        body = alumnus_body(
            departments[0],
            graduations=[graduation(d, class_year=2000 + i) for i, d in enumerate(departments)],
        )
        return self.office("POST", "/api/v1/alumni", body)

    def new_erasure_request(self) -> dict[str, Any]:
        """An erasure request filed by a fresh alumnus with a login of their own."""
        alumnus = self.new_alumnus(self.dept_a)
        username = unique("erase")
        self.office(
            "POST",
            f"/api/v1/alumni/{alumnus['id']}/account",
            {"username": username, "password": PASSWORD},
        )
        token = token_pair(self.base_url, username, PASSWORD)["access_token"]
        response = requests.post(
            f"{self.base_url}/api/v1/me/erasure",
            json={"reason": "不再联系"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert response.status_code == 201, response.text[:500]
        return response.json()

    def office(self, method: str, path: str, json: Any = None, status: int | None = None) -> Any:
        """A call the office makes to set something up; it must succeed (with `status`)."""
        response = self.call("office", method, path, json=json)
        if status is None:
            assert 200 <= response.status_code < 300, (method, path, response.text[:500])
        else:
            assert response.status_code == status, (method, path, response.text[:500])
        return response.json()

    def dept(self, name: str) -> str | None:
        """`a`, `b` → the department's id; `office` → None (organised by the office)."""
        return {"a": self.dept_a, "b": self.dept_b, "office": None}[name]

    def new_event(self, organiser: str, state: str = "published", **overrides: Any) -> dict:
        """A fresh event of `organiser` (a, b, office) in `state`: draft, published, started
        (under way), finished."""
        if state in ("started", "finished"):
            overrides = {"starts_in": -timedelta(hours=1), **overrides}
        body = event_body(self.dept(organiser), **overrides)
        event = self.office("POST", "/api/v1/events", body)
        if state != "draft":
            event = self.office("POST", f"/api/v1/events/{event['id']}/publish")
        if state == "finished":
            event = self.office("POST", f"/api/v1/events/{event['id']}/finish")
        return event

    def sign_up(self, event_id: str, alumnus_id: str) -> dict[str, Any]:
        path = f"/api/v1/events/{event_id}/registrations"
        return self.office("POST", path, {"alumnus_id": alumnus_id})

    def new_registration(self, organiser: str, alumnus: str = "a") -> dict[str, Any]:
        """A confirmed registration of alumnus `a` or `b` at a fresh event of `organiser`."""
        event = self.new_event(organiser)
        return self.sign_up(event["id"], getattr(self, f"alumnus_{alumnus}"))

    def new_visit(self, department: str, approved: bool = False) -> dict[str, Any]:
        body = visit_body(self.dept(department), self.alumnus_a)
        visit = self.office("POST", "/api/v1/visits", body)
        if approved:
            decision = {"decision": "approved", "host": "admin"}
            visit = self.office("POST", f"/api/v1/visits/{visit['id']}/decision", decision)
        return visit

    def new_project(self, department: str) -> dict[str, Any]:
        body = {
            "title": "校企合作" + unique(""),
            "partner": "某科技有限公司",
            "department_id": self.dept(department),
            "contacts": [{"name": "李雷", "phone": PHONE, "email": "li.lei@example.com"}],
        }
        return self.office("POST", "/api/v1/projects", body)

    def new_suggestion(self) -> dict[str, Any]:
        body = {"alumnus_id": self.alumnus_a, "subject": "建议", "body": "多办讲座。"}
        return self.office("POST", "/api/v1/suggestions", body)

    def new_service_request(self, assigned: bool = False) -> dict[str, Any]:
        request = self.office(
            "POST", "/api/v1/service-requests", service_request_body(self.alumnus_a)
        )
        if assigned:
            path = f"/api/v1/service-requests/{request['id']}/assign"
            request = self.office("POST", path, {"assignee": "admin"}, status=200)
        return request

    def new_series(self, lecture: bool = False) -> dict[str, Any]:
        """A fresh lecture series; with `lecture`, one lecture (a draft) in it."""
        series = self.office("POST", "/api/v1/series", {"title": "校友大讲堂" + unique("")})
        if lecture:
            self.new_event("office", "draft", kind="lecture", series_id=series["id"])
        return series

    def new_declined_visit(self, department: str) -> dict[str, Any]:
        visit = self.new_visit(department)
        decision = {"decision": "declined", "note": "当天校内有大型活动"}
        return self.office("POST", f"/api/v1/visits/{visit['id']}/decision", decision)

    def new_newsletter(self, department: str) -> dict[str, Any]:
        body = {
            "subject": "学校近况",
            "body": "<p>近况</p>",
            "segment": {"department_id": self.dept(department)},
        }
        return self.office("POST", "/api/v1/newsletters", body)

    def new_task(self, plan: str) -> dict[str, Any]:
        body = {"title": "走访校友企业", "owner": "admin", "due_date": f"{PLAN_YEAR}-12-31"}
        return self.office("POST", f"/api/v1/plans/{self.ev[plan]}/tasks", body)


@pytest.fixture(scope="module")
def world(system) -> World:
    base = system.base_url
    spec = requests.get(f"{base}/openapi.json", timeout=10).json()
    office = token_pair(base, ADMIN_USERNAME, ADMIN_PASSWORD)
    auth = {"Authorization": f"Bearer {office['access_token']}"}

    def post(path: str, body: dict) -> dict:
        response = requests.post(f"{base}{path}", json=body, headers=auth, timeout=30)
        assert response.status_code == 201, response.text
        return response.json()

    dept_a = post("/api/v1/departments", department_body())["id"]
    dept_b = post("/api/v1/departments", department_body())["id"]
    credentials: dict[str, dict[str, str]] = {
        "office": {"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}
    }
    for role, department in (("committee", None), ("liaison", dept_a)):
        username = unique(role)
        account = post(
            "/api/v1/accounts",
            {
                "username": username,
                "password": PASSWORD,
                "role": role,
                "department_id": department,
            },
        )
        assert (account["role"], account["department_id"]) == (role, department)
        credentials[role] = {"username": username, "password": PASSWORD}
    tokens = {"office": office}
    for role in ("committee", "liaison"):
        tokens[role] = token_pair(base, **credentials[role])

    def alumnus(*departments: str) -> str:
        body = alumnus_body(
            departments[0],
            phone=PHONE,
            email="zhang.wei@example.com",
            graduations=[graduation(d) for d in departments],
        )
        return post("/api/v1/alumni", body)["id"]

    world = World(
        base_url=base,
        spec=spec,
        dept_a=dept_a,
        dept_b=dept_b,
        credentials=credentials,
        tokens=tokens,
        alumnus_a=alumnus(dept_a),
        alumnus_b=alumnus(dept_b),
        alumnus_ab=alumnus(dept_a, dept_b),
    )
    # The alumnus role: the login the office makes for alumnus a.
    username = unique("alumnus")
    account = post(
        f"/api/v1/alumni/{world.alumnus_a}/account", {"username": username, "password": PASSWORD}
    )
    assert (account["role"], account["alumnus_id"]) == ("alumnus", world.alumnus_a)
    credentials["alumnus"] = {"username": username, "password": PASSWORD}
    tokens["alumnus"] = token_pair(base, **credentials["alumnus"])
    community_world(world)
    events_world(world)
    notify_world(world, system)
    return world


def community_world(world: World) -> None:
    """Chapters A and B (an officer of A, a member of each), two graduating classes of
    department A with a messenger each (an account for class one's), a student volunteer."""
    co = world.co
    for name in ("a", "b"):
        body = {"name": unique(f"分会{name}"), "kind": "regional", "city": "苏州"}
        chapter = world.office("POST", "/api/v1/chapters", {**body, "founded_on": "2015-01-01"})
        co[f"chapter_{name}"] = chapter["id"]
        member = world.office(
            "POST", f"/api/v1/chapters/{chapter['id']}/members", {"alumnus_id": world.alumnus_b}
        )
        co[f"member_{name}"] = member["id"]
    for name in ("one", "two"):
        class_name = f"软件{name}班"
        student = world.office(
            "POST",
            "/api/v1/alumni",
            alumnus_body(
                world.dept_a,
                phone=PHONE,
                graduations=[graduation(world.dept_a, class_year=2024, class_name=class_name)],
            ),
        )
        body = {
            "alumnus_id": student["id"],
            "department_id": world.dept_a,
            "class_year": 2024,
            "class_name": class_name,
        }
        co[f"messenger_{name}"] = world.office("POST", "/api/v1/messengers", body)["id"]
    for department in ("a", "b"):
        body = {
            "name": "学生志愿者",
            "department_id": world.dept(department),
            "class_year": 2026,
            "term_start": "2024-09-01",
        }
        co[f"volunteer_{department}"] = world.office("POST", "/api/v1/student-volunteers", body)[
            "id"
        ]
    co["event_a_draft"] = chapter_event(world, "a")["id"]
    scopes = {
        "chapter_officer": {"chapter_id": co["chapter_a"]},
        "messenger": {"messenger_id": co["messenger_one"]},
    }
    for role, scope in scopes.items():
        username = unique(role[:8])
        body = {"username": username, "password": PASSWORD, "role": role, **scope}
        account = world.office("POST", "/api/v1/accounts", body)
        assert account["role"] == role
        world.credentials[role] = {"username": username, "password": PASSWORD}
        world.tokens[role] = token_pair(world.base_url, username, PASSWORD)


def events_world(world: World) -> None:
    """Events of each organiser in each state, registrations, a visit, a plan, a project, a
    suggestion and a service request of each department or alumnus, made by the office."""
    ev = world.ev
    soon = {"starts_in": timedelta(days=WORLD_DAYS - 10)}
    for organiser in ("a", "b", "office"):
        ev[f"{organiser}_pub"] = world.new_event(organiser, **soon)["id"]
        ev[f"{organiser}_draft"] = world.new_event(organiser, "draft", **soon)["id"]
    for organiser in ("a", "b"):
        done = world.new_event(organiser, "finished")["id"]
        world.office("POST", f"/api/v1/events/{done}/report", {"summary": "活动顺利举行。"})
        ev[f"{organiser}_done"] = done
    ev["reg_a"] = world.sign_up(ev["a_pub"], world.alumnus_a)["id"]
    ev["reg_b"] = world.sign_up(ev["a_pub"], world.alumnus_b)["id"]
    ev["reg_a_on_b"] = world.sign_up(ev["b_pub"], world.alumnus_a)["id"]
    checked = world.sign_up(ev["a_pub"], world.alumnus_ab)
    world.office(
        "POST", f"/api/v1/events/{ev['a_pub']}/checkins", {"token": checked["checkin_token"]}
    )
    ev["checked_token"] = checked["checkin_token"]
    world.office(
        "POST", f"/api/v1/events/{ev['office_pub']}/registrations", {"alumnus_id": world.alumnus_b}
    )
    for department in ("a", "b"):
        ev[f"visit_{department}"] = world.new_visit(department)["id"]
        ev[f"project_{department}"] = world.new_project(department)["id"]
        plan = {"department_id": world.dept(department), "year": PLAN_YEAR, "title": "年度计划"}
        ev[f"plan_{department}"] = world.office("POST", "/api/v1/plans", plan)["id"]
    # A visit an alumnus b asked for themselves: not alumnus a's to see.
    world.office("POST", "/api/v1/visits", visit_body(world.dept_b, world.alumnus_b))
    for who in ("a", "b"):
        alumnus_id = getattr(world, f"alumnus_{who}")
        ev[f"suggestion_{who}"] = world.office(
            "POST",
            "/api/v1/suggestions",
            {"alumnus_id": alumnus_id, "subject": "建议", "body": "多办讲座。"},
        )["id"]
        ev[f"service_request_{who}"] = world.office(
            "POST",
            "/api/v1/service-requests",
            service_request_body(alumnus_id),
        )["id"]
    # The roster is the events service's copy of the registry, fed by its events: wait for it.
    deadline = time.monotonic() + 30
    while True:
        lines = world.office("GET", f"/api/v1/events/{ev['a_pub']}/roster")["items"]
        if len(lines) == 3 and all(line["name"] for line in lines):
            break
        assert time.monotonic() < deadline, f"the roster was not filled: {lines}"
        time.sleep(0.2)


def service_request_body(alumnus_id: str | None = None) -> dict[str, Any]:
    body = {
        "company": "某科技有限公司",
        "kind": "technology_consulting",
        "description": "需要技术咨询。",
    }
    if alumnus_id is not None:
        body["alumnus_id"] = alumnus_id
    return body


Check = Callable[[World, str, requests.Response], None]


@dataclass
class Request:
    path_values: dict[str, str] = field(default_factory=dict)
    json: Any = None
    params: dict[str, str] | None = None
    files: dict[str, Any] | None = None
    # An access token of the role other than the world's (a session a row may end).
    token: str | None = None


@dataclass
class Row:
    """One route and situation; `expect` gives the status for each of the four roles."""

    method: str
    path: str
    situation: str
    expect: dict[str, int]
    request: Callable[[World, str], Request] = field(default=lambda world, role: Request())
    # Further checks of the answer, whatever its status.
    check: Check | None = None


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


def staff(status: int, **overrides: int) -> dict[str, int]:
    """Staff get `status`; an alumnus, a chapter officer and a messenger 403 (no staff route
    is theirs); no token 401."""
    outside = dict.fromkeys(("alumnus", *COMMUNITY), 403)
    return {**dict.fromkeys(STAFF, status), **outside, "anonymous": 401, **overrides}


def office_only(status: int) -> dict[str, int]:
    return {**dict.fromkeys(ROLES, 403), "office": status, "anonymous": 401}


def roles(
    office: int,
    committee: int,
    liaison: int,
    alumnus: int,
    chapter_officer: int = 403,
    messenger: int = 403,
) -> dict[str, int]:
    """Each account role's status, in the order of ROLES (the community roles 403 unless
    said); no token is always 401."""
    return {
        "office": office,
        "committee": committee,
        "liaison": liaison,
        "alumnus": alumnus,
        "chapter_officer": chapter_officer,
        "messenger": messenger,
        "anonymous": 401,
    }


def of(name: str, **extra: Any) -> Callable[[World, str], Request]:
    """A request about one of the world's alumni (`a`, `b`, `ab`)."""
    return lambda world, role: Request({"alumnus_id": getattr(world, f"alumnus_{name}")}, **extra)


def patch_fresh(
    departments: Callable[[World], tuple[str, ...]],
    patch: Callable[[World, dict[str, Any]], dict[str, Any]],
) -> Callable[[World, str], Request]:
    """PATCH a fresh alumnus, so that one role's change does not alter another's row."""

    def make(world: World, role: str) -> Request:
        alumnus = world.new_alumnus(*departments(world))
        return Request({"alumnus_id": alumnus["id"]}, json=patch(world, alumnus))

    return make


def on_success(check: Check) -> Check:
    def checked(world: World, role: str, response: requests.Response) -> None:
        if response.status_code < 300:
            check(world, role, response)

    return checked


@on_success
def liaison_sees_only_department_a(world: World, role: str, response: requests.Response) -> None:
    items = response.json()["items"]
    ids = {item["id"] for item in items}
    if role == "liaison":
        assert items, "the liaison sees their department's alumni"
        assert all(
            world.dept_a in {g["department_id"] for g in item["graduations"]} for item in items
        )
        assert world.alumnus_a in ids and world.alumnus_ab in ids
        assert world.alumnus_b not in ids
    else:
        assert {world.alumnus_a, world.alumnus_b, world.alumnus_ab} <= ids


def no_leak(world: World, role: str, response: requests.Response) -> None:
    """A liaison asking for another department's alumnus learns what an unknown id tells."""
    if response.status_code != 404:
        return
    asked = response.url.rstrip("/").split("/alumni/")[1].split("/")[0]
    unknown = "00000000-0000-4000-8000-000000000000"
    path = response.request.path_url.replace(asked, unknown)
    method = response.request.method
    body = response.request.body
    other = requests.request(
        method,
        f"{world.base_url}{path}",
        data=body,
        headers=dict(response.request.headers),
        timeout=30,
    )
    assert other.status_code == 404
    theirs, mine = response.json(), other.json()
    assert theirs["error"]["details"].pop("alumnus_id") == asked
    assert mine["error"]["details"].pop("alumnus_id") == unknown
    assert theirs == mine


def both(*checks: Check) -> Check:
    def checked(world: World, role: str, response: requests.Response) -> None:
        for check in checks:
            check(world, role, response)

    return checked


@on_success
def contacts_as_the_role_may_see_them(world: World, role: str, response: requests.Response) -> None:
    """The committee sees phone numbers masked; the office and the liaison in full."""
    body = response.json()
    phones = [
        entry["new_value"] if "field" in entry else entry["phone"]
        for entry in body.get("items", [body])
        if entry.get("field", "phone") == "phone"
    ]
    phones = [p for p in phones if p is not None]
    assert phones, "the world's alumni have phone numbers"
    for phone in phones:
        if role == "committee":
            assert MASKED_PHONE.fullmatch(phone), phone
        else:
            assert phone == PHONE, phone


def summaries_without_contacts(world: World, role: str, response: requests.Response) -> None:
    """A search lists summaries (docs/stewardship.md): no role sees a contact in a list;
    the record, masked as the role may see it, is GET by id."""
    if response.status_code != 200:
        return
    items = response.json()["items"]
    assert items, "the world's alumni are listed"
    for item in items:
        assert not {"phone", "email", "wechat", "tags"} & item.keys(), item


def fresh_session(world: World, role: str) -> Request:
    """A session of the role's own, so that ending it leaves the world's tokens working."""
    if role == "anonymous":
        return Request()
    return Request(token=token_pair(world.base_url, **world.credentials[role])["access_token"])


@on_success
def session_ended(world: World, role: str, response: requests.Response) -> None:
    ended = requests.get(
        f"{world.base_url}/api/v1/me",
        headers={"Authorization": response.request.headers["Authorization"]},
        timeout=30,
    )
    assert ended.status_code == 401, ended.text
    assert ended.json()["error"]["details"]["reason"] == "session_ended"


def fresh_account(world: World) -> Request:
    body = {"username": unique("acct"), "password": PASSWORD, "role": "committee"}
    return Request({"account_id": world.office("POST", "/api/v1/accounts", body)["id"]})


@on_success
def me_is_the_caller(world: World, role: str, response: requests.Response) -> None:
    assert response.json()["username"] == world.credentials[role]["username"]
    assert response.json()["role"] == role
    assert response.json()["alumnus_id"] == (world.alumnus_a if role == "alumnus" else None)
    record = response.json()["alumnus"]
    if role == "alumnus":
        # Their own record, unmasked (PIPL art. 44).
        assert (record["id"], record["phone"]) == (world.alumnus_a, PHONE)
    else:
        assert record is None


@on_success
def export_from_every_service(world: World, role: str, response: requests.Response) -> None:
    if response.headers["Content-Type"].startswith("text/html"):
        assert "个人信息副本" in response.text
        return
    export = response.json()
    assert export["registry"]["record"]["id"] == world.alumnus_a
    assert export["events"]["registrations"], "alumnus a is signed up for events"


@on_success
def employer_changed(world: World, role: str, response: requests.Response) -> None:
    if role == "liaison":  # a change request for the office (docs/stewardship.md)
        assert response.json()["patch"]["employer"] == f"雇主-{role}"
        return
    assert response.json()["employer"] == f"雇主-{role}"


ALUMNI = "/api/v1/alumni"
ALUMNUS = "/api/v1/alumni/{alumnus_id}"
HISTORY = "/api/v1/alumni/{alumnus_id}/history"

MATRIX: list[Row] = [
    # ---- operations and auth ----
    Row("GET", "/health", "liveness", everyone(200)),
    Row("GET", "/ready", "readiness", everyone(200)),
    Row(
        "POST",
        "/api/v1/auth/token",
        "own credentials (anonymous: made-up ones)",
        {**everyone(200), "anonymous": 401},
        lambda world, role: Request(
            json=world.credentials.get(role, {"username": "nobody", "password": "nothing-12"})
        ),
    ),
    Row(
        "POST",
        "/api/v1/auth/refresh",
        "own refresh token (anonymous: a made-up one)",
        {**everyone(200), "anonymous": 401},
        lambda world, role: Request(
            json={
                "refresh_token": world.tokens[role]["refresh_token"]
                if role in world.tokens
                else "made.up.token"
            }
        ),
    ),
    Row(
        "POST",
        "/api/v1/auth/logout",
        "a fresh session of one's own",
        {**dict.fromkeys(ACCOUNT_ROLES, 204), "anonymous": 401},
        lambda world, role: fresh_session(world, role),
        check=session_ended,
    ),
    Row(
        "POST",
        "/api/v1/auth/password",
        "a wrong current password (nothing changes)",
        {**dict.fromkeys(ACCOUNT_ROLES, 422), "anonymous": 401},
        lambda world, role: Request(
            json={"current_password": "not-my-password", "new_password": "a-brand-new-phrase"}
        ),
    ),
    Row(
        "GET",
        "/api/v1/me",
        "own account",
        everyone(200) | {"anonymous": 401},
        check=me_is_the_caller,
    ),
    # ---- accounts ----
    Row("GET", "/api/v1/accounts", "list", office_only(200)),
    Row(
        "POST",
        "/api/v1/accounts",
        "create a committee account",
        office_only(201),
        lambda world, role: Request(
            json={"username": unique("acct"), "password": PASSWORD, "role": "committee"}
        ),
    ),
    Row(
        "POST",
        "/api/v1/accounts/{account_id}/disable",
        "a fresh committee account",
        office_only(200),
        lambda world, role: fresh_account(world),
    ),
    Row(
        "POST",
        "/api/v1/accounts/{account_id}/enable",
        "a fresh committee account",
        office_only(200),
        lambda world, role: fresh_account(world),
    ),
    # ---- departments ----
    Row("GET", "/api/v1/departments", "list", staff(200)),
    Row(
        "POST",
        "/api/v1/departments",
        "create",
        office_only(201),
        lambda world, role: Request(json=department_body()),
    ),
    Row(
        "GET",
        "/api/v1/departments/{department_id}",
        "own department A",
        staff(200),
        lambda world, role: Request({"department_id": world.dept_a}),
    ),
    Row(
        "GET",
        "/api/v1/departments/{department_id}",
        "department B (departments are not confidential)",
        staff(200),
        lambda world, role: Request({"department_id": world.dept_b}),
    ),
    # ---- alumni: search ----
    Row(
        "GET",
        ALUMNI,
        "no filter: a liaison gets department A only",
        staff(200),
        lambda world, role: Request(params={"limit": "100"}),
        check=both(liaison_sees_only_department_a, summaries_without_contacts),
    ),
    Row(
        "GET",
        ALUMNI,
        "department_id=A",
        staff(200),
        lambda world, role: Request(params={"department_id": world.dept_a}),
        check=summaries_without_contacts,
    ),
    Row(
        "GET",
        ALUMNI,
        "department_id=B",
        staff(200, liaison=403),
        lambda world, role: Request(params={"department_id": world.dept_b}),
    ),
    # ---- alumni: create ----
    Row(
        "POST",
        ALUMNI,
        "in department A",
        staff(201, committee=403),
        lambda world, role: Request(json=alumnus_body(world.dept_a)),
    ),
    Row(
        "POST",
        ALUMNI,
        "in department B",
        staff(201, committee=403, liaison=403),
        lambda world, role: Request(json=alumnus_body(world.dept_b)),
    ),
    Row(
        "POST",
        ALUMNI,
        "in departments A and B",
        staff(201, committee=403, liaison=403),
        lambda world, role: Request(
            json=alumnus_body(
                world.dept_a, graduations=[graduation(world.dept_a), graduation(world.dept_b)]
            )
        ),
    ),
    # ---- alumni: read ----
    Row("GET", ALUMNUS, "of department A", staff(200), of("a"), contacts_as_the_role_may_see_them),
    Row(
        "GET",
        ALUMNUS,
        "of department B",
        staff(200, liaison=404),
        of("b"),
        both(no_leak, contacts_as_the_role_may_see_them),
    ),
    Row(
        "GET",
        ALUMNUS,
        "of departments A and B",
        staff(200),
        of("ab"),
        contacts_as_the_role_may_see_them,
    ),
    Row("GET", HISTORY, "of department A", staff(200), of("a"), contacts_as_the_role_may_see_them),
    Row(
        "GET",
        HISTORY,
        "of department B",
        staff(200, liaison=404),
        of("b"),
        both(no_leak, contacts_as_the_role_may_see_them),
    ),
    # ---- alumni: change ----
    Row(
        "PATCH",
        ALUMNUS,
        "employer, of department A (liaison: a change request)",
        staff(200, committee=403, liaison=202),
        lambda world, role: Request(
            {"alumnus_id": world.alumnus_a}, json={"employer": f"雇主-{role}"}
        ),
        check=employer_changed,
    ),
    Row(
        "PATCH",
        ALUMNUS,
        "employer, of department B",
        staff(200, committee=403, liaison=404),
        of("b", json={"employer": "某公司"}),
        check=no_leak,
    ),
    Row(
        "PATCH",
        ALUMNUS,
        "graduations of an A alumnus: add one in B",
        staff(200, committee=403, liaison=403),
        patch_fresh(
            lambda world: (world.dept_a,),
            lambda world, alumnus: {
                "graduations": [*alumnus["graduations"], graduation(world.dept_b)]
            },
        ),
    ),
    Row(
        "PATCH",
        ALUMNUS,
        "graduations of an A+B alumnus: drop B's",
        staff(200, committee=403, liaison=403),
        patch_fresh(
            lambda world: (world.dept_a, world.dept_b),
            lambda world, alumnus: {
                "graduations": [
                    g for g in alumnus["graduations"] if g["department_id"] == world.dept_a
                ]
            },
        ),
    ),
    Row(
        "PATCH",
        ALUMNUS,
        "graduations of an A+B alumnus: change A's, keep B's (liaison: a change request)",
        staff(200, committee=403, liaison=202),
        patch_fresh(
            lambda world: (world.dept_a, world.dept_b),
            lambda world, alumnus: {
                "graduations": [
                    {**g, "major": "人工智能"} if g["department_id"] == world.dept_a else g
                    for g in alumnus["graduations"]
                ]
            },
        ),
    ),
    Row(
        "PATCH",
        ALUMNUS,
        "graduations of an A+B alumnus: drop A's",
        staff(200, committee=403, liaison=403),
        patch_fresh(
            lambda world: (world.dept_a, world.dept_b),
            lambda world, alumnus: {
                "graduations": [
                    g for g in alumnus["graduations"] if g["department_id"] == world.dept_b
                ]
            },
        ),
    ),
]

# ---- the events service's routes ---------------------------------------------------------


def on(json: Any = None, params: dict | None = None, **names: str):
    """A request about the world's events-service records: on(event_id="a_pub")."""

    def make(world: World, role: str) -> Request:
        body = json(world, role) if callable(json) else json
        values = {key: world.ev[name] for key, name in names.items()}
        return Request(values, json=body, params=params)

    return make


def fresh(key: str, make: Callable[[World], dict], json: Any = None):
    """A request about a record made afresh for each role, so that one role's change does
    not alter another's row; `json(world, role, record)` gives the body."""

    def request(world: World, role: str) -> Request:
        record = make(world)
        body = json(world, role, record) if callable(json) else json
        return Request({key: record["id"]}, json=body)

    return request


def fresh_registration(organiser: str, alumnus: str = "a", checkin: bool = False):
    def request(world: World, role: str) -> Request:
        registration = world.new_registration(organiser, alumnus)
        if checkin:
            return Request(
                {"event_id": registration["event_id"]},
                json={"token": registration["checkin_token"]},
            )
        return Request(
            {"event_id": registration["event_id"], "registration_id": registration["id"]}
        )

    return request


def with_body(body: Callable[[World, str], Any]):
    """A request whose body depends on the role."""
    return lambda world, role: Request(json=body(world, role))


def sign_up_body(alumnus: str = "b"):
    """An alumnus signs up as themselves (no alumnus_id); staff name alumnus `alumnus`."""

    def body(world: World, role: str, *_: Any) -> dict[str, Any]:
        return {} if role == "alumnus" else {"alumnus_id": getattr(world, f"alumnus_{alumnus}")}

    return body


def as_themselves(make: Callable[[World, str | None], dict]):
    """A body an alumnus sends without naming themselves; staff name alumnus a."""

    def body(world: World, role: str, *_: Any) -> dict[str, Any]:
        return make(world, None if role == "alumnus" else world.alumnus_a)

    return body


def later(days: int) -> str:
    from datetime import UTC, datetime

    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


@on_success
def drafts_as_the_role_may_see_them(world: World, role: str, response: requests.Response) -> None:
    ids = {event["id"] for event in response.json()["items"]}
    ev = world.ev
    assert {ev["a_pub"], ev["b_pub"], ev["office_pub"], ev["a_done"]} <= ids
    seen = {name for name in ("a", "b", "office") if ev[f"{name}_draft"] in ids}
    expected = {
        "office": {"a", "b", "office"},
        "committee": {"a", "b", "office"},
        "liaison": {"a"},
        "alumnus": set(),
        "chapter_officer": set(),
    }[role]
    assert seen == expected, (role, seen)
    if role in ("office", "committee", "chapter_officer"):
        assert world.co["event_a_draft"] in ids
    else:
        assert world.co["event_a_draft"] not in ids


@on_success
def tokens_as_the_role_may_see_them(world: World, role: str, response: requests.Response) -> None:
    items = response.json()["items"]
    assert items
    for registration in items:
        if role == "committee":
            assert registration["checkin_token"] is None
        else:
            assert registration["checkin_token"], registration


@on_success
def roster_as_the_role_may_see_it(world: World, role: str, response: requests.Response) -> None:
    lines = {line["registration"]["alumnus_id"]: line for line in response.json()["items"]}
    assert set(lines) == {world.alumnus_a, world.alumnus_b, world.alumnus_ab}
    for alumnus_id, line in lines.items():
        in_a = alumnus_id != world.alumnus_b
        if role == "office" or (role == "liaison" and in_a):
            assert line["phone"] == PHONE, (role, line)
        else:
            assert MASKED_PHONE.fullmatch(line["phone"]), (role, line)
            assert line["email"] != "zhang.wei@example.com"
        assert (line["registration"]["checkin_token"] is None) == (role == "committee")


@on_success
def visits_as_the_role_may_see_them(world: World, role: str, response: requests.Response) -> None:
    items = response.json()["items"]
    assert items
    if role == "liaison":
        assert {v["department_id"] for v in items} == {world.dept_a}
    if role == "alumnus":
        assert {v["requester_alumnus_id"] for v in items} == {world.alumnus_a}
    # The system is shared with other modules' tests, whose visits have contacts of their own.
    worlds = [v for v in items if v["department_id"] in (world.dept_a, world.dept_b)]
    assert worlds
    for visit in worlds:
        if role == "committee":
            assert MASKED_PHONE.fullmatch(visit["contact"]["phone"]), visit
        else:
            assert visit["contact"]["phone"] == PHONE, (role, visit)


@on_success
def projects_as_the_role_may_see_them(world: World, role: str, response: requests.Response) -> None:
    items = response.json()["items"]
    assert items
    if role == "liaison":
        assert {p["department_id"] for p in items} == {world.dept_a}
    for project in items:
        for contact in project["contacts"]:
            if role == "committee":
                assert MASKED_PHONE.fullmatch(contact["phone"]), project
            else:
                assert contact["phone"] == PHONE, (role, project)


@on_success
def liaison_sees_department_a_plans(world: World, role: str, response: requests.Response) -> None:
    departments = {plan["department_id"] for plan in response.json()["items"]}
    assert world.dept_a in departments
    if role == "liaison":
        assert departments == {world.dept_a}
    else:
        assert world.dept_b in departments


@on_success
def only_their_own(world: World, role: str, response: requests.Response) -> None:
    """An alumnus's lists hold only their own; staff who read everything see both alumni's."""
    owners = {item["alumnus_id"] for item in response.json()["items"]}
    if role == "alumnus":
        assert owners == {world.alumnus_a}
    else:
        assert {world.alumnus_a, world.alumnus_b} <= owners


@on_success
def a_png(world: World, role: str, response: requests.Response) -> None:
    assert response.headers["Content-Type"] == "image/png"
    assert response.content.startswith(PNG_SIGNATURE)


@on_success
def signed_up_whom_they_named(world: World, role: str, response: requests.Response) -> None:
    expected = world.alumnus_a if role == "alumnus" else world.alumnus_b
    assert response.json()["alumnus_id"] == expected
    assert response.json()["status"] == "confirmed"


def acting_for_another_department(world: World, role: str, response: requests.Response) -> None:
    """A liaison naming another department's alumnus gets what an unknown alumnus gets."""
    if response.status_code == 422:
        fields = response.json()["error"]["details"]["fields"]
        assert list(fields.values()) == [["校友不存在。"]], fields


@on_success
def already_recorded(world: World, role: str, response: requests.Response) -> None:
    assert response.json()["already_recorded"] is True


@on_success
def recorded(world: World, role: str, response: requests.Response) -> None:
    assert response.json()["already_recorded"] is False
    assert response.json()["registration"]["checked_in_at"]


@on_success
def reports_as_the_role_may_see_them(world: World, role: str, response: requests.Response) -> None:
    events = {report["event_id"] for report in response.json()["items"]}
    assert world.ev["a_done"] in events
    if role == "liaison":
        assert world.ev["b_done"] not in events
    else:
        assert world.ev["b_done"] in events


@on_success
def visit_cancelled(world: World, role: str, response: requests.Response) -> None:
    assert response.json()["status"] == "cancelled"
    assert response.json()["cancelled_by"] == world.credentials[role]["username"]


@on_success
def series_gone(world: World, role: str, response: requests.Response) -> None:
    series_id = response.json()["id"]
    assert series_id not in {s["id"] for s in world.office("GET", "/api/v1/series")["items"]}


@on_success
def note_recorded(world: World, role: str, response: requests.Response) -> None:
    assert response.json()["history"][-1]["note"] == "已电话回访。"


@on_success
def scan_counted(world: World, role: str, response: requests.Response) -> None:
    body = response.json()
    assert body["flagged"] == len(body["task_ids"])


UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
EVENTS = "/api/v1/events"
EVENT = "/api/v1/events/{event_id}"
REGISTRATIONS = EVENT + "/registrations"
REGISTRATION = REGISTRATIONS + "/{registration_id}"
PLAN_YEARS = {role: index for index, role in enumerate(ROLES)}


def chapter_event_body(
    world: World, chapter: str, starts_in: timedelta = timedelta(days=WORLD_DAYS - 10)
) -> dict[str, Any]:
    body = event_body(None, starts_in=starts_in)
    return {**body, "organiser_type": "chapter", "organiser_id": world.co[f"chapter_{chapter}"]}


def chapter_event(world: World, chapter: str, state: str = "draft") -> dict[str, Any]:
    """A fresh event of chapter `a` or `b` made by the office: a draft, published, or
    published and under way (`started`)."""
    starts_in = -timedelta(hours=1) if state == "started" else timedelta(days=WORLD_DAYS - 10)
    event = world.office("POST", "/api/v1/events", chapter_event_body(world, chapter, starts_in))
    if state != "draft":
        event = world.office("POST", f"/api/v1/events/{event['id']}/publish")
    return event


def plan_body(department: str, base_year: int):
    def make(world: World, role: str) -> Request:
        return Request(
            json={
                "department_id": world.dept(department),
                "year": base_year + PLAN_YEARS[role],
                "title": "年度工作计划",
            }
        )

    return make


MATRIX += [
    # ---- alumni logins ----
    Row(
        "POST",
        "/api/v1/alumni/{alumnus_id}/account",
        "a fresh alumnus record",
        office_only(201),
        lambda world, role: Request(
            {"alumnus_id": world.new_alumnus(world.dept_a)["id"]},
            json={"username": unique("alum"), "password": PASSWORD},
        ),
    ),
    # ---- events: read ----
    Row(
        "GET",
        EVENTS,
        "the world's events: drafts only for those who may see them",
        roles(200, 200, 200, 200, chapter_officer=200),
        lambda world, role: Request(params={"limit": "100", "starts_before": later(WORLD_DAYS)}),
        check=drafts_as_the_role_may_see_them,
    ),
    Row(
        "GET",
        EVENT,
        "published, of the office",
        roles(200, 200, 200, 200, chapter_officer=200),
        on(event_id="office_pub"),
    ),
    Row(
        "GET",
        EVENT,
        "published, of department B",
        roles(200, 200, 200, 200, chapter_officer=200),
        on(event_id="b_pub"),
    ),
    Row(
        "GET",
        EVENT,
        "draft of department A",
        roles(200, 200, 200, 404, 404),
        on(event_id="a_draft"),
    ),
    Row(
        "GET",
        EVENT,
        "draft of department B",
        roles(200, 200, 404, 404, 404),
        on(event_id="b_draft"),
    ),
    Row(
        "GET",
        EVENT,
        "draft of the office",
        roles(200, 200, 404, 404, 404),
        on(event_id="office_draft"),
    ),
    # ---- events: create and change ----
    Row(
        "POST",
        EVENTS,
        "organised by department A",
        roles(201, 403, 201, 403),
        lambda world, role: Request(json=event_body(world.dept_a)),
    ),
    Row(
        "POST",
        EVENTS,
        "organised by department B",
        roles(201, 403, 403, 403),
        lambda world, role: Request(json=event_body(world.dept_b)),
    ),
    Row(
        "POST",
        EVENTS,
        "organised by the office",
        roles(201, 403, 403, 403),
        lambda world, role: Request(json=event_body(None)),
    ),
    Row(
        "PATCH",
        EVENT,
        "title of a draft of department A",
        roles(200, 403, 200, 403, 404),
        fresh("event_id", lambda w: w.new_event("a", "draft"), {"title": "新标题"}),
    ),
    Row(
        "PATCH",
        EVENT,
        "title of a draft of department B",
        roles(200, 403, 404, 403, 404),
        fresh("event_id", lambda w: w.new_event("b", "draft"), {"title": "新标题"}),
    ),
    Row(
        "PATCH",
        EVENT,
        "venue of the office's published event",
        roles(200, 403, 403, 403, 403),
        on(json={"venue": "大礼堂"}, event_id="office_pub"),
    ),
    Row(
        "PATCH",
        EVENT,
        "hand a draft of department A to department B",
        roles(200, 403, 403, 403, 404),
        fresh(
            "event_id",
            lambda w: w.new_event("a", "draft"),
            lambda world, role, event: {"organiser_id": world.dept_b},
        ),
    ),
    Row(
        "POST",
        EVENT + "/publish",
        "a draft of department A",
        roles(200, 403, 200, 403, 404),
        fresh("event_id", lambda w: w.new_event("a", "draft")),
    ),
    Row(
        "POST",
        EVENT + "/publish",
        "a draft of department B",
        roles(200, 403, 404, 403, 404),
        fresh("event_id", lambda w: w.new_event("b", "draft")),
    ),
    Row(
        "POST",
        EVENT + "/publish",
        "department B's event, published already",
        roles(409, 403, 403, 403, 403),
        on(event_id="b_pub"),
    ),
    Row(
        "POST",
        EVENT + "/close",
        "published, of department A",
        roles(200, 403, 200, 403, 403),
        fresh("event_id", lambda w: w.new_event("a")),
    ),
    Row(
        "POST",
        EVENT + "/close",
        "published, of department B",
        roles(200, 403, 403, 403, 403),
        fresh("event_id", lambda w: w.new_event("b")),
    ),
    Row(
        "POST",
        EVENT + "/finish",
        "under way, of department A",
        roles(200, 403, 200, 403, 403),
        fresh("event_id", lambda w: w.new_event("a", "started")),
    ),
    Row(
        "POST",
        EVENT + "/cancel",
        "published, of department A, with a reason",
        roles(200, 403, 200, 403, 403),
        fresh("event_id", lambda w: w.new_event("a"), {"reason": "场地冲突"}),
    ),
    Row(
        "POST",
        EVENT + "/cancel",
        "a draft of the office, no body",
        roles(200, 403, 404, 403, 404),
        fresh("event_id", lambda w: w.new_event("office", "draft")),
    ),
    # ---- events of chapters: their officer's to run (docs/community.md) ----
    Row(
        "POST",
        EVENTS,
        "organised by chapter A",
        roles(201, 403, 403, 403, chapter_officer=201),
        lambda world, role: Request(json=chapter_event_body(world, "a")),
    ),
    Row(
        "POST",
        EVENTS,
        "organised by chapter B",
        roles(201, 403, 403, 403, chapter_officer=403),
        lambda world, role: Request(json=chapter_event_body(world, "b")),
    ),
    Row(
        "GET",
        EVENT,
        "draft of chapter A",
        roles(200, 200, 404, 404, chapter_officer=200),
        lambda world, role: Request({"event_id": world.co["event_a_draft"]}),
    ),
    Row(
        "PATCH",
        EVENT,
        "title of a draft of chapter A",
        roles(200, 403, 404, 403, chapter_officer=200),
        fresh("event_id", lambda w: chapter_event(w, "a"), {"title": "分会聚会"}),
    ),
    Row(
        "PATCH",
        EVENT,
        "hand a draft of chapter A to chapter B",
        roles(200, 403, 404, 403, chapter_officer=403),
        fresh(
            "event_id",
            lambda w: chapter_event(w, "a"),
            lambda world, role, event: {"organiser_id": world.co["chapter_b"]},
        ),
    ),
    Row(
        "POST",
        EVENT + "/publish",
        "a draft of chapter A",
        roles(200, 403, 404, 403, chapter_officer=200),
        fresh("event_id", lambda w: chapter_event(w, "a")),
    ),
    Row(
        "POST",
        EVENT + "/publish",
        "a draft of chapter B",
        roles(200, 403, 404, 403, chapter_officer=404),
        fresh("event_id", lambda w: chapter_event(w, "b")),
    ),
    Row(
        "POST",
        EVENT + "/close",
        "published, of chapter A",
        roles(200, 403, 403, 403, chapter_officer=200),
        fresh("event_id", lambda w: chapter_event(w, "a", "published")),
    ),
    Row(
        "POST",
        EVENT + "/close",
        "published, of chapter B",
        roles(200, 403, 403, 403, chapter_officer=403),
        fresh("event_id", lambda w: chapter_event(w, "b", "published")),
    ),
    Row(
        "POST",
        EVENT + "/finish",
        "under way, of chapter A",
        roles(200, 403, 403, 403, chapter_officer=200),
        fresh("event_id", lambda w: chapter_event(w, "a", "started")),
    ),
    Row(
        "POST",
        EVENT + "/cancel",
        "published, of chapter A",
        roles(200, 403, 403, 403, chapter_officer=200),
        fresh("event_id", lambda w: chapter_event(w, "a", "published"), {"reason": "天气"}),
    ),
    # ---- registrations ----
    Row(
        "GET",
        REGISTRATIONS,
        "of department A's event",
        staff(200),
        on(event_id="a_pub"),
        check=tokens_as_the_role_may_see_them,
    ),
    Row(
        "GET",
        REGISTRATIONS,
        "of department B's event",
        staff(200, liaison=403),
        on(event_id="b_pub"),
    ),
    Row(
        "POST",
        REGISTRATIONS,
        "department A's event: an alumnus for themselves, staff for alumnus b (of B: not the "
        "liaison of A's to act for, answered as an unknown alumnus)",
        roles(201, 403, 422, 201),
        fresh("event_id", lambda w: w.new_event("a"), sign_up_body()),
        check=both(signed_up_whom_they_named, acting_for_another_department),
    ),
    Row(
        "POST",
        REGISTRATIONS,
        "department A's event: an alumnus for themselves, staff for alumnus ab (of A and B)",
        roles(201, 403, 201, 201),
        fresh("event_id", lambda w: w.new_event("a"), sign_up_body("ab")),
    ),
    Row(
        "POST",
        REGISTRATIONS,
        "department B's event: an alumnus for themselves, staff for alumnus b",
        roles(201, 403, 403, 201),
        fresh("event_id", lambda w: w.new_event("b"), sign_up_body()),
        check=signed_up_whom_they_named,
    ),
    Row(
        "POST",
        REGISTRATIONS,
        "the office's event, naming alumnus b",
        roles(201, 403, 403, 403),
        on(json=lambda world, role: {"alumnus_id": world.alumnus_b}, event_id="office_pub"),
    ),
    Row(
        "POST",
        REGISTRATIONS,
        "a draft of department A",
        roles(409, 403, 409, 404),
        on(json=sign_up_body("ab"), event_id="a_draft"),
    ),
    Row(
        "DELETE",
        REGISTRATION,
        "alumnus a's, at department A's event",
        roles(200, 403, 200, 200),
        fresh_registration("a"),
    ),
    Row(
        "DELETE",
        REGISTRATION,
        "alumnus b's, at department A's event",
        roles(200, 403, 200, 404),
        fresh_registration("a", "b"),
    ),
    Row(
        "DELETE",
        REGISTRATION,
        "alumnus a's, at department B's event",
        roles(200, 403, 403, 200),
        fresh_registration("b"),
    ),
    Row(
        "GET",
        REGISTRATION + "/qr",
        "alumnus a's, at department A's event",
        roles(200, 403, 200, 200),
        on(event_id="a_pub", registration_id="reg_a"),
        check=a_png,
    ),
    Row(
        "GET",
        REGISTRATION + "/qr",
        "alumnus b's, at department A's event",
        roles(200, 403, 200, 404),
        on(event_id="a_pub", registration_id="reg_b"),
        check=a_png,
    ),
    Row(
        "GET",
        REGISTRATION + "/qr",
        "alumnus a's, at department B's event",
        roles(200, 403, 403, 200),
        on(event_id="b_pub", registration_id="reg_a_on_b"),
        check=a_png,
    ),
    Row(
        "POST",
        EVENT + "/checkins",
        "a new arrival at department A's event",
        roles(201, 403, 201, 403),
        fresh_registration("a", checkin=True),
        check=recorded,
    ),
    Row(
        "POST",
        EVENT + "/checkins",
        "a second scan at department A's event",
        roles(200, 403, 200, 403),
        on(json=lambda world, role: {"token": world.ev["checked_token"]}, event_id="a_pub"),
        check=already_recorded,
    ),
    Row(
        "POST",
        EVENT + "/checkins",
        "a new arrival at department B's event",
        roles(201, 403, 403, 403),
        fresh_registration("b", checkin=True),
    ),
    Row("GET", EVENT + "/stats", "of department A's event", staff(200), on(event_id="a_pub")),
    Row(
        "GET",
        EVENT + "/stats",
        "of department B's event",
        staff(200, liaison=403),
        on(event_id="b_pub"),
    ),
    Row(
        "GET",
        EVENT + "/roster",
        "of department A's event",
        staff(200),
        on(event_id="a_pub"),
        check=roster_as_the_role_may_see_it,
    ),
    Row(
        "GET",
        EVENT + "/roster",
        "of department B's event",
        staff(200, liaison=403),
        on(event_id="b_pub"),
    ),
    Row(
        "GET",
        "/api/v1/me/registrations",
        "own",
        roles(403, 403, 403, 200),
        lambda world, role: Request(params={"limit": "100"}),
        check=only_their_own,
    ),
    # ---- activity reports ----
    Row("GET", EVENT + "/report", "of department A's event", staff(200), on(event_id="a_done")),
    Row(
        "GET",
        EVENT + "/report",
        "of department B's event",
        staff(200, liaison=403),
        on(event_id="b_done"),
    ),
    Row(
        "POST",
        EVENT + "/report",
        "department A's finished event",
        roles(201, 403, 201, 403),
        fresh("event_id", lambda w: w.new_event("a", "finished"), {"summary": "顺利举行。"}),
    ),
    Row(
        "POST",
        EVENT + "/report",
        "department B's finished event",
        roles(201, 403, 403, 403),
        fresh("event_id", lambda w: w.new_event("b", "finished"), {"summary": "顺利举行。"}),
    ),
    Row(
        "GET",
        "/api/v1/reports",
        "no filter: a liaison gets department A's events' reports",
        staff(200),
        lambda world, role: Request(params={"limit": "100"}),
        check=reports_as_the_role_may_see_them,
    ),
    Row(
        "GET",
        "/api/v1/reports",
        "organiser_id=B",
        staff(200, liaison=403),
        lambda world, role: Request(params={"organiser_id": world.dept_b}),
    ),
    Row(
        "GET",
        "/api/v1/reports",
        "organiser_type=office",
        staff(200, liaison=403),
        lambda world, role: Request(params={"organiser_type": "office"}),
    ),
    # ---- lecture series ----
    Row("GET", "/api/v1/series", "list", roles(200, 200, 200, 200)),
    Row(
        "POST",
        "/api/v1/series",
        "create",
        office_only(201),
        lambda world, role: Request(json={"title": "校友大讲堂" + unique("")}),
    ),
    Row(
        "PATCH",
        "/api/v1/series/{series_id}",
        "describe a series",
        office_only(200),
        fresh("series_id", lambda w: w.new_series(), {"description": "每月一讲。"}),
    ),
    Row(
        "PATCH",
        "/api/v1/series/{series_id}",
        "an unknown series",
        roles(404, 403, 403, 403),
        lambda world, role: Request({"series_id": UNKNOWN_ID}, json={"description": "每月一讲。"}),
    ),
    Row(
        "DELETE",
        "/api/v1/series/{series_id}",
        "an empty series",
        office_only(200),
        fresh("series_id", lambda w: w.new_series()),
        check=series_gone,
    ),
    Row(
        "DELETE",
        "/api/v1/series/{series_id}",
        "a series with a lecture",
        roles(409, 403, 403, 403),
        fresh("series_id", lambda w: w.new_series(lecture=True)),
    ),
    # ---- visits ----
    Row(
        "GET",
        "/api/v1/visits",
        "no filter: a liaison's department, an alumnus's own",
        roles(200, 200, 200, 200),
        lambda world, role: Request(params={"limit": "100"}),
        check=visits_as_the_role_may_see_them,
    ),
    Row(
        "GET",
        "/api/v1/visits",
        "department_id=B",
        roles(200, 200, 403, 200),
        lambda world, role: Request(params={"department_id": world.dept_b}),
    ),
    Row(
        "POST",
        "/api/v1/visits",
        "to department A: an alumnus for themselves, staff for alumnus a",
        roles(201, 403, 201, 201),
        with_body(
            as_themselves(lambda world, requester: visit_body(world.dept_a, requester)),
        ),
    ),
    Row(
        "POST",
        "/api/v1/visits",
        "to department B",
        roles(201, 403, 403, 201),
        with_body(
            as_themselves(lambda world, requester: visit_body(world.dept_b, requester)),
        ),
    ),
    Row(
        "POST",
        "/api/v1/visits",
        "to department A, naming alumnus b (of B) as the requester",
        roles(201, 403, 422, 403),
        lambda world, role: Request(json=visit_body(world.dept_a, world.alumnus_b)),
        check=acting_for_another_department,
    ),
    Row(
        "POST",
        "/api/v1/visits/{visit_id}/decision",
        "approve a visit to department A",
        roles(200, 403, 200, 403),
        fresh("visit_id", lambda w: w.new_visit("a"), {"decision": "approved", "host": "admin"}),
    ),
    Row(
        "POST",
        "/api/v1/visits/{visit_id}/decision",
        "decline a visit to department B",
        roles(200, 403, 404, 403),
        fresh(
            "visit_id",
            lambda w: w.new_visit("b"),
            {"decision": "declined", "note": "当天校内有大型活动"},
        ),
    ),
    Row(
        "POST",
        "/api/v1/visits/{visit_id}/done",
        "an approved visit to department A, today",
        roles(200, 403, 200, 403),
        fresh("visit_id", lambda w: w.new_visit("a", approved=True), {"notes": "参观顺利。"}),
    ),
    Row(
        "POST",
        "/api/v1/visits/{visit_id}/done",
        "an approved visit to department B, today",
        roles(200, 403, 404, 403),
        fresh("visit_id", lambda w: w.new_visit("b", approved=True), {"notes": "参观顺利。"}),
    ),
    Row(
        "POST",
        "/api/v1/visits/{visit_id}/cancel",
        "alumnus a's request to department A, without a body",
        roles(200, 403, 200, 200),
        fresh("visit_id", lambda w: w.new_visit("a")),
        check=visit_cancelled,
    ),
    Row(
        "POST",
        "/api/v1/visits/{visit_id}/cancel",
        "alumnus a's approved visit to department B",
        roles(200, 403, 404, 200),
        fresh("visit_id", lambda w: w.new_visit("b", approved=True), {"reason": "行程有变"}),
        check=visit_cancelled,
    ),
    Row(
        "POST",
        "/api/v1/visits/{visit_id}/cancel",
        "alumnus b's request to department A",
        roles(200, 403, 200, 404),
        fresh(
            "visit_id",
            lambda w: w.office("POST", "/api/v1/visits", visit_body(w.dept_a, w.alumnus_b)),
            {"reason": "行程有变"},
        ),
    ),
    Row(
        "POST",
        "/api/v1/visits/{visit_id}/cancel",
        "alumnus a's declined request to department A",
        roles(409, 403, 409, 409),
        fresh("visit_id", lambda w: w.new_declined_visit("a")),
    ),
    # ---- work plans and tasks ----
    Row(
        "GET",
        "/api/v1/plans",
        "no filter: a liaison gets department A's",
        staff(200),
        lambda world, role: Request(params={"limit": "100"}),
        check=liaison_sees_department_a_plans,
    ),
    Row(
        "GET",
        "/api/v1/plans",
        "department_id=B",
        staff(200, liaison=403),
        lambda world, role: Request(params={"department_id": world.dept_b}),
    ),
    Row(
        "GET",
        "/api/v1/plans",
        "the office's own plans",
        staff(200, liaison=403),
        lambda world, role: Request(params={"office": "true", "year": str(PLAN_YEAR)}),
    ),
    Row("POST", "/api/v1/plans", "department A's", staff(201), plan_body("a", 2050)),
    Row("POST", "/api/v1/plans", "department B's", staff(201, liaison=403), plan_body("b", 2060)),
    Row(
        "POST", "/api/v1/plans", "the office's", staff(201, liaison=403), plan_body("office", 2070)
    ),
    Row(
        "GET",
        "/api/v1/plans/summary",
        "this year's plans",
        roles(200, 200, 403, 403),
        lambda world, role: Request(params={"year": str(PLAN_YEAR)}),
    ),
    Row(
        "POST",
        "/api/v1/plans/overdue-scan",
        "run the scan now",
        office_only(200),
        check=scan_counted,
    ),
    Row("GET", "/api/v1/plans/{plan_id}", "department A's", staff(200), on(plan_id="plan_a")),
    Row(
        "GET",
        "/api/v1/plans/{plan_id}",
        "department B's",
        staff(200, liaison=404),
        on(plan_id="plan_b"),
    ),
    Row(
        "POST",
        "/api/v1/plans/{plan_id}/tasks",
        "in department A's plan",
        staff(201),
        on(
            json={"title": "联络校友", "owner": "admin", "due_date": f"{PLAN_YEAR}-06-30"},
            plan_id="plan_a",
        ),
    ),
    Row(
        "POST",
        "/api/v1/plans/{plan_id}/tasks",
        "in department B's plan",
        staff(201, liaison=404),
        on(
            json={"title": "联络校友", "owner": "admin", "due_date": f"{PLAN_YEAR}-06-30"},
            plan_id="plan_b",
        ),
    ),
    Row(
        "POST",
        "/api/v1/tasks/{task_id}/advance",
        "a task of department A's plan",
        staff(200),
        fresh("task_id", lambda w: w.new_task("plan_a"), {"status": "checked", "note": "已检查"}),
    ),
    Row(
        "POST",
        "/api/v1/tasks/{task_id}/advance",
        "a task of department B's plan",
        staff(200, liaison=404),
        fresh("task_id", lambda w: w.new_task("plan_b"), {"status": "checked", "note": "已检查"}),
    ),
    # ---- suggestions ----
    Row(
        "GET",
        "/api/v1/suggestions",
        "no filter: an alumnus's own",
        roles(200, 200, 403, 200),
        lambda world, role: Request(params={"limit": "100"}),
        check=only_their_own,
    ),
    Row(
        "POST",
        "/api/v1/suggestions",
        "an alumnus for themselves, the office for alumnus a",
        roles(201, 403, 403, 201),
        with_body(
            as_themselves(
                lambda world, who: (
                    {"subject": "建议", "body": "多办讲座。"} | ({"alumnus_id": who} if who else {})
                )
            ),
        ),
    ),
    Row(
        "POST",
        "/api/v1/suggestions",
        "naming alumnus b",
        roles(201, 403, 403, 403),
        lambda world, role: Request(
            json={"alumnus_id": world.alumnus_b, "subject": "建议", "body": "多办讲座。"}
        ),
    ),
    Row(
        "POST",
        "/api/v1/suggestions/{suggestion_id}/answer",
        "an open suggestion",
        office_only(200),
        fresh(
            "suggestion_id",
            lambda w: w.new_suggestion(),
            {"answer": "感谢建议，已采纳。"},
        ),
    ),
    # ---- service requests ----
    Row(
        "GET",
        "/api/v1/service-requests",
        "no filter: an alumnus's own",
        roles(200, 200, 403, 200),
        lambda world, role: Request(params={"limit": "100"}),
        check=only_their_own,
    ),
    Row(
        "POST",
        "/api/v1/service-requests",
        "an alumnus for themselves, the office for alumnus a",
        roles(201, 403, 403, 201),
        with_body(
            as_themselves(lambda world, who: service_request_body(who)),
        ),
    ),
    Row(
        "POST",
        "/api/v1/service-requests",
        "naming alumnus b",
        roles(201, 403, 403, 403),
        lambda world, role: Request(json=service_request_body(world.alumnus_b)),
    ),
    Row(
        "POST",
        "/api/v1/service-requests/{request_id}/assign",
        "an open request",
        office_only(200),
        fresh(
            "request_id",
            lambda w: w.new_service_request(),
            {"assignee": "admin"},
        ),
    ),
    Row(
        "POST",
        "/api/v1/service-requests/{request_id}/status",
        "an assigned request, in progress",
        office_only(200),
        fresh(
            "request_id",
            lambda w: w.new_service_request(assigned=True),
            {"status": "in_progress"},
        ),
    ),
    Row(
        "POST",
        "/api/v1/service-requests/{request_id}/notes",
        "on alumnus a's request",
        office_only(201),
        on(json={"note": "已电话回访。"}, request_id="service_request_a"),
        check=note_recorded,
    ),
    # ---- cooperation projects ----
    Row(
        "GET",
        "/api/v1/projects",
        "no filter: a liaison gets department A's",
        staff(200),
        lambda world, role: Request(params={"limit": "100"}),
        check=projects_as_the_role_may_see_them,
    ),
    Row(
        "GET",
        "/api/v1/projects",
        "department_id=B",
        staff(200, liaison=403),
        lambda world, role: Request(params={"department_id": world.dept_b}),
    ),
    Row(
        "POST",
        "/api/v1/projects",
        "of department A",
        roles(201, 403, 201, 403),
        lambda world, role: Request(
            json={"title": "合作" + unique(""), "partner": "某公司", "department_id": world.dept_a}
        ),
    ),
    Row(
        "POST",
        "/api/v1/projects",
        "of department B",
        roles(201, 403, 403, 403),
        lambda world, role: Request(
            json={"title": "合作" + unique(""), "partner": "某公司", "department_id": world.dept_b}
        ),
    ),
    Row(
        "PATCH",
        "/api/v1/projects/{project_id}",
        "partner of department A's",
        roles(200, 403, 200, 403),
        on(json={"partner": "另一家公司"}, project_id="project_a"),
    ),
    Row(
        "PATCH",
        "/api/v1/projects/{project_id}",
        "partner of department B's",
        roles(200, 403, 404, 403),
        on(json={"partner": "另一家公司"}, project_id="project_b"),
    ),
    Row(
        "PATCH",
        "/api/v1/projects/{project_id}",
        "hand department A's to department B",
        roles(200, 403, 403, 403),
        fresh(
            "project_id",
            lambda w: w.new_project("a"),
            lambda world, role, project: {"department_id": world.dept_b},
        ),
    ),
    Row(
        "POST",
        "/api/v1/projects/{project_id}/notes",
        "on department A's",
        roles(201, 403, 201, 403),
        on(json={"note": "已洽谈。"}, project_id="project_a"),
    ),
    Row(
        "POST",
        "/api/v1/projects/{project_id}/notes",
        "on department B's",
        roles(201, 403, 404, 403),
        on(json={"note": "已洽谈。"}, project_id="project_b"),
    ),
    Row(
        "POST",
        "/api/v1/projects/{project_id}/status",
        "start department A's",
        roles(200, 403, 200, 403),
        fresh("project_id", lambda w: w.new_project("a"), {"status": "active"}),
    ),
    Row(
        "POST",
        "/api/v1/projects/{project_id}/status",
        "start department B's",
        roles(200, 403, 404, 403),
        fresh("project_id", lambda w: w.new_project("b"), {"status": "active"}),
    ),
]

# ---- the donations service's routes -------------------------------------------------------
#
# Funds of department A and B, open and closed, a fund of the office; gifts of alumnus a
# (to A's fund) and alumnus b (to B's), with their receipts; pledges and payment orders
# of each; an agreement, an in-kind gift, a naming, a campaign. Made once, by the office,
# on the first donations row (`donations`).


def donations(world: World) -> dict[str, Any]:
    """The donations records of the world, made on first use."""
    if "donations" not in world.ev:
        world.ev["donations"] = make_donations_world(world)
    return world.ev["donations"]


def make_donations_world(world: World) -> dict[str, Any]:
    dn: dict[str, Any] = {}

    def fund(department: str, name: str, closed: bool = False) -> str:
        body = {"name": name, "kind": "scholarship", "department_id": world.dept(department)}
        fund_id = world.office("POST", "/api/v1/funds", body)["id"]
        if closed:
            world.office("POST", f"/api/v1/funds/{fund_id}/close")
        return fund_id

    dn["fund_a"], dn["fund_b"] = fund("a", "甲院奖学金"), fund("b", "乙院奖学金")
    dn["fund_office"] = fund("office", "校友会基金")
    # What the office's disbursements (one per row of that route) are paid from.
    world.office("POST", "/api/v1/gifts", dn_gift_body(dn["fund_office"], None, world, 10_000))
    dn["fund_a_closed"] = fund("a", "甲院旧基金", closed=True)
    dn["fund_b_closed"] = fund("b", "乙院旧基金", closed=True)
    for who in ("a", "b"):
        gift = world.office("POST", "/api/v1/gifts", dn_gift_body(dn[f"fund_{who}"], who, world))
        dn[f"gift_{who}"], dn[f"receipt_{who}"] = gift["id"], gift["receipt_number"]
        name = world.office("GET", f"/api/v1/alumni/{getattr(world, f'alumnus_{who}')}")["name"]
        donor = {"type": "alumnus", "alumnus_id": getattr(world, f"alumnus_{who}")}
        agreement = world.office("POST", "/api/v1/agreements", dn_agreement_body(donor, name))["id"]
        dn[f"agreement_{who}"] = agreement
        dn[f"pledge_{who}"] = world.office(
            "POST", "/api/v1/pledges", dn_pledge_body(donor, dn[f"fund_{who}"], agreement)
        )["id"]
        dn[f"order_{who}"] = world.office(
            "POST", "/api/v1/payment-orders", dn_order_body(dn["fund_office"], donor)
        )["id"]
    dn["inkind"] = dn_new_inkind(world, dn)["id"]
    dn["naming"] = dn_new_naming(world, dn)["id"]
    campaign = {
        "name": "校庆筹款",
        "starts_on": "2026-01-01",
        "ends_on": "2026-12-31",
        "goal_fen": 100_000_000,
        "fund_ids": [dn["fund_a"], dn["fund_b"]],
    }
    dn["campaign"] = world.office("POST", "/api/v1/campaigns", campaign)["id"]
    return dn


def dn_gift_body(fund_id: str, who: str | None, world: World, amount: int = 1_000_000) -> dict:
    donor = {"type": "anonymous"}
    if who is not None:
        donor = {"type": "alumnus", "alumnus_id": getattr(world, f"alumnus_{who}")}
    return {
        "donor": donor,
        "amount_fen": amount,
        "allocations": [{"fund_id": fund_id, "amount_fen": amount}],
        "channel": "bank_transfer",
    }


def dn_agreement_body(donor: dict, signer: str) -> dict:
    return {
        "donor": donor,
        "signer_name": signer,
        "purpose": "设立奖学金",
        "signed_on": "2026-01-05",
    }


def dn_pledge_body(donor: dict, fund_id: str, agreement_id: str) -> dict:
    return {
        "donor": donor,
        "fund_id": fund_id,
        "total_fen": 300_000,
        "agreement_id": agreement_id,
        "instalments": [{"due_on": "2030-06-30", "amount_fen": 300_000}],
    }


def dn_order_body(fund_id: str, donor: dict) -> dict:
    return {
        "donor": donor,
        "amount_fen": 5_000,
        "allocations": [{"fund_id": fund_id, "amount_fen": 5_000}],
    }


def dn_new_inkind(world: World, dn: dict) -> dict:
    company = {"type": "organisation", "name": "某仪器公司"}
    agreement = world.office("POST", "/api/v1/agreements", dn_agreement_body(company, "某仪器公司"))
    body = {
        "donor": company,
        "item": "显微镜",
        "quantity": 2,
        "custody_location": "实验楼",
        "agreement_id": agreement["id"],
    }
    return world.office("POST", "/api/v1/inkind", body)


def dn_new_naming(world: World, dn: dict, state: str = "available") -> dict:
    """A bench for five years, of an anonymous donor: available, reserved, or named."""
    body = {
        "kind": "bench",
        "name": "长椅" + unique(""),
        "fund_id": dn["fund_office"],
        "minimum_gift_fen": 100,
        "term_years": 5,
    }
    naming = world.office("POST", "/api/v1/namings", body)
    path = f"/api/v1/namings/{naming['id']}"
    if state in ("reserved", "named"):
        reservation = {"donor": {"type": "anonymous"}, "plaque_text": "校友敬赠"}
        naming = world.office("POST", path + "/reserve", reservation)
    if state == "named":
        naming = world.office(
            "POST", path + "/complete", {"gift_ids": [dn_new_gift(world, dn)["id"]]}
        )
    return naming


def dn_new_gift(world: World, dn: dict) -> dict:
    """An anonymous ¥1.00 gift to the office's fund (enough for a bench, a refund, a void)."""
    return world.office("POST", "/api/v1/gifts", dn_gift_body(dn["fund_office"], None, world, 100))


def dn_on(json: Any = None, params: dict | None = None, **names: str):
    """A request about the world's donations records: dn_on(gift_id="gift_a")."""

    def make(world: World, role: str) -> Request:
        dn = donations(world)
        body = json(world, role) if callable(json) else json
        return Request({key: dn[name] for key, name in names.items()}, json=body, params=params)

    return make


def dn_fresh(key: str, make: Callable[[World, dict], dict], json: Any = None, value: str = "id"):
    """A request about a donations record made afresh for each role."""

    def request(world: World, role: str) -> Request:
        record = make(world, donations(world))
        body = json(world, role, record) if callable(json) else json
        return Request({key: record[value]}, json=body)

    return request


def dn_sees(check: Callable[[World, str, dict, list], None]) -> Check:
    """A check of a list answer: `check(world, role, dn, items)`."""

    @on_success
    def checked(world: World, role: str, response: requests.Response) -> None:
        check(world, role, donations(world), response.json()["items"])

    return checked


@dn_sees
def funds_as_the_role_may_see_them(world, role, dn, items) -> None:
    ids = {item["id"] for item in items}
    assert dn["fund_a"] in ids and dn["fund_b"] in ids
    assert (dn["fund_a_closed"] in ids) == (role in ("office", "committee", "liaison"))
    assert (dn["fund_b_closed"] in ids) == (role in ("office", "committee"))


@dn_sees
def gifts_as_the_role_may_see_them(world, role, dn, items) -> None:
    ids = {item["id"] for item in items}
    assert dn["gift_a"] in ids
    assert (dn["gift_b"] in ids) == (role in ("office", "committee"))
    if role == "alumnus":
        assert {item["donor"]["alumnus_id"] for item in items} == {world.alumnus_a}


@dn_sees
def pledges_as_the_role_may_see_them(world, role, dn, items) -> None:
    ids = {item["id"] for item in items}
    assert dn["pledge_a"] in ids and (dn["pledge_b"] in ids) == (role != "alumnus")


@on_success
def a_pdf(world: World, role: str, response: requests.Response) -> None:
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


@on_success
def a_csv(world: World, role: str, response: requests.Response) -> None:
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "基金" in response.content.decode("utf-8-sig").splitlines()[0]


def order_for(who: str):
    def body(world: World, role: str) -> dict:
        donor = {"type": "alumnus", "alumnus_id": getattr(world, f"alumnus_{who}")}
        return dn_order_body(donations(world)["fund_office"], donor)

    return body


READERS_ONLY = roles(200, 200, 403, 403)

MATRIX += [
    # ---- funds and campaigns ----
    Row(
        "GET",
        "/api/v1/funds",
        "no filter",
        everyone(200),
        dn_on(params={"limit": "100"}),
        check=funds_as_the_role_may_see_them,
    ),
    Row(
        "POST",
        "/api/v1/funds",
        "of department A",
        office_only(201),
        lambda world, role: Request(
            json={"name": "新基金", "kind": "general", "department_id": world.dept_a}
        ),
    ),
    Row(
        "GET",
        "/api/v1/funds/{fund_id}",
        "open, of department B",
        everyone(200),
        dn_on(fund_id="fund_b"),
    ),
    Row(
        "GET",
        "/api/v1/funds/{fund_id}",
        "closed, of department A",
        {**roles(200, 200, 200, 404, 404, 404), "anonymous": 404},
        dn_on(fund_id="fund_a_closed"),
    ),
    Row(
        "GET",
        "/api/v1/funds/{fund_id}",
        "closed, of department B",
        {**roles(200, 200, 404, 404, 404, 404), "anonymous": 404},
        dn_on(fund_id="fund_b_closed"),
    ),
    Row(
        "POST",
        "/api/v1/funds/{fund_id}/close",
        "a fresh fund",
        office_only(200),
        dn_fresh(
            "fund_id",
            lambda w, dn: w.office("POST", "/api/v1/funds", {"name": "待关闭", "kind": "other"}),
        ),
    ),
    Row(
        "POST",
        "/api/v1/funds/{fund_id}/disbursements",
        "¥1.00 from the office's fund",
        office_only(201),
        dn_on(
            json={"amount_fen": 100, "channel": "bank_transfer", "purpose": "发放奖学金"},
            fund_id="fund_office",
        ),
    ),
    Row("GET", "/api/v1/campaigns", "list", everyone(200), dn_on()),
    Row(
        "POST",
        "/api/v1/campaigns",
        "over department A's fund",
        office_only(201),
        lambda world, role: Request(
            json={
                "name": "年度筹款",
                "starts_on": "2026-01-01",
                "ends_on": "2026-12-31",
                "goal_fen": 1_000_000,
                "fund_ids": [donations(world)["fund_a"]],
            }
        ),
    ),
    Row(
        "GET",
        "/api/v1/campaigns/{campaign_id}",
        "one",
        everyone(200),
        dn_on(campaign_id="campaign"),
    ),
    # ---- gifts and refunds ----
    Row(
        "GET",
        "/api/v1/gifts",
        "no filter: a liaison gets department A's funds', an alumnus their own",
        roles(200, 200, 200, 200),
        dn_on(params={"limit": "100"}),
        check=gifts_as_the_role_may_see_them,
    ),
    Row(
        "GET",
        "/api/v1/gifts",
        "department_id=B",
        roles(200, 200, 403, 200),
        lambda world, role: Request(params={"department_id": world.dept_b}),
    ),
    Row(
        "GET",
        "/api/v1/gifts",
        "alumnus_id=b",
        roles(200, 200, 200, 403),
        lambda world, role: Request(params={"alumnus_id": world.alumnus_b}),
    ),
    Row(
        "POST",
        "/api/v1/gifts",
        "¥1.00 to the office's fund",
        office_only(201),
        lambda world, role: Request(
            json=dn_gift_body(donations(world)["fund_office"], None, world, 100)
        ),
    ),
    Row(
        "GET",
        "/api/v1/gifts/{gift_id}",
        "alumnus a's, to A's fund",
        roles(200, 200, 200, 200),
        dn_on(gift_id="gift_a"),
    ),
    Row(
        "GET",
        "/api/v1/gifts/{gift_id}",
        "alumnus b's, to B's fund",
        roles(200, 200, 404, 404),
        dn_on(gift_id="gift_b"),
    ),
    Row(
        "POST",
        "/api/v1/gifts/{gift_id}/refund",
        "a fresh gift, in full",
        office_only(201),
        dn_fresh("gift_id", dn_new_gift, {"amount_fen": 100, "reason": "误汇"}),
    ),
    # ---- receipts ----
    Row(
        "GET",
        "/api/v1/receipts/{number}",
        "alumnus a's",
        roles(200, 200, 200, 200),
        dn_on(number="receipt_a"),
    ),
    Row(
        "GET",
        "/api/v1/receipts/{number}",
        "alumnus b's",
        roles(200, 200, 404, 404),
        dn_on(number="receipt_b"),
    ),
    Row(
        "GET",
        "/api/v1/receipts/{number}.pdf",
        "alumnus a's",
        roles(200, 200, 200, 200),
        dn_on(number="receipt_a"),
        check=a_pdf,
    ),
    Row(
        "GET",
        "/api/v1/receipts/{number}.pdf",
        "alumnus b's",
        roles(200, 200, 404, 404),
        dn_on(number="receipt_b"),
    ),
    Row(
        "GET",
        "/api/v1/receipts/{number}/certificate.pdf",
        "alumnus a's ¥10,000",
        roles(200, 200, 200, 200),
        dn_on(number="receipt_a"),
        check=a_pdf,
    ),
    Row(
        "POST",
        "/api/v1/receipts/{number}/void",
        "a fresh receipt",
        office_only(200),
        dn_fresh("number", dn_new_gift, {"reason": "抬头有误", "reissue": True}, "receipt_number"),
    ),
    Row(
        "POST",
        "/api/v1/receipts/{number}/ebill",
        "a fresh receipt",
        office_only(200),
        dn_fresh("number", dn_new_gift, value="receipt_number"),
    ),
    # ---- agreements and pledges ----
    Row("GET", "/api/v1/agreements", "list", READERS_ONLY, dn_on()),
    Row(
        "POST",
        "/api/v1/agreements",
        "of an organisation",
        office_only(201),
        dn_on(json=dn_agreement_body({"type": "organisation", "name": "某公司"}, "某公司")),
    ),
    Row(
        "GET",
        "/api/v1/agreements/{agreement_id}",
        "alumnus a's",
        READERS_ONLY,
        dn_on(agreement_id="agreement_a"),
    ),
    Row(
        "GET",
        "/api/v1/pledges",
        "no filter: an alumnus gets their own",
        roles(200, 200, 403, 200),
        dn_on(params={"limit": "100"}),
        check=pledges_as_the_role_may_see_them,
    ),
    Row(
        "POST",
        "/api/v1/pledges",
        "alumnus a's, on their agreement",
        office_only(201),
        lambda world, role: Request(
            json=dn_pledge_body(
                {"type": "alumnus", "alumnus_id": world.alumnus_a},
                donations(world)["fund_a"],
                donations(world)["agreement_a"],
            )
        ),
    ),
    Row(
        "GET",
        "/api/v1/pledges/{pledge_id}",
        "alumnus a's",
        roles(200, 200, 403, 200),
        dn_on(pledge_id="pledge_a"),
    ),
    Row(
        "GET",
        "/api/v1/pledges/{pledge_id}",
        "alumnus b's",
        roles(200, 200, 403, 404),
        dn_on(pledge_id="pledge_b"),
    ),
    # ---- online giving ----
    Row(
        "POST",
        "/api/v1/payment-orders",
        "for alumnus a",
        roles(201, 403, 403, 201),
        lambda world, role: Request(json=order_for("a")(world, role)),
    ),
    Row(
        "POST",
        "/api/v1/payment-orders",
        "for alumnus b",
        roles(201, 403, 403, 403),
        lambda world, role: Request(json=order_for("b")(world, role)),
    ),
    Row(
        "GET",
        "/api/v1/payment-orders/{order_id}",
        "alumnus a's",
        roles(200, 200, 403, 200),
        dn_on(order_id="order_a"),
    ),
    Row(
        "GET",
        "/api/v1/payment-orders/{order_id}",
        "alumnus b's",
        roles(200, 200, 403, 404),
        dn_on(order_id="order_b"),
    ),
    Row(
        "POST",
        "/api/v1/payments/notify",
        "unsigned: refused whoever sends it",
        everyone(400),
        dn_on(json={"id": "x", "resource": {}}),
    ),
    # ---- in-kind gifts and naming ----
    Row("GET", "/api/v1/inkind", "list", READERS_ONLY, dn_on()),
    Row(
        "POST",
        "/api/v1/inkind",
        "on an organisation's agreement",
        office_only(201),
        lambda world, role: Request(
            json={
                "donor": {"type": "organisation", "name": "某公司"},
                "item": "书籍",
                "quantity": 100,
                "unit": "册",
                "custody_location": "图书馆",
                "agreement_id": world.office(
                    "POST",
                    "/api/v1/agreements",
                    dn_agreement_body({"type": "organisation", "name": "某公司"}, "某公司"),
                )["id"],
            }
        ),
    ),
    Row("GET", "/api/v1/inkind/{inkind_id}", "one", READERS_ONLY, dn_on(inkind_id="inkind")),
    Row(
        "POST",
        "/api/v1/inkind/{inkind_id}/status",
        "appraise a fresh one",
        office_only(200),
        dn_fresh(
            "inkind_id",
            dn_new_inkind,
            {
                "status": "appraised",
                "appraised_value_fen": 800_000,
                "appraiser": "评估所",
                "appraised_on": "2026-01-10",
            },
        ),
    ),
    Row("GET", "/api/v1/namings", "list", READERS_ONLY, dn_on()),
    Row(
        "POST",
        "/api/v1/namings",
        "a tree",
        office_only(201),
        lambda world, role: Request(
            json={
                "kind": "tree",
                "name": "银杏",
                "fund_id": donations(world)["fund_office"],
                "minimum_gift_fen": 100,
            }
        ),
    ),
    Row("GET", "/api/v1/namings/{naming_id}", "one", READERS_ONLY, dn_on(naming_id="naming")),
    Row(
        "POST",
        "/api/v1/namings/{naming_id}/reserve",
        "a fresh bench",
        office_only(200),
        dn_fresh(
            "naming_id", dn_new_naming, {"donor": {"type": "anonymous"}, "plaque_text": "校友敬赠"}
        ),
    ),
    Row(
        "POST",
        "/api/v1/namings/{naming_id}/complete",
        "a fresh reserved bench, with a gift",
        office_only(200),
        dn_fresh(
            "naming_id",
            lambda w, dn: dn_new_naming(w, dn, "reserved"),
            lambda world, role, naming: {"gift_ids": [dn_new_gift(world, donations(world))["id"]]},
        ),
    ),
    Row(
        "POST",
        "/api/v1/namings/{naming_id}/renew",
        "a fresh named bench, with a gift",
        office_only(200),
        dn_fresh(
            "naming_id",
            lambda w, dn: dn_new_naming(w, dn, "named"),
            lambda world, role, naming: {"gift_ids": [dn_new_gift(world, donations(world))["id"]]},
        ),
    ),
    Row(
        "POST",
        "/api/v1/namings/{naming_id}/release",
        "a fresh reserved bench",
        office_only(200),
        dn_fresh("naming_id", lambda w, dn: dn_new_naming(w, dn, "reserved")),
    ),
    # ---- the honour roll, reports, the ledger ----
    Row("GET", "/api/v1/honour-roll", "public", everyone(200), dn_on()),
    Row(
        "GET",
        "/api/v1/reports/participation",
        "this year",
        READERS_ONLY,
        dn_on(params={"year": "2026"}),
    ),
    Row("GET", "/api/v1/reports/disclosure", "2026", READERS_ONLY, dn_on(params={"year": "2026"})),
    Row(
        "GET",
        "/api/v1/reports/disclosure.csv",
        "2026",
        READERS_ONLY,
        dn_on(params={"year": "2026"}),
        check=a_csv,
    ),
    Row(
        "GET",
        "/api/v1/reports/reconciliation",
        "a day",
        READERS_ONLY,
        dn_on(params={"date": "2026-03-15"}),
    ),
    Row("GET", "/api/v1/ledger/trial-balance", "the books", READERS_ONLY, dn_on()),
]

# ---- notifications (the notify service) --------------------------------------------------


def notify_world(world: World, system) -> None:
    """A newsletter draft for each department, a template, and a valid unsubscribe link of
    alumnus b; first, alumnus a in notify's directory (fed by the registry's events)."""
    from services.notify.signing import unsubscribe_token

    ev = world.ev
    deadline = time.monotonic() + 30
    path = f"/api/v1/alumni/{world.alumnus_a}/notification-preferences"
    while world.call("office", "GET", path).status_code != 200:
        assert time.monotonic() < deadline, "alumnus a never reached notify's directory"
        time.sleep(0.2)
    for department in ("a", "b"):
        ev[f"newsletter_{department}"] = world.new_newsletter(department)["id"]
    templates = world.office("GET", "/api/v1/notification-templates", None)["items"]
    ev["template"] = next(t["id"] for t in templates if t["channel"] == "email")
    secret = (system.var_dir / "notify-unsubscribe-secret").read_text().strip()
    ev["unsubscribe_token"] = unsubscribe_token(secret, world.alumnus_b, "email", "marketing")


def newsletter_body(department: str | None):
    def body(world: World, role: str, *_: Any) -> dict[str, Any]:
        segment = {"department_id": world.dept(department)} if department else {}
        return {"subject": "学校近况" + unique(""), "body": "<p>近况</p>", "segment": segment}

    return body


def alumnus_a_inbox_item(world: World, role: str) -> Request:
    """One of alumnus a's own notifications: theirs to mark, nobody else's."""
    response = world.call("alumnus", "GET", "/api/v1/me/notifications")
    items = response.json()["items"]
    assert items, "alumnus a has their welcome in the inbox"
    return Request({"notification_id": items[0]["id"]})


@on_success
def inbox_is_the_callers(world: World, role: str, response: requests.Response) -> None:
    page = response.json()
    if role == "alumnus":
        kinds = {item["kind"] for item in page["items"]}
        assert "welcome" in kinds or page["next_cursor"], page
    else:
        assert all(item["kind"] != "welcome" for item in page["items"]), page


@on_success
def liaison_sees_department_a_newsletters(
    world: World, role: str, response: requests.Response
) -> None:
    ids = {item["id"] for item in response.json()["items"]}
    assert world.ev["newsletter_a"] in ids
    assert (world.ev["newsletter_b"] in ids) == (role != "liaison")


def unsubscribe_link(valid: bool = True):
    def make(world: World, role: str) -> Request:
        token = world.ev["unsubscribe_token"]
        return Request(params={"token": token if valid else token[:-4] + "AAAA"})

    return make


MATRIX += [
    Row(
        "GET",
        "/api/v1/me/notifications",
        "the caller's own inbox",
        roles(200, 200, 200, 200),
        lambda world, role: Request(params={"limit": "100"}),
        check=inbox_is_the_callers,
    ),
    Row(
        "POST",
        "/api/v1/me/notifications/{notification_id}/read",
        "one of alumnus a's",
        roles(404, 404, 404, 200),
        alumnus_a_inbox_item,
    ),
    Row(
        "POST",
        "/api/v1/me/notifications/read-all",
        "the caller's own",
        roles(200, 200, 200, 200),
    ),
    Row(
        "GET",
        "/api/v1/me/notification-preferences",
        "the caller's own",
        roles(403, 403, 403, 200),
    ),
    Row(
        "PATCH",
        "/api/v1/me/notification-preferences",
        "withdraw marketing SMS",
        roles(403, 403, 403, 200),
        lambda world, role: Request(
            json={"changes": [{"channel": "sms", "purpose": "marketing", "granted": False}]}
        ),
    ),
    Row(
        "GET",
        "/api/v1/alumni/{alumnus_id}/notification-preferences",
        "alumnus a's",
        office_only(200),
        of("a"),
    ),
    Row(
        "PATCH",
        "/api/v1/alumni/{alumnus_id}/notification-preferences",
        "record a paper form for alumnus b",
        office_only(200),
        of(
            "b",
            json={
                "source": "paper_form",
                "changes": [{"channel": "inbox", "purpose": "marketing", "granted": True}],
            },
        ),
    ),
    Row("GET", "/api/v1/unsubscribe", "a signed link", everyone(200), unsubscribe_link()),
    Row("GET", "/api/v1/unsubscribe", "a forged signature", everyone(422), unsubscribe_link(False)),
    Row("POST", "/api/v1/unsubscribe", "a signed link", everyone(200), unsubscribe_link()),
    Row("GET", "/api/v1/notification-templates", "all", office_only(200)),
    Row(
        "GET",
        "/api/v1/notification-templates/{template_id}",
        "an e-mail template",
        office_only(200),
        on(template_id="template"),
    ),
    Row(
        "PUT",
        "/api/v1/notification-templates/{template_id}",
        "a new version",
        office_only(200),
        on(
            json={"subject": "欢迎 {{ recipient.name }}", "body": "<p>欢迎</p>"},
            template_id="template",
        ),
    ),
    Row(
        "POST",
        "/api/v1/notification-templates/{template_id}/preview",
        "with sample data",
        office_only(200),
        on(json={}, template_id="template"),
    ),
    Row(
        "GET",
        "/api/v1/newsletters",
        "no filter: a liaison gets department A's",
        roles(200, 200, 200, 403),
        check=liaison_sees_department_a_newsletters,
    ),
    Row(
        "POST",
        "/api/v1/newsletters",
        "to department A",
        roles(201, 403, 201, 403),
        with_body(newsletter_body("a")),
    ),
    Row(
        "POST",
        "/api/v1/newsletters",
        "to department B",
        roles(201, 403, 403, 403),
        with_body(newsletter_body("b")),
    ),
    Row(
        "GET",
        "/api/v1/newsletters/{newsletter_id}",
        "department A's",
        roles(200, 200, 200, 403),
        on(newsletter_id="newsletter_a"),
    ),
    Row(
        "GET",
        "/api/v1/newsletters/{newsletter_id}",
        "department B's",
        roles(200, 200, 404, 403),
        on(newsletter_id="newsletter_b"),
    ),
    Row(
        "POST",
        "/api/v1/newsletters/{newsletter_id}/send",
        "a draft to department A",
        roles(200, 403, 200, 403),
        fresh("newsletter_id", lambda w: w.new_newsletter("a"), {}),
    ),
    Row(
        "POST",
        "/api/v1/newsletters/{newsletter_id}/send",
        "a draft to department B",
        roles(200, 403, 404, 403),
        fresh("newsletter_id", lambda w: w.new_newsletter("b"), {}),
    ),
    Row("GET", "/api/v1/notifications", "the delivery log", office_only(200)),
    Row("GET", "/api/v1/notifications/stats", "by kind and channel", office_only(200)),
    # ---- the alumni's rights, who saw what ----
    Row(
        "PATCH",
        "/api/v1/me",
        "correct own record",
        roles(403, 403, 403, 200),
        with_body(lambda world, role: {"title": f"职称-{role}"}),
    ),
    Row(
        "GET",
        "/api/v1/me/export",
        "everything held on me",
        roles(403, 403, 403, 200),
        check=export_from_every_service,
    ),
    Row(
        "GET",
        "/api/v1/me/export.html",
        "the same, as a page",
        roles(403, 403, 403, 200),
        check=export_from_every_service,
    ),
    Row("POST", "/api/v1/me/erasure", "ask for erasure", roles(403, 403, 403, 201)),
    Row("GET", "/api/v1/erasure-requests", "list", office_only(200)),
    Row(
        "GET",
        "/api/v1/erasure-requests/{erasure_request_id}",
        "one",
        office_only(200),
        fresh("erasure_request_id", World.new_erasure_request),
    ),
    Row(
        "POST",
        "/api/v1/erasure-requests/{erasure_request_id}/approve",
        "a pending one",
        office_only(200),
        fresh("erasure_request_id", World.new_erasure_request, {"note": "同意"}),
    ),
    Row(
        "POST",
        "/api/v1/erasure-requests/{erasure_request_id}/reject",
        "a pending one",
        office_only(200),
        fresh("erasure_request_id", World.new_erasure_request, {"note": "需保留"}),
    ),
    Row("GET", "/api/v1/access-log", "search", office_only(200)),
]


# ---- registry stewardship (docs/stewardship.md) --------------------------------------------


def fresh_department(world: World) -> dict:
    return world.office("POST", "/api/v1/departments", department_body())


def merge_body(world: World, role: str) -> Request:
    old = fresh_department(world)
    return Request(json={"department_ids": [old["id"]], "successor": department_body()})


def registrar_file(world: World, department: str) -> bytes:
    """A two-row registrar export of department A or B (by its name)."""
    name = world.ev.setdefault("department_names", {}).get(department)
    if name is None:
        name = world.office("GET", f"/api/v1/departments/{department}")["name"]
        world.ev["department_names"][department] = name
    return (
        "姓名,院系,专业,学历,毕业年份\n"
        f"{unique('导入')},{name},软件工程,本科,2010\n"
        f"{unique('导入')},{name},软件工程,本科,2011\n"
    ).encode()


def import_upload(world: World, role: str) -> Request:
    return Request(files={"file": ("a.csv", registrar_file(world, world.dept_a))})


def import_job(department: str):
    """A request about an import job of department A's liaison, or the office's (None)."""

    def request(world: World, role: str) -> Request:
        key = f"import_{department}"
        if key not in world.ev:
            who = "liaison" if department == "a" else "office"
            response = world.call(
                who,
                "POST",
                "/api/v1/alumni/imports",
                files={"file": ("a.csv", registrar_file(world, world.dept_a))},
            )
            assert response.status_code == 201, response.text
            world.ev[key] = response.json()["id"]
        return Request({"job_id": world.ev[key]})

    return request


def merge_pair(world: World, role: str) -> Request:
    first, second = world.new_alumnus(world.dept_a), world.new_alumnus(world.dept_a)
    return Request(json={"survivor_id": first["id"], "absorbed_id": second["id"]})


def fresh_merge(world: World) -> dict:
    return world.office("POST", "/api/v1/alumni/merges", merge_pair(world, "office").json)


MATRIX += [
    Row("GET", "/api/v1/alumni/duplicates", "the queue", office_only(200)),
    Row(
        "POST",
        "/api/v1/alumni/duplicates/{candidate}/dismiss",
        "a pair that does not exist",
        office_only(404),
        lambda world, role: Request({"candidate": "999999999"}),
    ),
    Row("POST", "/api/v1/alumni/merges", "two of department A", office_only(201), merge_pair),
    Row(
        "GET",
        "/api/v1/alumni/merges/{merge_id}",
        "a merge",
        office_only(200),
        fresh("merge_id", fresh_merge),
    ),
    Row(
        "POST",
        "/api/v1/alumni/merges/{merge_id}/undo",
        "a merge",
        office_only(200),
        fresh("merge_id", fresh_merge),
    ),
    Row(
        "POST",
        "/api/v1/alumni/imports",
        "a CSV of department A",
        roles(201, 403, 201, 403),
        import_upload,
    ),
    Row(
        "GET",
        "/api/v1/alumni/imports/{job_id}",
        "the liaison's own",
        roles(200, 403, 200, 403),
        import_job("a"),
    ),
    Row(
        "GET",
        "/api/v1/alumni/imports/{job_id}",
        "the office's",
        roles(200, 403, 404, 403),
        import_job("office"),
    ),
    Row(
        "GET",
        "/api/v1/alumni/imports/{job_id}/rows",
        "the liaison's own",
        roles(200, 403, 200, 403),
        import_job("a"),
    ),
    Row(
        "GET",
        "/api/v1/alumni/imports/{job_id}/report.csv",
        "the office's",
        roles(200, 403, 404, 403),
        import_job("office"),
    ),
    Row(
        "POST",
        "/api/v1/departments/{department_id}/rename",
        "a fresh department",
        office_only(200),
        fresh("department_id", fresh_department, lambda w, r, d: {"name": d["name"] + "（新）"}),
    ),
    Row(
        "POST",
        "/api/v1/departments/merges",
        "a fresh one into a new one",
        office_only(201),
        merge_body,
    ),
    Row(
        "GET",
        "/api/v1/departments/{department_id}/lineage",
        "department A",
        staff(200),
        lambda world, role: Request({"department_id": world.dept_a}),
    ),
]


# ---- the distinguished-alumni archive, stories and news (docs/community.md) ----------------

CA_NOMINATIONS = "/api/v1/distinguished/nominations"
CA_ENTRY = "/api/v1/distinguished/{entry_id}"
CA_STORY = "/api/v1/staff/stories/{story_id}"
CA_NEWS = "/api/v1/alumni-news/{news_id}"


# The path parameter a record of the world's goes in, by the prefix of its key.
CA_PATH_KEYS = {
    "ca_entry": "entry_id",
    "ca_nom": "entry_id",
    "ca_story": "story_id",
    "ca_news": "news_id",
}


def ca_liaison_id(world: World) -> str:
    if "ca_liaison_id" not in world.ev:
        world.ev["ca_liaison_id"] = world.call("liaison", "GET", "/api/v1/me").json()["id"]
    return world.ev["ca_liaison_id"]


def ca_nomination(world: World, by: str = "office") -> dict:
    """A fresh nomination of a fresh alumnus of department A, by the office or the liaison."""
    body = {"alumnus_id": world.new_alumnus(world.dept_a)["id"], "reasons": "贡献突出"}
    response = world.call(by, "POST", CA_NOMINATIONS, json=body)
    assert response.status_code == 201, response.text[:300]
    return response.json()


def ca_entry(world: World, stewarded: bool = False) -> dict:
    """A fresh archive entry; `stewarded`: the world's liaison looks after it."""
    entry = ca_nomination(world)
    body = {"steward_id": ca_liaison_id(world)} if stewarded else {}
    return world.office("POST", f"{CA_NOMINATIONS}/{entry['id']}/approve", body)


def ca_on(key: str, make: Callable[[World], dict], json: Any = None):
    """A request about one record of the world's, made once (read-only rows share it)."""

    def request(world: World, role: str) -> Request:
        if key not in world.ev:
            world.ev[key] = make(world)["id"]
        kind = next(kind for prefix, kind in CA_PATH_KEYS.items() if key.startswith(prefix))
        return Request({kind: world.ev[key]}, json=json)

    return request


def ca_story(world: World, department: str = "a", steps: tuple[str, ...] = ()) -> dict:
    """A fresh story of department A or B by the office, taken through `steps`."""
    alumnus = world.alumnus_a if department == "a" else world.alumnus_b
    body = {
        "title": "校友风采" + unique(""),
        "body": "他的故事。",
        "alumni": [{"alumnus_id": alumnus}],
        "department_id": world.dept(department),
    }
    story = world.office("POST", "/api/v1/staff/stories", body)
    for step in steps:
        story = world.office("POST", f"/api/v1/staff/stories/{story['id']}/{step}")
    return story


def ca_published(world: World) -> str:
    """The world's published story (made once)."""
    if "ca_story_pub" not in world.ev:
        world.ev["ca_story_pub"] = ca_story(world, "a", ("review", "publish"))["id"]
    return world.ev["ca_story_pub"]


def ca_news(world: World, by: str = "liaison") -> dict:
    body = {
        "alumnus_id": world.alumnus_a,
        "headline": "校友获奖",
        "body": "获得年度奖项。",
        "source": "校报",
    }
    response = world.call(by, "POST", "/api/v1/alumni-news", json=body)
    assert response.status_code == 201, response.text[:300]
    return response.json()


def ca_body_about(department: str, make: Callable[[World, str], dict]):
    """A body naming a fresh alumnus of department A or B, or alumnus a or b."""

    def request(world: World, role: str) -> Request:
        return Request(json=make(world, department))

    return request


def ca_nomination_body(world: World, department: str) -> dict:
    alumnus = world.new_alumnus(world.dept(department))
    return {"alumnus_id": alumnus["id"], "reasons": "科研成就突出"}


def ca_story_body(world: World, department: str) -> dict:
    alumnus = world.alumnus_a if department == "a" else world.alumnus_b
    return {"title": "校友风采", "body": "故事。", "alumni": [{"alumnus_id": alumnus}]}


def ca_news_body(world: World, department: str) -> dict:
    alumnus = world.alumnus_a if department == "a" else world.alumnus_b
    return {"alumnus_id": alumnus, "headline": "喜讯", "body": "内容。", "source": "校报"}


@on_success
def ca_liaison_sees_own_nominations(world: World, role: str, response: requests.Response) -> None:
    if role == "liaison":
        mine = ca_liaison_id(world)
        assert all(item["nominator_id"] == mine for item in response.json()["items"])


@on_success
def ca_liaison_sees_stewarded_only(world: World, role: str, response: requests.Response) -> None:
    if role == "liaison":
        mine = ca_liaison_id(world)
        assert all(item["steward"]["id"] == mine for item in response.json()["items"])


@on_success
def ca_liaison_sees_department_a(world: World, role: str, response: requests.Response) -> None:
    if role == "liaison":
        assert all(item["department_id"] == world.dept_a for item in response.json()["items"])


@on_success
def ca_public_shows_names_only(world: World, role: str, response: requests.Response) -> None:
    for alumnus in (world.alumnus_a, world.alumnus_b):
        assert alumnus not in response.text
    assert PHONE not in response.text


def ca_fresh_entry(stewarded: bool, json: Any = None):
    return fresh("entry_id", lambda world: ca_entry(world, stewarded), json)


STEWARDED = ca_on("ca_entry_stewarded", lambda world: ca_entry(world, True))
NOT_STEWARDED = ca_on("ca_entry_other", lambda world: ca_entry(world, False))
INTERACTION = {"kind": "call", "occurred_on": "2026-11-20", "summary": "电话问候"}
HONOUR = {"year": 2025, "title": "杰出校友奖", "citation": "表彰其贡献。"}

MATRIX += [
    Row(
        "POST",
        CA_NOMINATIONS,
        "an alumnus of department A",
        roles(201, 403, 201, 403),
        ca_body_about("a", ca_nomination_body),
    ),
    Row(
        "POST",
        CA_NOMINATIONS,
        "an alumnus of department B",
        roles(201, 403, 422, 403),
        ca_body_about("b", ca_nomination_body),
    ),
    Row("GET", CA_NOMINATIONS, "the list", staff(200), check=ca_liaison_sees_own_nominations),
    Row(
        "GET",
        CA_NOMINATIONS + "/{entry_id}",
        "the liaison's own",
        staff(200),
        ca_on("ca_nom_liaison", lambda world: ca_nomination(world, "liaison")),
    ),
    Row(
        "GET",
        CA_NOMINATIONS + "/{entry_id}",
        "the office's",
        roles(200, 200, 404, 403),
        ca_on("ca_nom_office", ca_nomination),
    ),
    Row(
        "POST",
        CA_NOMINATIONS + "/{entry_id}/approve",
        "a fresh nomination",
        office_only(200),
        fresh("entry_id", ca_nomination),
    ),
    Row(
        "POST",
        CA_NOMINATIONS + "/{entry_id}/reject",
        "a fresh nomination",
        office_only(200),
        fresh("entry_id", ca_nomination, {"reason": "材料不足"}),
    ),
    Row(
        "GET",
        "/api/v1/distinguished",
        "the archive",
        staff(200),
        check=ca_liaison_sees_stewarded_only,
    ),
    Row("GET", CA_ENTRY, "the liaison is its steward", staff(200), STEWARDED),
    Row(
        "GET",
        CA_ENTRY,
        "another steward's (liaison: 404)",
        roles(200, 200, 404, 403),
        NOT_STEWARDED,
    ),
    Row(
        "GET",
        CA_ENTRY,
        "a nomination not approved",
        roles(404, 404, 404, 403),
        ca_on("ca_nom_office", ca_nomination),
    ),
    Row(
        "POST",
        CA_ENTRY + "/steward",
        "a fresh entry",
        office_only(200),
        lambda world, role: Request(
            {"entry_id": ca_entry(world)["id"]}, json={"steward_id": ca_liaison_id(world)}
        ),
    ),
    Row("GET", CA_ENTRY + "/interactions", "the liaison is its steward", staff(200), STEWARDED),
    Row(
        "GET",
        CA_ENTRY + "/interactions",
        "another steward's",
        roles(200, 200, 404, 403),
        NOT_STEWARDED,
    ),
    Row(
        "POST",
        CA_ENTRY + "/interactions",
        "the liaison is its steward",
        roles(201, 403, 201, 403),
        ca_on("ca_entry_stewarded", lambda world: ca_entry(world, True), INTERACTION),
    ),
    Row(
        "POST",
        CA_ENTRY + "/interactions",
        "another steward's",
        roles(201, 403, 404, 403),
        ca_on("ca_entry_other", lambda world: ca_entry(world, False), INTERACTION),
    ),
    Row("GET", CA_ENTRY + "/honours", "the liaison is its steward", staff(200), STEWARDED),
    Row(
        "GET", CA_ENTRY + "/honours", "another steward's", roles(200, 200, 404, 403), NOT_STEWARDED
    ),
    Row(
        "POST",
        CA_ENTRY + "/honours",
        "the liaison is its steward",
        office_only(201),
        ca_on("ca_entry_stewarded", lambda world: ca_entry(world, True), HONOUR),
    ),
    # ---- stories
    Row(
        "POST",
        "/api/v1/staff/stories",
        "about an alumnus of department A",
        roles(201, 403, 201, 403),
        ca_body_about("a", ca_story_body),
    ),
    Row(
        "POST",
        "/api/v1/staff/stories",
        "about an alumnus of department B",
        roles(201, 403, 422, 403),
        ca_body_about("b", ca_story_body),
    ),
    Row("GET", "/api/v1/staff/stories", "the list", staff(200), check=ca_liaison_sees_department_a),
    Row(
        "GET",
        CA_STORY,
        "department A's draft",
        staff(200),
        ca_on("ca_story_a", lambda world: ca_story(world, "a")),
    ),
    Row(
        "GET",
        CA_STORY,
        "department B's draft",
        roles(200, 200, 404, 403),
        ca_on("ca_story_b", lambda world: ca_story(world, "b")),
    ),
    Row(
        "PATCH",
        CA_STORY,
        "a fresh draft of department A",
        roles(200, 403, 200, 403),
        fresh("story_id", lambda world: ca_story(world, "a"), {"title": "新标题"}),
    ),
    Row(
        "PATCH",
        CA_STORY,
        "a fresh draft of department B",
        roles(200, 403, 404, 403),
        fresh("story_id", lambda world: ca_story(world, "b"), {"title": "新标题"}),
    ),
    Row(
        "POST",
        CA_STORY + "/review",
        "a fresh draft",
        office_only(200),
        fresh("story_id", ca_story),
    ),
    Row(
        "POST",
        CA_STORY + "/send-back",
        "a fresh reviewed one",
        office_only(200),
        fresh("story_id", lambda world: ca_story(world, "a", ("review",)), {"note": "请补充"}),
    ),
    Row(
        "POST",
        CA_STORY + "/publish",
        "a fresh reviewed one",
        office_only(200),
        fresh("story_id", lambda world: ca_story(world, "a", ("review",))),
    ),
    Row(
        "POST",
        CA_STORY + "/withdraw",
        "a fresh published one",
        office_only(200),
        fresh("story_id", lambda world: ca_story(world, "a", ("review", "publish"))),
    ),
    Row(
        "POST",
        CA_STORY + "/redraft",
        "a fresh withdrawn one",
        office_only(200),
        fresh("story_id", lambda world: ca_story(world, "a", ("review", "publish", "withdraw"))),
    ),
    Row(
        "GET",
        "/api/v1/stories",
        "published ones",
        everyone(200),
        lambda world, role: ca_published(world) and Request(),
        check=ca_public_shows_names_only,
    ),
    Row(
        "GET",
        "/api/v1/stories/{story_id}",
        "a published one",
        everyone(200),
        lambda world, role: Request({"story_id": ca_published(world)}),
        check=ca_public_shows_names_only,
    ),
    Row(
        "GET",
        "/api/v1/stories/{story_id}",
        "a draft (anonymous too: 404)",
        everyone(404),
        ca_on("ca_story_a", lambda world: ca_story(world, "a")),
    ),
    Row(
        "GET",
        "/api/v1/stories/{story_id}",
        "a withdrawn one",
        everyone(404),
        ca_on(
            "ca_story_withdrawn",
            lambda world: ca_story(world, "a", ("review", "publish", "withdraw")),
        ),
    ),
    # ---- alumni news
    Row(
        "POST",
        "/api/v1/alumni-news",
        "about an alumnus of department A",
        roles(201, 403, 201, 403),
        ca_body_about("a", ca_news_body),
    ),
    Row(
        "POST",
        "/api/v1/alumni-news",
        "about an alumnus of department B",
        roles(201, 403, 422, 403),
        ca_body_about("b", ca_news_body),
    ),
    Row("GET", "/api/v1/alumni-news", "the queue", staff(200), check=ca_liaison_sees_department_a),
    Row("GET", CA_NEWS, "department A's", staff(200), ca_on("ca_news_a", ca_news)),
    Row(
        "GET",
        CA_NEWS,
        "the office's (no department)",
        roles(200, 200, 404, 403),
        ca_on("ca_news_office", lambda world: ca_news(world, "office")),
    ),
    Row(
        "POST",
        CA_NEWS + "/accept",
        "a fresh one",
        office_only(200),
        fresh("news_id", ca_news, {"make_story": True}),
    ),
    Row(
        "POST",
        CA_NEWS + "/dismiss",
        "a fresh one",
        office_only(200),
        fresh("news_id", ca_news, {"reason": "来源不可靠"}),
    ),
]


# ---- alumni verification, the alumni card, the directory (issue 11, items 5-7) ----------


def vouch_claim(world: World) -> dict[str, Any]:
    """An anonymous claim by vouching for a record of department A, class of 2010 (alumnus
    a's class, so alumnus a is asked to vouch)."""
    record = world.office("POST", "/api/v1/alumni", alumnus_body(world.dept_a))
    body = {"name": record["name"], "class_year": 2010, "department_id": world.dept_a}
    response = world.call("anonymous", "POST", "/api/v1/claims", json=body)
    assert response.status_code == 201, response.text[:300]
    return response.json()


def a_claim(world: World, role: str) -> Request:
    return Request({"claim_id": vouch_claim(world)["claim_id"]})


def a_vouch_for_alumnus_a(world: World, role: str) -> Request:
    claim = vouch_claim(world)
    items = world.call("alumnus", "GET", "/api/v1/me/vouch-requests").json()["items"]
    [vouch] = [v for v in items if v["claim_id"] == claim["claim_id"]]
    return Request({"vouch_id": vouch["id"]})


def alumnus_login(world: World) -> str:
    """The access token of a fresh alumnus of department A with a login."""
    alumnus = world.new_alumnus(world.dept_a)
    username = unique("card")
    world.office(
        "POST",
        f"/api/v1/alumni/{alumnus['id']}/account",
        {"username": username, "password": PASSWORD},
    )
    return token_pair(world.base_url, username, PASSWORD)["access_token"]


def card_of_fresh_alumnus(approved: bool = False, json: Any = None):
    def request(world: World, role: str) -> Request:
        token = alumnus_login(world)
        response = requests.post(
            f"{world.base_url}/api/v1/me/card",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert response.status_code == 201, response.text[:300]
        card = response.json()
        if approved:
            world.office("POST", f"/api/v1/cards/{card['id']}/approve")
        return Request({"card_id": card["id"]}, json=json)

    return request


# ---- community: chapters, messengers, student volunteers (docs/community.md) ----


def fresh_chapter(world: World) -> dict:
    body = {"name": unique("分会"), "kind": "regional", "city": "无锡", "founded_on": "2016-01-01"}
    return world.office("POST", "/api/v1/chapters", body)


def chapter(name: str, **extra: Any) -> Callable[[World, str], Request]:
    """A request about chapter `a` (the officer's) or `b`."""
    return lambda world, role: Request({"chapter_id": world.co[f"chapter_{name}"]}, **extra)


def member_of(name: str, **extra: Any) -> Callable[[World, str], Request]:
    return lambda world, role: Request(
        {"chapter_id": world.co[f"chapter_{name}"], "member_id": world.co[f"member_{name}"]},
        **extra,
    )


def fresh_member_of(name: str) -> Callable[[World, str], Request]:
    """A fresh member of chapter `a` or `b` (a new alumnus), for a row that removes it."""

    def request(world: World, role: str) -> Request:
        chapter_id = world.co[f"chapter_{name}"]
        alumnus = world.new_alumnus(world.dept_a)
        path = f"/api/v1/chapters/{chapter_id}/members"
        member = world.office("POST", path, {"alumnus_id": alumnus["id"]})
        return Request({"chapter_id": chapter_id, "member_id": member["id"]})

    return request


def new_member_of(name: str) -> Callable[[World, str], Request]:
    def request(world: World, role: str) -> Request:
        alumnus = world.new_alumnus(world.dept_a)
        return Request(
            {"chapter_id": world.co[f"chapter_{name}"]}, json={"alumnus_id": alumnus["id"]}
        )

    return request


def own_card_exists(world: World, role: str) -> Request:
    world.call("alumnus", "POST", "/api/v1/me/card")  # 201, or 409 when it exists
    return Request()


def unmatched_claim(world: World, role: str) -> Request:
    return Request(
        json={"name": "查无" + unique(""), "class_year": 2010, "student_number": "000000"}
    )


PRIVILEGES = {
    "privileges": [
        {"code": "library", "name": "图书馆"},
        {"code": "gym", "name": "体育馆"},
        {"code": "campus_entry", "name": "校园出入"},
    ]
}
ALUMNUS_ONLY = roles(403, 403, 403, 200)

MATRIX += [
    Row("GET", "/api/v1/claims/departments", "list", everyone(200)),
    Row(
        "POST",
        "/api/v1/claims",
        "by vouching, for a record of department A",
        everyone(201),
        lambda world, role: Request(
            json={"name": "某" + unique(""), "class_year": 2010, "department_id": world.dept_a}
        ),
    ),
    Row("POST", "/api/v1/claims", "a wrong student number", everyone(422), unmatched_claim),
    Row("GET", "/api/v1/claims/{claim_id}", "a fresh claim", everyone(200), a_claim),
    Row(
        "POST",
        "/api/v1/claims/{claim_id}/code",
        "a claim awaiting vouches",
        everyone(409),
        a_claim,
    ),
    Row(
        "POST",
        "/api/v1/claims/{claim_id}/activate",
        "a claim awaiting vouches",
        everyone(409),
        lambda world, role: Request(
            a_claim(world, role).path_values,
            json={"code": "123456", "username": unique("u"), "password": "a-sound-passphrase"},
        ),
    ),
    Row("GET", "/api/v1/me/vouch-requests", "own", ALUMNUS_ONLY),
    Row(
        "POST",
        "/api/v1/me/vouch-requests/{vouch_id}/approve",
        "asked of alumnus a",
        ALUMNUS_ONLY,
        a_vouch_for_alumnus_a,
    ),
    Row(
        "POST",
        "/api/v1/me/vouch-requests/{vouch_id}/decline",
        "asked of alumnus a",
        ALUMNUS_ONLY,
        a_vouch_for_alumnus_a,
    ),
    Row(
        "POST",
        "/api/v1/me/card",
        "a fresh alumnus applies",
        roles(403, 403, 403, 201),
        lambda world, role: Request(token=alumnus_login(world) if role == "alumnus" else None),
    ),
    Row("GET", "/api/v1/me/card", "own", ALUMNUS_ONLY, own_card_exists),
    Row("GET", "/api/v1/cards", "the queue", office_only(200)),
    Row(
        "GET",
        "/api/v1/cards/{card_id}",
        "an application",
        office_only(200),
        card_of_fresh_alumnus(),
    ),
    Row(
        "POST",
        "/api/v1/cards/{card_id}/approve",
        "an application",
        office_only(200),
        card_of_fresh_alumnus(),
    ),
    Row(
        "POST",
        "/api/v1/cards/{card_id}/reject",
        "an application",
        office_only(200),
        card_of_fresh_alumnus(json={"reason": "资料不全"}),
    ),
    Row(
        "POST",
        "/api/v1/cards/{card_id}/revoke",
        "an active card",
        office_only(200),
        card_of_fresh_alumnus(approved=True, json={"reason": "卡片遗失"}),
    ),
    Row("GET", "/api/v1/cards/privileges", "the configured list", everyone(200)),
    Row(
        "PUT",
        "/api/v1/cards/privileges",
        "library, gym, campus entry",
        office_only(200),
        lambda world, role: Request(json=PRIVILEGES),
    ),
    Row("GET", "/api/v1/cards/public-key", "the key", everyone(200)),
    Row("GET", "/api/v1/cards/revocations", "the list", everyone(200)),
    Row("GET", "/api/v1/me/directory-privacy", "own", ALUMNUS_ONLY),
    Row(
        "PUT",
        "/api/v1/me/directory-privacy",
        "plus employer and city",
        ALUMNUS_ONLY,
        lambda world, role: Request(json={"level": "work"}),
    ),
    Row(
        "GET",
        "/api/v1/directory",
        "by class",
        ALUMNUS_ONLY,
        lambda world, role: Request(params={"class_year": "2010", "department_id": world.dept_a}),
    ),
]


# ---- statistics and publication (docs/stewardship.md, item 6) -------------------------------

REPORT_YEAR = 2001
"""A year no other row asks a report for: the office's request is the first (202)."""
READY_REPORT_YEAR = 2002


def ready_report(world: World, role: str) -> Request:
    """The yearly report of READY_REPORT_YEAR, asked for by the office and generated."""
    if "report_ready" not in world.ev:
        world.office("POST", "/api/v1/reports/alumni", {"year": READY_REPORT_YEAR})
        deadline = time.monotonic() + 90
        while (
            world.call(
                "office", "GET", f"/api/v1/reports/alumni/{READY_REPORT_YEAR}.pdf"
            ).status_code
            != 200
        ):
            assert time.monotonic() < deadline, "the report was not generated"
            time.sleep(0.5)
        world.ev["report_ready"] = True
    return Request({"year": str(READY_REPORT_YEAR)})


@on_success
def counted_in_scope(world: World, role: str, response: requests.Response) -> None:
    keys = {item["key"] for item in response.json()["items"]}
    if role == "liaison":
        assert keys == {world.dept_a}, keys
    else:
        assert {world.dept_a, world.dept_b} <= keys


@on_success
def exported_in_scope(world: World, role: str, response: requests.Response) -> None:
    """The liaison's file has department A's alumni only; the committee's masked phones."""
    text = response.content.decode("utf-8-sig")
    assert text.startswith("姓名,"), text[:100]
    names = {
        who: world.office("GET", f"/api/v1/alumni/{getattr(world, f'alumnus_{who}')}")["name"]
        for who in ("a", "b", "ab")
    }
    assert names["a"] in text and names["ab"] in text
    assert (names["b"] in text) == (role != "liaison")
    if role == "committee":
        assert PHONE not in text and PHONE[:3] + "****" + PHONE[-4:] in text
    else:
        assert PHONE in text


# ---- two-level stewardship: liaisons' changes, confirmation (docs/stewardship.md) ----------


def fresh_change_request(world: World) -> dict:
    """A pending change request of department A's liaison, about a fresh alumnus."""
    alumnus = world.new_alumnus(world.dept_a)
    response = world.call(
        "liaison", "PATCH", f"/api/v1/alumni/{alumnus['id']}", json={"employer": unique("单位")}
    )
    assert response.status_code == 202, response.text
    return response.json()


def own_change_request(world: World, role: str) -> Request:
    if "change_request" not in world.ev:
        world.ev["change_request"] = fresh_change_request(world)["id"]
    return Request({"request_id": world.ev["change_request"]})


@on_success
def officer_sees_only_chapter_a(world: World, role: str, response: requests.Response) -> None:
    ids = {item["id"] for item in response.json()["items"]}
    if role == "chapter_officer":
        assert ids == {world.co["chapter_a"]}, ids
    else:
        assert {world.co["chapter_a"], world.co["chapter_b"]} <= ids


def messenger_of(name: str, **extra: Any) -> Callable[[World, str], Request]:
    """A request about the messenger of class `one` (the messenger account's) or `two`."""
    return lambda world, role: Request({"messenger_id": world.co[f"messenger_{name}"]}, **extra)


def fresh_class(world: World) -> dict[str, Any]:
    """An appointment body for a fresh alumnus of a fresh class of department A."""
    class_name = unique("班")
    student = world.office(
        "POST",
        "/api/v1/alumni",
        alumnus_body(
            world.dept_a,
            graduations=[graduation(world.dept_a, class_year=2024, class_name=class_name)],
        ),
    )
    return {
        "alumnus_id": student["id"],
        "department_id": world.dept_a,
        "class_year": 2024,
        "class_name": class_name,
    }


def fresh_messenger(world: World) -> dict:
    return world.office("POST", "/api/v1/messengers", fresh_class(world))


@on_success
def only_class_one(world: World, role: str, response: requests.Response) -> None:
    items = response.json()["items"]
    assert items and all(MASKED_PHONE.fullmatch(item["phone"]) for item in items), items


def volunteer_of(department: str, **extra: Any) -> Callable[[World, str], Request]:
    return lambda world, role: Request(
        {"volunteer_id": world.co[f"volunteer_{department}"]}, **extra
    )


MATRIX += [
    Row(
        "GET",
        "/api/v1/alumni/statistics",
        "by department",
        staff(200),
        lambda world, role: Request(params={"by": "department"}),
        counted_in_scope,
    ),
    Row(
        "GET",
        "/api/v1/alumni/statistics",
        "department B",
        staff(200, liaison=403),
        lambda world, role: Request(params={"by": "degree", "department_id": world.dept_b}),
    ),
    Row("GET", "/api/v1/alumni/map", "the public map", everyone(200)),
    Row(
        "GET",
        "/api/v1/alumni/export.csv",
        "every alumnus in scope",
        staff(200),
        check=exported_in_scope,
    ),
    Row("GET", "/api/v1/alumni/export.xlsx", "every alumnus in scope", staff(200)),
    Row(
        "POST",
        "/api/v1/reports/alumni",
        "a past year",
        office_only(202),
        lambda world, role: Request(json={"year": REPORT_YEAR}),
    ),
    Row(
        "GET",
        "/api/v1/reports/alumni/{year}.pdf",
        "a generated one",
        roles(200, 200, 403, 403),
        ready_report,
    ),
    Row(
        "GET",
        "/api/v1/reports/alumni/{year}.html",
        "a generated one",
        roles(200, 200, 403, 403),
        ready_report,
    ),
]

MATRIX += [
    Row(
        "GET",
        "/api/v1/alumni/change-requests",
        "office: the queue; liaison: their own",
        roles(200, 403, 200, 403),
    ),
    Row(
        "GET",
        "/api/v1/alumni/change-requests",
        "department_id=B",
        roles(200, 403, 403, 403),
        lambda world, role: Request(params={"department_id": world.dept_b}),
    ),
    Row(
        "GET",
        "/api/v1/alumni/change-requests/{request_id}",
        "the liaison's own",
        roles(200, 403, 200, 403),
        own_change_request,
    ),
    Row(
        "POST",
        "/api/v1/alumni/change-requests/{request_id}/approve",
        "a pending one",
        office_only(200),
        fresh("request_id", fresh_change_request),
    ),
    Row(
        "POST",
        "/api/v1/alumni/change-requests/{request_id}/reject",
        "a pending one, with a reason",
        office_only(200),
        fresh("request_id", fresh_change_request, {"reason": "信息有误"}),
    ),
    Row(
        "POST",
        "/api/v1/alumni/{alumnus_id}/confirm",
        "of department A",
        office_only(200),
        of("a"),
    ),
    Row(
        "GET",
        "/api/v1/alumni/unconfirmed",
        "office: all; liaison: department A's",
        roles(200, 403, 200, 403),
    ),
    Row(
        "GET",
        "/api/v1/alumni/unconfirmed",
        "department_id=B",
        roles(200, 403, 403, 403),
        lambda world, role: Request(params={"department_id": world.dept_b}),
    ),
]


MATRIX += [
    Row(
        "GET",
        "/api/v1/chapters",
        "all (an officer: their own)",
        roles(200, 200, 200, 403, chapter_officer=200),
        check=officer_sees_only_chapter_a,
    ),
    Row(
        "POST",
        "/api/v1/chapters",
        "a regional chapter",
        office_only(201),
        with_body(
            lambda world, role: {
                "name": unique("分会"),
                "kind": "regional",
                "city": "常州",
                "founded_on": "2018-01-01",
            }
        ),
    ),
    Row(
        "GET",
        "/api/v1/chapters/{chapter_id}",
        "chapter A (the officer's)",
        roles(200, 200, 200, 403, chapter_officer=200),
        chapter("a"),
    ),
    Row(
        "GET",
        "/api/v1/chapters/{chapter_id}",
        "chapter B (another's)",
        roles(200, 200, 200, 403, chapter_officer=404),
        chapter("b"),
    ),
    Row(
        "PATCH",
        "/api/v1/chapters/{chapter_id}",
        "a fresh chapter",
        office_only(200),
        fresh("chapter_id", fresh_chapter, {"city": "南通"}),
    ),
    Row(
        "DELETE",
        "/api/v1/chapters/{chapter_id}",
        "a fresh empty chapter",
        office_only(204),
        fresh("chapter_id", fresh_chapter),
    ),
    Row(
        "POST",
        "/api/v1/chapters/{chapter_id}/confirm",
        "a fresh chapter",
        office_only(200),
        fresh("chapter_id", fresh_chapter, {"confirmed_on": "2020-01-01"}),
    ),
    Row(
        "GET",
        "/api/v1/me/chapters/suggested",
        "own city's",
        roles(403, 403, 403, 200),
    ),
    Row(
        "GET",
        "/api/v1/chapters/{chapter_id}/members",
        "chapter A (the officer's)",
        roles(200, 200, 403, 403, chapter_officer=200),
        chapter("a"),
    ),
    Row(
        "GET",
        "/api/v1/chapters/{chapter_id}/members",
        "chapter B (another's)",
        roles(200, 200, 403, 403, chapter_officer=404),
        chapter("b"),
    ),
    Row(
        "POST",
        "/api/v1/chapters/{chapter_id}/members",
        "a fresh alumnus into chapter A",
        roles(201, 403, 403, 403, chapter_officer=201),
        new_member_of("a"),
    ),
    Row(
        "POST",
        "/api/v1/chapters/{chapter_id}/members",
        "a fresh alumnus into chapter B",
        roles(201, 403, 403, 403, chapter_officer=404),
        new_member_of("b"),
    ),
    Row(
        "PATCH",
        "/api/v1/chapters/{chapter_id}/members/{member_id}",
        "a member of chapter A",
        roles(200, 403, 403, 403, chapter_officer=200),
        member_of("a", json={"role": "volunteer"}),
    ),
    Row(
        "PATCH",
        "/api/v1/chapters/{chapter_id}/members/{member_id}",
        "a member of chapter B",
        roles(200, 403, 403, 403, chapter_officer=404),
        member_of("b", json={"role": "volunteer"}),
    ),
    Row(
        "DELETE",
        "/api/v1/chapters/{chapter_id}/members/{member_id}",
        "a fresh member of chapter A",
        roles(204, 403, 403, 403, chapter_officer=204),
        fresh_member_of("a"),
    ),
    Row(
        "DELETE",
        "/api/v1/chapters/{chapter_id}/members/{member_id}",
        "a fresh member of chapter B",
        roles(204, 403, 403, 403, chapter_officer=404),
        fresh_member_of("b"),
    ),
    Row("GET", "/api/v1/messengers", "all (a liaison: department A's)", staff(200)),
    Row(
        "POST",
        "/api/v1/messengers",
        "a fresh class of department A",
        roles(201, 403, 201, 403),
        with_body(lambda world, role: fresh_class(world)),
    ),
    Row(
        "GET",
        "/api/v1/messengers/{messenger_id}",
        "class one's (the messenger's own)",
        roles(200, 200, 200, 403, messenger=200),
        messenger_of("one"),
    ),
    Row(
        "GET",
        "/api/v1/messengers/{messenger_id}",
        "class two's (another class)",
        roles(200, 200, 200, 403, messenger=404),
        messenger_of("two"),
    ),
    Row(
        "POST",
        "/api/v1/messengers/{messenger_id}/end",
        "a fresh one of department A",
        roles(200, 403, 200, 403),
        fresh("messenger_id", fresh_messenger, {}),
    ),
    Row(
        "GET",
        "/api/v1/messengers/{messenger_id}/classmates",
        "class one (the messenger's own)",
        roles(200, 200, 200, 403, messenger=200),
        messenger_of("one"),
        check=only_class_one,
    ),
    Row(
        "GET",
        "/api/v1/messengers/{messenger_id}/classmates",
        "class two (another class)",
        roles(200, 200, 200, 403, messenger=404),
        messenger_of("two"),
    ),
    Row(
        "GET",
        "/api/v1/me/classmates",
        "own class",
        roles(403, 403, 403, 403, messenger=200),
        check=only_class_one,
    ),
    Row("GET", "/api/v1/student-volunteers", "all (a liaison: department A's)", staff(200)),
    Row(
        "POST",
        "/api/v1/student-volunteers",
        "of department A",
        roles(201, 403, 201, 403),
        with_body(
            lambda world, role: {
                "name": "志愿者",
                "department_id": world.dept_a,
                "class_year": 2027,
                "term_start": "2025-09-01",
            }
        ),
    ),
    Row(
        "PATCH",
        "/api/v1/student-volunteers/{volunteer_id}",
        "of department A",
        roles(200, 403, 200, 403),
        volunteer_of("a", json={"position": "secretary"}),
    ),
    Row(
        "PATCH",
        "/api/v1/student-volunteers/{volunteer_id}",
        "of department B",
        roles(200, 403, 404, 403),
        volunteer_of("b", json={"position": "secretary"}),
    ),
]


CASES = [(row, role) for row in MATRIX for role in ROLES]


def case_id(case: tuple[Row, str]) -> str:
    row, role = case
    return f"{role}:{row.method} {row.path} [{row.situation}]"


def test_every_route_is_in_the_matrix():
    declared = {(m, route.path) for route in ROUTES for m in route.method.split(",")}
    in_matrix = {(row.method, row.path) for row in MATRIX}
    assert declared, "gateway.service declares its routes on import"
    assert declared - in_matrix == set(), "routes without a row in the authorisation matrix"
    assert in_matrix - declared == set(), "matrix rows for routes that do not exist"


def test_every_row_says_what_each_role_gets():
    for row in MATRIX:
        assert set(row.expect) == set(ROLES), (row.method, row.path, row.situation)


def test_roles_in_the_matrix_are_the_roles_the_routes_declare():
    """A route open to a role (per ROUTES) never answers that role 401/403 in every row."""
    for route in ROUTES:
        for method in route.method.split(","):
            rows = [r for r in MATRIX if (r.method, r.path) == (method, route.path)]
            for role in ACCOUNT_ROLES:
                allowed = route.roles is None or role in route.roles
                statuses = {row.expect[role] for row in rows}
                if allowed:
                    assert statuses - {401, 403}, (method, route.path, role, statuses)
                else:
                    assert statuses == {403}, (method, route.path, role, statuses)


@pytest.mark.parametrize(("row", "role"), CASES, ids=[case_id(c) for c in CASES])
def test_matrix(world, row, role):
    request = row.request(world, role)
    path = row.path.format(**request.path_values)
    response = world.call(
        role,
        row.method,
        path,
        json=request.json,
        params=request.params,
        files=request.files,
        token=request.token,
    )

    expected = row.expect[role]
    assert response.status_code == expected, (response.status_code, response.text[:300])
    if expected >= 400:
        assert_error(response, expected)
    if expected == 401:
        assert response.headers.get("WWW-Authenticate") == "Bearer"
    # The answer is one the OpenAPI document promises for this route, in the promised shape.
    assert str(expected) in world.spec["paths"][row.path][row.method.lower()]["responses"]
    assert_documented(world.spec, row.path, row.method, response)
    if row.check is not None:
        row.check(world, role, response)
