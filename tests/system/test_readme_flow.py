"""The README's first session, over HTTP, as a new user would follow it; then the API's
self-description: /openapi.json against the declared routes, and /docs from local assets."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime

import jwt
import pytest
import requests

import gateway.service  # noqa: F401  (declares the routes into ROUTES)
from gateway.auth import ALGORITHM, ISSUER
from gateway.http import ROUTES
from services.common import catalogue
from tests.support.processes import ADMIN_PASSWORD, ADMIN_USERNAME, JWT_SECRET
from tests.system.helpers import assert_documented, iter_refs, resolve_pointer

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
MAX_ACCESS_TOKEN_SECONDS = 15 * 60


@pytest.fixture(scope="module")
def spec(system) -> dict:
    response = requests.get(f"{system.base_url}/openapi.json", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    return response.json()


def curl_post(url: str, body: dict, token: str | None = None) -> requests.Response:
    """POST the way the README's `curl -H "$JSON" -d '...'` does: UTF-8 bytes, and the JSON
    content type it names (curl's own default, a form, is refused with 415)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body, ensure_ascii=False).encode()
    return requests.post(url, data=data, headers=headers, timeout=30)


def is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except (TypeError, ValueError):
        return False


def test_first_session_from_the_readme(system, spec):
    b = system.base_url

    # Log in.
    response = curl_post(
        f"{b}/api/v1/auth/token", {"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200, response.text
    assert_documented(spec, "/api/v1/auth/token", "POST", response)
    tokens = response.json()
    assert tokens["token_type"] == "bearer"
    assert 0 < tokens["expires_in"] <= MAX_ACCESS_TOKEN_SECONDS
    assert tokens["access_token"] and tokens["refresh_token"]
    claims = jwt.decode(tokens["access_token"], JWT_SECRET, [ALGORITHM], issuer=ISSUER)
    assert claims["typ"] == "access" and claims["role"] == "office"
    assert claims["exp"] - claims["iat"] <= MAX_ACCESS_TOKEN_SECONDS
    token = tokens["access_token"]
    auth = {"Authorization": f"Bearer {token}"}

    # A department.
    response = curl_post(
        f"{b}/api/v1/departments", {"name": "计算机科学与技术学院", "code": "CS"}, token
    )
    assert response.status_code == 201, response.text
    assert_documented(spec, "/api/v1/departments", "POST", response)
    department = response.json()
    assert department["name"] == "计算机科学与技术学院" and department["code"] == "CS"
    assert is_uuid(department["id"])
    dept = department["id"]

    # An alumnus with a graduation record.
    response = curl_post(
        f"{b}/api/v1/alumni",
        {
            "name": "张伟",
            "phone": "13812345678",
            "employer": "华为技术有限公司",
            "city": "深圳",
            "graduations": [
                {
                    "department_id": dept,
                    "major": "软件工程",
                    "degree": "bachelor",
                    "class_year": 2010,
                }
            ],
        },
        token,
    )
    assert response.status_code == 201, response.text
    assert_documented(spec, "/api/v1/alumni", "POST", response)
    alumnus = response.json()
    assert is_uuid(alumnus["id"])
    assert (alumnus["name"], alumnus["employer"], alumnus["city"]) == (
        "张伟",
        "华为技术有限公司",
        "深圳",
    )
    assert alumnus["graduations"] == [
        {
            "department_id": dept,
            "major": "软件工程",
            "degree": "bachelor",
            "class_year": 2010,
            "class_name": None,
            "student_number": None,
            "enrolment_year": None,
            "current_department_id": dept,
        }
    ]
    created_at = datetime.fromisoformat(alumnus["created_at"])
    assert created_at.utcoffset() is not None, "times are UTC with an offset"
    alumnus_id = alumnus["id"]

    # Find them by any part of the name, or as typed (pinyin, initials): a summary each.
    for part in ("伟", "张", "张伟", "zw", "zhangwei", "华为", "深圳"):
        response = requests.get(f"{b}/api/v1/alumni", params={"q": part}, headers=auth, timeout=30)
        assert response.status_code == 200, response.text
        assert alumnus_id in [item["id"] for item in response.json()["items"]], part
        assert_documented(spec, "/api/v1/alumni", "GET", response)
    summary = response.json()["items"][0]
    assert set(summary) == {
        "id",
        "name",
        "gender",
        "graduations",
        "province",
        "city",
        "employer",
        "industry",
        "title",
    }
    response = requests.get(f"{b}/api/v1/alumni", params={"q": "李"}, headers=auth, timeout=30)
    assert alumnus_id not in [item["id"] for item in response.json()["items"]]

    # Change the employer.
    response = requests.patch(
        f"{b}/api/v1/alumni/{alumnus_id}", json={"employer": "腾讯"}, headers=auth, timeout=30
    )
    assert response.status_code == 200, response.text
    assert_documented(spec, "/api/v1/alumni/{alumnus_id}", "PATCH", response)
    assert response.json()["employer"] == "腾讯"
    assert datetime.fromisoformat(response.json()["updated_at"]) >= created_at
    fetched = requests.get(f"{b}/api/v1/alumni/{alumnus_id}", headers=auth, timeout=30)
    assert fetched.status_code == 200 and fetched.json()["employer"] == "腾讯"
    assert_documented(spec, "/api/v1/alumni/{alumnus_id}", "GET", fetched)

    # Who changed what, when, from where.
    response = requests.get(f"{b}/api/v1/alumni/{alumnus_id}/history", headers=auth, timeout=30)
    assert response.status_code == 200, response.text
    assert_documented(spec, "/api/v1/alumni/{alumnus_id}/history", "GET", response)
    employer_changes = [c for c in response.json()["items"] if c["field"] == "employer"]
    assert [(c["old_value"], c["new_value"]) for c in employer_changes] == [
        (None, "华为技术有限公司"),
        ("华为技术有限公司", "腾讯"),
    ]
    change = employer_changes[-1]
    assert change["actor"] == ADMIN_USERNAME
    assert change["source"] == "office"
    assert datetime.fromisoformat(change["changed_at"]) >= created_at


def test_refresh_token_gives_a_new_working_access_token(system, spec):
    tokens = system.client().http.post(
        f"{system.base_url}/api/v1/auth/token",
        json={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD},
        timeout=30,
    )
    assert tokens.status_code == 200
    refresh_token = tokens.json()["refresh_token"]

    response = requests.post(
        f"{system.base_url}/api/v1/auth/refresh",
        json={"refresh_token": refresh_token},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert_documented(spec, "/api/v1/auth/refresh", "POST", response)
    renewed = response.json()
    assert renewed["token_type"] == "bearer"
    assert 0 < renewed["expires_in"] <= MAX_ACCESS_TOKEN_SECONDS
    assert renewed["refresh_token"] != refresh_token, "each refresh token is new (own jti)"

    me = requests.get(
        f"{system.base_url}/api/v1/me",
        headers={"Authorization": f"Bearer {renewed['access_token']}"},
        timeout=30,
    )
    assert me.status_code == 200, me.text
    assert me.json()["username"] == ADMIN_USERNAME and me.json()["role"] == "office"
    assert_documented(spec, "/api/v1/me", "GET", me)


def test_health_and_ready(system, spec):
    health = requests.get(f"{system.base_url}/health", timeout=10)
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    ready = requests.get(f"{system.base_url}/ready", timeout=10)
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "checks": {"broker": "ok", **{e.name: "ok" for e in catalogue.rpc_services()}},
    }
    assert_documented(spec, "/ready", "GET", ready)


# ---- the API's description ------------------------------------------------------


def test_openapi_lists_exactly_the_declared_routes(spec):
    declared = {
        (method.lower(), route.path) for route in ROUTES for method in route.method.split(",")
    }
    documented = {
        (method, path)
        for path, operations in spec["paths"].items()
        for method in operations
        if method in HTTP_METHODS
    }
    assert declared, "gateway.service declares its routes on import"
    assert documented == declared


def test_openapi_document_is_well_formed_openapi_3_0(spec):
    assert re.fullmatch(r"3\.0\.\d+", spec["openapi"])
    assert spec["info"]["title"] and spec["info"]["version"]
    assert set(spec) <= {
        "openapi",
        "info",
        "servers",
        "paths",
        "components",
        "security",
        "tags",
        "externalDocs",
    } | {key for key in spec if key.startswith("x-")}
    schemes = spec["components"].get("securitySchemes", {})

    for path, operations in spec["paths"].items():
        assert path.startswith("/")
        templated = set(re.findall(r"{(\w+)}", path))
        for method, operation in operations.items():
            assert method in HTTP_METHODS, (path, method)
            where = f"{method.upper()} {path}"
            assert operation["responses"], where
            for status, answer in operation["responses"].items():
                assert re.fullmatch(r"[1-5]\d\d|default", status), (where, status)
                assert answer["description"], (where, status)
                for media in answer.get("content", {}).values():
                    assert "schema" in media, (where, status)
            declared_path_params = set()
            for parameter in operation.get("parameters", []):
                assert parameter["in"] in {"path", "query", "header", "cookie"}, where
                assert parameter["name"] and "schema" in parameter, where
                if parameter["in"] == "path":
                    assert parameter["required"] is True, where
                    declared_path_params.add(parameter["name"])
            assert declared_path_params == templated, where
            if "requestBody" in operation:
                content = operation["requestBody"]["content"]
                media = content.get("application/json") or content["multipart/form-data"]
                assert media["schema"], where
            for requirement in operation.get("security", []):
                assert set(requirement) <= set(schemes), where

    for ref, location in iter_refs(spec):
        assert isinstance(ref, str), location
        resolve_pointer(spec, ref)


def test_openapi_documents_the_error_statuses_of_protected_routes(spec):
    for route in ROUTES:
        for method in route.method.split(","):
            responses = spec["paths"][route.path][method.lower()]["responses"]
            if route.roles is not None:
                assert {"401", "403", "503", "504"} <= set(responses), route.path
                assert spec["paths"][route.path][method.lower()]["security"] == [{"bearer": []}]
            if route.body is not None:
                assert {"400", "413", "415", "422"} <= set(responses), route.path
            assert "429" in responses, route.path  # every request counts against a limit
            for status, answer in responses.items():
                if status.startswith(("4", "5")):
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (route.path, status)


def test_docs_page_uses_local_swagger_ui_assets(system):
    response = requests.get(f"{system.base_url}/docs", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    page = response.text
    assert "/docs/static/swagger-ui-bundle.js" in page
    # The page starts Swagger UI from a file of its own (its CSP allows no inline script).
    assert "<script>" not in page
    init = requests.get(f"{system.base_url}/docs/static/docs-init.js", timeout=10).text
    assert "/openapi.json" in init
    assert not re.search(r"(?:https?:)?//[\w.-]+\.\w+/", page), "no CDN or other remote URL"

    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert "/docs/static/swagger-ui-bundle.js" in assets
    for asset in assets:
        assert asset.startswith("/docs/static/"), asset
        served = requests.get(f"{system.base_url}{asset}", timeout=10)
        assert served.status_code == 200, asset
        assert served.content, asset
    bundle = requests.get(f"{system.base_url}/docs/static/swagger-ui-bundle.js", timeout=10)
    assert "javascript" in bundle.headers["Content-Type"]
    assert b"SwaggerUIBundle" in bundle.content

    missing = requests.get(f"{system.base_url}/docs/static/../service.py", timeout=10)
    assert missing.status_code == 404
    assert requests.get(f"{system.base_url}/docs/static/nothing.js", timeout=10).status_code == 404
