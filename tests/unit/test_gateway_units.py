"""Gateway pieces that need no broker: tokens, authorisation decisions, the error table."""

from __future__ import annotations

import base64
import json
import time
import types
import uuid

import jwt
import pytest
from werkzeug.exceptions import MethodNotAllowed

from gateway import auth
from gateway.authz import events as event_rules
from gateway.authz import feedback as feedback_rules
from gateway.authz import plans as plan_rules
from gateway.authz import projects as project_rules
from gateway.authz import registry as registry_rules
from gateway.authz import visits as visit_rules
from gateway.errors import STATUS_BY_ERROR, error_response
from services.common import config, errors, expiring, visibility

SECRET = "unit-test-secret-" + "s" * 32
DEPT_A = str(uuid.uuid4())
DEPT_B = str(uuid.uuid4())

ACCOUNT = {
    "id": str(uuid.uuid4()),
    "username": "liaison.a",
    "role": "liaison",
    "department_id": DEPT_A,
}
SESSION = {"id": str(uuid.uuid4()), "refresh_jti": str(uuid.uuid4()), "token_version": 3}
LOGIN = {"account": ACCOUNT, "session": SESSION}

OFFICE = auth.Principal(str(uuid.uuid4()), "office", "office", None)
COMMITTEE = auth.Principal(str(uuid.uuid4()), "committee", "committee", None)
LIAISON_A = auth.Principal(str(uuid.uuid4()), "liaison.a", "liaison", DEPT_A)
ALUMNUS_ROLE = auth.Principal(str(uuid.uuid4()), "someone", "alumnus", None)


def alumnus_in(*departments):
    return {
        "id": str(uuid.uuid4()),
        "name": "王小明",
        "graduations": [{"department_id": d, "class_year": 2010} for d in departments],
    }


def graduation(department_id):
    return {"department_id": department_id, "major": "数学", "degree": "bachelor"}


# ---- tokens ------------------------------------------------------------------


def test_issued_access_token_decodes_to_the_account():
    tokens = auth.issue_tokens(LOGIN, SECRET)
    claims = auth.decode(tokens["access_token"], SECRET, "access")
    assert claims["sub"] == ACCOUNT["id"]
    assert claims["username"] == "liaison.a"
    assert claims["role"] == "liaison"
    assert claims["department_id"] == DEPT_A
    assert tokens["token_type"] == "bearer"
    principal = auth.principal_from_header(f"Bearer {tokens['access_token']}", SECRET)
    assert principal == auth.Principal(
        ACCOUNT["id"], "liaison.a", "liaison", DEPT_A, None, SESSION["id"], 3
    )


def test_access_token_lives_at_most_fifteen_minutes_refresh_longer():
    tokens = auth.issue_tokens(LOGIN, SECRET)
    access = auth.decode(tokens["access_token"], SECRET, "access")
    refresh = auth.decode(tokens["refresh_token"], SECRET, "refresh")
    assert 0 < access["exp"] - access["iat"] <= 900
    assert tokens["expires_in"] == access["exp"] - access["iat"]
    assert config.ACCESS_TOKEN_TTL_SECONDS <= 900
    assert refresh["exp"] - refresh["iat"] > 900
    assert "role" not in refresh
    # The registry's one-time token and the session it belongs to.
    assert (refresh["jti"], refresh["sid"]) == (SESSION["refresh_jti"], SESSION["id"])


def test_expired_token_is_rejected_with_reason_expired(monkeypatch):
    long_ago = time.time() - config.ACCESS_TOKEN_TTL_SECONDS - 60
    monkeypatch.setattr(auth, "time", types.SimpleNamespace(time=lambda: long_ago))
    tokens = auth.issue_tokens(LOGIN, SECRET)
    monkeypatch.undo()
    with pytest.raises(errors.AuthenticationFailed) as caught:
        auth.decode(tokens["access_token"], SECRET, "access")
    assert caught.value.reason == "expired"


@pytest.mark.parametrize(
    ("token_kind", "expected"), [("refresh_token", "access"), ("access_token", "refresh")]
)
def test_token_of_the_wrong_type_is_rejected(token_kind, expected):
    token = auth.issue_tokens(LOGIN, SECRET)[token_kind]
    with pytest.raises(errors.AuthenticationFailed) as caught:
        auth.decode(token, SECRET, expected)
    assert caught.value.details == {"reason": "wrong_type"}


def test_token_signed_with_another_secret_is_invalid():
    token = auth.issue_tokens(LOGIN, "another-secret-" + "x" * 32)["access_token"]
    with pytest.raises(errors.AuthenticationFailed) as caught:
        auth.decode(token, SECRET, "access")
    assert caught.value.details == {"reason": "invalid"}


def test_tampered_payload_keeps_no_signature():
    token = auth.issue_tokens(LOGIN, SECRET)["access_token"]
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "office"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    with pytest.raises(errors.AuthenticationFailed) as caught:
        auth.decode(f"{header}.{forged}.{signature}", SECRET, "access")
    assert caught.value.details == {"reason": "invalid"}


def test_tampered_signature_is_invalid():
    token = auth.issue_tokens(LOGIN, SECRET)["access_token"]
    header, payload, signature = token.split(".")
    middle = len(signature) // 2
    flipped = "A" if signature[middle] != "A" else "B"
    tampered = signature[:middle] + flipped + signature[middle + 1 :]
    with pytest.raises(errors.AuthenticationFailed) as caught:
        auth.decode(f"{header}.{payload}.{tampered}", SECRET, "access")
    assert caught.value.details == {"reason": "invalid"}


def test_unsigned_token_is_invalid():
    claims = auth.decode(auth.issue_tokens(LOGIN, SECRET)["access_token"], SECRET, "access")
    token = jwt.encode(claims, key=None, algorithm="none")
    with pytest.raises(errors.AuthenticationFailed) as caught:
        auth.decode(token, SECRET, "access")
    assert caught.value.details == {"reason": "invalid"}


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer ", "Bearer not.a.jwt"])
def test_bad_authorization_headers_are_rejected(header):
    with pytest.raises(errors.AuthenticationFailed):
        auth.principal_from_header(header, SECRET)


def test_a_verified_token_is_not_decoded_again(monkeypatch):
    header = f"Bearer {auth.issue_tokens(LOGIN, SECRET)['access_token']}"
    decoded = []
    real_decode = auth.jwt.decode
    monkeypatch.setattr(
        auth.jwt, "decode", lambda *a, **k: decoded.append(1) or real_decode(*a, **k)
    )
    first = auth.principal_from_header(header, SECRET)
    assert auth.principal_from_header(header, SECRET) == first
    assert len(decoded) == 1
    # Remembered for the secret it was verified with only.
    with pytest.raises(errors.AuthenticationFailed) as caught:
        auth.principal_from_header(header, "another-secret-" + "x" * 32)
    assert caught.value.reason == "invalid"


def test_a_remembered_token_is_refused_once_expired(monkeypatch):
    long_ago = time.time() - config.ACCESS_TOKEN_TTL_SECONDS - 60
    monkeypatch.setattr(auth, "time", types.SimpleNamespace(time=lambda: long_ago))
    monkeypatch.setattr(expiring, "time", types.SimpleNamespace(time=lambda: long_ago))
    token = auth.issue_tokens(LOGIN, SECRET)["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    # As if verified while it was valid.
    auth.VERIFIED.add((SECRET, token), claims["exp"], auth.Principal("x", "x", "office", None))
    assert auth.principal_from_header(f"Bearer {token}", SECRET).username == "x"
    monkeypatch.undo()
    with pytest.raises(errors.AuthenticationFailed) as caught:
        auth.principal_from_header(f"Bearer {token}", SECRET)
    assert caught.value.reason == "expired"


def test_a_token_that_fails_verification_is_not_remembered():
    token = auth.issue_tokens(LOGIN, SECRET)["access_token"]
    header, payload, signature = token.split(".")
    tampered = f"{header}.{payload}.{signature[::-1]}"
    for _ in range(2):
        with pytest.raises(errors.AuthenticationFailed):
            auth.principal_from_header(f"Bearer {tampered}", SECRET)
    assert auth.VERIFIED.get((SECRET, tampered)) is None


def test_remembered_tokens_are_bounded_expired_first_then_oldest(monkeypatch):
    now = 1_000_000.0
    monkeypatch.setattr(expiring, "time", types.SimpleNamespace(time=lambda: now))
    tokens = expiring.ExpiringEntries(10)
    principal = auth.Principal("x", "x", "office", None)
    tokens.add("stale", int(now) - 1, principal)
    for n in range(9):
        tokens.add(f"live-{n}", int(now) + 60, principal)
    tokens.add("new", int(now) + 60, principal)
    assert "stale" not in tokens.entries
    assert tokens.get("live-0") is principal
    for n in range(9, 40):
        tokens.add(f"live-{n}", int(now) + 60, principal)
    assert len(tokens.entries) <= 10
    assert tokens.get("live-39") is principal
    assert tokens.get("live-0") is None


class SessionStatus:
    """The registry's `session_status` answer, as the gateway's session check asks it."""

    def __init__(self, **status):
        self.status = {"active": True, "token_version": 3, "session_alive": True, **status}

    def session_status(self, session_id):
        return self.status


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({"session_alive": False}, "session_ended"),
        ({"active": False}, "account_disabled"),
        ({"token_version": 4}, "token_outdated"),
    ],
)
def test_a_remembered_token_of_an_ended_session_is_refused(status, expected):
    """The verified-token cache keeps what the token says, not whether its session lives:
    the session check still asks the registry and refuses a logout, a disabled account, a
    changed password."""
    from gateway.sessions import SessionCheck

    header = f"Bearer {auth.issue_tokens(LOGIN, SECRET)['access_token']}"
    check = SessionCheck()
    check.check(auth.principal_from_header(header, SECRET), SessionStatus(), ttl_seconds=0)
    remembered = auth.principal_from_header(header, SECRET)
    assert auth.VERIFIED.get((SECRET, header.removeprefix("Bearer "))) is remembered
    with pytest.raises(errors.AuthenticationFailed) as caught:
        check.check(remembered, SessionStatus(**status), ttl_seconds=0)
    assert caught.value.reason == expected


# ---- authorisation -------------------------------------------------------------


def test_office_and_committee_search_unrestricted():
    params = {"q": "王", "department_id": DEPT_B}
    assert registry_rules.scope_alumni_search(OFFICE, params) == params
    assert registry_rules.scope_alumni_search(COMMITTEE, {"q": "王"}) == {"q": "王"}


def test_liaison_search_is_forced_to_own_department():
    assert registry_rules.scope_alumni_search(LIAISON_A, {"q": "王"}) == {
        "q": "王",
        "department_id": DEPT_A,
    }
    assert registry_rules.scope_alumni_search(LIAISON_A, {"department_id": uuid.UUID(DEPT_A)}) == {
        "department_id": DEPT_A
    }


def test_liaison_search_of_another_department_is_denied():
    with pytest.raises(errors.PermissionDenied):
        registry_rules.scope_alumni_search(LIAISON_A, {"department_id": DEPT_B})


def test_non_staff_cannot_search():
    with pytest.raises(errors.PermissionDenied):
        registry_rules.scope_alumni_search(ALUMNUS_ROLE, {})


def test_alumnus_read_matrix():
    ours, theirs, both = alumnus_in(DEPT_A), alumnus_in(DEPT_B), alumnus_in(DEPT_B, DEPT_A)
    for principal in (OFFICE, COMMITTEE):
        for record in (ours, theirs, both):
            registry_rules.check_alumnus_read(principal, record)
    registry_rules.check_alumnus_read(LIAISON_A, ours)
    registry_rules.check_alumnus_read(LIAISON_A, both)
    with pytest.raises(errors.NotFound):
        registry_rules.check_alumnus_read(LIAISON_A, theirs)
    with pytest.raises(errors.PermissionDenied):
        registry_rules.check_alumnus_read(ALUMNUS_ROLE, ours)


def test_committee_writes_nothing():
    with pytest.raises(errors.PermissionDenied):
        registry_rules.check_alumnus_create(COMMITTEE, {"graduations": [graduation(DEPT_A)]})
    with pytest.raises(errors.PermissionDenied):
        registry_rules.check_alumnus_update(COMMITTEE, alumnus_in(DEPT_A), {"city": "上海"})


def test_office_writes_everything():
    # Allowed: the checks return without raising.
    assert (
        registry_rules.check_alumnus_create(OFFICE, {"graduations": [graduation(DEPT_B)]}) is None
    )
    assert (
        registry_rules.check_alumnus_update(OFFICE, alumnus_in(DEPT_B), {"graduations": []}) is None
    )
    assert visibility.may_see_personal_fields(OFFICE, alumnus_in(DEPT_B))


def test_liaison_creates_only_in_own_department():
    registry_rules.check_alumnus_create(LIAISON_A, {"graduations": [graduation(DEPT_A)]})
    for graduations in ([graduation(DEPT_B)], [graduation(DEPT_A), graduation(DEPT_B)], []):
        with pytest.raises(errors.PermissionDenied):
            registry_rules.check_alumnus_create(LIAISON_A, {"graduations": graduations})


def test_liaison_updates_only_own_department_and_keeps_its_graduation():
    registry_rules.check_alumnus_update(LIAISON_A, alumnus_in(DEPT_A), {"city": "上海"})
    with pytest.raises(errors.NotFound):
        registry_rules.check_alumnus_update(LIAISON_A, alumnus_in(DEPT_B), {"city": "上海"})
    with pytest.raises(errors.PermissionDenied):
        registry_rules.check_alumnus_update(
            LIAISON_A, alumnus_in(DEPT_A, DEPT_B), {"graduations": [graduation(DEPT_B)]}
        )


# ---- errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error_type", "status"), list(STATUS_BY_ERROR.items()), ids=lambda v: getattr(v, "__name__", v)
)
def test_error_response_maps_each_error_to_its_status(error_type, status):
    response = error_response(error_type("出错了。", {"field": ["不对。"]}))
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = json.loads(response.get_data(as_text=True))
    assert body == {
        "error": {"code": error_type.code, "message": "出错了。", "details": {"field": ["不对。"]}}
    }
    assert (response.headers.get("WWW-Authenticate") == "Bearer") == (status == 401)


def test_expected_statuses_of_the_design():
    assert STATUS_BY_ERROR[errors.ValidationFailed] == 422
    assert STATUS_BY_ERROR[errors.NotFound] == 404
    assert STATUS_BY_ERROR[errors.PermissionDenied] == 403
    assert STATUS_BY_ERROR[errors.AuthenticationFailed] == 401
    assert STATUS_BY_ERROR[errors.Conflict] == 409
    assert STATUS_BY_ERROR[errors.ServiceUnavailable] == 503
    assert STATUS_BY_ERROR[errors.ServiceTimeout] == 504


def test_subclass_of_a_mapped_error_uses_the_parent_status():
    class DepartmentMissing(errors.NotFound):
        pass

    assert error_response(DepartmentMissing("院系不存在。")).status_code == 404


def test_unknown_exception_is_a_generic_500_without_internals():
    try:
        raise RuntimeError("password=hunter2 at /srv/secret.py line 42")
    except RuntimeError as exc:
        response = error_response(exc)
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    body = json.loads(text)
    assert body["error"]["code"] == "INTERNAL_ERROR"
    assert body["error"]["details"] == {}
    for leak in ("hunter2", "RuntimeError", "Traceback", "secret.py", "line 42"):
        assert leak not in text


def test_werkzeug_client_errors_keep_their_status():
    response = error_response(MethodNotAllowed())
    assert response.status_code == 405
    assert json.loads(response.get_data(as_text=True))["error"]["code"] == "BAD_REQUEST"


# ---- events: authorisation and presentation -------------------------------------------

ALUMNUS_ID = str(uuid.uuid4())
ALUMNUS_A = auth.Principal(str(uuid.uuid4()), "alumna", "alumnus", None, ALUMNUS_ID)


def event_of(organiser_type, organiser_id=None, status="published"):
    return {
        "id": str(uuid.uuid4()),
        "organiser_type": organiser_type,
        "organiser_id": organiser_id,
        "status": status,
    }


def test_alumnus_claim_travels_in_the_token():
    account = {"id": str(uuid.uuid4()), "username": "alumna", "role": "alumnus"}
    login = {"account": {**account, "alumnus_id": ALUMNUS_ID}, "session": SESSION}
    tokens = auth.issue_tokens(login, SECRET)
    principal = auth.principal_from_header(f"Bearer {tokens['access_token']}", SECRET)
    assert (principal.role, principal.alumnus_id) == ("alumnus", ALUMNUS_ID)
    assert "alumnus_id" not in principal.as_actor()


def test_drafts_are_seen_by_office_committee_and_the_organiser_only():
    ours, theirs = event_of("department", DEPT_A, "draft"), event_of("department", DEPT_B, "draft")
    office_draft = event_of("office", None, "draft")
    for principal in (OFFICE, COMMITTEE):
        for event in (ours, theirs, office_draft):
            event_rules.check_event_read(principal, event)
    event_rules.check_event_read(LIAISON_A, ours)
    for principal, event in ((LIAISON_A, theirs), (LIAISON_A, office_draft), (ALUMNUS_A, ours)):
        with pytest.raises(errors.NotFound):
            event_rules.check_event_read(principal, event)
    for status in ("published", "closed", "finished", "cancelled"):
        event_rules.check_event_read(ALUMNUS_A, event_of("department", DEPT_B, status))


def test_event_lists_are_scoped_by_what_drafts_the_caller_may_see():
    assert event_rules.scope_event_search(OFFICE, {"limit": 5}) == {"limit": 5}
    assert event_rules.scope_event_search(LIAISON_A, {}) == {
        "drafts": "department",
        "drafts_department_id": DEPT_A,
    }
    assert event_rules.scope_event_search(ALUMNUS_A, {}) == {"drafts": "none"}


def test_a_liaison_manages_only_their_department_events():
    ours, theirs = event_of("department", DEPT_A), event_of("department", DEPT_B)
    event_rules.check_event_manage(LIAISON_A, ours)
    event_rules.check_event_manage(OFFICE, theirs)
    for principal, event in ((LIAISON_A, theirs), (COMMITTEE, ours), (ALUMNUS_A, ours)):
        with pytest.raises(errors.PermissionDenied):
            event_rules.check_event_manage(principal, event)
    event_rules.check_event_create(
        LIAISON_A, {"organiser_type": "department", "organiser_id": DEPT_A}
    )
    with pytest.raises(errors.PermissionDenied):
        event_rules.check_event_create(
            LIAISON_A, {"organiser_type": "office", "organiser_id": None}
        )
    with pytest.raises(errors.PermissionDenied):
        event_rules.check_event_update(LIAISON_A, ours, {"organiser_id": uuid.UUID(DEPT_B)})
    event_rules.check_event_update(LIAISON_A, ours, {"organiser_id": uuid.UUID(DEPT_A)})


def test_an_alumnus_signs_up_only_as_themselves():
    event = event_of("office")
    assert event_rules.sign_up_as(ALUMNUS_A, event, {"alumnus_id": None}) == ALUMNUS_ID
    assert (
        event_rules.sign_up_as(ALUMNUS_A, event, {"alumnus_id": uuid.UUID(ALUMNUS_ID)})
        == ALUMNUS_ID
    )
    with pytest.raises(errors.PermissionDenied):
        event_rules.sign_up_as(ALUMNUS_A, event, {"alumnus_id": uuid.uuid4()})
    someone = uuid.uuid4()
    assert event_rules.sign_up_as(OFFICE, event, {"alumnus_id": someone}) == str(someone)
    with pytest.raises(errors.ValidationFailed):
        event_rules.sign_up_as(OFFICE, event, {"alumnus_id": None})
    with pytest.raises(errors.PermissionDenied):
        event_rules.sign_up_as(LIAISON_A, event, {"alumnus_id": someone})
    event_rules.sign_up_as(LIAISON_A, event_of("department", DEPT_A), {"alumnus_id": someone})


def test_another_alumnus_registration_is_not_found():
    event = event_of("department", DEPT_A)
    mine = {"id": "r1", "event_id": event["id"], "alumnus_id": ALUMNUS_ID}
    theirs = {"id": "r2", "event_id": event["id"], "alumnus_id": str(uuid.uuid4())}
    elsewhere = {"id": "r3", "event_id": str(uuid.uuid4()), "alumnus_id": ALUMNUS_ID}
    event_rules.check_registration_access(ALUMNUS_A, event, mine)
    for registration in (theirs, elsewhere):
        with pytest.raises(errors.NotFound) as caught:
            event_rules.check_registration_access(ALUMNUS_A, event, registration)
        assert caught.value.details == {"registration_id": registration["id"]}
    event_rules.check_registration_access(LIAISON_A, event, theirs)
    with pytest.raises(errors.PermissionDenied):
        event_rules.check_registration_access(COMMITTEE, event, theirs)


def test_department_records_are_scoped_for_a_liaison_and_own_ones_for_an_alumnus():
    assert plan_rules.scope_plan_search(LIAISON_A, {})["department_id"] == DEPT_A
    assert project_rules.scope_project_search(COMMITTEE, {}) == {}
    with pytest.raises(errors.PermissionDenied):
        plan_rules.scope_plan_search(LIAISON_A, {"office": True})
    with pytest.raises(errors.PermissionDenied):
        visit_rules.scope_visit_search(LIAISON_A, {"department_id": DEPT_B})
    assert visit_rules.scope_visit_search(ALUMNUS_A, {})["requester_alumnus_id"] == ALUMNUS_ID
    assert feedback_rules.scope_own_submissions(ALUMNUS_A, {})["alumnus_id"] == ALUMNUS_ID
    with pytest.raises(errors.PermissionDenied):
        feedback_rules.scope_own_submissions(ALUMNUS_A, {"alumnus_id": str(uuid.uuid4())})
    with pytest.raises(errors.PermissionDenied):
        feedback_rules.scope_own_submissions(LIAISON_A, {})
    with pytest.raises(errors.NotFound):
        plan_rules.check_plan_access(LIAISON_A, {"id": "p", "department_id": DEPT_B})
    plan_rules.check_plan_create(COMMITTEE, {"department_id": None})
    with pytest.raises(errors.PermissionDenied):
        plan_rules.check_plan_create(LIAISON_A, {"department_id": None})
    with pytest.raises(errors.PermissionDenied):
        project_rules.check_project_write(
            LIAISON_A, {"id": "p", "department_id": DEPT_A}, {"department_id": uuid.UUID(DEPT_B)}
        )


def test_roster_check_in_tokens_are_for_those_who_run_the_door():
    from gateway import presenters

    event = event_of("department", DEPT_A)
    line = {"registration": {"id": "r", "checkin_token": "secret"}, "department_ids": [DEPT_B]}
    for_liaison = presenters.present_roster(LIAISON_A, event, [line])["items"][0]
    assert for_liaison["registration"]["checkin_token"] == "secret"
    for_committee = presenters.present_roster(COMMITTEE, event, [line])["items"][0]
    assert for_committee["registration"]["checkin_token"] is None


def test_a_liaison_acts_only_for_alumni_of_their_own_department():
    from gateway.authz.base import check_acts_for

    liaison = auth.Principal(str(uuid.uuid4()), "liaison.a", "liaison", DEPT_A)
    ours = {"id": "x", "graduations": [{"department_id": DEPT_B}, {"department_id": DEPT_A}]}
    theirs = {"id": "y", "graduations": [{"department_id": DEPT_B}]}
    check_acts_for(liaison, ours, "alumnus_id")
    check_acts_for(OFFICE, theirs, "alumnus_id")
    with pytest.raises(errors.ValidationFailed) as refused:
        check_acts_for(liaison, theirs, "alumnus_id")
    assert refused.value.details == {"fields": {"alumnus_id": ["校友不存在。"]}}
