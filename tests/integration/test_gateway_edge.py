"""The gateway's door (gateway/edge.py) over a real socket, in a real nameko container with
the services' RPC proxies mocked (as tests/integration/test_gateway_routes.py): the headers
of every answer, 404/405/415, CORS from configuration, and the per-address and per-account
rate limits with their Retry-After."""

from __future__ import annotations

import logging
import uuid

import pytest
import requests
from nameko.testing.services import replace_dependencies

from gateway.auth import issue_tokens
from gateway.routes.operations import probe_name
from gateway.service import GatewayService
from services.common import catalogue
from tests.support.processes import free_port

SECRET = "edge-test-secret-" + "e" * 32
ALLOWED_ORIGIN = "https://alumni.example.edu.cn"
LIVE_SESSION = {"active": True, "token_version": 0, "session_alive": True}


@pytest.fixture
def start_gateway(container_factory, rabbit_config):
    def start(**settings: str) -> dict:
        port = free_port()
        config = {
            **rabbit_config,
            "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}",
            "JWT_SECRET": SECRET,
            **settings,
        }
        container = container_factory(GatewayService, config)
        names = [e.name for e in catalogue.rpc_services()]
        every = [*names, *[probe_name(n) for n in names]]
        mocks = replace_dependencies(container, *every)
        container.start()
        by_name = dict(zip(every, mocks, strict=True))
        by_name["base_url"] = f"http://127.0.0.1:{port}"
        by_name["registry"].search_alumni.return_value = {"items": [], "next_cursor": None}
        # Every token's session is alive (the identity checks: gateway/sessions.py).
        by_name["registry"].session_status.return_value = LIVE_SESSION
        return by_name

    return start


@pytest.fixture
def gateway(start_gateway):
    return start_gateway(GATEWAY_CORS_ORIGINS=ALLOWED_ORIGIN)


def bearer(role: str = "office", account_id: str | None = None) -> dict[str, str]:
    account = {
        "id": account_id or str(uuid.uuid4()),
        "username": f"{role}.user",
        "role": role,
        "department_id": None,
    }
    session = {"id": str(uuid.uuid4()), "refresh_jti": str(uuid.uuid4()), "token_version": 0}
    token = issue_tokens({"account": account, "session": session}, SECRET)["access_token"]
    return {"Authorization": f"Bearer {token}"}


def assert_hardened(response: requests.Response) -> None:
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff", (response.url, headers)
    assert headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


# ---- headers of every answer -------------------------------------------------------------


def test_every_kind_of_answer_is_hardened_and_kept_out_of_caches(gateway):
    base = gateway["base_url"]
    answers = [
        requests.get(f"{base}/api/v1/alumni", headers=bearer()),  # 200 with personal data
        requests.get(f"{base}/api/v1/alumni"),  # 401
        requests.get(f"{base}/api/v1/nothing-here"),  # 404 from the door
        requests.put(f"{base}/api/v1/alumni", headers=bearer()),  # 405 from the door
        requests.get(f"{base}/health"),
        requests.get(f"{base}/openapi.json"),
    ]
    assert [a.status_code for a in answers] == [200, 401, 404, 405, 200, 200]
    for answer in answers:
        assert_hardened(answer)
        assert answer.headers["Cache-Control"] == "no-store", answer.url
        assert answer.headers["Content-Type"].startswith("application/json")
        assert "Access-Control-Allow-Origin" not in answer.headers


def test_the_docs_page_has_a_strict_csp_no_inline_script_and_no_stored_token(gateway):
    base = gateway["base_url"]
    page = requests.get(f"{base}/docs")

    assert page.status_code == 200
    assert_hardened(page)
    csp = page.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["default-src"] == "'none'"
    assert "<script>" not in page.text  # every script is a file the CSP allows
    init = requests.get(f"{base}/docs/static/docs-init.js")
    assert init.status_code == 200
    assert "persistAuthorization: false" in init.text
    assert "localStorage" not in init.text
    assert "persistAuthorization: true" not in page.text + init.text
    # The static files may be cached; they hold nothing personal.
    assert "max-age" in init.headers["Cache-Control"]


# ---- 404, 405, 415, parse errors --------------------------------------------------------


def test_an_undeclared_method_is_a_405_with_a_true_allow_header(gateway):
    base = gateway["base_url"]
    response = requests.delete(f"{base}/api/v1/alumni", headers=bearer())

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    allowed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert allowed == {"GET", "HEAD", "POST"}
    for method in allowed - {"HEAD"}:
        answer = requests.request(method, f"{base}/api/v1/alumni", headers=bearer(), json={})
        assert answer.status_code != 405, method
    put = requests.put(f"{base}/health")
    assert put.status_code == 405 and put.headers["Allow"] == "GET, HEAD"


def test_an_unknown_path_is_a_json_404_whatever_the_method(gateway):
    for method in ("GET", "POST", "PATCH", "OPTIONS"):
        response = requests.request(method, f"{gateway['base_url']}/nothing/here")
        assert response.status_code == 404, method
        assert response.json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; b=x"],
)
def test_a_body_that_is_not_sent_as_json_is_a_415(gateway, content_type):
    headers = bearer()
    if content_type:
        headers["Content-Type"] = content_type
    response = requests.post(
        f"{gateway['base_url']}/api/v1/departments",
        data=b'{"name": "\xe5\xad\xa6\xe9\x99\xa2", "code": "X"}',
        headers=headers,
    )

    assert response.status_code == 415
    assert response.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    gateway["registry"].create_department.assert_not_called()


def test_json_with_a_charset_or_a_json_suffix_is_read(gateway):
    gateway["registry"].create_department.return_value = {"id": "d", "name": "n", "code": "X"}
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        response = requests.post(
            f"{gateway['base_url']}/api/v1/departments",
            data='{"name": "学院", "code": "X"}'.encode(),
            headers={**bearer(), "Content-Type": content_type},
        )
        assert response.status_code == 201, response.text


def test_a_parse_error_does_not_echo_the_parser(gateway):
    response = requests.post(
        f"{gateway['base_url']}/api/v1/departments",
        data=b'{"name": "x", "code": <script>}',
        headers={**bearer(), "Content-Type": "application/json"},
    )

    assert response.status_code == 400
    text = response.text
    assert "<script>" not in text
    for parser_words in ("Expecting", "line 1", "column", "char "):
        assert parser_words not in text


# ---- CORS -----------------------------------------------------------------------------------


def test_no_cors_header_is_sent_by_default_and_no_preflight_is_answered(start_gateway):
    base = start_gateway()["base_url"]
    headers = {"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "GET"}

    preflight = requests.options(f"{base}/api/v1/alumni", headers=headers)
    read = requests.get(f"{base}/api/v1/alumni", headers={**bearer(), "Origin": ALLOWED_ORIGIN})

    assert preflight.status_code == 405
    assert "OPTIONS" not in preflight.headers["Allow"]
    for answer in (preflight, read):
        assert not [h for h in answer.headers if h.lower().startswith("access-control-")]


def test_a_configured_origin_gets_its_preflight_and_cors_headers_and_others_none(gateway):
    base = gateway["base_url"]
    ask = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x"}

    allowed = requests.options(f"{base}/api/v1/alumni", headers={"Origin": ALLOWED_ORIGIN, **ask})
    other = requests.options(
        f"{base}/api/v1/alumni", headers={"Origin": "https://evil.example", **ask}
    )
    read = requests.get(f"{base}/api/v1/alumni", headers={**bearer(), "Origin": ALLOWED_ORIGIN})
    foreign = requests.get(
        f"{base}/api/v1/alumni", headers={**bearer(), "Origin": "https://evil.example"}
    )

    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert set(allowed.headers["Access-Control-Allow-Methods"].split(", ")) == {
        "GET",
        "HEAD",
        "POST",
    }
    assert "Authorization" in allowed.headers["Access-Control-Allow-Headers"]
    assert other.status_code == 405
    assert read.status_code == 200
    assert read.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "Origin" in read.headers["Vary"]
    for answer in (other, foreign):
        assert "Access-Control-Allow-Origin" not in answer.headers


# ---- rate limits ----------------------------------------------------------------------------


def test_a_client_address_over_its_limit_gets_429_with_retry_after(start_gateway):
    base = start_gateway(GATEWAY_RATE_PER_ADDRESS="0.5", GATEWAY_BURST_PER_ADDRESS="5")["base_url"]

    answers = [requests.get(f"{base}/health") for _ in range(7)]

    assert [a.status_code for a in answers[:5]] == [200] * 5
    refused = answers[5]
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "RATE_LIMITED"
    assert refused.json()["error"]["details"]["scope"] == "address"
    assert 1 <= int(refused.headers["Retry-After"]) <= 2
    assert_hardened(refused)


def test_an_account_over_its_limit_gets_429_while_other_accounts_go_on(start_gateway):
    gateway = start_gateway(GATEWAY_RATE_PER_ACCOUNT="0.2", GATEWAY_BURST_PER_ACCOUNT="3")
    url = f"{gateway['base_url']}/api/v1/alumni"
    busy = bearer(account_id=str(uuid.uuid4()))

    answers = [requests.get(url, headers=busy) for _ in range(4)]
    other = requests.get(url, headers=bearer())

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[3].json()["error"]["details"]["scope"] == "account"
    assert 1 <= int(answers[3].headers["Retry-After"]) <= 5
    assert other.status_code == 200
    assert gateway["registry"].search_alumni.call_count == 4


def test_an_id_in_a_path_is_a_uuid_or_the_route_is_not_there(gateway):
    base = gateway["base_url"]
    gateway["registry"].get_alumnus.return_value = {"id": "x"}
    upper = str(uuid.uuid4()).upper()

    malformed = requests.get(f"{base}/api/v1/alumni/12345", headers=bearer())
    fine = requests.get(f"{base}/api/v1/alumni/{upper}", headers=bearer())
    # A fixed path beside `/plans/{plan_id}` is not taken for a plan's id.
    scan = requests.get(f"{base}/api/v1/plans/overdue-scan", headers=bearer())

    assert malformed.status_code == 404
    assert malformed.json()["error"]["code"] == "NOT_FOUND"
    assert fine.status_code == 200
    assert gateway["registry"].get_alumnus.call_args.args[0] == upper.lower()
    assert scan.status_code == 405 and scan.headers["Allow"] == "POST"


def test_the_document_lists_what_the_door_can_answer(gateway):
    spec = requests.get(f"{gateway['base_url']}/openapi.json").json()
    create = spec["paths"]["/api/v1/departments"]["post"]["responses"]
    read = spec["paths"]["/api/v1/alumni/{alumnus_id}"]["get"]["responses"]
    public = spec["paths"]["/api/v1/funds"]["get"]["responses"]

    assert {"400", "401", "403", "409", "413", "415", "422", "429"} <= set(create)
    assert {"400", "401", "403", "404", "429"} <= set(read)
    assert {"429", "503"} <= set(public)
    parameter = spec["paths"]["/api/v1/alumni/{alumnus_id}"]["get"]["parameters"][0]
    assert parameter["schema"] == {"type": "string", "format": "uuid"}


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(start_gateway):
    base = start_gateway(
        GATEWAY_RATE_PER_ADDRESS="0.1",
        GATEWAY_BURST_PER_ADDRESS="2",
        GATEWAY_TRUSTED_PROXIES="127.0.0.1",
    )["base_url"]

    def from_client(address: str, claimed: str = "") -> int:
        chain = f"{claimed}, {address}" if claimed else address
        return requests.get(f"{base}/health", headers={"X-Forwarded-For": chain}).status_code

    assert [from_client("203.0.113.7") for _ in range(3)] == [200, 200, 429]
    # Another client behind the same proxy is counted apart, whatever it claims to be.
    assert from_client("203.0.113.8", claimed="203.0.113.7") == 200


def test_a_forwarded_address_from_an_untrusted_peer_is_ignored(start_gateway):
    base = start_gateway(GATEWAY_RATE_PER_ADDRESS="0.1", GATEWAY_BURST_PER_ADDRESS="2")["base_url"]

    answers = [
        requests.get(f"{base}/health", headers={"X-Forwarded-For": f"198.51.100.{n}"})
        for n in range(3)
    ]

    assert [a.status_code for a in answers] == [200, 200, 429]


@pytest.mark.parametrize(("setting", "logged"), [("1", True), ("", False)])
def test_the_line_per_request_is_logged_only_when_asked(start_gateway, caplog, setting, logged):
    """eventlet's access log (GATEWAY_ACCESS_LOG, off by default: docs/performance/
    signups.md) writes each request line, query string included, to the gateway's log."""
    gateway = start_gateway(GATEWAY_ACCESS_LOG=setting)
    caplog.set_level(logging.INFO, logger="nameko.web.server")
    answer = requests.get(f"{gateway['base_url']}/api/v1/alumni?q=13812345678", headers=bearer())
    assert answer.status_code == 200
    lines = [r.getMessage() for r in caplog.records if r.name == "nameko.web.server"]
    assert any("13812345678" in line for line in lines) == logged
