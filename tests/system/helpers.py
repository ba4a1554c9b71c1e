"""Small helpers shared by the system tests: payloads, error-body checks, OpenAPI schemas."""

from __future__ import annotations

import copy
import re
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import jwt
import requests
from jsonschema import Draft4Validator

from gateway.auth import ALGORITHM, ISSUER
from tests.support.processes import JWT_SECRET

CHINESE = re.compile(r"[\u4e00-\u9fff]")
ERROR_KEYS = {"code", "message", "details"}


def unique(prefix: str = "t") -> str:
    """A short name no other test (or earlier run on the same database) has used."""
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def graduation(department_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "department_id": department_id,
        "major": "软件工程",
        "degree": "bachelor",
        "class_year": 2010,
        **overrides,
    }


def alumnus_body(department_id: str, **overrides: Any) -> dict[str, Any]:
    return {"name": "校友" + unique(""), "graduations": [graduation(department_id)], **overrides}


def department_body() -> dict[str, str]:
    code = unique("D")
    return {"name": f"测试学院{code}", "code": code}


STAFF_PASSWORD = "staff-password-1"


def new_department(office) -> dict[str, Any]:
    """A department made by the office's client, as the API answers it."""
    response = office.post("/api/v1/departments", json=department_body())
    assert response.status_code == 201, response.text
    return response.json()


def staff_account(system, office, role: str, **scope: str):
    """A login of `role` (its scope: department_id, chapter_id, messenger_id) made by the
    office with the one account route, logged in; its `username` on the client."""
    username = unique(role.split("_")[0])
    body = {"username": username, "password": STAFF_PASSWORD, "role": role, **scope}
    response = office.post("/api/v1/accounts", json=body)
    assert response.status_code == 201, response.text
    made = response.json()
    assert made["role"] == role
    for field, value in scope.items():
        assert made[field] == value
    client = system.client().login(username, STAFF_PASSWORD)
    client.username = username
    return client


def liaison_of(system, office, department_id: str):
    """A new liaison of the department, logged in; its `username` on the client."""
    return staff_account(system, office, "liaison", department_id=department_id)


def assert_error(response: requests.Response, status: int, code: str | None = None) -> dict:
    """The platform's error body with `status`: JSON, three keys, a Chinese message."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == ERROR_KEYS, error
    assert isinstance(error["code"], str) and error["code"], error
    assert isinstance(error["details"], dict), error
    assert CHINESE.search(error["message"]), f"no Chinese in the message: {error['message']!r}"
    if code is not None:
        assert error["code"] == code, error
    return error


def token_pair(base_url: str, username: str, password: str) -> dict[str, Any]:
    response = requests.post(
        f"{base_url}/api/v1/auth/token",
        json={"username": username, "password": password},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()


def craft_token(secret: str = JWT_SECRET, **claims: Any) -> str:
    """An access token signed like the gateway's, with `claims` overriding the defaults."""
    now = int(time.time())
    payload = {
        "iss": ISSUER,
        "sub": str(uuid.uuid4()),
        "username": "admin",
        "role": "office",
        "department_id": None,
        "sid": str(uuid.uuid4()),
        "ver": 0,
        "iat": now,
        "exp": now + 600,
        "typ": "access",
        **claims,
    }
    return jwt.encode({k: v for k, v in payload.items() if v is not ...}, secret, ALGORITHM)


# ---- OpenAPI ------------------------------------------------------------------


def iter_refs(node: Any, where: str = "#"):
    """Every ($ref, location) in an OpenAPI document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value, where
            else:
                yield from iter_refs(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from iter_refs(value, f"{where}/{index}")


def resolve_pointer(document: dict, ref: str) -> Any:
    assert ref.startswith("#/"), f"only local references are expected: {ref}"
    node: Any = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def _as_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema objects as JSON Schema draft 4: `nullable` becomes a null type."""
    if isinstance(node, list):
        return [_as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _as_json_schema(value) for key, value in node.items()}
    if converted.pop("nullable", False) and "type" in converted:
        converted["type"] = [converted["type"], "null"]
    for openapi_only in ("example", "readOnly", "writeOnly"):
        converted.pop(openapi_only, None)
    return converted


def response_validator(spec: dict, path: str, method: str, status: int) -> Draft4Validator:
    """A validator for the documented JSON response of one operation and status."""
    operation = spec["paths"][path][method.lower()]
    schema = operation["responses"][str(status)]["content"]["application/json"]["schema"]
    root = {
        "allOf": [copy.deepcopy(schema)],
        "components": {"schemas": spec["components"]["schemas"]},
    }
    return Draft4Validator(_as_json_schema(root))


def assert_documented(spec: dict, path: str, method: str, response: requests.Response) -> None:
    """The response body matches the schema /openapi.json gives for it.

    A body that is not JSON (a PNG) must come with a media type the document names for it.
    """
    operation = spec["paths"][path][method.lower()]
    content = operation["responses"][str(response.status_code)].get("content", {})
    if response.status_code == 204:  # No Content: none documented, none sent
        assert not content and not response.content, f"{method} {path}: a 204 with a body"
        return
    media = response.headers.get("Content-Type", "").split(";")[0].strip()
    assert media in content, f"{method} {path} {response.status_code}: {media} not documented"
    if media != "application/json":
        assert response.content, f"{method} {path}: empty {media} body"
        return
    validator = response_validator(spec, path, method, response.status_code)
    errors = sorted(validator.iter_errors(response.json()), key=str)
    assert not errors, f"{method} {path} {response.status_code}: " + "; ".join(
        e.message for e in errors[:5]
    )


# ---- events -------------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BEIJING = timezone(timedelta(hours=8))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def event_body(
    organiser_id: str | None = None,
    *,
    starts_in: timedelta = timedelta(days=400),
    hours: float = 3,
    **overrides: Any,
) -> dict[str, Any]:
    """A reunion that starts `starts_in` from now, its sign-ups open since yesterday until it
    starts; organised by the department `organiser_id`, or by the office when None."""
    now = datetime.now(UTC)
    starts = now + starts_in
    ends = starts + timedelta(hours=hours)
    return {
        "kind": "reunion",
        "title": "返校聚会" + unique(""),
        "organiser_type": "office" if organiser_id is None else "department",
        "organiser_id": organiser_id,
        "venue": "校友会堂",
        "starts_at": iso(starts),
        "ends_at": iso(ends),
        "capacity": 100,
        "registration_opens_at": iso(now - timedelta(days=1)),
        # An event already under way takes sign-ups until it ends.
        "registration_closes_at": iso(starts if starts > now else ends),
        **overrides,
    }


def school_today() -> str:
    """Today on the school's calendar (Beijing time), as visits are dated."""
    return datetime.now(BEIJING).date().isoformat()


def visit_body(department_id: str | None, requester: str | None, **overrides: Any) -> dict:
    body = {
        "department_id": department_id,
        "visit_date": school_today(),
        "group_size": 3,
        "purpose": "返校参观实验室",
        "contact": {"name": "张伟", "phone": "13812345678", "email": "zhang.wei@example.com"},
        **overrides,
    }
    if requester is not None:
        body["requester_alumnus_id"] = requester
    return body
