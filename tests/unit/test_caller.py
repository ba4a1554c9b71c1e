"""The caller token (services/common/caller.py): what a service accepts as who is calling."""

from __future__ import annotations

import pytest

from services.common.caller import Caller, sign, verify
from services.common.errors import AuthenticationFailed

KEY = "unit-caller-key-" + "u" * 32
LIAISON = Caller("acc-2", "li.liaison", "liaison", "dep-1")
ALUMNUS = Caller("acc-3", "wang", "alumnus", None, alumnus_id="alu-1")


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
