"""Logins and sessions in the registry's domain (services/registry/sessions.py) and the
password policy (services/registry/passwords.py), on a real database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher

from services.common.columns import utcnow
from services.common.errors import AuthenticationFailed, TooManyRequests, ValidationFailed
from services.registry import domain, passwords, sessions
from services.registry.models import RefreshToken
from services.registry.sessions import LoginRules
from tests.conftest import BACKENDS

RULES = LoginRules(free_per_user=3, free_per_address=5, first_lockout_seconds=2)
PASSWORD = "a-sound-passphrase"


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    monkeypatch.setattr(
        passwords, "hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture
def session(registry_session_factory):
    with registry_session_factory() as session:
        yield session


@pytest.fixture
def account(session):
    made = domain.create_account(
        session, {"username": "zhao.office", "password": PASSWORD, "role": "office"}
    )
    session.commit()
    return made


def login(session, password=PASSWORD, address="10.0.0.1", now=None, username="zhao.office"):
    now = now or utcnow()
    sessions.check_throttle(session, username, address, now)
    ok = passwords.verify_password(sessions.password_hash_for_login(session, username), password)
    result = sessions.finish_login(session, username, address, ok, now, RULES)
    session.commit()
    return result


# ---- the password policy -------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("          ", "password_blank"),
        ("\t\n  \u3000    ", "password_blank"),
        ("short-1", "password_too_short"),
        ("zhao.office", "password_is_username"),
        ("ZHAO.OFFICE", "password_is_username"),
        ("zhaooffice2024!", "password_is_username"),
        ("password123", "password_common"),
        ("Qwertyuiop", "password_common"),
        ("1234567890", "password_common"),
        ("woaini1314", "password_common"),
    ],
)
def test_passwords_breaking_the_policy_are_refused(password, reason):
    with pytest.raises(ValidationFailed) as refused:
        passwords.check_policy(password, "zhao.office")
    assert refused.value.reason == reason
    assert "password" in refused.value.details["fields"]


def test_a_sound_password_passes_and_the_list_is_shipped():
    assert passwords.policy_problem("correct-horse-battery", "admin") is None
    assert passwords.policy_problem("first-admin-password", "admin") is None
    assert len(passwords.common_passwords()) > 200


def test_accounts_and_the_bootstrap_admin_meet_the_policy(session):
    with pytest.raises(ValidationFailed):
        domain.create_account(
            session, {"username": "li.liaison", "password": "password123", "role": "office"}
        )
    with pytest.raises(ValidationFailed):
        domain.ensure_admin(session, "admin", "admin12345")
    assert domain.ensure_admin(session, "admin", "first-admin-password") is True


# ---- throttling ------------------------------------------------------------------------


def test_failures_past_the_free_ones_lock_the_username_for_a_growing_time(session, account):
    now = utcnow()
    for _ in range(RULES.free_per_user):
        assert login(session, "wrong-password-x", now=now) is None
    login(session, "wrong-password-x", now=now)  # the first failure past the free ones
    with pytest.raises(TooManyRequests) as locked:
        login(session, now=now + timedelta(seconds=1))
    assert locked.value.details["retry_after_seconds"] == 1
    assert locked.value.reason == "login_locked"

    later = now + timedelta(seconds=3)  # the lockout expired; the next failure doubles it
    assert login(session, "wrong-password-x", now=later) is None
    with pytest.raises(TooManyRequests) as longer:
        login(session, now=later + timedelta(seconds=1))
    assert longer.value.details["retry_after_seconds"] == 3

    # Expired again: the right password works and clears the username's count.
    assert login(session, now=later + timedelta(seconds=5))["account"]["id"] == account["id"]
    assert login(session, "wrong-password-x", now=later + timedelta(seconds=6)) is None


def test_an_address_trying_many_usernames_is_locked_too(session, account):
    now = utcnow()
    for n in range(RULES.free_per_address + 1):
        assert login(session, "x-password-x", now=now, username=f"user{n}") is None
    with pytest.raises(TooManyRequests):
        login(session, now=now)  # the right password, from the locked address
    assert login(session, now=now, address="10.0.0.2") is not None


# ---- sessions ----------------------------------------------------------------------------


def test_a_refresh_token_works_once_and_its_reuse_ends_the_session(session, account):
    first = login(session)["session"]
    second = sessions.rotate(session, first["refresh_jti"], utcnow(), RULES)
    session.commit()
    assert second["session"]["id"] == first["id"]
    assert second["session"]["refresh_jti"] != first["refresh_jti"]

    with pytest.raises(AuthenticationFailed) as reused:
        sessions.rotate(session, first["refresh_jti"], utcnow(), RULES)
    session.commit()
    assert reused.value.reason == "refresh_reused"
    # The whole family is dead: the newer token too, and the access tokens' session.
    with pytest.raises(AuthenticationFailed) as dead:
        sessions.rotate(session, second["session"]["refresh_jti"], utcnow(), RULES)
    assert dead.value.reason == "refresh_revoked"
    status = sessions.session_status(session, account["id"], first["id"])
    assert status == {"active": True, "token_version": 0, "session_alive": False}


def test_logout_password_change_and_disabling_end_sessions(session, account):
    one, two = login(session)["session"], login(session)["session"]
    sessions.end_session(session, account["id"], one["id"], utcnow())
    assert not sessions.session_status(session, account["id"], one["id"])["session_alive"]
    assert sessions.session_status(session, account["id"], two["id"])["session_alive"]

    sessions.change_password(session, account["id"], passwords.hash_password("x" * 12), utcnow())
    status = sessions.session_status(session, account["id"], two["id"])
    assert (status["token_version"], status["session_alive"]) == (1, False)

    three = login(session, "x" * 12)["session"]
    assert three["token_version"] == 1
    sessions.set_active(session, account["id"], False, utcnow())
    status = sessions.session_status(session, account["id"], three["id"])
    assert (status["active"], status["session_alive"]) == (False, False)
    assert login(session, "x" * 12) is None
    assert session.query(RefreshToken).filter(RefreshToken.revoked_at.is_(None)).count() == 0


def test_an_expired_refresh_token_is_refused(session, account):
    first = login(session)["session"]
    with pytest.raises(AuthenticationFailed) as expired:
        sessions.rotate(
            session,
            first["refresh_jti"],
            utcnow() + timedelta(seconds=RULES.refresh_ttl_seconds + 1),
            RULES,
        )
    assert expired.value.reason == "refresh_expired"


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_throttle_rows_work_on_both_databases(session, account):
    assert login(session, "wrong-password-x") is None
    assert login(session) is not None
