"""The events service's engagement workflows in a real nameko container, over real
RabbitMQ, on SQLite and PostgreSQL: visits, work plans with the overdue scan,
suggestions, service requests and cooperation projects, driven over RPC, with
their events checked as they arrive on the `events.events` exchange.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import eventlet
import pytest

from services.common.errors import Conflict, NotFound, ValidationFailed
from services.events.common import school_date
from services.events.service import EventsService
from tests.support.taps import drain


def nothing_more(tap) -> bool:
    try:
        message = tap.get(timeout=1)
    except tap.Empty:
        return True
    message.ack()
    return False


def today() -> str:
    return school_date(datetime.now(UTC)).isoformat()


def days_from_today(days: int) -> str:
    return (school_date(datetime.now(UTC)) + timedelta(days=days)).isoformat()


def test_visits_over_rpc(events_container, rpc_cluster, event_tap):
    events = rpc_cluster.events
    department = str(uuid.uuid4())
    contact = {"name": "张三", "phone": "13800138000"}
    visit = events.request_visit(
        {
            "requester_alumnus_id": str(uuid.uuid4()),
            "department_id": department,
            "visit_date": today(),
            "group_size": 2,
            "purpose": "回母校看看",
            "contact": contact,
        }
    )
    reunion = events.request_visit(
        {
            "department_id": department,
            "class_year": 2000,
            "class_name": "计算机 1 班",
            "visit_date": days_from_today(30),
            "group_size": 45,
            "purpose": "毕业三十周年聚会",
            "contact": contact,
        }
    )
    with pytest.raises(ValidationFailed) as caught:
        events.request_visit({"visit_date": today(), "group_size": 0})
    assert set(caught.value.details["fields"]) == {"group_size", "purpose", "contact"}

    approved = events.decide_visit(visit["id"], {"decision": "approved", "host": "王老师"})
    declined = events.decide_visit(
        reunion["id"], {"decision": "declined", "note": "当天校内有大型考试，请改期"}
    )
    with pytest.raises(Conflict) as conflict:
        events.decide_visit(reunion["id"], {"decision": "approved", "host": "王"})
    assert conflict.value.reason == "invalid_transition"
    assert conflict.value.details["status"] == "declined"
    done = events.complete_visit(visit["id"], {"notes": "参观了新图书馆"})
    unknown = str(uuid.uuid4())
    with pytest.raises(NotFound) as missing:
        events.get_visit(unknown)
    assert missing.value.details == {"visit_id": unknown}

    assert (approved["status"], approved["host"]) == ("approved", "王老师")
    assert declined["status"] == "declined"
    assert done["status"] == "done"
    assert events.get_visit(visit["id"]) == done
    listed = events.list_visits({"department_id": department, "limit": 1})
    assert [r["id"] for r in listed["items"]] == [visit["id"]]
    assert (
        events.list_visits({"cursor": listed["next_cursor"]})["items"][0]["id"] == (reunion["id"])
    )

    published = drain(event_tap, 4)
    assert [(e["event_type"], e["data"].get("decision")) for e in published] == [
        ("visit_requested", None),
        ("visit_requested", None),
        ("visit_decided", "approved"),
        ("visit_decided", "declined"),
    ]
    assert published[1]["data"]["requester_type"] == "class"
    assert published[2]["data"]["host"] == "王老师"
    assert all("contact" not in e["data"] for e in published)


def test_plans_tasks_overdue_scan_and_summary_over_rpc(events_container, rpc_cluster, event_tap):
    events = rpc_cluster.events
    department = str(uuid.uuid4())
    year = school_date(datetime.now(UTC)).year
    plan = events.create_plan({"department_id": department, "year": year, "title": "年度计划"})
    with pytest.raises(Conflict) as conflict:
        events.create_plan({"department_id": department, "year": year, "title": "又一份"})
    assert conflict.value.details == {"plan_id": plan["id"], "reason": "plan_exists"}
    late = events.add_task(
        plan["id"], {"title": "更新校友名录", "owner": "liaison1", "due_date": days_from_today(-1)}
    )
    ahead = events.add_task(
        plan["id"], {"title": "组织返校日", "owner": "liaison1", "due_date": days_from_today(10)}
    )
    events.advance_task(ahead["id"], {"status": "checked", "note": "方案已审"})
    done = events.advance_task(ahead["id"], {"status": "done", "note": "活动已举办"})
    with pytest.raises(Conflict) as conflict:
        events.advance_task(late["id"], {"status": "done", "note": "跳步"})
    assert conflict.value.reason == "invalid_transition"
    assert conflict.value.details["allowed_statuses"] == ["checked"]

    first = events.flag_overdue_tasks()
    again = events.flag_overdue_tasks()

    assert first == {"flagged": 1, "task_ids": [late["id"]]}
    assert again == {"flagged": 0, "task_ids": []}
    assert events.get_task(late["id"])["overdue_flagged_at"] is not None
    assert [s["status"] for s in done["steps"]] == ["assigned", "checked", "done"]
    assert [t["id"] for t in events.list_tasks({"plan_id": plan["id"]})["items"]] == [
        late["id"],
        ahead["id"],
    ]
    summary = events.department_summary(year)
    assert summary["departments"] == [
        {
            "department_id": department,
            "tasks_total": 2,
            "tasks_done": 1,
            "tasks_done_on_time": 1,
            "tasks_overdue": 1,
            "events_held": 0,
            "events_reported": 0,
        }
    ]
    with pytest.raises(ValidationFailed) as invalid:
        events.department_summary("2030")
    assert list(invalid.value.details["fields"]) == ["year"]

    [overdue] = drain(event_tap, 1)
    assert overdue["event_type"] == "task_overdue"
    assert overdue["data"]["task"]["id"] == late["id"]
    assert overdue["data"]["plan"]["department_id"] == department
    assert nothing_more(event_tap)  # the second scan sent nothing


def test_the_timer_flags_overdue_tasks(events_config, container_factory, rpc_cluster):
    container = container_factory(
        EventsService, {**events_config, "TASK_OVERDUE_SCAN_SECONDS": 0.2}
    )
    container.start()
    events = rpc_cluster.events
    plan = events.create_plan({"year": 2030, "title": "办公室计划"})
    task = events.add_task(
        plan["id"], {"title": "x", "owner": "office1", "due_date": days_from_today(-3)}
    )

    deadline = time.monotonic() + 10
    while events.get_task(task["id"])["overdue_flagged_at"] is None:
        assert time.monotonic() < deadline, "the timer did not flag the overdue task"
        eventlet.sleep(0.1)


def test_suggestions_service_requests_and_projects_over_rpc(
    events_container, rpc_cluster, event_tap
):
    events = rpc_cluster.events
    alumnus = str(uuid.uuid4())

    suggestion = events.submit_suggestion(
        {"alumnus_id": alumnus, "subject": "建议开设线上讲座", "body": "身在外地，盼线上参加。"}
    )
    answered = events.answer_suggestion(suggestion["id"], {"answer": "下学期起直播。"})
    with pytest.raises(Conflict) as conflict:
        events.answer_suggestion(suggestion["id"], {"answer": "再答"})
    assert conflict.value.reason == "invalid_transition"
    assert answered["status"] == "answered"
    assert events.list_suggestions({"status": "open"})["items"] == []
    assert events.list_suggestions({"status": "answered"})["items"] == [answered]

    request = events.submit_service_request(
        {
            "alumnus_id": alumnus,
            "company": "济南某某科技有限公司",
            "kind": "talent_training",
            "description": "希望学校帮助培训一批数据分析人员。",
        }
    )
    events.assign_service_request(request["id"], {"assignee": "teacher_li"})
    events.progress_service_request(request["id"], {"status": "in_progress"})
    events.add_service_request_note(request["id"], {"note": "已制定培训方案"})
    with pytest.raises(ValidationFailed) as invalid:
        events.progress_service_request(request["id"], {"status": "resolved"})
    assert list(invalid.value.details["fields"]) == ["note"]
    resolved = events.progress_service_request(
        request["id"], {"status": "resolved", "note": "培训完成"}
    )
    assert resolved["status"] == "resolved"
    assert [e["status"] for e in resolved["history"]] == [
        "assigned",
        "in_progress",
        "in_progress",
        "resolved",
    ]
    assert events.list_service_requests({"assignee": "teacher_li"})["items"] == [resolved]

    project = events.create_project(
        {
            "title": "校企联合实验室",
            "partner": "某某集团",
            "contacts": [{"name": "李经理", "phone": "13900139000", "alumnus_id": alumnus}],
        }
    )
    events.change_project_status(project["id"], {"status": "active", "note": "协议签署"})
    noted = events.add_project_note(project["id"], {"note": "设备到位"})
    with pytest.raises(Conflict) as conflict:
        events.change_project_status(project["id"], {"status": "proposed"})
    assert conflict.value.details["allowed_statuses"] == ["suspended", "completed"]
    updated = events.update_project(project["id"], {"title": "校企联合实验室（二期）"})
    assert noted["status"] == "active"
    assert [n["note"] for n in noted["notes"]] == ["协议签署", "设备到位"]
    assert updated["title"] == "校企联合实验室（二期）"
    assert events.get_project(project["id"]) == updated
    assert events.list_projects({"status": "active"})["items"] == [updated]

    [event] = drain(event_tap, 1)
    assert event["event_type"] == "suggestion_answered"
    assert event["data"]["suggestion_id"] == suggestion["id"]
    assert event["data"]["answer"] == "下学期起直播。"
    assert "body" not in event["data"]
