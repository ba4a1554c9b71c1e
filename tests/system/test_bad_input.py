"""Bad input of every kind gets a 4xx with the platform's JSON error body, never a 500.

Each case states the status and error code it must get; every error body must be
{"error": {"code", "message", "details"}} with a Chinese message. The last test reads the
gateway's log to make sure no request of this module was answered with a 500.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
import requests

from gateway.auth import ALGORITHM
from gateway.http import MAX_JSON_BODY_BYTES
from tests.support.processes import ADMIN_PASSWORD, ADMIN_USERNAME
from tests.system.helpers import (
    alumnus_body,
    assert_error,
    craft_token,
    department_body,
    graduation,
    unique,
)

# The last test reads the gateway's log from the module's first request on.
pytestmark = pytest.mark.usefixtures("gateway_log")

UNKNOWN_ID = str(uuid.uuid4())


@dataclass
class Context:
    base_url: str
    token: str
    refresh_token: str
    department_id: str
    department_code: str
    alumnus_id: str


@pytest.fixture(scope="module")
def ctx(system) -> Context:
    tokens = requests.post(
        f"{system.base_url}/api/v1/auth/token",
        json={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD},
        timeout=30,
    ).json()
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    department = requests.post(
        f"{system.base_url}/api/v1/departments", json=department_body(), headers=auth, timeout=30
    )
    assert department.status_code == 201, department.text
    alumnus = requests.post(
        f"{system.base_url}/api/v1/alumni",
        json=alumnus_body(department.json()["id"]),
        headers=auth,
        timeout=30,
    )
    assert alumnus.status_code == 201, alumnus.text
    return Context(
        base_url=system.base_url,
        token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        department_id=department.json()["id"],
        department_code=department.json()["code"],
        alumnus_id=alumnus.json()["id"],
    )


@dataclass
class Case:
    """One bad request: `request(ctx)` gives requests' keyword arguments."""

    id: str
    method: str
    path: str
    status: int
    code: str
    request: Callable[[Context], dict[str, Any]] = field(default=lambda ctx: {})
    check: Callable[[dict[str, Any]], None] | None = None
    authenticated: bool = True


def body(make: Callable[[Context], Any]) -> Callable[[Context], dict[str, Any]]:
    return lambda ctx: {"json": make(ctx)}


def raw(data: bytes | Callable[[Context], bytes], **headers: str) -> Callable:
    def request(ctx: Context) -> dict[str, Any]:
        payload = data(ctx) if callable(data) else data
        return {"data": payload, "headers": {"Content-Type": "application/json", **headers}}

    return request


def query(**params: str) -> Callable[[Context], dict[str, Any]]:
    return lambda ctx: {"params": params}


def field_errors(*path: str) -> Callable[[dict[str, Any]], None]:
    """The error's details name the offending field (nested: graduations, 0, class_year)."""

    def check(error: dict[str, Any]) -> None:
        node: Any = error["details"]["fields"]
        for part in path:
            assert part in node, (path, error["details"])
            node = node[part]
        assert node, error

    return check


def cursor_of(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


ALUMNI = "/api/v1/alumni"
ALUMNUS = "/api/v1/alumni/{alumnus_id}"
DEPARTMENTS = "/api/v1/departments"

CASES = [
    # ---- validation of bodies ----
    Case(
        "missing-required-fields",
        "POST",
        ALUMNI,
        422,
        "VALIDATION_ERROR",
        body(lambda ctx: {}),
        check=lambda e: (field_errors("name")(e), field_errors("graduations")(e)),
    ),
    Case(
        "missing-graduation-fields",
        "POST",
        ALUMNI,
        422,
        "VALIDATION_ERROR",
        body(lambda ctx: {"name": "王芳", "graduations": [{"department_id": ctx.department_id}]}),
        check=field_errors("graduations", "0", "major"),
    ),
    Case(
        "malformed-phone",
        "POST",
        ALUMNI,
        422,
        "VALIDATION_ERROR",
        body(lambda ctx: alumnus_body(ctx.department_id, phone="1234")),
        check=field_errors("phone"),
    ),
    Case(
        "malformed-email",
        "POST",
        ALUMNI,
        422,
        "VALIDATION_ERROR",
        body(lambda ctx: alumnus_body(ctx.department_id, email="not-an-email")),
        check=field_errors("email"),
    ),
    Case(
        "non-numeric-class-year-in-body",
        "POST",
        ALUMNI,
        422,
        "VALIDATION_ERROR",
        body(
            lambda ctx: {
                "name": "王芳",
                "graduations": [graduation(ctx.department_id, class_year="二〇一〇")],
            }
        ),
        check=field_errors("graduations", "0", "class_year"),
    ),
    Case(
        "class-year-as-numeric-string",
        "POST",
        ALUMNI,
        422,
        "VALIDATION_ERROR",
        body(
            lambda ctx: {
                "name": "王芳",
                "graduations": [graduation(ctx.department_id, class_year="2010")],
            }
        ),
        check=field_errors("graduations", "0", "class_year"),
    ),
    Case(
        "misspelt-field",
        "POST",
        ALUMNI,
        422,
        "VALIDATION_ERROR",
        body(lambda ctx: alumnus_body(ctx.department_id, emial="a@example.com")),
        check=field_errors("emial"),
    ),
    Case(
        "no-graduations",
        "POST",
        ALUMNI,
        422,
        "VALIDATION_ERROR",
        body(lambda ctx: alumnus_body(ctx.department_id, graduations=[])),
        check=field_errors("graduations"),
    ),
    Case(
        "name-of-the-wrong-type",
        "POST",
        DEPARTMENTS,
        422,
        "VALIDATION_ERROR",
        body(lambda ctx: {"name": 42, "code": "X1"}),
        check=field_errors("name"),
    ),
    Case(
        "patch-null-name",
        "PATCH",
        ALUMNUS,
        422,
        "VALIDATION_ERROR",
        body(lambda ctx: {"name": None}),
        check=field_errors("name"),
    ),
    Case(
        "patch-malformed-birth-date",
        "PATCH",
        ALUMNUS,
        422,
        "VALIDATION_ERROR",
        body(lambda ctx: {"birth_date": "1990-13-45"}),
        check=field_errors("birth_date"),
    ),
    Case(
        "login-without-password",
        "POST",
        "/api/v1/auth/token",
        422,
        "VALIDATION_ERROR",
        body(lambda ctx: {"username": ADMIN_USERNAME}),
        check=field_errors("password"),
        authenticated=False,
    ),
    Case(
        "account-password-too-short",
        "POST",
        "/api/v1/accounts",
        422,
        "VALIDATION_ERROR",
        body(lambda ctx: {"username": unique("u"), "password": "short", "role": "committee"}),
        check=field_errors("password"),
    ),
    Case(
        "liaison-account-without-department",
        "POST",
        "/api/v1/accounts",
        422,
        "VALIDATION_ERROR",
        body(
            lambda ctx: {"username": unique("u"), "password": "long-enough-pw", "role": "liaison"}
        ),
        check=field_errors("department_id"),
    ),
    # ---- validation of query strings ----
    Case(
        "non-numeric-class-year-in-query",
        "GET",
        ALUMNI,
        422,
        "VALIDATION_ERROR",
        query(class_year="abc"),
        check=field_errors("class_year"),
    ),
    Case(
        "malformed-department-id-in-query",
        "GET",
        ALUMNI,
        422,
        "VALIDATION_ERROR",
        query(department_id="CS"),
        check=field_errors("department_id"),
    ),
    Case(
        "limit-out-of-range",
        "GET",
        ALUMNI,
        422,
        "VALIDATION_ERROR",
        query(limit="1000"),
        check=field_errors("limit"),
    ),
    Case(
        "unknown-query-parameter",
        "GET",
        ALUMNI,
        422,
        "VALIDATION_ERROR",
        query(sort="name"),
        check=field_errors("sort"),
    ),
    Case(
        "garbage-cursor",
        "GET",
        ALUMNI,
        422,
        "VALIDATION_ERROR",
        query(cursor="!!not-a-cursor!!"),
        check=field_errors("cursor"),
    ),
    Case(
        "cursor-past-64-bits",
        "GET",
        ALUMNI,
        422,
        "VALIDATION_ERROR",
        query(cursor=cursor_of("9" * 30)),
        check=field_errors("cursor"),
    ),
    Case(
        "history-cursor-past-64-bits",
        "GET",
        ALUMNUS + "/history",
        422,
        "VALIDATION_ERROR",
        query(cursor=cursor_of("9" * 30)),
        check=field_errors("cursor"),
    ),
    Case(
        "history-non-numeric-limit",
        "GET",
        ALUMNUS + "/history",
        422,
        "VALIDATION_ERROR",
        query(limit="ten"),
        check=field_errors("limit"),
    ),
    # ---- bodies that are not a JSON object ----
    Case("broken-json", "POST", DEPARTMENTS, 400, "BAD_REQUEST", raw(b'{"name": "x",')),
    Case("empty-body", "POST", DEPARTMENTS, 400, "BAD_REQUEST", raw(b"")),
    Case(
        "not-utf-8", "POST", DEPARTMENTS, 400, "BAD_REQUEST", raw('{"name": "数学"}'.encode("gbk"))
    ),
    Case(
        "deeply-nested-json",
        "POST",
        DEPARTMENTS,
        400,
        "BAD_REQUEST",
        raw(b"[" * 100_000 + b"]" * 100_000),
    ),
    Case(
        "integer-with-5000-digits",
        "POST",
        ALUMNI,
        400,
        "BAD_REQUEST",
        raw(b'{"name": "x", "graduations": [{"class_year": ' + b"9" * 5000 + b"}]}"),
    ),
    Case(
        "json-array-instead-of-object",
        "POST",
        ALUMNI,
        422,
        "VALIDATION_ERROR",
        body(lambda ctx: [alumnus_body(ctx.department_id)]),
        check=field_errors("_schema"),
    ),
    Case(
        "json-null-instead-of-object",
        "PATCH",
        ALUMNUS,
        422,
        "VALIDATION_ERROR",
        raw(b"null"),
        check=field_errors("_schema"),
    ),
    Case(
        "body-over-1-mib",
        "POST",
        DEPARTMENTS,
        413,
        "PAYLOAD_TOO_LARGE",
        raw(lambda ctx: json.dumps({"name": "x" * MAX_JSON_BODY_BYTES, "code": "BIG"}).encode()),
    ),
    Case(
        "chunked-body-over-1-mib",
        "POST",
        DEPARTMENTS,
        413,
        "PAYLOAD_TOO_LARGE",
        # A generator makes requests send the body chunked, without a Content-Length.
        lambda ctx: {
            "data": (b"x" * 65536 for _ in range(MAX_JSON_BODY_BYTES // 65536 + 2)),
            "headers": {"Content-Type": "application/json"},
        },
    ),
    # ---- text no database can store ----
    Case(
        "nul-character-in-a-name",
        "POST",
        ALUMNI,
        400,
        "BAD_REQUEST",
        body(lambda ctx: alumnus_body(ctx.department_id, name="王\x00芳")),
    ),
    Case(
        "lone-surrogate-in-a-name",
        "POST",
        DEPARTMENTS,
        400,
        "BAD_REQUEST",
        raw(b'{"name": "\\ud800", "code": "SUR"}'),
    ),
    Case("nul-character-in-query", "GET", ALUMNI, 400, "BAD_REQUEST", query(q="王\x00")),
    Case("nul-character-in-path", "GET", "/api/v1/receipts/%00", 400, "BAD_REQUEST"),
    # An id in a path is a UUID or no route at all (gateway/http.py `url_rule`).
    Case("nul-character-in-an-id", "GET", DEPARTMENTS + "/%00", 404, "NOT_FOUND"),
    Case(
        "nul-character-in-username",
        "POST",
        "/api/v1/auth/token",
        400,
        "BAD_REQUEST",
        body(lambda ctx: {"username": "admin\x00", "password": "whatever"}),
        authenticated=False,
    ),
    # ---- things that do not exist ----
    Case("unknown-alumnus-id", "GET", f"{ALUMNI}/{UNKNOWN_ID}", 404, "NOT_FOUND"),
    Case("malformed-alumnus-id", "GET", f"{ALUMNI}/not-a-uuid", 404, "NOT_FOUND"),
    Case(
        "patch-unknown-alumnus",
        "PATCH",
        f"{ALUMNI}/{UNKNOWN_ID}",
        404,
        "NOT_FOUND",
        body(lambda ctx: {"city": "北京"}),
    ),
    Case("history-of-malformed-id", "GET", f"{ALUMNI}/12345/history", 404, "NOT_FOUND"),
    Case("unknown-department-id", "GET", f"{DEPARTMENTS}/{UNKNOWN_ID}", 404, "NOT_FOUND"),
    Case(
        "unknown-department-in-graduations",
        "POST",
        ALUMNI,
        422,
        "VALIDATION_ERROR",
        body(lambda ctx: alumnus_body(UNKNOWN_ID)),
        check=field_errors("graduations"),
    ),
    Case(
        "patch-to-unknown-department",
        "PATCH",
        ALUMNUS,
        422,
        "VALIDATION_ERROR",
        body(lambda ctx: {"graduations": [graduation(UNKNOWN_ID)]}),
        check=field_errors("graduations"),
    ),
    Case("unknown-route-under-api", "GET", "/api/v1/nothing-here", 404, "NOT_FOUND"),
    Case("unknown-api-version", "POST", "/api/v2/alumni", 404, "NOT_FOUND", body(lambda ctx: {})),
    Case(
        "unsupported-method-on-a-route",
        "DELETE",
        f"{ALUMNI}/{UNKNOWN_ID}",
        405,
        "METHOD_NOT_ALLOWED",
    ),
    # ---- conflicts ----
    Case(
        "duplicate-department-code",
        "POST",
        DEPARTMENTS,
        409,
        "CONFLICT",
        body(lambda ctx: {"name": "另一个学院" + unique(), "code": ctx.department_code}),
    ),
    Case(
        "duplicate-username",
        "POST",
        "/api/v1/accounts",
        409,
        "CONFLICT",
        body(
            lambda ctx: {"username": ADMIN_USERNAME, "password": "long-enough-pw", "role": "office"}
        ),
    ),
    # ---- authentication ----
    Case(
        "wrong-password",
        "POST",
        "/api/v1/auth/token",
        401,
        "UNAUTHENTICATED",
        body(lambda ctx: {"username": ADMIN_USERNAME, "password": "not-the-password"}),
        authenticated=False,
    ),
    Case(
        "unknown-user",
        "POST",
        "/api/v1/auth/token",
        401,
        "UNAUTHENTICATED",
        body(lambda ctx: {"username": unique("nobody"), "password": "whatever"}),
        authenticated=False,
    ),
    Case(
        "refresh-with-garbage",
        "POST",
        "/api/v1/auth/refresh",
        401,
        "UNAUTHENTICATED",
        body(lambda ctx: {"refresh_token": "garbage"}),
        authenticated=False,
    ),
    Case(
        "refresh-with-an-access-token",
        "POST",
        "/api/v1/auth/refresh",
        401,
        "UNAUTHENTICATED",
        body(lambda ctx: {"refresh_token": ctx.token}),
        check=lambda e: e["details"] == {"reason": "wrong_type"},
        authenticated=False,
    ),
]


def send(ctx: Context, case: Case) -> requests.Response:
    kwargs = case.request(ctx)
    headers = dict(kwargs.pop("headers", {}))
    if case.authenticated:
        headers["Authorization"] = f"Bearer {ctx.token}"
    path = case.path.format(alumnus_id=ctx.alumnus_id)
    return requests.request(
        case.method, f"{ctx.base_url}{path}", headers=headers, timeout=30, **kwargs
    )


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_gets_a_json_4xx(ctx, case):
    response = send(ctx, case)
    error = assert_error(response, case.status, case.code)
    if case.check is not None:
        case.check(error)
    if case.status == 401:
        assert response.headers.get("WWW-Authenticate") == "Bearer"


def test_case_ids_are_unique():
    assert len({case.id for case in CASES}) == len(CASES)


# ---- tokens -----------------------------------------------------------------------


def get_me(ctx: Context, authorization: str | None) -> requests.Response:
    headers = {} if authorization is None else {"Authorization": authorization}
    return requests.get(f"{ctx.base_url}/api/v1/me", headers=headers, timeout=30)


def assert_unauthenticated(response: requests.Response, reason: str | None = None) -> None:
    error = assert_error(response, 401, "UNAUTHENTICATED")
    assert response.headers.get("WWW-Authenticate") == "Bearer"
    if reason is not None:
        assert error["details"].get("reason") == reason, error


def test_no_token(ctx):
    assert_unauthenticated(get_me(ctx, None))


@pytest.mark.parametrize(
    "authorization",
    ["Bearer garbage", "Bearer ", "Basic YWRtaW46cGFzc3dvcmQ=", "garbage", "Bearer a.b.c"],
    ids=["garbage", "empty", "basic-scheme", "no-scheme", "three-garbage-parts"],
)
def test_malformed_authorization_headers(ctx, authorization):
    assert_unauthenticated(get_me(ctx, authorization))


def test_expired_token(ctx):
    me = get_me(ctx, "Bearer " + ctx.token).json()
    past = int(time.time()) - 3600
    token = craft_token(sub=me["id"], iat=past - 900, exp=past)
    assert_unauthenticated(get_me(ctx, f"Bearer {token}"), "expired")


def test_refresh_token_used_as_access_token(ctx):
    assert_unauthenticated(get_me(ctx, f"Bearer {ctx.refresh_token}"), "wrong_type")


def test_token_signed_with_another_secret(ctx):
    token = craft_token(secret="another-secret-" + "y" * 32)
    assert_unauthenticated(get_me(ctx, f"Bearer {token}"), "invalid")


def test_token_from_another_issuer(ctx):
    token = craft_token(iss="someone-else")
    assert_unauthenticated(get_me(ctx, f"Bearer {token}"), "invalid")


def test_unsigned_token(ctx):
    claims = jwt.decode(ctx.token, options={"verify_signature": False})
    token = jwt.encode(claims, key=None, algorithm="none")
    assert_unauthenticated(get_me(ctx, f"Bearer {token}"), "invalid")


def test_token_without_expiry(ctx):
    token = craft_token(exp=...)
    assert_unauthenticated(get_me(ctx, f"Bearer {token}"), "invalid")


def test_tampered_claims(ctx):
    header, payload, signature = ctx.token.split(".")
    claims = jwt.decode(ctx.token, options={"verify_signature": False})
    forged = jwt.encode({**claims, "role": "office", "username": "mallory"}, "k" * 32, ALGORITHM)
    token = ".".join([header, forged.split(".")[1], signature])
    assert_unauthenticated(get_me(ctx, f"Bearer {token}"), "invalid")


# ---- what must still work ------------------------------------------------------------


def test_chunked_body_within_the_limit_is_read(ctx):
    """Clients that stream their body (no Content-Length) are understood, not told it's empty."""
    payload = json.dumps(department_body(), ensure_ascii=False).encode()
    response = requests.post(
        f"{ctx.base_url}{DEPARTMENTS}",
        data=(payload[i : i + 7] for i in range(0, len(payload), 7)),
        headers={"Authorization": f"Bearer {ctx.token}", "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 201, response.text


def test_body_just_under_the_limit_is_read(ctx):
    name = "x" * (MAX_JSON_BODY_BYTES - 100)
    data = json.dumps({"name": name, "code": "NEAR"}).encode()
    assert len(data) <= MAX_JSON_BODY_BYTES
    response = requests.post(
        f"{ctx.base_url}{DEPARTMENTS}",
        data=data,
        headers={"Authorization": f"Bearer {ctx.token}", "Content-Type": "application/json"},
        timeout=30,
    )
    # Read and validated (too long a name), not refused for its size.
    error = assert_error(response, 422, "VALIDATION_ERROR")
    assert "name" in error["details"]["fields"]


def test_emoji_and_escaped_surrogate_pairs_are_fine(ctx):
    response = requests.post(
        f"{ctx.base_url}{DEPARTMENTS}",
        data=b'{"name": "\\ud83c\\udf93 \xe5\xad\xa6\xe9\x99\xa2 \\u5b66", "code": "EMOJI"}',
        headers={"Authorization": f"Bearer {ctx.token}", "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "\U0001f393 学院 学"


def test_no_request_of_this_module_was_answered_with_500(gateway_log):
    """Runs last in the module: the gateway logged no unhandled error and no 500."""
    log = gateway_log()
    assert "unhandled error" not in log
    assert '" 500 ' not in log
