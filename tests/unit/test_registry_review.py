"""Two-level stewardship's domain logic (services/registry/review.py, provenance.py) over a
real, migrated database: liaisons' change requests, field provenance, confirmation and the
records to check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from services.common.caller import Caller
from services.common.columns import utcnow
from services.common.contracts import registry as contract
from services.common.contracts.base import load_or_raise
from services.common.errors import Conflict, NotFound, ValidationFailed
from services.registry import domain, merges, provenance, review
from services.registry.models import Alumnus, OutboxMessage

PAGE = {"limit": 50, "cursor": None}
OFFICE = {"account_id": "acc-office", "username": "office.zhao", "role": "office",
          "department_id": None}  # fmt: skip


def shown_provenance(session, alumnus_id: str) -> dict:
    """The office's read of the record (`review.read_with_provenance`)."""
    office = Caller("acc-office", "office.zhao", "office", None)
    return review.read_with_provenance(session, alumnus_id, office, "registry.read")


def liaison(department_id, name="liaison.li"):
    return {"account_id": f"acc-{name}", "username": name, "role": "liaison",
            "department_id": department_id}  # fmt: skip


@pytest.fixture(params=["sqlite"])
def backend(request):
    return request.param


@pytest.fixture
def session(registry_session_factory):
    with registry_session_factory() as session:
        yield session


@pytest.fixture
def dept(session):
    made = domain.create_department(session, {"name": "计算机学院", "code": "CS"})
    session.commit()
    return made["id"]


def register(session, department_id, actor=OFFICE, **fields):
    raw = {
        "name": "王小明",
        "graduations": [
            {
                "department_id": department_id,
                "major": "软件工程",
                "degree": "bachelor",
                "class_year": 2010,
            }  # fmt: skip
        ],
        **fields,
    }
    record = domain.register_alumnus(session, load_or_raise(contract.AlumnusInput, raw), actor)
    session.commit()
    return record


def patch(data):
    return load_or_raise(contract.AlumnusPatch, data)


def test_a_liaisons_change_waits_until_the_office_approves_it(session, dept):
    alumnus = register(session, dept, employer="甲公司", phone="13812345678")
    request = review.submit(
        session, alumnus["id"], patch({"employer": "乙公司", "city": "济南"}), liaison(dept)
    )
    session.commit()
    assert request["status"] == "pending" and request["fields"] == ["city", "employer"]
    assert request["seen"] == {"employer": "甲公司", "city": None}
    assert domain.get_alumnus(session, alumnus["id"])["employer"] == "甲公司"
    assert not session.scalars(
        select(OutboxMessage).where(OutboxMessage.event_type == "alumnus_updated")
    ).all()

    approved = review.approve(session, request["id"], OFFICE)
    session.commit()
    assert approved["status"] == "approved" and approved["decided_by"] == "office.zhao"
    assert approved["alumnus"]["employer"] == "乙公司"
    updated = session.scalars(
        select(OutboxMessage).where(OutboxMessage.event_type == "alumnus_updated")
    ).all()
    assert len(updated) == 1
    history = domain.alumnus_history(session, alumnus["id"], PAGE)["items"]
    employer = [c for c in history if c["field"] == "employer"][-1]
    assert (employer["source"], employer["actor"]) == ("liaison", "liaison.li")
    shown = shown_provenance(session, alumnus["id"])["provenance"]
    assert shown["employer"]["source"] == "liaison"
    assert shown["employer"]["approved_by"] == "office.zhao"
    assert shown["phone"]["source"] == "office"  # from the registration, untouched

    with pytest.raises(Conflict) as again:
        review.approve(session, request["id"], OFFICE)
    assert again.value.details["reason"] == "invalid_transition"


def test_a_rejection_needs_a_reason_and_changes_nothing(session, dept):
    alumnus = register(session, dept, employer="甲公司")
    request = review.submit(session, alumnus["id"], patch({"employer": "乙"}), liaison(dept))
    with pytest.raises(ValidationFailed):
        review.reject(session, request["id"], OFFICE, "   ")
    rejected = review.reject(session, request["id"], OFFICE, "单位名称需与劳动合同一致")
    session.commit()
    assert (rejected["status"], rejected["reason"]) == ("rejected", "单位名称需与劳动合同一致")
    assert domain.get_alumnus(session, alumnus["id"])["employer"] == "甲公司"
    mine = review.list_requests(session, {**PAGE, "submitted_by_id": "acc-liaison.li"})
    assert [r["status"] for r in mine["items"]] == ["rejected"]
    assert review.list_requests(session, {**PAGE, "status": "pending"})["items"] == []


def test_a_request_whose_fields_changed_since_is_refused_unless_forced(session, dept):
    alumnus = register(session, dept, employer="甲公司", city="青岛")
    request = review.submit(session, alumnus["id"], patch({"employer": "乙公司"}), liaison(dept))
    untouched = review.submit(session, alumnus["id"], patch({"city": "烟台"}), liaison(dept))
    domain.update_alumnus(session, alumnus["id"], patch({"employer": "丙公司"}), OFFICE)
    session.commit()
    listed = review.get_request(session, request["id"])
    assert listed["stale"] is True and listed["current"] == {"employer": "丙公司"}

    with pytest.raises(Conflict) as refused:
        review.approve(session, request["id"], OFFICE)
    assert refused.value.details["reason"] == "changed_since_submitted"
    assert refused.value.details["fields"] == ["employer"]
    session.rollback()
    assert review.get_request(session, request["id"])["status"] == "pending"

    forced = review.approve(session, request["id"], OFFICE, force=True)
    assert forced["conflicts"] == ["employer"] and forced["alumnus"]["employer"] == "乙公司"
    # Another field's request is not stale for it.
    assert review.approve(session, untouched["id"], OFFICE)["alumnus"]["city"] == "烟台"


def test_bad_requests_are_refused(session, dept):
    alumnus = register(session, dept, employer="甲公司")
    with pytest.raises(ValidationFailed) as empty:
        review.submit(session, alumnus["id"], patch({}), liaison(dept))
    assert empty.value.details["reason"] == "empty_patch"
    with pytest.raises(ValidationFailed) as same:
        review.submit(session, alumnus["id"], patch({"employer": "甲公司"}), liaison(dept))
    assert same.value.details["reason"] == "no_change"
    with pytest.raises(ValidationFailed) as unknown:
        review.submit(
            session,
            alumnus["id"],
            patch({"graduations": [{"department_id": "00000000-0000-0000-0000-000000000000",
                                    "major": "x", "degree": "bachelor", "class_year": 2010}]}),
            liaison(dept),
        )  # fmt: skip
    assert unknown.value.details["reason"] == "unknown_department"
    with pytest.raises(NotFound):
        review.get_request(session, "not-a-uuid")
    with pytest.raises(NotFound):
        review.submit(session, "00000000-0000-0000-0000-000000000000", patch({"city": "x"}),
                      liaison(dept))  # fmt: skip


def test_provenance_follows_each_write_and_a_confirmation_changes_no_value(session, dept):
    alumnus = register(session, dept, employer="甲公司", phone="13812345678")
    before = shown_provenance(session, alumnus["id"])
    assert set(before["provenance"]) >= {"name", "employer", "phone", "graduations"}
    assert "city" not in before["provenance"]  # no value, no source
    assert {p["source"] for p in before["provenance"].values()} == {"office"}

    domain.update_alumnus(
        session, alumnus["id"], patch({"city": "济南"}), {**OFFICE, "username": "me",
                                                          "source": "self_service"}
    )  # fmt: skip
    session.commit()
    after = shown_provenance(session, alumnus["id"])["provenance"]
    assert after["city"]["source"] == "self_service" and after["name"]["source"] == "office"

    record = domain.get_alumnus(session, alumnus["id"])
    review.confirm(session, alumnus["id"], {**OFFICE, "username": "office.qian"})
    session.commit()
    confirmed = shown_provenance(session, alumnus["id"])
    assert domain.get_alumnus(session, alumnus["id"]) == record  # updated_at too
    assert confirmed["provenance"]["city"]["source"] == "self_service"
    assert all(p["confirmed_by"] == "office.qian" for p in confirmed["provenance"].values())
    assert confirmed["confirmed_at"] >= before["confirmed_at"]


def test_records_not_confirmed_for_years_are_listed_by_department(session, dept):
    other = domain.create_department(session, {"name": "物理学院", "code": "PHY"})["id"]
    old, fresh = register(session, dept), register(session, dept)
    elsewhere = register(session, other)
    long_ago = utcnow() - timedelta(days=4 * 366)
    session.execute(
        update(Alumnus).where(Alumnus.id.in_([old["id"], elsewhere["id"]]))
        .values(confirmed_at=long_ago)
    )  # fmt: skip
    session.commit()
    cutoff = utcnow() - timedelta(days=3 * 365)
    found = review.unconfirmed(session, {**PAGE, "department_id": dept}, cutoff)
    assert [a["id"] for a in found["items"]] == [old["id"]]
    assert found["items"][0]["confirmed_at"].startswith(str(long_ago.year))
    assert {a["id"] for a in review.unconfirmed(session, PAGE, cutoff)["items"]} == {
        old["id"], elsewhere["id"]}  # fmt: skip
    assert fresh["id"] not in {a["id"] for a in review.unconfirmed(session, PAGE, cutoff)["items"]}
    review.confirm(session, old["id"], OFFICE)
    session.commit()
    assert review.unconfirmed(session, {**PAGE, "department_id": dept}, cutoff)["items"] == []
    paged = review.unconfirmed(session, {"limit": 1, "cursor": None}, utcnow())
    assert len(paged["items"]) == 1 and paged["next_cursor"]


def test_provenance_pure_rules():
    when = datetime(2020, 1, 1, tzinfo=UTC)
    stored = provenance.created("import", "office", when)
    values = {"name": "张三", "city": None, "phone": "13800000000"}
    shown = provenance.expanded(stored, values)
    assert set(shown) == {"name", "phone"} and shown["name"]["source"] == "import"
    later = provenance.stamped(stored, ["city"], provenance.entry("liaison", "li", when, "ao"))
    assert provenance.expanded(later, values)["city"]["approved_by"] == "ao"
    # Records older than the column: the newest history rows stand in.
    old = provenance.expanded(None, values, {"name": {"source": "office", "confirmed_at": "x"}})
    assert old == {"name": {"source": "office", "confirmed_at": "x"}}
    again = provenance.confirmed(stored, values, None, "ao", when + timedelta(days=1))
    assert again["phone"]["source"] == "import" and again["phone"]["confirmed_by"] == "ao"
    assert "city" not in again


def test_a_merge_takes_the_value_confirmed_last_by_the_provenance_column(session, dept):
    first = register(session, dept, employer="甲公司")
    second = register(session, dept, employer="乙公司")
    # The survivor's employer re-confirmed after the other was written: it is the newer.
    review.confirm(session, first["id"], OFFICE)
    session.commit()
    merged = merges.merge(
        session, {"survivor_id": second["id"], "absorbed_id": first["id"]}, OFFICE
    )
    session.commit()
    assert merged["survivor"]["employer"] == "甲公司"
    shown = shown_provenance(session, second["id"])["provenance"]
    assert shown["employer"]["confirmed_at"] is not None
    merges.undo(session, merged["id"], OFFICE)
    session.commit()
    assert domain.get_alumnus(session, second["id"])["employer"] == "乙公司"


def test_an_erasure_forgets_provenance_and_pending_changes(session, dept):
    from services.registry import rights

    alumnus = register(session, dept, employer="甲公司")
    domain.update_alumnus(
        session, alumnus["id"], patch({"city": "济南"}), {**OFFICE, "username": "wang.login",
                                                          "source": "self_service"}
    )  # fmt: skip
    review.submit(session, alumnus["id"], patch({"employer": "乙公司"}), liaison(dept))
    rights.erase_alumnus(session, alumnus["id"], utcnow())
    session.commit()
    stored = session.scalar(select(Alumnus.field_provenance).where(Alumnus.id == alumnus["id"]))
    assert stored is None
    assert review.list_requests(session, {**PAGE, "alumnus_id": alumnus["id"]})["items"] == []
