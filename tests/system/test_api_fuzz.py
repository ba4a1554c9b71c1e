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
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.conftest import DatabaseFactory
from tests.support.processes import SystemUnderTest

EXAMPLES = os.environ.get("FUZZ_EXAMPLES", "8")
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
def fuzzed(module_amqp_uri, tmp_path_factory):
    """The whole system on SQLite, its rate limits off: schemathesis sends far more than
    one client may (the limits have their own tests, tests/integration/test_gateway_edge.py)."""
    from services.common import catalogue

    factory = DatabaseFactory("sqlite", tmp_path_factory)
    sut = SystemUnderTest(
        amqp_uri=module_amqp_uri,
        database_urls={entry.name: factory.new(entry.name) for entry in catalogue.with_database()},
        var_dir=tmp_path_factory.mktemp("var"),
    )
    sut.settings.update(GATEWAY_RATE_PER_ADDRESS="0", GATEWAY_RATE_PER_ACCOUNT="0")
    try:
        sut.start_all()
        yield sut
    finally:
        sut.stop_all()
        factory.drop_all()


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
    run = subprocess.run(
        command,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_TELEMETRY": "false"},
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-20000:]
    assert "No issues found" in output or "passed" in output, output[-5000:]
    # The gateway answered every request itself: nothing went wrong inside it.
    assert requests.get(f"{system.base_url}/health", timeout=10).status_code == 200
    assert "unhandled error" not in (system.var_dir / "gateway.log").read_text(errors="replace")
