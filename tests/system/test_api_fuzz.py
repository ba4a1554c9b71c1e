"""schemathesis against /openapi.json, with all of its checks, against the running system:
no 5xx, every answer's status, content type, headers and body as the document says, bad
input refused, an undeclared method a 405 with a true `Allow`, a route that needs a token
refusing a request without one.

The number of examples per operation is bounded (`FUZZ_EXAMPLES`, default 8) and the seed
fixed, so that the run takes a few minutes and a failure can be replayed; raise
`FUZZ_EXAMPLES` to search harder. schemathesis runs as its own process (its CLI), signed
in as the bootstrap admin, whose role reaches every route.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

import gateway.service  # noqa: F401  (declares the routes)
from gateway.http import ROUTES
from services.common.paging import encode_cursor
from tests.conftest import running_system
from tests.system.helpers import alumnus_body, department_body, token_pair, unique

EXAMPLES = os.environ.get("FUZZ_EXAMPLES", "8")
# CPython 3.11's ast.parse can fail when two threads parse at once; hypothesis parses the
# source of a lambda to describe it, and schemathesis's two workers are threads. That crash
# is the tool's, not a finding about the API: the run is made once more.
TOOL_RACE = "AST constructor recursion depth mismatch"
SEED = os.environ.get("FUZZ_SEED", "20261206")
# Checks that need links between operations or a second account, which this document
# does not declare; every other check of schemathesis runs.
NEEDS_WHAT_THE_DOCUMENT_DOES_NOT_STATE = "use_after_free,ensure_resource_availability"
# Schema-valid requests the services may still refuse with a 422: rules across fields
# (an end after its start), records the request names (a department that must exist), and
# opaque tokens (a paging cursor the platform made). Every other status outside the
# default list (400, 413, 415, …) on schema-valid data still fails the run.
CONFIG = """
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]
"""
# Routes whose success depends on something no generated request can hold: a valid signed
# provider notification, an unsubscribe token signed with the platform's key.
SIGNED_ROUTES = r"^/api/v1/(payments/notify|unsubscribe)$"


def schemathesis_cli() -> list[str]:
    return [str(Path(sys.executable).with_name("schemathesis"))]


@pytest.fixture(scope="module")
def fuzzed(module_amqp_uri, tmp_path_factory, migrated_templates):
    """The whole system on SQLite, of the module's own (what schemathesis makes would be in
    other modules' lists), its rate limits off: schemathesis sends far more than one client
    may (the limits have their own tests, tests/integration/test_gateway_edge.py)."""
    rate_limits_off = {"GATEWAY_RATE_PER_ADDRESS": "0", "GATEWAY_RATE_PER_ACCOUNT": "0"}
    with running_system(
        "sqlite", module_amqp_uri, tmp_path_factory, migrated_templates, rate_limits_off
    ) as sut:
        yield sut


# A few minutes on an idle machine; a loaded one (CI beside other work) may take longer.
@pytest.mark.timeout(1500)
def test_schemathesis_finds_no_server_error_and_no_schema_violation(fuzzed, tmp_path):
    system = fuzzed
    token = system.admin().token
    (tmp_path / "schemathesis.toml").write_text(CONFIG)
    report = tmp_path / "junit.xml"
    command = [
        *schemathesis_cli(),
        "run",
        f"{system.base_url}/openapi.json",
        "--checks",
        "all",
        "--exclude-checks",
        NEEDS_WHAT_THE_DOCUMENT_DOES_NOT_STATE,
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        EXAMPLES,
        "--seed",
        SEED,
        "--workers",
        "2",
        "--request-timeout",
        "30",
        "--header",
        f"Authorization: Bearer {token}",
        "--exclude-path-regex",
        SIGNED_ROUTES,
        "--suppress-health-check",
        "all",
        "--output-truncate",
        "true",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
    ]
    for _attempt in range(2):
        run = subprocess.run(
            command,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=1400,
            env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_TELEMETRY": "false"},
        )
        output = run.stdout + run.stderr
        if TOOL_RACE not in output:
            break
    assert run.returncode == 0, output[-20000:]
    assert "No issues found" in output or "passed" in output, output[-5000:]
    # The gateway answered every request itself: nothing went wrong inside it.
    assert requests.get(f"{system.base_url}/health", timeout=10).status_code == 200
    assert "unhandled error" not in (system.var_dir / "gateway.log").read_text(errors="replace")


FORGED_CURSORS = {
    "past 2**63": encode_cursor([2**64]),
    "negative": encode_cursor([-1]),
    "time past the calendar": encode_cursor(["9999-12-31T23:59:59-05:00", "x"]),
    "NUL in text": encode_cursor(["2026-01-01T00:00:00+00:00", "a\x00"]),
    "not base64": "@@@",
}


def alumnus_token(system, admin) -> str:
    """An alumnus's access token, through the routes a real alumnus's account comes by."""
    department = admin.post("/api/v1/departments", json=department_body())
    assert department.status_code == 201, department.text
    alumnus = admin.post("/api/v1/alumni", json=alumnus_body(department.json()["id"]))
    assert alumnus.status_code == 201, alumnus.text
    username, password = unique("fuzz"), "fuzz-passphrase-" + unique()
    account = admin.post(
        f"/api/v1/alumni/{alumnus.json()['id']}/account",
        json={"username": username, "password": password},
    )
    assert account.status_code == 201, account.text
    return token_pair(system.base_url, username, password)["access_token"]


def test_every_list_refuses_a_forged_cursor_with_a_422(fuzzed):
    """Every cursor-paged list of every service, through the gateway: a forged cursor is the
    caller's mistake (422 naming `cursor`), never a 500 (once: the events' lists)."""
    admin = fuzzed.admin()
    tokens = {"office": admin.token, "alumnus": alumnus_token(fuzzed, admin)}
    lists = [
        route
        for route in ROUTES
        if route.method == "GET" and route.query and "cursor" in route.query._declared_fields
    ]
    assert len(lists) > 20
    for route in lists:
        path = re.sub(r"{\w+}", lambda _: str(uuid.uuid4()), route.path)
        for label, cursor in FORGED_CURSORS.items():
            role = "office" if "office" in (route.roles or ("office",)) else "alumnus"
            if route.roles is not None and role not in route.roles:
                # A messenger's own list (/me/classmates): the same query and function as
                # /messengers/{id}/classmates, which the office reaches above.
                continue
            answer = requests.get(
                f"{fuzzed.base_url}{path}",
                params={"cursor": cursor},
                headers={"Authorization": f"Bearer {tokens[role]}"},
                timeout=30,
            )
            # A list under a record that does not exist may say so first.
            expected = {422, 404} if "{" in route.path else {422}
            assert answer.status_code in expected, (route.path, label, answer.text[:300])
            if answer.status_code == 422:
                assert "cursor" in answer.json()["error"]["details"]["fields"], route.path
