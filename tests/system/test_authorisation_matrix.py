"""Who may do what, as a table: every route of gateway.http.ROUTES, for each role.

Roles: `office`, `committee`, `liaison` (of department A) and `anonymous` (no token).
A record outside a liaison's department answers 404, exactly as one that does not exist;
an action the role may never take answers 403; no token answers 401.

Every answer is also checked against /openapi.json: its status must be one the document
lists for that route, and its body must match the schema given for it. A route added to
ROUTES without a row here fails `test_every_route_is_in_the_matrix`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

import gateway.service  # noqa: F401  (declares the routes into ROUTES)
from gateway.http import ROUTES
from tests.support.processes import ADMIN_PASSWORD, ADMIN_USERNAME
from tests.system.helpers import (
    alumnus_body,
    assert_documented,
    assert_error,
    department_body,
    graduation,
    token_pair,
    unique,
)

ROLES = ("office", "committee", "liaison", "anonymous")
STAFF = ("office", "committee", "liaison")
PASSWORD = "matrix-password-1"
PHONE = "13812345678"
MASKED_PHONE = re.compile(r"\d{3}\*{4}\d{4}")


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

    def call(
        self, role: str, method: str, path: str, json: Any = None, params: dict | None = None
    ) -> requests.Response:
        headers = {}
        if role != "anonymous":
            headers["Authorization"] = f"Bearer {self.tokens[role]['access_token']}"
        return requests.request(
            method,
            f"{self.base_url}{path}",
            json=json,
            params=params,
            headers=headers,
            timeout=30,
        )

    def new_alumnus(self, *departments: str) -> dict[str, Any]:
        """A fresh alumnus made by the office, for rows that change what they touch."""
        body = alumnus_body(
            departments[0],
            graduations=[graduation(d, class_year=2000 + i) for i, d in enumerate(departments)],
        )
        response = self.call("office", "POST", "/api/v1/alumni", json=body)
        assert response.status_code == 201, response.text
        return response.json()


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
    credentials = {"office": {"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}}
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

    return World(
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


Check = Callable[[World, str, requests.Response], None]


@dataclass
class Request:
    path_values: dict[str, str] = field(default_factory=dict)
    json: Any = None
    params: dict[str, str] | None = None


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
    return {**dict.fromkeys(STAFF, status), "anonymous": 401, **overrides}


def office_only(status: int) -> dict[str, int]:
    return {"office": status, "committee": 403, "liaison": 403, "anonymous": 401}


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


@on_success
def me_is_the_caller(world: World, role: str, response: requests.Response) -> None:
    assert response.json()["username"] == world.credentials[role]["username"]
    assert response.json()["role"] == role


@on_success
def employer_changed(world: World, role: str, response: requests.Response) -> None:
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
    Row("GET", "/api/v1/me", "own account", staff(200), check=me_is_the_caller),
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
        check=both(liaison_sees_only_department_a, contacts_as_the_role_may_see_them),
    ),
    Row(
        "GET",
        ALUMNI,
        "department_id=A",
        staff(200),
        lambda world, role: Request(params={"department_id": world.dept_a}),
        check=contacts_as_the_role_may_see_them,
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
        "employer, of department A",
        staff(200, committee=403),
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
        "graduations of an A+B alumnus: change A's, keep B's",
        staff(200, committee=403),
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
            for role in STAFF:
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
    response = world.call(role, row.method, path, json=request.json, params=request.params)

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
