"""The gateway's decisions for chapter officers and messengers (gateway/authz/chapters.py,
gateway/authz/events.py), and the scope the access token carries."""

from __future__ import annotations

import uuid

import pytest

from gateway import auth
from gateway.authz import chapters as rules
from gateway.authz import events as event_rules
from services.common.caller import Caller, sign, verify
from services.common.errors import NotFound, PermissionDenied

SECRET = "s" * 40
CHAPTER_A, CHAPTER_B = str(uuid.uuid4()), str(uuid.uuid4())
DEPT_A = str(uuid.uuid4())
OFFICER = auth.Principal("acc-co", "co", "chapter_officer", None, chapter_id=CHAPTER_A)
MESSENGER = auth.Principal("acc-m", "m", "messenger", None, messenger_id="msg-1")
LIAISON = auth.Principal("acc-l", "l", "liaison", DEPT_A)
OFFICE = auth.Principal("acc-o", "o", "office", None)


def test_the_token_and_the_signed_caller_carry_the_scope():
    login = {
        "account": {
            "id": "acc-co",
            "username": "co",
            "role": "chapter_officer",
            "chapter_id": CHAPTER_A,
            "messenger_id": None,
        },
        "session": {"id": "sid", "refresh_jti": "jti", "token_version": 0},
    }
    tokens = auth.issue_tokens(login, SECRET)
    principal = auth.principal_from_header(f"Bearer {tokens['access_token']}", SECRET)
    assert (principal.role, principal.chapter_id) == ("chapter_officer", CHAPTER_A)
    caller = verify(sign(principal, "k" * 40, "registry"), "k" * 40, "registry")
    assert caller == Caller("acc-co", "co", "chapter_officer", None, chapter_id=CHAPTER_A)


def test_a_chapter_officer_reaches_their_own_chapter_only():
    rules.check_chapter_scope(OFFICER, CHAPTER_A)
    rules.check_chapter_scope(OFFICE, CHAPTER_B)
    with pytest.raises(NotFound):
        rules.check_chapter_scope(OFFICER, CHAPTER_B)


def test_a_messenger_sees_their_own_appointment_a_liaison_their_department():
    own = {"id": "msg-1", "department_id": DEPT_A}
    other = {"id": "msg-2", "department_id": str(uuid.uuid4())}
    rules.check_messenger_read(MESSENGER, own)
    rules.check_messenger_read(LIAISON, own)
    for principal in (MESSENGER, LIAISON):
        with pytest.raises(NotFound):
            rules.check_messenger_read(principal, other)
    with pytest.raises(PermissionDenied):
        rules.check_messenger_appoint(LIAISON, {"department_id": other["department_id"]})


def event(organiser_type, organiser_id, status="draft"):
    return {
        "id": "e",
        "status": status,
        "organiser_type": organiser_type,
        "organiser_id": organiser_id,
    }


def test_a_chapter_officer_runs_their_chapter_events():
    mine, theirs = event("chapter", CHAPTER_A), event("chapter", CHAPTER_B)
    event_rules.check_event_create(OFFICER, mine)
    event_rules.check_event_manage(OFFICER, mine)
    with pytest.raises(PermissionDenied):
        event_rules.check_event_create(OFFICER, theirs)
    with pytest.raises(NotFound):  # another chapter's draft is not theirs to see
        event_rules.check_event_manage(OFFICER, theirs)
    with pytest.raises(PermissionDenied):  # a published one they read but do not run
        event_rules.check_event_manage(OFFICER, {**theirs, "status": "published"})
    with pytest.raises(PermissionDenied):
        event_rules.check_event_update(OFFICER, mine, {"organiser_id": CHAPTER_B})
    assert event_rules.scope_event_search(OFFICER, {}) == {
        "drafts": "chapter",
        "drafts_chapter_id": CHAPTER_A,
    }
    # A liaison does not run a chapter's event.
    assert not event_rules.organises(LIAISON, mine)
