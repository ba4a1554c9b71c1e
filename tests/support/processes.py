"""The system under test: the platform's local processes (services/localsystem.py) with the
test suite's settings, and a thin HTTP client."""

from __future__ import annotations

from typing import Any

import requests

from services.localsystem import REPO_ROOT, LocalSystem, StandInProcess, free_port
from tests.support.callers import CALLER_KEY

__all__ = ["REPO_ROOT", "ApiClient", "StandInProcess", "SystemUnderTest", "free_port"]

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "correct-horse-battery"
JWT_SECRET = "test-secret-" + "x" * 32
PII_KEYS = "tests-personal-data-key-" + "k" * 32
"""The key of personal data (services/common/crypto.py) of the processes and of the test
process itself, so that a test reads and seeds their databases through the models."""
TEST_SETTINGS = {
    "JWT_SECRET": JWT_SECRET,
    "PII_KEYS": PII_KEYS,
    "CALLER_KEY": CALLER_KEY,
    "ALUMNI_ADMIN_USERNAME": ADMIN_USERNAME,
    "ALUMNI_ADMIN_PASSWORD": ADMIN_PASSWORD,
    "RPC_TIMEOUT": "5",
    # Every test client logs in from 127.0.0.1: the per-address lockout is unit-tested, and
    # here it would lock out the tests that follow a test of failed logins.
    "LOGIN_FREE_ATTEMPTS_PER_ADDRESS": "1000",
    # Likewise for failed alumni claims (tests/system/test_community_identity.py plays other
    # addresses through X-Forwarded-For where it tests the limit).
    "CLAIM_FREE_ATTEMPTS_PER_ADDRESS": "1000",
    # The test clients are the gateway's proxy, as a TLS proxy would be (docs/deploy.md): a
    # test that plays another client says so with X-Forwarded-For, and the gateway's
    # per-address limit counts it apart from the test's own requests.
    "GATEWAY_TRUSTED_PROXIES": "127.0.0.1",
    # Timed loops read from one address as one account as fast as they can; the gateway's
    # rate limits have their own tests (tests/integration/test_gateway_edge.py).
    "GATEWAY_RATE_PER_ADDRESS": "0",
    "GATEWAY_RATE_PER_ACCOUNT": "0",
}


class ApiClient:
    """A thin HTTP client that logs in once and sends the Bearer token."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()
        self.token: str | None = None

    def login(self, username: str = ADMIN_USERNAME, password: str = ADMIN_PASSWORD) -> ApiClient:
        response = self.http.post(
            f"{self.base_url}/api/v1/auth/token", json={"username": username, "password": password}
        )
        response.raise_for_status()
        self.token = response.json()["access_token"]
        return self

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if self.token and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {self.token}"
        return self.http.request(
            method, f"{self.base_url}{path}", headers=headers, timeout=30, **kwargs
        )

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)


class SystemUnderTest(LocalSystem):
    """Every process of the platform with the test suite's admin account and secrets."""

    def __init__(
        self,
        amqp_uri: str,
        database_urls: dict[str, str],
        var_dir,
        management_url: str | None = None,
    ) -> None:
        super().__init__(amqp_uri, database_urls, var_dir, TEST_SETTINGS, management_url)

    def client(self) -> ApiClient:
        return ApiClient(self.base_url)

    def admin(self) -> ApiClient:
        return self.client().login()
