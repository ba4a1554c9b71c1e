"""A registry merge and its undo over HTTP, as the other services see them: the absorbed
record's gifts become the survivor's and go back on the undo (donations); its messages move
and its contact leaves the directory, and a consent it withdrew holds for the survivor
(notify). The events service's part is tested in tests/integration/test_events_service.py."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from services.notify.models import Consent, Contact, Message
from tests.support.donations_data import alumnus_donor, fund_body, gift_body
from tests.system.helpers import alumnus_body, department_body

WAIT_SECONDS = 20


def wait_until(condition: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"not within {WAIT_SECONDS} s: {what}")


def test_gifts_and_messages_follow_a_merge_and_go_back_on_its_undo(system):
    office = system.admin()
    department = office.post("/api/v1/departments", json=department_body()).json()["id"]
    survivor, absorbed = (
        office.post("/api/v1/alumni", json=alumnus_body(department, name="单雄信")).json()
        for _ in range(2)
    )
    fund = office.post("/api/v1/funds", json=fund_body()).json()

    def give(alumnus_id: str) -> dict:
        response = office.post(
            "/api/v1/gifts",
            json=gift_body(fund["id"], 50_000, donor=alumnus_donor(alumnus_id)),
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        assert response.status_code == 201, response.text
        return response.json()

    survivors_gift, absorbeds_gift = give(survivor["id"]), give(absorbed["id"])

    def gift_ids_of(alumnus_id: str) -> set[str]:
        listed = office.get("/api/v1/gifts", params={"alumnus_id": alumnus_id}).json()
        return {g["id"] for g in listed["items"]}

    notify = create_engine(system.database_urls["notify"])

    def in_notify(query) -> list:
        with Session(notify) as session:
            return session.scalars(query).all()

    def messages_of(alumnus_id: str) -> set[str]:
        return set(in_notify(select(Message.id).where(Message.alumnus_id == alumnus_id)))

    # Both records are known to notify (their welcome mails) before the merge; the
    # absorbed record's person said no to newsletters by e-mail.
    wait_until(lambda: messages_of(absorbed["id"]) and messages_of(survivor["id"]), "welcomes")
    absorbeds_messages = messages_of(absorbed["id"])
    with Session(notify) as session, session.begin():
        session.merge(
            Consent(
                alumnus_id=absorbed["id"],
                channel="email",
                purpose="marketing",
                granted=False,
                source="self_service",
                changed_at=datetime.now(UTC),
            )
        )

    merged = office.post(
        "/api/v1/alumni/merges",
        json={"survivor_id": survivor["id"], "absorbed_id": absorbed["id"]},
    )
    assert merged.status_code == 201, merged.text

    wait_until(
        lambda: gift_ids_of(survivor["id"]) == {survivors_gift["id"], absorbeds_gift["id"]},
        "the absorbed record's gift listed under the survivor",
    )
    wait_until(
        lambda: not in_notify(select(Contact).where(Contact.alumnus_id == absorbed["id"])),
        "the absorbed contact gone from notify's directory",
    )
    assert absorbeds_messages <= messages_of(survivor["id"])
    refused = in_notify(
        select(Consent).where(Consent.alumnus_id == survivor["id"], Consent.channel == "email")
    )
    assert [(c.purpose, c.granted) for c in refused] == [("marketing", False)]

    undone = office.post(f"/api/v1/alumni/merges/{merged.json()['id']}/undo")
    assert undone.status_code == 200, undone.text
    wait_until(
        lambda: gift_ids_of(absorbed["id"]) == {absorbeds_gift["id"]},
        "the absorbed record's gift back with it",
    )
    assert gift_ids_of(survivor["id"]) == {survivors_gift["id"]}
    wait_until(lambda: absorbeds_messages <= messages_of(absorbed["id"]), "messages back")
    assert not absorbeds_messages & messages_of(survivor["id"])
    assert in_notify(select(Contact.alumnus_id).where(Contact.alumnus_id == absorbed["id"]))
    # The withdrawal stays: consent is not given back on the person's behalf.
    assert not in_notify(
        select(Consent).where(Consent.alumnus_id == survivor["id"], Consent.granted.is_(True))
    )
