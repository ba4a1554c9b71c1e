"""Contacts in the events and notify services' answers: masked or shown by the shared rule,
and each shown one logged (services/<service>/disclosure.py), on migrated SQLite databases."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import select

from services.common.caller import Caller as Reader
from services.events import disclosure
from services.events.models import AccessLogEntry

DEPT_A, DEPT_B = str(uuid.uuid4()), str(uuid.uuid4())
ALUMNUS_ID = str(uuid.uuid4())
CONTACT = {"name": "张伟", "phone": "13812345678", "email": "zhang.wei@example.com"}
MASKED = {"name": "张伟", "phone": "138****5678", "email": "z***@example.com"}
OFFICE = Reader("acc-o", "office.user", "office", None)
COMMITTEE = Reader("acc-c", "committee.user", "committee", None)
LIAISON_A = Reader("acc-l", "liaison.a", "liaison", DEPT_A)
ALUMNUS = Reader("acc-a", "alumna", "alumnus", None, ALUMNUS_ID)


def logged(run) -> list[tuple]:
    def rows(session):
        return [
            (e.username, e.record, e.alumnus_id, json.loads(e.fields), e.purpose)
            for e in session.scalars(select(AccessLogEntry).order_by(AccessLogEntry.seq))
        ]

    return run(rows)


def test_visit_contacts_are_shown_to_whom_the_rule_allows_and_logged(run):
    visit = {
        "id": "v1",
        "department_id": DEPT_A,
        "requester_alumnus_id": ALUMNUS_ID,
        "contact": CONTACT,
    }
    shown = {
        reader.username: run(disclosure.shown_visit, visit, reader, "GET /api/v1/visits")
        for reader in (OFFICE, COMMITTEE, LIAISON_A, ALUMNUS)
    }
    assert shown["committee.user"]["contact"] == MASKED
    assert all(shown[u]["contact"] == CONTACT for u in ("office.user", "liaison.a", "alumna"))
    # Neither the masked read nor the alumnus's own contact is in the log.
    assert logged(run) == [
        ("office.user", "visit:v1", ALUMNUS_ID, ["email", "phone"], "GET /api/v1/visits"),
        ("liaison.a", "visit:v1", ALUMNUS_ID, ["email", "phone"], "GET /api/v1/visits"),
    ]
    # A platform service gets the record as stored, unlogged; a person's read with no
    # purpose (the gateway checking the department) gets it masked, unlogged.
    service = Reader.for_service("notify")
    assert run(disclosure.shown_visit, visit, service, "")["contact"] == CONTACT
    assert run(disclosure.shown_visit, visit, OFFICE, "")["contact"] == MASKED
    assert len(logged(run)) == 2


def test_project_and_roster_contacts_follow_the_department(run):
    project = {"id": "p1", "department_id": DEPT_B, "contacts": [{**CONTACT, "alumnus_id": None}]}
    assert run(disclosure.shown_project, project, LIAISON_A, "x")["contacts"][0]["phone"] == (
        "138****5678"
    )
    line = {"registration": {"alumnus_id": ALUMNUS_ID}, "department_ids": [DEPT_A], **CONTACT}
    other = {**line, "department_ids": [DEPT_B]}
    shown = run(disclosure.shown_roster, "e1", [line, other], LIAISON_A, "roster")
    assert [s["phone"] for s in shown] == ["13812345678", "138****5678"]
    assert logged(run) == [("liaison.a", "event:e1", ALUMNUS_ID, ["email", "phone"], "roster")]
    found = run(disclosure.search_access_log, {"limit": 10, "cursor": None})
    assert [(e["service"], e["record"]) for e in found["items"]] == [("events", "event:e1")]


def test_delivery_log_addresses_are_the_office_s_and_logged(tmp_path, migrated_templates):
    from sqlalchemy.orm import sessionmaker

    from services.common.db import make_engine
    from services.notify import disclosure as notify_disclosure
    from services.notify.models import AccessLogEntry as NotifyLog

    url = migrated_templates.sqlite_copy("notify", tmp_path / "notify.db")
    engine = make_engine(url, pool_size=1)
    page = {
        "items": [
            {"id": "m1", "channel": "email", "alumnus_id": ALUMNUS_ID, "address": CONTACT["email"]},
            {"id": "m2", "channel": "sms", "alumnus_id": ALUMNUS_ID, "address": CONTACT["phone"]},
            {"id": "m3", "channel": "inbox", "alumnus_id": ALUMNUS_ID, "address": None},
        ],
        "next_cursor": None,
    }
    try:
        with sessionmaker(engine)() as session:
            masked = notify_disclosure.shown_messages(session, page, COMMITTEE, "GET /x")
            assert [m["address"] for m in masked["items"]] == [
                "z***@example.com",
                "138****5678",
                None,
            ]
            shown = notify_disclosure.shown_messages(session, page, OFFICE, "GET /x")
            assert shown == page
            session.commit()
            rows = session.scalars(select(NotifyLog).order_by(NotifyLog.seq)).all()
            assert [(r.record, r.username) for r in rows] == [
                ("message:m1", "office.user"),
                ("message:m2", "office.user"),
            ]
    finally:
        engine.dispose()
