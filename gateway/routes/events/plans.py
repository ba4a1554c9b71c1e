"""Yearly work plans and their tasks (工作计划): assigned, checked, done; the yearly summary."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from gateway import schemas as edge
from gateway.auth import Principal
from gateway.authz import plans as plan_rules
from gateway.authz.base import COMMITTEE, OFFICE, STAFF_ROLES
from gateway.http import api
from gateway.routes.events.common import EventsRoutesBase
from services.common.contracts.events import plans as contract

TASK_PAGE = 100


class PlanRoutes(EventsRoutesBase):
    @api(
        "GET",
        "/api/v1/plans",
        "Yearly work plans; a liaison's, of their department.",
        "plans",
        STAFF_ROLES,
        query=edge.PlanQuery,
        response=contract.Plan,
        many=True,
    )
    def list_plans(
        self, request: Request, principal: Principal, query: dict[str, Any]
    ) -> dict[str, Any]:
        return self.events.list_plans(plan_rules.scope_plan_search(principal, query))

    @api(
        "POST",
        "/api/v1/plans",
        "Create a department's (or, without department_id, the office's) plan for a year.",
        "plans",
        STAFF_ROLES,
        body=contract.PlanInput,
        response=contract.Plan,
        status=201,
    )
    def create_plan(self, request: Request, principal: Principal, body: dict[str, Any]):
        plan_rules.check_plan_create(principal, body)
        self._known_department(body.get("department_id"), "department_id")
        return self.events.create_plan(body)

    @api(
        "GET",
        "/api/v1/plans/summary",
        "Per-department assessment for a year: plan tasks done and overdue, events held and "
        "reported.",
        "plans",
        (OFFICE, COMMITTEE),
        query=edge.SummaryParams,
        response=contract.DepartmentSummary,
    )
    def plans_summary(self, request: Request, principal: Principal, query: dict[str, Any]):
        return self.events.department_summary(query["year"])

    @api(
        "POST",
        "/api/v1/plans/overdue-scan",
        "Run the overdue-task scan now (it also runs by itself): flags each task past its due "
        "date and not done, once, and says how many it flagged.",
        "plans",
        (OFFICE,),
        response=contract.OverdueScan,
    )
    def scan_overdue_tasks(self, request: Request, principal: Principal):
        return self.events.flag_overdue_tasks()

    @api(
        "GET",
        "/api/v1/plans/{plan_id}",
        "One plan with its tasks and their steps.",
        "plans",
        STAFF_ROLES,
        response=edge.PlanDetail,
    )
    def get_plan(self, request: Request, principal: Principal, plan_id: str):
        plan = self.events.get_plan(plan_id)
        plan_rules.check_plan_access(principal, plan)
        tasks: list[dict[str, Any]] = []
        params: dict[str, Any] = {"plan_id": plan["id"], "limit": TASK_PAGE}
        while True:
            page = self.events.list_tasks(params)
            tasks.extend(page["items"])
            if page["next_cursor"] is None:
                return {**plan, "tasks": tasks}
            params["cursor"] = page["next_cursor"]

    @api(
        "POST",
        "/api/v1/plans/{plan_id}/tasks",
        "Assign a task of a plan (布置): owner, due date.",
        "plans",
        STAFF_ROLES,
        body=contract.TaskInput,
        response=contract.Task,
        status=201,
    )
    def add_task(self, request: Request, principal: Principal, plan_id: str, body: dict[str, Any]):
        plan_rules.check_plan_access(principal, self.events.get_plan(plan_id))
        return self.events.add_task(plan_id, body)

    @api(
        "POST",
        "/api/v1/tasks/{task_id}/advance",
        "Move a task one step (assigned → checked → done) with its evidence note.",
        "plans",
        STAFF_ROLES,
        body=contract.TaskAdvance,
        response=contract.Task,
    )
    def advance_task(
        self, request: Request, principal: Principal, task_id: str, body: dict[str, Any]
    ):
        task = self.events.get_task(task_id)
        plan_rules.check_plan_access(principal, self.events.get_plan(task["plan_id"]))
        return self.events.advance_task(task_id, body)
