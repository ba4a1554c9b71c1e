"""The three local copies of alumni (services/common/snapshots.py): the newest snapshot
wins, and one from the future is refused rather than freezing the copy."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from services.common.errors import ValidationFailed
from services.common.snapshots import FUTURE_SNAPSHOT
from services.donations import donors
from services.donations import models as donation_models
from services.events import models as event_models
from services.events import roster
from services.notify import directory
from services.notify import models as notify_models

COPIES = {
    "events roster": (event_models.Base, roster.upsert_roster_entry, event_models.RosterEntry),
    "donations copy": (donation_models.Base, donors.upsert_alumnus, donation_models.AlumnusCopy),
    "notify directory": (notify_models.Base, directory.upsert_contact, notify_models.Contact),
}


def snapshot(alumnus_id: str, name: str, updated_at: datetime) -> dict:
    return {
        "id": alumnus_id,
        "name": name,
        "phone": "13800138000",
        "email": "a@example.com",
        "province": "北京市",
        "city": "北京市",
        "graduations": [{"department_id": str(uuid.uuid4()), "class_year": 2010}],
        "updated_at": updated_at.isoformat(),
    }


@pytest.fixture(params=sorted(COPIES))
def copy(request, tmp_path):
    base, upsert, model = COPIES[request.param]
    engine = create_engine(f"sqlite:///{tmp_path / 'copy.db'}")
    base.metadata.create_all(engine)

    def run(function, *args):
        with Session(engine) as session, session.begin():
            return function(session, *args)

    yield run, upsert, model
    engine.dispose()


def test_a_future_snapshot_is_refused_and_the_next_real_change_applies(copy):
    run, upsert, model = copy
    alumnus_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    assert run(upsert, snapshot(alumnus_id, "王五", now - timedelta(hours=1))) is True

    with pytest.raises(ValidationFailed) as refused:
        run(upsert, snapshot(alumnus_id, "冒名者", now + timedelta(days=3650)))
    assert refused.value.reason == FUTURE_SNAPSHOT

    assert run(upsert, snapshot(alumnus_id, "王五（改）", now)) is True
    assert run(lambda session: session.get(model, alumnus_id).name) == "王五（改）"


def test_an_older_snapshot_never_overwrites_a_newer_one(copy):
    run, upsert, model = copy
    alumnus_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    assert run(upsert, snapshot(alumnus_id, "新", now - timedelta(minutes=1))) is True
    assert run(upsert, snapshot(alumnus_id, "旧", now - timedelta(days=1))) is False
    assert run(lambda session: session.get(model, alumnus_id).name) == "新"
