"""Identity over HTTP against every service as a real process (docs/security/identity.md):
one-time refresh tokens, logout, disabled accounts and changed passwords taking effect
within seconds, throttled logins (429 with Retry-After), the password policy, and an
ordinary read that stays fast while wrong logins pour in."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

import pytest
import requests

from services.common import config
from tests.support.processes import ADMIN_PASSWORD, ADMIN_USERNAME, TEST_SETTINGS
from tests.system.helpers import token_pair, unique

PASSWORD = "identity-passphrase-1"
# A session check is remembered this long by the gateway; the margin covers the round trips.
EFFECT_WITHIN_SECONDS = float(config.DEFAULTS["SESSION_CHECK_SECONDS"]) + 3
# A read's p95 during the attack: under this, or under this many times the p95 measured
# just before it on the same machine, whichever is larger. A hashing registry's event loop
# made every read of the attack take seconds. The other half of `make test` beside this
# one, starting and killing its systems, put single reads at 218, 284 and 701 ms with no
# attack to blame (the baseline's 4 s do not always meet such a moment): over ~80 reads a
# p99 is the slowest read or the next, so it measured the neighbours; a p95 lets four
# such reads pass and still fails when the attack slows the reads.
READ_P95_SECONDS = 0.5
READ_P95_OVER_BASELINE = 4
READ_PAUSE_SECONDS = 0.05


class Api:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def post(self, path: str, json: Any = None, token: str | None = None) -> requests.Response:
        return requests.post(f"{self.base_url}{path}", json=json, headers=bearer(token), timeout=30)

    def get(self, path: str, token: str | None = None) -> requests.Response:
        return requests.get(f"{self.base_url}{path}", headers=bearer(token), timeout=30)

    def login(self, username: str, password: str) -> requests.Response:
        return self.post("/api/v1/auth/token", {"username": username, "password": password})

    def refresh(self, refresh_token: str) -> requests.Response:
        return self.post("/api/v1/auth/refresh", {"refresh_token": refresh_token})


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def reason(response: requests.Response) -> str:
    return response.json()["error"]["details"].get("reason")


@pytest.fixture(scope="module")
def api(system) -> Api:
    return Api(system.base_url)


@pytest.fixture(scope="module")
def office(api) -> str:
    return token_pair(api.base_url, ADMIN_USERNAME, ADMIN_PASSWORD)["access_token"]


@pytest.fixture
def user(api, office) -> dict[str, Any]:
    """A fresh committee account, logged in."""
    username = unique("member")
    created = api.post(
        "/api/v1/accounts",
        {"username": username, "password": PASSWORD, "role": "committee"},
        office,
    )
    assert created.status_code == 201, created.text
    return {
        "id": created.json()["id"],
        "username": username,
        **token_pair(api.base_url, username, PASSWORD),
    }


def refused_within(api: Api, token: str, expected_reason: str) -> float:
    """Seconds until `token` is refused on an ordinary request (fails past the bound)."""
    started = time.monotonic()
    while True:
        response = api.get("/api/v1/departments", token)
        if response.status_code == 401:
            assert reason(response) == expected_reason
            return time.monotonic() - started
        assert response.status_code == 200, response.text
        assert time.monotonic() - started < EFFECT_WITHIN_SECONDS, "token still accepted"
        time.sleep(0.2)


# ---- tokens with a lifecycle ------------------------------------------------------------


def test_a_refresh_token_works_once_and_its_reuse_kills_the_session(api, user):
    assert api.get("/api/v1/me", user["access_token"]).status_code == 200  # cached as valid
    first = user["refresh_token"]
    renewed = api.post("/api/v1/auth/refresh", {"refresh_token": first})
    assert renewed.status_code == 200, renewed.text

    reused = api.post("/api/v1/auth/refresh", {"refresh_token": first})
    assert reused.status_code == 401
    assert reason(reused) == "refresh_reused"
    # The family is dead: the newer refresh token, and the access tokens of the session.
    newer = api.post("/api/v1/auth/refresh", {"refresh_token": renewed.json()["refresh_token"]})
    assert (newer.status_code, reason(newer)) == (401, "refresh_revoked")
    refused_within(api, renewed.json()["access_token"], "session_ended")
    refused_within(api, user["access_token"], "session_ended")
    # Logging in again starts a new session.
    assert api.login(user["username"], PASSWORD).status_code == 200


def test_logout_ends_the_session_at_once_on_this_gateway(api, user):
    other = token_pair(api.base_url, user["username"], PASSWORD)
    assert api.post("/api/v1/auth/logout", token=user["access_token"]).status_code == 204
    assert refused_within(api, user["access_token"], "session_ended") < 1
    refresh = api.post("/api/v1/auth/refresh", {"refresh_token": user["refresh_token"]})
    assert (refresh.status_code, reason(refresh)) == (401, "refresh_revoked")
    # Another session of the same account goes on.
    assert api.get("/api/v1/me", other["access_token"]).status_code == 200


def test_a_disabled_account_is_refused_within_seconds(api, office, user):
    assert api.get("/api/v1/me", user["access_token"]).status_code == 200  # cached as valid
    disabled = api.post(f"/api/v1/accounts/{user['id']}/disable", token=office)
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["active"] is False
    refused_within(api, user["access_token"], "account_disabled")
    assert api.login(user["username"], PASSWORD).status_code == 401
    assert (
        api.post("/api/v1/auth/refresh", {"refresh_token": user["refresh_token"]}).status_code
        == 401
    )

    assert api.post(f"/api/v1/accounts/{user['id']}/enable", token=office).status_code == 200
    assert api.login(user["username"], PASSWORD).status_code == 200


def test_the_office_cannot_disable_itself(api, office):
    me = api.get("/api/v1/me", office).json()
    refused = api.post(f"/api/v1/accounts/{me['id']}/disable", token=office)
    assert (refused.status_code, reason(refused)) == (409, "own_account")


def test_a_password_change_ends_every_session(api, user):
    other = token_pair(api.base_url, user["username"], PASSWORD)
    new_password = "a-new-passphrase-2"
    changed = api.post(
        "/api/v1/auth/password",
        {"current_password": PASSWORD, "new_password": new_password},
        user["access_token"],
    )
    assert changed.status_code == 204, changed.text
    refused_within(api, other["access_token"], "token_outdated")
    refused_within(api, user["access_token"], "token_outdated")
    assert (
        api.post("/api/v1/auth/refresh", {"refresh_token": other["refresh_token"]}).status_code
        == 401
    )
    assert api.login(user["username"], PASSWORD).status_code == 401
    assert api.login(user["username"], new_password).status_code == 200


@pytest.mark.parametrize(
    ("new_password", "expected"),
    [
        ("short", "password_too_short"),
        ("            ", "password_blank"),
        ("password123", "password_common"),
        (None, "password_is_username"),
    ],
)
def test_the_password_policy_refuses_weak_passwords(api, office, user, new_password, expected):
    new_password = new_password or f"{user['username']}!"
    changed = api.post(
        "/api/v1/auth/password",
        {"current_password": PASSWORD, "new_password": new_password},
        user["access_token"],
    )
    assert (changed.status_code, reason(changed)) == (422, expected)
    assert "new_password" in changed.json()["error"]["details"]["fields"]
    created = api.post(
        "/api/v1/accounts",
        {"username": unique("weak"), "password": "qwertyuiop", "role": "committee"},
        office,
    )
    assert (created.status_code, reason(created)) == (422, "password_common")


def test_a_wrong_current_password_changes_nothing(api, user):
    changed = api.post(
        "/api/v1/auth/password",
        {"current_password": "not-my-password", "new_password": "a-new-passphrase-3"},
        user["access_token"],
    )
    assert (changed.status_code, reason(changed)) == (422, "wrong_password")
    assert api.login(user["username"], PASSWORD).status_code == 200


# ---- throttled logins ---------------------------------------------------------------------


def test_repeated_wrong_logins_get_429_with_retry_after_then_the_lock_expires(api, user):
    free = int(config.DEFAULTS["LOGIN_FREE_ATTEMPTS_PER_USER"])
    for _ in range(free + 1):
        assert api.login(user["username"], "wrong-password-x").status_code == 401
    locked = api.login(user["username"], PASSWORD)  # even the right password waits
    assert locked.status_code == 429
    assert reason(locked) == "login_locked"
    retry_after = int(locked.headers["Retry-After"])
    assert 1 <= retry_after <= int(TEST_SETTINGS["LOGIN_FIRST_LOCKOUT_SECONDS"])
    time.sleep(retry_after + 0.2)
    assert api.login(user["username"], PASSWORD).status_code == 200


def timed_reads(api: Api, token: str, seconds: float) -> list[float]:
    timings = []
    deadline = time.monotonic() + seconds
    with requests.Session() as http:
        while time.monotonic() < deadline:
            started = time.monotonic()
            response = http.get(f"{api.base_url}/api/v1/departments", headers=bearer(token))
            assert response.status_code == 200
            timings.append(time.monotonic() - started)
            time.sleep(READ_PAUSE_SECONDS)  # an ordinary client, within the per-account limit
    return sorted(timings)


def p95(timings: list[float]) -> float:
    return timings[min(len(timings) - 1, int(len(timings) * 0.95))]


def test_an_ordinary_read_stays_fast_while_thirty_wrong_logins_run(api, office):
    """The issue's attack: 30 concurrent wrong logins made a read take 8 s (Argon2 on the
    registry's event loop). Now hashing runs in bounded real threads at a lower priority,
    and logins past the bound are refused at once. The attackers are a process of their
    own (so that they do not take the timing thread's turn at the test's GIL, and at low
    priority) sending waves of 30 wrong logins at once, for 12 s; the reads are timed
    meanwhile."""
    timed_reads(api, office, 1)  # warm: connections, the session check
    baseline = timed_reads(api, office, 4)
    attackers = subprocess.Popen(
        [sys.executable, "-c", ATTACKER, api.base_url, "30", "12"],
        stdout=subprocess.PIPE,
        text=True,
        # Attackers are elsewhere on the network; here they share the servers' two cores,
        # so they run at the lowest priority, leaving the CPU to the processes under test.
        preexec_fn=lambda: os.nice(19),
    )
    try:
        time.sleep(1)
        timings = timed_reads(api, office, 10)
        statuses = json.loads(attackers.communicate(timeout=60)[0])
    finally:
        attackers.kill()
    limit = max(READ_P95_SECONDS, READ_P95_OVER_BASELINE * p95(baseline))
    assert p95(timings) < limit, (
        f"p95 {p95(timings) * 1000:.0f} ms over {len(timings)} reads, limit {limit * 1000:.0f} ms "
        f"(slowest {timings[-1] * 1000:.0f} ms, median {statistics.median(timings) * 1000:.0f} "
        f"ms; without the attack p95 {p95(baseline) * 1000:.0f} ms, median "
        f"{statistics.median(baseline) * 1000:.0f} ms)"
    )
    assert set(statuses) <= {"401", "429"}, statuses
    assert "401" in statuses, "some wrong logins were really checked"


ATTACKER = """
import collections, json, sys, time
from concurrent.futures import ThreadPoolExecutor
import requests

base, clients, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
counts = collections.Counter()
stop = time.monotonic() + seconds
sessions = [requests.Session() for _ in range(clients)]


def attempt(n):
    body = {"username": f"nobody-{n}", "password": "wrong-password-x"}
    elsewhere = {"X-Forwarded-For": f"203.0.113.{n + 1}"}
    answer = sessions[n].post(base + "/api/v1/auth/token", json=body, headers=elsewhere, timeout=30)
    return answer.status_code


with ThreadPoolExecutor(clients) as pool:
    while time.monotonic() < stop:  # waves of `clients` wrong logins at once
        counts.update(pool.map(attempt, range(clients)))
print(json.dumps(counts))
"""
