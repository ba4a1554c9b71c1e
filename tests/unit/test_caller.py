"""The caller token (services/common/caller.py): what a service accepts as who is calling."""

from __future__ import annotations

import time
import types

import jwt
import pytest

from services.common import caller, expiring
from services.common.caller import Caller, sign, verify
from services.common.errors import AuthenticationFailed

KEY = "unit-caller-key-" + "u" * 32
LIAISON = Caller("acc-2", "li.liaison", "liaison", "dep-1")
ALUMNUS = Caller("acc-3", "wang", "alumnus", None, alumnus_id="alu-1")
UNVERIFIED = {"verify_signature": False}


def reason(token, audience: str = "registry") -> str | None:
    with pytest.raises(AuthenticationFailed) as refused:
        verify(token, KEY, audience)
    return refused.value.reason


def test_a_signed_caller_comes_back_whole_for_its_service():
    assert verify(sign(LIAISON, KEY, "registry"), KEY, "registry") == LIAISON
    assert verify(sign(ALUMNUS, KEY, ["events", "registry"]), KEY, "registry") == ALUMNUS


def test_the_actor_of_a_caller_is_what_records_store():
    assert LIAISON.as_actor() == {
        "account_id": "acc-2",
        "username": "li.liaison",
        "role": "liaison",
        "department_id": "dep-1",
    }
    assert Caller.for_service("events").role == "service"


def test_missing_forged_expired_and_misaddressed_callers_are_refused():
    header, _, signature = sign(LIAISON, KEY, "registry").split(".")
    office_claims = sign(Caller("acc-1", "x", "office", None), KEY, "registry").split(".")[1]
    assert reason(None) == "caller_missing"
    assert reason("") == "caller_missing"
    assert reason({"role": "office"}) == "caller_invalid"
    assert reason("not-a-token") == "caller_invalid"
    assert reason(f"{header}.{office_claims}.{signature}") == "caller_invalid"
    assert reason(sign(LIAISON, "other-key-" + "o" * 32, "registry")) == "caller_invalid"
    assert reason(sign(LIAISON, KEY, "registry", ttl=-60)) == "caller_expired"
    assert reason(sign(LIAISON, KEY, "events")) == "caller_invalid"


def test_a_verified_token_is_remembered_for_its_key_and_audience_only(monkeypatch):
    token = sign(LIAISON, KEY, ["events", "registry"])
    assert verify(token, KEY, "registry") == LIAISON
    decoded = []
    monkeypatch.setattr(caller, "_decoded", lambda *args: decoded.append(args))
    assert verify(token, KEY, "registry") == LIAISON
    assert decoded == []  # answered from what was verified
    with pytest.raises(TypeError):  # not remembered for another audience: decoded again
        verify(token, KEY, "events")
    assert decoded == [(token, KEY, "events")]


def test_a_remembered_token_is_verified_again_once_past_its_exp(monkeypatch):
    token = sign(LIAISON, KEY, "registry")
    assert verify(token, KEY, "registry") == LIAISON
    expired = jwt.decode(token, options=UNVERIFIED)["exp"]
    monkeypatch.setattr(expiring, "time", types.SimpleNamespace(time=lambda: expired))
    decoded = []
    monkeypatch.setattr(caller, "_decoded", lambda *args: decoded.append(args) or (LIAISON, 0))
    verify(token, KEY, "registry")
    assert decoded == [(token, KEY, "registry")]


def test_a_token_that_fails_verification_is_not_remembered():
    forged = sign(LIAISON, "other-key-" + "o" * 32, "registry")
    for _ in range(2):
        assert reason(forged) == "caller_invalid"
    assert caller.VERIFIED.get((KEY, "registry", forged)) is None


def test_a_signed_token_is_reused_for_the_same_caller_and_service_for_a_while(monkeypatch):
    first = caller.token_for(LIAISON, KEY, "registry")
    assert caller.token_for(LIAISON, KEY, "registry") == first
    assert caller.token_for(ALUMNUS, KEY, "registry") != first
    assert reason(caller.token_for(LIAISON, KEY, "events")) == "caller_invalid"
    later = time.time() + caller.REUSE_SECONDS + 1
    monkeypatch.setattr(expiring, "time", types.SimpleNamespace(time=lambda: later))
    monkeypatch.setattr(caller, "time", types.SimpleNamespace(time=lambda: later))
    renewed = jwt.decode(caller.token_for(LIAISON, KEY, "registry"), options=UNVERIFIED)
    assert renewed["iat"] > jwt.decode(first, options=UNVERIFIED)["iat"]
