"""The events service's engagement workflows on SQLite: visits, work plans and tasks,
the overdue scan, the per-department summary, suggestions, service requests and
cooperation projects.

Each `run(...)` call is one transaction, as an RPC method's would be, on a
database brought up by the service's own migrations. Inputs go through the
contract schemas first, as the service's entrypoints do.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select
from sqlalchemy.sql.dml import Update

from services.common.contracts import check_event
from services.common.contracts import events as contracts
from services.common.contracts.base import load_or_raise
from services.common.entrypoints import ConfiguredTimer
from services.common.errors import Conflict, NotFound, ValidationFailed
from services.events import cooperation, events, feedback, plans, reports, visits
from services.events.common import school_date, set_status
from services.events.models import OutboxMessage, Visit, WorkPlan
from tests.support.events_data import listed

# 17:00 in Beijing on 1 May 2030: the school's "today" is 2030-05-01.
NOW = datetime(2030, 5, 1, 9, 0, tzinfo=UTC)
TODAY = date(2030, 5, 1)
OFFICE = {"account_id": "a1", "username": "office1", "role": "office", "department_id": None}
LIAISON = {"account_id": "a2", "username": "liaison1", "role": "liaison", "department_id": "d"}
CJK = re.compile(r"[\u4e00-\u9fff]")


def load(schema, raw):
    return load_or_raise(schema, raw)


def outbox(run, event_type: str | None = None) -> list[dict]:
    def rows(session):
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if event_type:
            query = query.where(OutboxMessage.event_type == event_type)
        return [json.loads(row.payload) for row in session.scalars(query)]

    return run(rows)


def refused(schema, raw) -> dict:
    """The field errors of input the contract refuses, every message in Chinese."""
    with pytest.raises(ValidationFailed) as caught:
        load_or_raise(schema, raw)
    errors = caught.value.details["fields"]
    assert all(CJK.search(message) for message in messages(errors)), errors
    return errors


def messages(errors) -> list[str]:
    """Every message in marshmallow's nested errors."""
    if isinstance(errors, str):
        return [errors]
    parts = errors.values() if isinstance(errors, dict) else errors
    return [message for part in parts for message in messages(part)]


def refused_with(reason: str, conflict: Conflict) -> dict:
    """The details of a Conflict after checking its reason."""
    assert conflict.reason == reason, conflict.details
    return conflict.details


# ---- visits ----------------------------------------------------------------


def visit(**overrides) -> dict:
    return {
        "requester_alumnus_id": str(uuid.uuid4()),
        "visit_date": "2030-05-20",
        "group_size": 3,
        "purpose": "毕业二十年回母校看看",
        "contact": {"name": "张三", "phone": "13800138000"},
        **overrides,
    }


def request_visit(run, **overrides) -> dict:
    return run(
        visits.request_visit,
        load(contracts.visits.VisitInput(), visit(**overrides)),
        NOW,
    )


def decide(run, visit_id, now=NOW, **decision) -> dict:
    data = load(contracts.visits.VisitDecision(), decision)
    return run(visits.decide_visit, visit_id, data, OFFICE, now)


def test_an_alumnus_visit_is_requested_approved_with_a_host_and_done(run):
    requested = request_visit(run, department_id=str(uuid.uuid4()))

    assert requested["status"] == "requested"
    assert requested["requester_type"] == "alumnus"
    assert requested["contact"] == {"name": "张三", "phone": "13800138000", "email": None}
    approved = decide(run, requested["id"], decision="approved", host="王老师", note="欢迎")
    assert (approved["status"], approved["host"], approved["decided_by"]) == (
        "approved",
        "王老师",
        "office1",
    )
    with pytest.raises(Conflict) as caught:
        run(visits.complete_visit, requested["id"], {"notes": "参观校史馆"}, OFFICE, NOW)
    assert caught.value.reason == "visit_day_not_reached"

    visit_day = datetime(2030, 5, 20, 2, tzinfo=UTC)  # 10:00 in Beijing
    done = run(visits.complete_visit, requested["id"], {"notes": "参观校史馆"}, LIAISON, visit_day)

    assert (done["status"], done["outcome_notes"], done["completed_by"]) == (
        "done",
        "参观校史馆",
        "liaison1",
    )
    assert run(visits.get_visit, requested["id"]) == done
    recorded = outbox(run)
    assert [e["event_type"] for e in recorded] == ["visit_requested", "visit_decided"]
    assert "contact" not in recorded[0]["data"]  # personal information stays home
    assert recorded[0]["data"]["department_id"] == requested["department_id"]
    decided = recorded[1]["data"]
    assert (decided["decision"], decided["host"], decided["note"]) == ("approved", "王老师", "欢迎")
    assert decided["reception"]["status"] == "approved"


def test_a_class_visit_names_its_department(run):
    department = str(uuid.uuid4())
    requested = request_visit(
        run,
        requester_alumnus_id=None,
        department_id=department,
        class_year=2000,
        class_name="计算机 1 班",
        group_size=40,
    )
    declined = decide(run, requested["id"], decision="declined", note="当天学校有大型考试")

    assert requested["requester_type"] == "class"
    assert (declined["status"], declined["host"]) == ("declined", None)
    assert outbox(run, "visit_decided")[0]["data"]["note"] == "当天学校有大型考试"
    found = listed(run, visits.list_visits, contracts.visits.VisitSearch, department_id=department)
    assert [r["id"] for r in found["items"]] == [requested["id"]]


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        ({"requester_alumnus_id": None}, {"requester_alumnus_id"}),
        ({"class_year": 2000}, {"class_name", "department_id"}),
        ({"class_name": "一班"}, {"class_year", "department_id"}),
        ({"class_name": "一班", "class_year": 2000}, {"department_id"}),
        ({"group_size": 0}, {"group_size"}),
        ({"visit_date": "2030-02-30"}, {"visit_date"}),
        ({"purpose": ""}, {"purpose"}),
    ],
)
def test_bad_visit_requests_are_refused_in_chinese(overrides, fields):
    assert set(refused(contracts.visits.VisitInput(), visit(**overrides))) == fields


def test_a_visit_contact_must_be_reachable():
    errors = refused(contracts.visits.VisitInput(), visit(contact={"name": "张三"}))
    assert list(errors) == ["contact"] and list(errors["contact"]) == ["phone"]
    errors = refused(contracts.visits.VisitInput(), visit(contact={"name": "张三", "phone": "123"}))
    assert list(errors["contact"]) == ["phone"]
    email_only = visit(contact={"name": "张三", "email": "zhang@example.com"})
    assert load(contracts.visits.VisitInput(), email_only)["contact"]["phone"] is None


@pytest.mark.parametrize(
    ("decision", "field"),
    [
        ({"decision": "approved"}, "host"),
        ({"decision": "declined"}, "note"),
        ({"decision": "declined", "note": "不便", "host": "王"}, "host"),
        ({"decision": "maybe"}, "decision"),
    ],
)
def test_bad_decisions_are_refused(decision, field):
    assert list(refused(contracts.visits.VisitDecision(), decision)) == [field]


def test_a_visit_in_the_past_is_refused(run):
    with pytest.raises(ValidationFailed) as caught:
        request_visit(run, visit_date="2030-04-30")
    assert caught.value.reason == "visit_date_in_past"
    assert list(caught.value.details["fields"]) == ["visit_date"]
    assert request_visit(run, visit_date="2030-05-01")["status"] == "requested"  # today is fine


def test_a_request_whose_day_has_passed_can_only_be_declined(run):
    requested = request_visit(run, visit_date="2030-05-02")
    later = datetime(2030, 5, 2, 16, 30, tzinfo=UTC)  # 00:30 on 3 May in Beijing

    with pytest.raises(Conflict) as caught:
        decide(run, requested["id"], now=later, decision="approved", host="王老师")
    assert caught.value.reason == "visit_date_passed"
    assert decide(run, requested["id"], now=later, decision="declined", note="已过期")[
        "status"
    ] == ("declined")


VISIT_PATHS = {
    "requested": [],
    "approved": [("decide", {"decision": "approved", "host": "王老师"})],
    "declined": [("decide", {"decision": "declined", "note": "不便"})],
    "done": [("decide", {"decision": "approved", "host": "王老师"}), ("complete", {"notes": "好"})],
    "cancelled": [("cancel", {"reason": "行程变更"})],
}


def visit_action(run, action, visit_id, data):
    visit_day = datetime(2030, 5, 20, 2, tzinfo=UTC)
    if action == "decide":
        return decide(run, visit_id, **data)
    if action == "complete":
        return run(visits.complete_visit, visit_id, data, OFFICE, visit_day)
    return run(visits.cancel_visit, visit_id, data, OFFICE, NOW)


@pytest.mark.parametrize(
    ("status", "action", "data", "outcome"),
    [
        ("requested", "decide", {"decision": "approved", "host": "王"}, "approved"),
        ("requested", "cancel", {}, "cancelled"),
        ("requested", "complete", {"notes": "好"}, None),
        ("approved", "decide", {"decision": "declined", "note": "不"}, None),
        ("approved", "cancel", {"reason": "改期"}, "cancelled"),
        ("approved", "complete", {"notes": "好"}, "done"),
        ("declined", "decide", {"decision": "approved", "host": "王"}, None),
        ("declined", "cancel", {}, None),
        ("done", "cancel", {}, None),
        ("cancelled", "decide", {"decision": "approved", "host": "王"}, None),
        ("cancelled", "complete", {"notes": "好"}, None),
    ],
)
def test_visit_transitions(run, status, action, data, outcome):
    visit_id = request_visit(run)["id"]
    for step, step_data in VISIT_PATHS[status]:
        visit_action(run, step, visit_id, step_data)

    if outcome is None:
        with pytest.raises(Conflict) as caught:
            visit_action(run, action, visit_id, data)
        details = refused_with("invalid_transition", caught.value)
        assert details["status"] == status
        assert details["allowed_steps"] == visits.VISIT_STATUS.allowed_steps(status)
        assert run(visits.get_visit, visit_id)["status"] == status
    else:
        assert visit_action(run, action, visit_id, data)["status"] == outcome


def test_two_decisions_at_once_cannot_both_win(run):
    """The status is compared and set in one UPDATE: a stale reader loses."""
    visit_id = request_visit(run)["id"]
    with run.session_factory() as stale:
        row = stale.scalars(select(Visit).where(Visit.id == visit_id)).one()
        decide(run, visit_id, decision="declined", note="不便")  # someone else, first
        with pytest.raises(Conflict) as caught:
            set_status(stale, row, visits.VISIT_STATUS, "approve", {"host": "王老师"})
        stale.rollback()
    details = refused_with("invalid_transition", caught.value)
    assert (details["status"], details["expected_status"]) == ("declined", "requested")
    assert details["allowed_steps"] == []
    assert len(outbox(run, "visit_decided")) == 1


def test_an_unknown_visit_is_not_found(run):
    unknown = str(uuid.uuid4())
    with pytest.raises(NotFound) as caught:
        run(visits.get_visit, unknown)
    assert caught.value.details == {"visit_id": unknown}


def test_visits_page_and_filter(run):
    made = [request_visit(run, visit_date=f"2030-05-{10 + i}") for i in range(5)]
    run(visits.cancel_visit, made[1]["id"], {}, OFFICE, NOW)

    first = listed(run, visits.list_visits, contracts.visits.VisitSearch, limit=2)
    rest = listed(
        run, visits.list_visits, contracts.visits.VisitSearch, limit=10, cursor=first["next_cursor"]
    )
    window = listed(
        run,
        visits.list_visits,
        contracts.visits.VisitSearch,
        visit_from=date(2030, 5, 11),
        visit_to=date(2030, 5, 12),
    )
    waiting = listed(run, visits.list_visits, contracts.visits.VisitSearch, status="requested")

    assert [r["id"] for r in first["items"] + rest["items"]] == [r["id"] for r in made]
    assert rest["next_cursor"] is None
    assert [r["visit_date"] for r in window["items"]] == ["2030-05-11", "2030-05-12"]
    assert len(waiting["items"]) == 4
    with pytest.raises(ValidationFailed) as caught:
        listed(run, visits.list_visits, contracts.visits.VisitSearch, cursor="garbage")
    assert caught.value.reason == "bad_cursor"


# ---- work plans and tasks ----------------------------------------------------------


def new_plan(run, department_id: str | None, year: int = 2030, title: str = "年度校友工作计划"):
    data = load(
        contracts.plans.PlanInput(), {"department_id": department_id, "year": year, "title": title}
    )
    return run(plans.create_plan, data, OFFICE, NOW)


def new_task(run, plan_id: str, due: str, owner: str = "liaison1", title: str = "更新校友信息"):
    data = load(
        contracts.plans.TaskInput(),
        {"title": title, "owner": owner, "due_date": due, "note": "布置"},
    )
    return run(plans.add_task, plan_id, data, OFFICE, NOW)


def advance(run, task_id: str, status: str, note: str = "证明材料", now=NOW, actor=OFFICE):
    data = load(contracts.plans.TaskAdvance(), {"status": status, "note": note})
    return run(plans.advance_task, task_id, data, actor, now)


def test_one_plan_per_department_or_office_per_year(run):
    department = str(uuid.uuid4())
    mine, office = new_plan(run, department), new_plan(run, None)

    with pytest.raises(Conflict) as caught:
        new_plan(run, department)
    assert caught.value.details == {"plan_id": mine["id"], "reason": "plan_exists"}
    with pytest.raises(Conflict) as caught:
        new_plan(run, None)
    assert caught.value.details == {"plan_id": office["id"], "reason": "plan_exists"}
    assert new_plan(run, department, year=2031)["year"] == 2031
    assert office["department_id"] is None
    assert run(plans.get_plan, mine["id"]) == mine
    assert [
        p["id"]
        for p in listed(run, plans.list_plans, contracts.plans.PlanSearch, office=True)["items"]
    ] == [office["id"]]
    assert (
        len(
            listed(run, plans.list_plans, contracts.plans.PlanSearch, department_id=department)[
                "items"
            ]
        )
        == 2
    )
    assert len(listed(run, plans.list_plans, contracts.plans.PlanSearch, year=2030)["items"]) == 2


def test_the_database_refuses_a_second_office_plan_too(run):
    """NULL department ids are distinct in a unique key; the owner key is not."""
    new_plan(run, None)

    def sneak_in(session):
        session.add(
            WorkPlan(department_id=None, owner_key="office", year=2030, title="x", created_by="x")
        )
        plans.flush_or_conflict(session, "重复", reason="plan_exists")

    with pytest.raises(Conflict) as caught:
        run(sneak_in)
    assert caught.value.reason == "plan_exists"


def test_a_task_goes_assigned_checked_done_with_evidence_at_each_step(run):
    plan = new_plan(run, str(uuid.uuid4()))
    task = new_task(run, plan["id"], "2030-06-30")
    assert (task["status"], task["done_at"]) == ("assigned", None)

    checked = advance(run, task["id"], "checked", "已检查进度：完成 60%", actor=LIAISON)
    done = advance(run, task["id"], "done", "已落实：名录已更新", now=NOW + timedelta(days=1))

    assert done["status"] == "done"
    assert done["done_at"] == (NOW + timedelta(days=1)).isoformat()
    assert checked["steps"][-1]["actor"] == "liaison1"
    assert [(s["status"], s["note"], s["actor"]) for s in done["steps"]] == [
        ("assigned", "布置", "office1"),
        ("checked", "已检查进度：完成 60%", "liaison1"),
        ("done", "已落实：名录已更新", "office1"),
    ]
    assert run(plans.get_task, task["id"]) == done


@pytest.mark.parametrize(
    ("path", "target", "allowed"),
    [
        ([], "done", ["checked"]),
        ([], "assigned", ["checked"]),
        (["checked"], "checked", ["done"]),
        (["checked"], "assigned", ["done"]),
        (["checked", "done"], "checked", []),
        (["checked", "done"], "done", []),
    ],
)
def test_a_task_only_moves_one_step_forward(run, path, target, allowed):
    task = new_task(run, new_plan(run, None)["id"], "2030-06-30")
    for status in path:
        advance(run, task["id"], status)

    with pytest.raises(Conflict) as caught:
        advance(run, task["id"], target)

    details = refused_with("invalid_transition", caught.value)
    assert (details["requested"], details["allowed_statuses"]) == (target, allowed)
    assert len(run(plans.get_task, task["id"])["steps"]) == 1 + len(path)


def test_task_input_is_checked():
    assert list(refused(contracts.plans.TaskAdvance(), {"status": "checked"})) == ["note"]
    errors = refused(
        contracts.plans.TaskInput(), {"title": "x", "owner": "张 三", "due_date": "明天"}
    )
    assert set(errors) == {"owner", "due_date"}
    assert list(refused(contracts.plans.PlanInput(), {"year": 1999, "title": "x"})) == ["year"]


def test_unknown_plans_and_tasks_are_not_found(run):
    unknown = str(uuid.uuid4())
    with pytest.raises(NotFound) as caught:
        new_task(run, unknown, "2030-06-30")
    assert caught.value.details == {"plan_id": unknown}
    with pytest.raises(NotFound) as caught:
        advance(run, unknown, "checked")
    assert caught.value.details == {"task_id": unknown}


def test_an_overdue_task_is_flagged_exactly_once(run):
    plan = new_plan(run, str(uuid.uuid4()))
    late = new_task(run, plan["id"], "2030-04-30")
    due_today = new_task(run, plan["id"], "2030-05-01")
    finished = new_task(run, plan["id"], "2030-04-01")
    advance(run, finished["id"], "checked")
    advance(run, finished["id"], "done")
    checked_late = new_task(run, plan["id"], "2030-04-15")
    advance(run, checked_late["id"], "checked")

    first = run(plans.flag_overdue_tasks, TODAY, NOW)
    again = run(plans.flag_overdue_tasks, TODAY, NOW + timedelta(hours=1))

    assert first == {"flagged": 2, "task_ids": [late["id"], checked_late["id"]]}
    assert again == {"flagged": 0, "task_ids": []}
    assert run(plans.get_task, late["id"])["overdue_flagged_at"] == NOW.isoformat()
    assert run(plans.get_task, due_today["id"])["overdue_flagged_at"] is None

    # Done after being flagged: the flag stays, and no second event comes.
    advance(run, late["id"], "checked")
    advance(run, late["id"], "done")
    tomorrow = run(plans.flag_overdue_tasks, TODAY + timedelta(days=1), NOW + timedelta(days=1))
    assert tomorrow["task_ids"] == [due_today["id"]]

    recorded = outbox(run, "task_overdue")
    assert [e["data"]["task"]["id"] for e in recorded] == [
        late["id"],
        checked_late["id"],
        due_today["id"],
    ]
    assert recorded[0]["data"]["plan"] == {
        "id": plan["id"],
        "department_id": plan["department_id"],
        "year": 2030,
        "title": plan["title"],
    }
    assert recorded[0]["data"]["task"]["owner"] == "liaison1"
    assert recorded[0]["data"]["task"]["due_date"] == "2030-04-30"


def test_a_task_flagged_by_another_scan_meanwhile_is_not_flagged_again(run):
    """Two instances scan at once: the one whose conditional UPDATE comes second records
    nothing, though it read the task as unflagged."""
    new_task(run, new_plan(run, None)["id"], "2030-04-30")
    raced = []

    def scan_racing_another(session):
        execute = session.execute

        def another_scan_commits_first(statement, *args, **kwargs):
            if isinstance(statement, Update) and not raced:
                raced.append(True)
                with run.session_factory() as other:
                    plans.flag_overdue_tasks(other, TODAY, NOW)
                    other.commit()
            return execute(statement, *args, **kwargs)

        session.execute = another_scan_commits_first
        return plans.flag_overdue_tasks(session, TODAY, NOW)

    assert run(scan_racing_another) == {"flagged": 0, "task_ids": []}
    assert raced
    assert len(outbox(run, "task_overdue")) == 1


def finished_event(run, department_id: str, starts: str, report: bool, organiser="department"):
    """A finished event of `department_id` that began at `starts` (Beijing time)."""
    begins = datetime.fromisoformat(starts)
    raw = {
        "kind": "other",
        "title": "院系校友座谈会",
        "organiser_type": organiser,
        "organiser_id": department_id,
        "venue": "会议室",
        "starts_at": begins.isoformat(),
        "ends_at": (begins + timedelta(hours=2)).isoformat(),
        "capacity": 10,
        "registration_opens_at": (begins - timedelta(days=10)).isoformat(),
        "registration_closes_at": (begins - timedelta(days=1)).isoformat(),
    }
    event = run(events.create_event, load(contracts.events.EventInput(), raw))
    run(events.publish_event, event["id"], begins - timedelta(days=20))
    run(events.finish_event, event["id"], begins + timedelta(hours=3))
    if report:
        run(
            reports.file_activity_report,
            event["id"],
            {"summary": "顺利"},
            OFFICE,
            begins + timedelta(hours=3),
        )
    return event["id"]


def test_the_department_summary_counts_a_hand_built_year(run):
    a, b, c = sorted(str(uuid.uuid4()) for _ in range(3))
    plan_a = new_plan(run, a)["id"]
    on_time = new_task(run, plan_a, "2030-03-31")
    late = new_task(run, plan_a, "2030-03-31")
    overdue = new_task(run, plan_a, "2030-04-30")
    new_task(run, plan_a, "2030-05-01")  # due today: not overdue yet
    for task, done_at in [
        (on_time, datetime(2030, 3, 31, 15, 30, tzinfo=UTC)),  # 23:30 on the 31st in Beijing
        (late, datetime(2030, 3, 31, 16, 30, tzinfo=UTC)),  # 00:30 on 1 April in Beijing
    ]:
        advance(run, task["id"], "checked", now=done_at - timedelta(days=1))
        advance(run, task["id"], "done", now=done_at)
    advance(run, overdue["id"], "checked")  # checked but not done: still overdue
    plan_b = new_plan(run, b)["id"]
    new_task(run, plan_b, "2030-01-15")
    # Not this year's, nor a department's: left out.
    new_task(run, new_plan(run, a, year=2029)["id"], "2029-06-30")
    new_task(run, new_plan(run, None)["id"], "2030-01-31")

    finished_event(run, a, "2030-01-01T00:30:00+08:00", report=True)  # 2029 in UTC, 2030 here
    finished_event(run, a, "2030-03-10T14:00:00+08:00", report=False)
    finished_event(run, a, "2029-12-31T23:00:00+08:00", report=True)  # last year
    finished_event(run, c, "2030-04-01T14:00:00+08:00", report=True)
    finished_event(run, c, "2030-04-02T14:00:00+08:00", report=True, organiser="chapter")
    # Published, never finished: not held.
    run(
        events.create_event,
        load(
            contracts.events.EventInput(),
            {
                "kind": "other",
                "title": "未举行",
                "organiser_type": "department",
                "organiser_id": a,
                "venue": "x",
                "starts_at": "2030-06-01T10:00:00+08:00",
                "ends_at": "2030-06-01T12:00:00+08:00",
                "capacity": 1,
                "registration_opens_at": "2030-05-01T00:00:00+08:00",
                "registration_closes_at": "2030-05-31T00:00:00+08:00",
            },
        ),
    )

    summary = run(plans.department_summary, 2030, TODAY)

    empty = dict.fromkeys(
        (
            "tasks_total",
            "tasks_done",
            "tasks_done_on_time",
            "tasks_overdue",
            "events_held",
            "events_reported",
        ),
        0,
    )
    assert summary == {
        "year": 2030,
        "as_of": "2030-05-01",
        "departments": [
            {
                **empty,
                "department_id": a,
                "tasks_total": 4,
                "tasks_done": 2,
                "tasks_done_on_time": 1,
                "tasks_overdue": 1,
                "events_held": 2,
                "events_reported": 1,
            },
            {**empty, "department_id": b, "tasks_total": 1, "tasks_overdue": 1},
            {**empty, "department_id": c, "events_held": 1, "events_reported": 1},
        ],
    }
    assert run(plans.department_summary, 2031, TODAY) == {
        "year": 2031,
        "as_of": "2030-05-01",
        "departments": [],
    }


def test_task_lists_page_and_filter(run):
    plan = new_plan(run, None)["id"]
    made = [new_task(run, plan, "2030-06-30", owner=f"user{i % 2}x") for i in range(5)]
    advance(run, made[0]["id"], "checked")

    first = listed(run, plans.list_tasks, contracts.plans.TaskSearch, plan_id=plan, limit=3)
    rest = listed(
        run,
        plans.list_tasks,
        contracts.plans.TaskSearch,
        plan_id=plan,
        limit=3,
        cursor=first["next_cursor"],
    )

    assert [t["id"] for t in first["items"] + rest["items"]] == [t["id"] for t in made]
    assert (
        len(listed(run, plans.list_tasks, contracts.plans.TaskSearch, owner="user0x")["items"]) == 3
    )
    assert [
        t["id"]
        for t in listed(run, plans.list_tasks, contracts.plans.TaskSearch, status="checked")[
            "items"
        ]
    ] == [made[0]["id"]]


def test_the_scan_interval_comes_from_configuration(monkeypatch):
    def interval(config):
        timer = ConfiguredTimer("TASK_OVERDUE_SCAN_SECONDS")
        timer.container = SimpleNamespace(config=config)
        timer.setup()
        return timer.interval

    monkeypatch.delenv("TASK_OVERDUE_SCAN_SECONDS", raising=False)
    assert interval({}) == 3600
    assert interval({"TASK_OVERDUE_SCAN_SECONDS": "0.5"}) == 0.5
    monkeypatch.setenv("TASK_OVERDUE_SCAN_SECONDS", "60")
    assert interval({}) == 60
    with pytest.raises(ValueError):
        interval({"TASK_OVERDUE_SCAN_SECONDS": 0})


def test_the_school_day_is_beijings():
    assert school_date(datetime(2030, 3, 31, 15, 59, tzinfo=UTC)) == date(2030, 3, 31)
    assert school_date(datetime(2030, 3, 31, 16, 0, tzinfo=UTC)) == date(2030, 4, 1)
    assert school_date(datetime(2030, 3, 31, 16, 0)) == date(2030, 4, 1)  # naive is UTC


# ---- suggestions -----------------------------------------------------------------------


def suggest(run, subject="建议开设校友讲座直播") -> dict:
    data = load(
        contracts.feedback.SuggestionInput(),
        {"alumnus_id": str(uuid.uuid4()), "subject": subject, "body": "我在外地，希望线上参加。"},
    )
    return run(feedback.submit_suggestion, data, NOW)


def test_a_suggestion_is_answered_once_and_the_alumnus_told(run):
    suggestion = suggest(run)
    assert (suggestion["status"], suggestion["answer"]) == ("open", None)
    assert outbox(run) == []

    answered = run(
        feedback.answer_suggestion, suggestion["id"], {"answer": "下学期起直播。"}, OFFICE, NOW
    )
    with pytest.raises(Conflict) as caught:
        run(feedback.answer_suggestion, suggestion["id"], {"answer": "再答"}, OFFICE, NOW)

    assert refused_with("invalid_transition", caught.value)["status"] == "answered"
    assert (answered["status"], answered["answer"], answered["answered_by"]) == (
        "answered",
        "下学期起直播。",
        "office1",
    )
    [event] = outbox(run, "suggestion_answered")
    assert event["data"] == {
        "suggestion_id": suggestion["id"],
        "alumnus_id": suggestion["alumnus_id"],
        "subject": suggestion["subject"],
        "answer": "下学期起直播。",
        "answered_by": "office1",
        "answered_at": NOW.isoformat(),
    }


def test_suggestions_are_listed_by_status(run):
    made = [suggest(run, f"建议 {i}") for i in range(4)]
    run(feedback.answer_suggestion, made[2]["id"], {"answer": "好"}, OFFICE, NOW)

    open_ = listed(
        run, feedback.list_suggestions, contracts.feedback.SuggestionSearch, status="open", limit=2
    )
    more = listed(
        run,
        feedback.list_suggestions,
        contracts.feedback.SuggestionSearch,
        status="open",
        limit=2,
        cursor=open_["next_cursor"],
    )
    answered = listed(
        run, feedback.list_suggestions, contracts.feedback.SuggestionSearch, status="answered"
    )
    theirs = listed(
        run,
        feedback.list_suggestions,
        contracts.feedback.SuggestionSearch,
        alumnus_id=made[0]["alumnus_id"],
    )

    assert [s["id"] for s in open_["items"] + more["items"]] == [made[i]["id"] for i in (0, 1, 3)]
    assert more["next_cursor"] is None
    assert [s["id"] for s in answered["items"]] == [made[2]["id"]]
    assert [s["id"] for s in theirs["items"]] == [made[0]["id"]]
    unknown = str(uuid.uuid4())
    with pytest.raises(NotFound) as caught:
        run(feedback.answer_suggestion, unknown, {"answer": "好"}, OFFICE, NOW)
    assert caught.value.details == {"suggestion_id": unknown}


def test_bad_suggestions_are_refused():
    errors = refused(
        contracts.feedback.SuggestionInput(), {"alumnus_id": "x", "subject": "", "extra": 1}
    )
    assert set(errors) == {"alumnus_id", "subject", "body", "extra"}
    assert list(refused(contracts.feedback.SuggestionSearch(), {"status": "closed"})) == ["status"]


# ---- service requests ---------------------------------------------------------------


def service_request(run, kind="technology_consulting") -> dict:
    data = load(
        contracts.feedback.ServiceRequestInput(),
        {
            "alumnus_id": str(uuid.uuid4()),
            "company": "济南某某科技有限公司",
            "kind": kind,
            "description": "需要数据库性能优化方面的咨询。",
        },
    )
    return run(feedback.submit_service_request, data, NOW)


def assign(run, request_id, assignee, note=None):
    data = load(contracts.feedback.ServiceRequestAssignment(), {"assignee": assignee, "note": note})
    return run(feedback.assign_service_request, request_id, data, OFFICE, NOW)


def progress(run, request_id, status, note=None):
    data = load(contracts.feedback.ServiceRequestProgress(), {"status": status, "note": note})
    return run(feedback.progress_service_request, request_id, data, LIAISON, NOW)


def test_a_service_request_is_assigned_tracked_and_resolved(run):
    request = service_request(run)
    assert (request["status"], request["assignee"], request["history"]) == ("open", None, [])

    assign(run, request["id"], "teacher_li", "计算机学院对口")
    assign(run, request["id"], "teacher_wang")  # handed on, still assigned
    progress(run, request["id"], "in_progress")
    run(feedback.add_service_request_note, request["id"], {"note": "已约见面"}, LIAISON, NOW)
    resolved = progress(run, request["id"], "resolved", "咨询完成，客户满意")

    assert (resolved["status"], resolved["assignee"]) == ("resolved", "teacher_wang")
    assert [(e["status"], e["note"], e["actor"]) for e in resolved["history"]] == [
        ("assigned", "指派给 teacher_li：计算机学院对口", "office1"),
        ("assigned", "指派给 teacher_wang", "office1"),
        ("in_progress", None, "liaison1"),
        ("in_progress", "已约见面", "liaison1"),
        ("resolved", "咨询完成，客户满意", "liaison1"),
    ]
    mine = load(contracts.feedback.ServiceRequestSearch, {"alumnus_id": request["alumnus_id"]})
    assert run(feedback.list_service_requests, mine)["items"] == [resolved]
    # The alumnus is told of each change of status: not of a hand-over, nor of a note.
    progressed = outbox(run, "service_request_progressed")
    assert [(e["data"]["status"], e["data"]["note"]) for e in progressed] == [
        ("assigned", "计算机学院对口"),
        ("in_progress", None),
        ("resolved", "咨询完成，客户满意"),
    ]
    assert {e["data"]["request_id"] for e in progressed} == {request["id"]}
    assert {e["data"]["alumnus_id"] for e in progressed} == {request["alumnus_id"]}
    assert all(check_event(e) == e for e in progressed)


@pytest.mark.parametrize(
    ("path", "target", "allowed"),
    [
        ([], "in_progress", ["assign", "close"]),
        (["assign"], "resolved", ["start", "close"]),
        (["assign", "in_progress", "resolved"], "closed", []),
        (["closed"], "assign", []),
    ],
)
def test_service_request_transitions_refused(run, path, target, allowed):
    request_id = service_request(run)["id"]
    for step in path:
        if step == "assign":
            assign(run, request_id, "teacher_li")
        else:
            progress(run, request_id, step, "说明")

    with pytest.raises(Conflict) as caught:
        if target == "assign":
            assign(run, request_id, "teacher_li")
        else:
            progress(run, request_id, target, "说明")
    assert refused_with("invalid_transition", caught.value)["allowed_steps"] == allowed


def test_an_open_request_may_be_closed_and_lists_filter(run):
    closed = service_request(run, kind="talent_training")
    other = service_request(run)
    assign(run, other["id"], "teacher_li")
    progress(run, closed["id"], "closed", "重复提交")

    assert [
        r["id"]
        for r in listed(
            run,
            feedback.list_service_requests,
            contracts.feedback.ServiceRequestSearch,
            status="closed",
        )["items"]
    ] == [closed["id"]]
    assert [
        r["id"]
        for r in listed(
            run,
            feedback.list_service_requests,
            contracts.feedback.ServiceRequestSearch,
            assignee="teacher_li",
        )["items"]
    ] == [other["id"]]
    assert [
        r["id"]
        for r in listed(
            run,
            feedback.list_service_requests,
            contracts.feedback.ServiceRequestSearch,
            kind="talent_training",
        )["items"]
    ] == [closed["id"]]
    unknown = str(uuid.uuid4())
    with pytest.raises(NotFound) as caught:
        progress(run, unknown, "in_progress")
    assert caught.value.details == {"request_id": unknown}


def test_bad_service_requests_are_refused():
    errors = refused(
        contracts.feedback.ServiceRequestInput(),
        {"alumnus_id": str(uuid.uuid4()), "company": "x", "kind": "loan", "description": "x"},
    )
    assert list(errors) == ["kind"]
    assert list(refused(contracts.feedback.ServiceRequestProgress(), {"status": "resolved"})) == [
        "note"
    ]
    assert refused(contracts.feedback.ServiceRequestProgress(), {"status": "open"})["status"]


# ---- cooperation projects ----------------------------------------------------------


def project(run, **overrides) -> dict:
    raw = {
        "title": "校企联合实验室",
        "partner": "某某集团",
        "contacts": [
            {"name": "李经理", "phone": "13900139000", "alumnus_id": str(uuid.uuid4())},
            {"name": "赵主任", "email": "zhao@example.com"},
        ],
        **overrides,
    }
    return run(
        cooperation.create_project, load(contracts.cooperation.ProjectInput(), raw), OFFICE, NOW
    )


def change(run, project_id, status, note=None, now=NOW):
    data = load(contracts.cooperation.ProjectStatusChange(), {"status": status, "note": note})
    return run(cooperation.change_project_status, project_id, data, LIAISON, now)


def test_a_cooperation_project_moves_on_with_append_only_notes(run):
    made = project(run, department_id=str(uuid.uuid4()))
    assert made["status"] == "proposed"
    assert made["contacts"][1] == {
        "name": "赵主任",
        "phone": None,
        "email": "zhao@example.com",
        "alumnus_id": None,
    }

    change(run, made["id"], "active", "协议已签署")
    run(
        cooperation.add_project_note,
        made["id"],
        {"note": "首批设备到位"},
        OFFICE,
        NOW + timedelta(days=1),
    )
    change(run, made["id"], "suspended")
    done = change(run, made["id"], "completed", "结题验收", now=NOW + timedelta(days=2))

    assert done["status"] == "completed"
    assert [(n["note"], n["author"]) for n in done["notes"]] == [
        ("协议已签署", "liaison1"),
        ("首批设备到位", "office1"),
        ("结题验收", "liaison1"),
    ]
    assert done["updated_at"] == (NOW + timedelta(days=2)).isoformat()
    with pytest.raises(Conflict) as caught:
        change(run, made["id"], "active")
    assert refused_with("invalid_transition", caught.value)["allowed_statuses"] == []
    # Notes go on after completion; earlier ones stay as they were.
    noted = run(cooperation.add_project_note, made["id"], {"note": "回访"}, OFFICE, NOW)
    assert noted["notes"][:3] == done["notes"]


@pytest.mark.parametrize(
    ("start", "target", "allowed"),
    [
        ("proposed", "completed", ["active", "suspended"]),
        ("proposed", "proposed", ["active", "suspended"]),
        ("active", "proposed", ["suspended", "completed"]),
        ("suspended", "proposed", ["active", "completed"]),
    ],
)
def test_project_status_changes_refused(run, start, target, allowed):
    made = project(run, status=start)
    with pytest.raises(Conflict) as caught:
        change(run, made["id"], target)
    details = refused_with("invalid_transition", caught.value)
    assert (details["status"], details["allowed_statuses"]) == (start, allowed)


def test_every_workflow_table_knows_the_statuses_of_its_contract():
    assert cooperation.PROJECT_STATUS.statuses == contracts.cooperation.PROJECT_STATUSES
    assert feedback.REQUEST_STATUS.statuses == contracts.feedback.SERVICE_REQUEST_STATUSES
    assert feedback.SUGGESTION_STATUS.statuses == contracts.feedback.SUGGESTION_STATUSES
    assert plans.TASK_STATUS.statuses == contracts.plans.TASK_STATUSES
    assert visits.VISIT_STATUS.statuses == contracts.visits.VISIT_STATUSES


def test_projects_are_updated_and_listed(run):
    department = str(uuid.uuid4())
    first, second = project(run), project(run, status="active", department_id=department)
    patch = load(
        contracts.cooperation.ProjectPatch(), {"partner": "新伙伴", "contacts": [{"name": "钱总"}]}
    )
    updated = run(cooperation.update_project, first["id"], patch, NOW + timedelta(hours=1))

    assert (updated["partner"], updated["title"]) == ("新伙伴", first["title"])
    assert updated["contacts"] == [
        {"name": "钱总", "phone": None, "email": None, "alumnus_id": None}
    ]
    assert [
        p["id"]
        for p in listed(
            run, cooperation.list_projects, contracts.cooperation.ProjectSearch, status="active"
        )["items"]
    ] == [second["id"]]
    assert [
        p["id"]
        for p in listed(
            run,
            cooperation.list_projects,
            contracts.cooperation.ProjectSearch,
            department_id=department,
        )["items"]
    ] == [second["id"]]
    page = listed(run, cooperation.list_projects, contracts.cooperation.ProjectSearch, limit=1)
    assert [p["id"] for p in page["items"]] == [first["id"]] and page["next_cursor"]
    unknown = str(uuid.uuid4())
    with pytest.raises(NotFound) as caught:
        run(cooperation.get_project, unknown)
    assert caught.value.details == {"project_id": unknown}


def test_bad_projects_are_refused():
    errors = refused(
        contracts.cooperation.ProjectInput(),
        {
            "title": "x",
            "partner": "y",
            "status": "dead",
            "contacts": [{"name": "李", "phone": "1"}],
        },
    )
    assert set(errors) == {"status", "contacts"}
    assert list(errors["contacts"][0]) == ["phone"]
    assert list(refused(contracts.common.NoteInput(), {"note": ""})) == ["note"]


# ---- the events on the bus -----------------------------------------------------------


def test_every_workflow_event_conforms_to_its_contract(run):
    visit = request_visit(run)
    decide(run, visit["id"], decision="approved", host="王老师")
    task = new_task(run, new_plan(run, None)["id"], "2030-04-01")
    run(plans.flag_overdue_tasks, TODAY, NOW)
    run(feedback.answer_suggestion, suggest(run)["id"], {"answer": "好"}, OFFICE, NOW)
    assign(run, service_request(run)["id"], "teacher_li")

    recorded = outbox(run)

    assert [e["event_type"] for e in recorded] == [
        "visit_requested",
        "visit_decided",
        "task_overdue",
        "suggestion_answered",
        "service_request_progressed",
    ]
    assert recorded[2]["data"]["task"]["id"] == task["id"]
    for event in recorded:
        assert check_event(event) == event
