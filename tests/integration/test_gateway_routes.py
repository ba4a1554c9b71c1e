"""The gateway's routes in a real nameko container, fast: the RPC proxies replaced by mocks
(nameko's `replace_dependencies`), HTTP over a real socket, on a broker vhost of its own
(the proxies' reply listener still connects). The process-level system tests
(tests/system/) run the same routes against real services; these pin what the route record
does by itself: roles before the handler, bodies and queries loaded before it, the success
status, errors through the one table, readiness from the catalogue."""

from __future__ import annotations

import uuid

import pytest
import requests
from nameko.testing.services import replace_dependencies

from gateway.auth import issue_tokens
from gateway.routes.operations import probe_name
from gateway.service import GatewayService
from services.common import catalogue
from services.common.errors import Conflict, ServiceUnavailable
from tests.support.processes import free_port

SECRET = "route-test-secret-" + "r" * 32
DEPARTMENT = str(uuid.uuid4())
LIVE_SESSION = {"active": True, "token_version": 0, "session_alive": True}
EVENT = str(uuid.uuid4())


@pytest.fixture
def gateway(container_factory, rabbit_config):
    port = free_port()
    config = {
        **rabbit_config,
        "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}",
        "JWT_SECRET": SECRET,
    }
    container = container_factory(GatewayService, config)
    names = [e.name for e in catalogue.rpc_services()]
    mocks = replace_dependencies(container, *names, *[probe_name(n) for n in names])
    container.start()
    by_name = dict(zip([*names, *[probe_name(n) for n in names]], mocks, strict=True))
    by_name["registry"].session_status.return_value = LIVE_SESSION
    by_name["base_url"] = f"http://127.0.0.1:{port}"
    return by_name


def bearer(role: str, department_id: str | None = None) -> dict[str, str]:
    account = {
        "id": str(uuid.uuid4()),
        "username": f"{role}.user",
        "role": role,
        "department_id": department_id,
    }
    session = {"id": str(uuid.uuid4()), "refresh_jti": str(uuid.uuid4()), "token_version": 0}
    token = issue_tokens({"account": account, "session": session}, SECRET)["access_token"]
    return {"Authorization": f"Bearer {token}"}


def alumnus_body(**overrides) -> dict:
    return {
        "name": "张伟",
        "graduations": [
            {
                "department_id": DEPARTMENT.upper(),
                "major": "数学",
                "degree": "bachelor",
                "class_year": 2010,
            }
        ],
        **overrides,
    }


def test_the_handler_receives_the_loaded_body_and_answers_the_routes_status(gateway):
    gateway["registry"].create_alumnus.return_value = {"id": "x", "name": "张伟"}

    response = requests.post(
        f"{gateway['base_url']}/api/v1/alumni", json=alumnus_body(), headers=bearer("office")
    )

    assert response.status_code == 201
    (body,) = gateway["registry"].create_alumnus.call_args.args
    # Loaded by the route's schema: defaults filled in, the UUID in its canonical form.
    assert body["graduations"] == [
        {
            "department_id": DEPARTMENT,
            "major": "数学",
            "degree": "bachelor",
            "class_year": 2010,
            "class_name": None,
        }
    ]


def test_a_body_that_breaks_the_schema_never_reaches_the_service(gateway):
    response = requests.post(
        f"{gateway['base_url']}/api/v1/alumni",
        json=alumnus_body(phone="12345"),
        headers=bearer("office"),
    )

    assert response.status_code == 422
    assert "phone" in response.json()["error"]["details"]["fields"]
    gateway["registry"].create_alumnus.assert_not_called()


def test_a_role_the_route_does_not_admit_is_refused_before_the_body_is_read(gateway):
    response = requests.post(
        f"{gateway['base_url']}/api/v1/alumni", data=b"not json", headers=bearer("committee")
    )

    assert response.status_code == 403
    assert response.json()["error"]["details"]["reason"] == "role_not_allowed"
    gateway["registry"].create_alumnus.assert_not_called()


def test_the_query_is_loaded_and_scoped_before_the_service_is_asked(gateway):
    gateway["registry"].search_alumni.return_value = {"items": [], "next_cursor": None}

    response = requests.get(
        f"{gateway['base_url']}/api/v1/alumni",
        params={"class_year": "2010"},
        headers=bearer("liaison", DEPARTMENT),
    )

    assert response.status_code == 200
    params, purpose = gateway["registry"].search_alumni.call_args.args
    assert params == {"class_year": 2010, "limit": 20, "cursor": None, "department_id": DEPARTMENT}
    # The registry decides what the (signed) caller sees unmasked, and logs it for this route.
    assert purpose == "GET /api/v1/alumni"


def test_a_service_error_goes_through_the_one_table_with_its_reason(gateway):
    gateway["events"].publish_event.side_effect = Conflict(
        "活动当前状态为“已发布”。", {"status": "published"}, reason="invalid_transition"
    )
    gateway["events"].get_event.return_value = {
        "id": EVENT,
        "status": "published",
        "organiser_type": "office",
        "organiser_id": None,
    }

    response = requests.post(
        f"{gateway['base_url']}/api/v1/events/{EVENT}/publish", headers=bearer("office")
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CONFLICT"
    assert response.json()["error"]["details"]["reason"] == "invalid_transition"


def test_readiness_asks_every_service_of_the_catalogue(gateway, monkeypatch):
    from gateway.routes.operations import OperationsRoutes

    monkeypatch.setattr(OperationsRoutes, "_broker_check", lambda self: "ok")
    names = [e.name for e in catalogue.rpc_services()]
    down, reconnecting = names[-1], names[0]
    for name in names:
        gateway[probe_name(name)].health.return_value = {
            "service": name,
            "status": "ok",
            "broker": "ok",
        }
    gateway[probe_name(down)].health.side_effect = ServiceUnavailable("服务当前不可用。")
    gateway[probe_name(reconnecting)].health.return_value = {
        "service": reconnecting,
        "status": "ok",
        "broker": "reconnecting",
        "reconnecting": ["outbox relay"],
    }

    response = requests.get(f"{gateway['base_url']}/ready")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert set(checks) == {"broker", *names}
    assert checks[down] == "服务当前不可用。"
    assert "outbox relay" in checks[reconnecting]
    assert all(checks[name] == "ok" for name in names if name not in (down, reconnecting))
