"""Events-service routes: events and registrations, lecture series, visits (receptions), work
plans and tasks, suggestions, service requests, cooperation projects.

Who may do what is decided in gateway/authz.py and summed up in docs/api-events.md. The
gateway checks bodies and query strings against the events service's contracts (422 naming
the field) before calling it; the service checks them again and owns every rule that needs
its database (seats, the waitlist, windows, status transitions).
"""

from __future__ import annotations

import base64
from typing import Any

from werkzeug.wrappers import Request, Response

from gateway import authz
from gateway import schemas as edge
from gateway.auth import Principal
from gateway.http import api, query_args, read_json
from gateway.presenters import (
    present_items,
    present_project,
    present_reception,
    present_registrations,
    present_roster,
)
from services.common.contracts import events as ev
from services.common.contracts.base import load_or_raise
from services.common.errors import NotFound, ValidationFailed

OFFICE, COMMITTEE, LIAISON, ALUMNUS = (
    authz.OFFICE,
    authz.COMMITTEE,
    authz.LIAISON,
    authz.ALUMNUS,
)
EVERYONE = authz.ALL_ROLES
STAFF = authz.STAFF_ROLES
MANAGERS = (OFFICE, LIAISON)
EVENT = "/api/v1/events/{event_id}"
REGISTRATION = EVENT + "/registrations/{registration_id}"
SERIES = "/api/v1/series/{series_id}"
TASK_PAGE = 100


class EventsRoutes:
    registry: Any
    events: Any

    # ---- events ---------------------------------------------------------------------

    @api(
        "GET",
        "/api/v1/events",
        "List events by start time; drafts only for the office, the committee and the "
        "organising department's liaison.",
        "events",
        EVERYONE,
        query=ev.EventSearch,
        response=ev.Event,
        many=True,
    )
    def list_events(self, request: Request, principal: Principal) -> dict[str, Any]:
        params = query_args(request, ev.EventSearch())
        return self.events.list_events(authz.scope_event_search(principal, params))

    @api(
        "POST",
        "/api/v1/events",
        "Create an event, in draft until published; a liaison for their own department.",
        "events",
        MANAGERS,
        body=ev.EventInput,
        response=ev.Event,
        status=201,
    )
    def create_event(self, request: Request, principal: Principal):
        body = read_json(request)
        data = load_or_raise(ev.EventInput(), body)
        authz.check_event_create(principal, data)
        self._check_organiser(data)
        return 201, self.events.create_event(body)

    @api("GET", EVENT, "One event.", "events", EVERYONE, response=ev.Event)
    def get_event(self, request: Request, principal: Principal, event_id: str):
        event = self.events.get_event(event_id)
        authz.check_event_read(principal, event)
        return event

    @api(
        "PATCH",
        EVENT,
        "Change some fields of an event; a larger capacity promotes from the waitlist.",
        "events",
        MANAGERS,
        body=ev.EventPatch,
        response=ev.Event,
        extra_statuses=(409,),
    )
    def update_event(self, request: Request, principal: Principal, event_id: str):
        body = read_json(request)
        patch = load_or_raise(ev.EventPatch(), body)
        event = self.events.get_event(event_id)
        authz.check_event_update(principal, event, patch)
        if "organiser_type" in patch or "organiser_id" in patch:
            self._check_organiser({**event, **patch})
        return self.events.update_event(event_id, body)

    @api(
        "POST",
        EVENT + "/publish",
        "Publish a draft: it becomes visible to alumni and takes sign-ups in its window.",
        "events",
        MANAGERS,
        response=ev.Event,
        extra_statuses=(409,),
    )
    def publish_event(self, request: Request, principal: Principal, event_id: str):
        self._managed_event(principal, event_id)
        return self.events.publish_event(event_id)

    @api(
        "POST",
        EVENT + "/close",
        "Close sign-ups of a published event; cancellations and promotions go on.",
        "events",
        MANAGERS,
        response=ev.Event,
        extra_statuses=(409,),
    )
    def close_event(self, request: Request, principal: Principal, event_id: str):
        self._managed_event(principal, event_id)
        return self.events.close_event(event_id)

    @api(
        "POST",
        EVENT + "/finish",
        "Mark an event that has begun as finished (then it can be reported).",
        "events",
        MANAGERS,
        response=ev.Event,
        extra_statuses=(409,),
    )
    def finish_event(self, request: Request, principal: Principal, event_id: str):
        self._managed_event(principal, event_id)
        return self.events.finish_event(event_id)

    @api(
        "POST",
        EVENT + "/cancel",
        "Cancel an event; the body (a reason) may be left out.",
        "events",
        MANAGERS,
        body=ev.EventCancellation,
        body_optional=True,
        response=ev.Event,
        extra_statuses=(409,),
    )
    def cancel_event(self, request: Request, principal: Principal, event_id: str):
        body = read_json(request, optional=True) or {}
        load_or_raise(ev.EventCancellation(), body)
        self._managed_event(principal, event_id)
        return self.events.cancel_event(event_id, body)

    def _managed_event(self, principal: Principal, event_id: str) -> dict[str, Any]:
        event = self.events.get_event(event_id)
        authz.check_event_manage(principal, event)
        return event

    def _check_organiser(self, event: dict[str, Any]) -> None:
        if event.get("organiser_type") == "department" and event.get("organiser_id"):
            self._known_department(event["organiser_id"], "organiser_id")

    def _known_department(self, department_id: Any, field: str) -> None:
        """A department named in a body exists (422 naming the field otherwise)."""
        if department_id is None:
            return
        try:
            self.registry.get_department(str(department_id))
        except NotFound:
            raise ValidationFailed(
                "请求数据校验失败。", {"fields": {field: ["院系不存在。"]}}
            ) from None

    def _known_alumnus(self, alumnus_id: str, field: str) -> None:
        """An alumnus named by staff exists (422 naming the field otherwise)."""
        try:
            self.registry.get_alumnus(alumnus_id)
        except NotFound:
            raise ValidationFailed(
                "请求数据校验失败。", {"fields": {field: ["校友不存在。"]}}
            ) from None

    # ---- registrations --------------------------------------------------------------

    @api(
        "GET",
        EVENT + "/registrations",
        "The event's registrations in sign-up order; filter by status.",
        "registrations",
        STAFF,
        query=ev.RegistrationSearch,
        response=edge.RegistrationView,
        many=True,
    )
    def list_registrations(self, request: Request, principal: Principal, event_id: str):
        params = query_args(request, ev.RegistrationSearch())
        event = self.events.get_event(event_id)
        authz.check_event_staff_read(principal, event)
        page = self.events.list_registrations(event_id, params)
        return present_registrations(principal, event, page)

    @api(
        "POST",
        EVENT + "/registrations",
        "Sign up: a seat if all fit, else the waitlist. An alumnus signs up as themselves "
        "(leave alumnus_id out); staff who run the event name the alumnus. Signing up "
        "again returns the live registration.",
        "registrations",
        (OFFICE, LIAISON, ALUMNUS),
        body=edge.SignUpRequest,
        response=ev.Registration,
        status=201,
        extra_statuses=(409,),
    )
    def sign_up(self, request: Request, principal: Principal, event_id: str):
        body = read_json(request)
        data = load_or_raise(edge.SignUpRequest(), body)
        event = self.events.get_event(event_id)
        alumnus_id = authz.sign_up_as(principal, event, data)
        if principal.role != ALUMNUS:
            self._known_alumnus(alumnus_id, "alumnus_id")
        registration = self.events.sign_up(
            event_id, {"alumnus_id": alumnus_id, "guests": data["guests"]}
        )
        return 201, registration

    @api(
        "DELETE",
        REGISTRATION,
        "Cancel a registration; a freed seat goes to the waitlist at once, in order.",
        "registrations",
        (OFFICE, LIAISON, ALUMNUS),
        response=ev.Registration,
        extra_statuses=(409,),
    )
    def cancel_registration(
        self, request: Request, principal: Principal, event_id: str, registration_id: str
    ):
        self._accessible_registration(principal, event_id, registration_id)
        return self.events.cancel_registration(event_id, registration_id)

    @api(
        "GET",
        REGISTRATION + "/qr",
        "The check-in QR code (PNG) of a confirmed registration.",
        "registrations",
        (OFFICE, LIAISON, ALUMNUS),
        content_type="image/png",
        extra_statuses=(409,),
    )
    def registration_qr(
        self, request: Request, principal: Principal, event_id: str, registration_id: str
    ) -> Response:
        self._accessible_registration(principal, event_id, registration_id)
        qr = self.events.registration_qr(registration_id)
        return Response(
            base64.b64decode(qr["png_base64"]),
            content_type=qr["content_type"],
            # The picture admits its holder: no shared cache keeps it.
            headers={"Cache-Control": "no-store"},
        )

    def _accessible_registration(
        self, principal: Principal, event_id: str, registration_id: str
    ) -> dict[str, Any]:
        event = self.events.get_event(event_id)
        registration = self.events.get_registration(registration_id)
        authz.check_registration_access(principal, event, registration)
        return registration

    @api(
        "POST",
        EVENT + "/checkins",
        "Check in by the token of a QR code: 201 when recorded, 200 (already_recorded) on a "
        "second scan.",
        "registrations",
        MANAGERS,
        body=ev.CheckInInput,
        response=edge.CheckInAnswer,
        status=201,
        extra_success=(200,),
        extra_statuses=(409,),
    )
    def check_in(self, request: Request, principal: Principal, event_id: str):
        body = read_json(request)
        load_or_raise(ev.CheckInInput(), body)
        self._managed_event(principal, event_id)
        result = self.events.check_in(event_id, body)
        already = result["already_checked_in"]
        answer = {"registration": result["registration"], "already_recorded": already}
        return (200 if already else 201), answer

    @api(
        "GET",
        EVENT + "/stats",
        "Attendance: confirmed, waitlisted, cancelled, checked in, seats left.",
        "registrations",
        STAFF,
        response=ev.AttendanceStats,
    )
    def event_stats(self, request: Request, principal: Principal, event_id: str):
        event = self.events.get_event(event_id)
        authz.check_event_staff_read(principal, event)
        return self.events.attendance_stats(event_id)

    @api(
        "GET",
        EVENT + "/roster",
        "Confirmed attendees with names and contacts (masked unless the role may see them).",
        "registrations",
        STAFF,
        response=edge.RosterLineView,
        many=True,
    )
    def event_roster(self, request: Request, principal: Principal, event_id: str):
        event = self.events.get_event(event_id)
        authz.check_event_staff_read(principal, event)
        return present_roster(principal, event, self.events.event_roster(event_id))

    @api(
        "GET",
        "/api/v1/me/registrations",
        "The calling alumnus's own registrations, with their check-in tokens.",
        "registrations",
        (ALUMNUS,),
        query=ev.RegistrationSearch,
        response=ev.Registration,
        many=True,
    )
    def my_registrations(self, request: Request, principal: Principal):
        params = query_args(request, ev.RegistrationSearch())
        alumnus_id = authz.own_alumnus_id(principal)
        return self.events.list_alumnus_registrations(alumnus_id, params)

    # ---- activity reports -------------------------------------------------------------

    @api(
        "GET",
        EVENT + "/report",
        "The organiser's report of the event (活动通报).",
        "events",
        STAFF,
        response=ev.ActivityReport,
    )
    def get_report(self, request: Request, principal: Principal, event_id: str):
        event = self.events.get_event(event_id)
        authz.check_event_staff_read(principal, event)
        return self.events.get_activity_report(event_id)

    @api(
        "POST",
        EVENT + "/report",
        "File the report of an event that took place; attendance defaults to check-ins.",
        "events",
        MANAGERS,
        body=ev.ActivityReportInput,
        response=ev.ActivityReport,
        status=201,
        extra_statuses=(409,),
    )
    def file_report(self, request: Request, principal: Principal, event_id: str):
        body = read_json(request)
        load_or_raise(ev.ActivityReportInput(), body)
        self._managed_event(principal, event_id)
        return 201, self.events.file_activity_report(event_id, body, principal.as_actor())

    @api(
        "GET",
        "/api/v1/reports",
        "All activity reports (活动通报), newest first; filter by organiser. A liaison reads "
        "their department's events' reports only.",
        "events",
        STAFF,
        query=ev.ReportSearch,
        response=ev.ActivityReport,
        many=True,
    )
    def list_reports(self, request: Request, principal: Principal) -> dict[str, Any]:
        params = query_args(request, ev.ReportSearch())
        return self.events.list_activity_reports(authz.scope_report_search(principal, params))

    # ---- lecture series ------------------------------------------------------------------

    @api(
        "GET",
        "/api/v1/series",
        "Lecture series (校友大讲堂).",
        "events",
        EVERYONE,
        response=ev.LectureSeries,
        many=True,
    )
    def list_series(self, request: Request, principal: Principal) -> dict[str, Any]:
        return {"items": self.events.list_series(), "next_cursor": None}

    @api(
        "POST",
        "/api/v1/series",
        "Create a lecture series.",
        "events",
        (OFFICE,),
        body=ev.SeriesInput,
        response=ev.LectureSeries,
        status=201,
        extra_statuses=(409,),
    )
    def create_series(self, request: Request, principal: Principal):
        body = read_json(request)
        load_or_raise(ev.SeriesInput(), body)
        return 201, self.events.create_series(body)

    @api(
        "PATCH",
        SERIES,
        "Change a lecture series' title or description.",
        "events",
        (OFFICE,),
        body=ev.SeriesPatch,
        response=ev.LectureSeries,
        extra_statuses=(409,),
    )
    def update_series(self, request: Request, principal: Principal, series_id: str):
        body = read_json(request)
        load_or_raise(ev.SeriesPatch(), body)
        authz.check_manage_series(principal)
        return self.events.update_series(series_id, body)

    @api(
        "DELETE",
        SERIES,
        "Delete a lecture series that holds no lecture (409 otherwise); answers the series "
        "as it was.",
        "events",
        (OFFICE,),
        response=ev.LectureSeries,
        extra_statuses=(409,),
    )
    def delete_series(self, request: Request, principal: Principal, series_id: str):
        authz.check_manage_series(principal)
        series = self.events.get_series(series_id)
        self.events.delete_series(series_id)
        return series

    # ---- visits: return-visit receptions (校友返校接待) --------------------------------

    @api(
        "GET",
        "/api/v1/visits",
        "Visit requests: all for the office and committee, the department's for a liaison, "
        "their own for an alumnus.",
        "visits",
        EVERYONE,
        query=ev.ReceptionSearch,
        response=ev.Reception,
        many=True,
    )
    def list_visits(self, request: Request, principal: Principal) -> dict[str, Any]:
        params = query_args(request, ev.ReceptionSearch())
        page = self.events.list_receptions(authz.scope_visit_search(principal, params))
        return present_items(principal, page, present_reception)

    @api(
        "POST",
        "/api/v1/visits",
        "Ask to visit the campus, for oneself or for a class; an alumnus asks as themselves.",
        "visits",
        (OFFICE, LIAISON, ALUMNUS),
        body=edge.VisitRequest,
        response=ev.Reception,
        status=201,
    )
    def request_visit(self, request: Request, principal: Principal):
        body = read_json(request)
        data = load_or_raise(edge.VisitRequest(), body)
        body = {**body, **authz.visit_request_as(principal, data)}
        self._known_department(data.get("department_id"), "department_id")
        return 201, present_reception(principal, self.events.request_reception(body))

    @api(
        "POST",
        "/api/v1/visits/{visit_id}/decision",
        "Approve a visit (naming the host) or decline it (saying why).",
        "visits",
        MANAGERS,
        body=ev.ReceptionDecision,
        response=ev.Reception,
        extra_statuses=(409,),
    )
    def decide_visit(self, request: Request, principal: Principal, visit_id: str):
        body = read_json(request)
        load_or_raise(ev.ReceptionDecision(), body)
        authz.check_visit_handle(principal, self.events.get_reception(visit_id))
        decided = self.events.decide_reception(visit_id, body, principal.as_actor())
        return present_reception(principal, decided)

    @api(
        "POST",
        "/api/v1/visits/{visit_id}/done",
        "Record how an approved visit went (on or after its day).",
        "visits",
        MANAGERS,
        body=ev.ReceptionCompletion,
        response=ev.Reception,
        extra_statuses=(409,),
    )
    def complete_visit(self, request: Request, principal: Principal, visit_id: str):
        body = read_json(request)
        load_or_raise(ev.ReceptionCompletion(), body)
        authz.check_visit_handle(principal, self.events.get_reception(visit_id))
        done = self.events.complete_reception(visit_id, body, principal.as_actor())
        return present_reception(principal, done)

    @api(
        "POST",
        "/api/v1/visits/{visit_id}/cancel",
        "Call off a visit still waiting or approved: the alumnus who asked, the office, or the "
        "department's liaison; the body (a reason) may be left out.",
        "visits",
        (OFFICE, LIAISON, ALUMNUS),
        body=ev.ReceptionCancellation,
        body_optional=True,
        response=ev.Reception,
        extra_statuses=(409,),
    )
    def cancel_visit(self, request: Request, principal: Principal, visit_id: str):
        body = read_json(request, optional=True) or {}
        load_or_raise(ev.ReceptionCancellation(), body)
        authz.check_visit_cancel(principal, self.events.get_reception(visit_id))
        cancelled = self.events.cancel_reception(visit_id, body, principal.as_actor())
        return present_reception(principal, cancelled)

    # ---- work plans and tasks (工作计划) ----------------------------------------------

    @api(
        "GET",
        "/api/v1/plans",
        "Yearly work plans; a liaison's, of their department.",
        "plans",
        STAFF,
        query=edge.PlanQuery,
        response=ev.Plan,
        many=True,
    )
    def list_plans(self, request: Request, principal: Principal) -> dict[str, Any]:
        params = query_args(request, edge.PlanQuery())
        return self.events.list_plans(authz.scope_plan_search(principal, params))

    @api(
        "POST",
        "/api/v1/plans",
        "Create a department's (or, without department_id, the office's) plan for a year.",
        "plans",
        STAFF,
        body=ev.PlanInput,
        response=ev.Plan,
        status=201,
        extra_statuses=(409,),
    )
    def create_plan(self, request: Request, principal: Principal):
        body = read_json(request)
        data = load_or_raise(ev.PlanInput(), body)
        authz.check_plan_create(principal, data)
        self._known_department(data.get("department_id"), "department_id")
        return 201, self.events.create_plan(body, principal.as_actor())

    @api(
        "GET",
        "/api/v1/plans/summary",
        "Per-department assessment for a year: plan tasks done and overdue, events held and "
        "reported.",
        "plans",
        (OFFICE, COMMITTEE),
        query=edge.SummaryParams,
        response=ev.DepartmentSummary,
    )
    def plans_summary(self, request: Request, principal: Principal):
        params = query_args(request, edge.SummaryParams())
        authz.check_summary_read(principal)
        return self.events.department_summary(params["year"])

    @api(
        "POST",
        "/api/v1/plans/overdue-scan",
        "Run the overdue-task scan now (it also runs by itself): flags each task past its due "
        "date and not done, once, and says how many it flagged.",
        "plans",
        (OFFICE,),
        response=ev.OverdueScan,
    )
    def scan_overdue_tasks(self, request: Request, principal: Principal):
        authz.check_run_overdue_scan(principal)
        return self.events.flag_overdue_tasks()

    @api(
        "GET",
        "/api/v1/plans/{plan_id}",
        "One plan with its tasks and their steps.",
        "plans",
        STAFF,
        response=edge.PlanDetail,
    )
    def get_plan(self, request: Request, principal: Principal, plan_id: str):
        plan = self.events.get_plan(plan_id)
        authz.check_plan_access(principal, plan)
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
        STAFF,
        body=ev.TaskInput,
        response=ev.Task,
        status=201,
    )
    def add_task(self, request: Request, principal: Principal, plan_id: str):
        body = read_json(request)
        load_or_raise(ev.TaskInput(), body)
        authz.check_plan_access(principal, self.events.get_plan(plan_id))
        return 201, self.events.add_task(plan_id, body, principal.as_actor())

    @api(
        "POST",
        "/api/v1/tasks/{task_id}/advance",
        "Move a task one step (assigned → checked → done) with its evidence note.",
        "plans",
        STAFF,
        body=ev.TaskAdvance,
        response=ev.Task,
        extra_statuses=(409,),
    )
    def advance_task(self, request: Request, principal: Principal, task_id: str):
        body = read_json(request)
        load_or_raise(ev.TaskAdvance(), body)
        task = self.events.get_task(task_id)
        authz.check_plan_access(principal, self.events.get_plan(task["plan_id"]))
        return self.events.advance_task(task_id, body, principal.as_actor())

    # ---- suggestions (建议) ----------------------------------------------------------

    @api(
        "GET",
        "/api/v1/suggestions",
        "Suggestions: all for the office and committee, their own for an alumnus.",
        "suggestions",
        (OFFICE, COMMITTEE, ALUMNUS),
        query=ev.SuggestionSearch,
        response=ev.Suggestion,
        many=True,
    )
    def list_suggestions(self, request: Request, principal: Principal) -> dict[str, Any]:
        params = query_args(request, ev.SuggestionSearch())
        return self.events.list_suggestions(authz.scope_own_submissions(principal, params))

    @api(
        "POST",
        "/api/v1/suggestions",
        "Make a suggestion: an alumnus as themselves, the office on an alumnus's behalf.",
        "suggestions",
        (OFFICE, ALUMNUS),
        body=edge.SuggestionRequest,
        response=ev.Suggestion,
        status=201,
    )
    def submit_suggestion(self, request: Request, principal: Principal):
        body = read_json(request)
        data = load_or_raise(edge.SuggestionRequest(), body)
        alumnus_id = self._submitter(principal, data)
        return 201, self.events.submit_suggestion({**body, "alumnus_id": alumnus_id})

    @api(
        "POST",
        "/api/v1/suggestions/{suggestion_id}/answer",
        "Answer a suggestion, once; the alumnus is told.",
        "suggestions",
        (OFFICE,),
        body=ev.SuggestionAnswer,
        response=ev.Suggestion,
        extra_statuses=(409,),
    )
    def answer_suggestion(self, request: Request, principal: Principal, suggestion_id: str):
        body = read_json(request)
        load_or_raise(ev.SuggestionAnswer(), body)
        authz.check_handle_submissions(principal)
        return self.events.answer_suggestion(suggestion_id, body, principal.as_actor())

    def _submitter(self, principal: Principal, data: dict[str, Any]) -> str:
        alumnus_id = authz.submitter(principal, data)
        if principal.role != ALUMNUS:
            self._known_alumnus(alumnus_id, "alumnus_id")
        return alumnus_id

    # ---- service requests from alumni companies (三.7) -----------------------------------

    @api(
        "GET",
        "/api/v1/service-requests",
        "Service requests: all for the office and committee, their own for an alumnus.",
        "service-requests",
        (OFFICE, COMMITTEE, ALUMNUS),
        query=ev.ServiceRequestSearch,
        response=ev.ServiceRequest,
        many=True,
    )
    def list_service_requests(self, request: Request, principal: Principal) -> dict[str, Any]:
        params = query_args(request, ev.ServiceRequestSearch())
        return self.events.list_service_requests(authz.scope_own_submissions(principal, params))

    @api(
        "POST",
        "/api/v1/service-requests",
        "Ask the school for help (talent training, technology consulting): an alumnus as "
        "themselves, the office on an alumnus's behalf.",
        "service-requests",
        (OFFICE, ALUMNUS),
        body=edge.ServiceRequestRequest,
        response=ev.ServiceRequest,
        status=201,
    )
    def submit_service_request(self, request: Request, principal: Principal):
        body = read_json(request)
        data = load_or_raise(edge.ServiceRequestRequest(), body)
        alumnus_id = self._submitter(principal, data)
        return 201, self.events.submit_service_request({**body, "alumnus_id": alumnus_id})

    @api(
        "POST",
        "/api/v1/service-requests/{request_id}/assign",
        "Give a service request to a staff member (again, to hand it on).",
        "service-requests",
        (OFFICE,),
        body=ev.ServiceRequestAssignment,
        response=ev.ServiceRequest,
        extra_statuses=(409,),
    )
    def assign_service_request(self, request: Request, principal: Principal, request_id: str):
        body = read_json(request)
        load_or_raise(ev.ServiceRequestAssignment(), body)
        authz.check_handle_submissions(principal)
        return self.events.assign_service_request(request_id, body, principal.as_actor())

    @api(
        "POST",
        "/api/v1/service-requests/{request_id}/status",
        "Move a service request on: in_progress, resolved or closed (the last two say how).",
        "service-requests",
        (OFFICE,),
        body=ev.ServiceRequestProgress,
        response=ev.ServiceRequest,
        extra_statuses=(409,),
    )
    def progress_service_request(self, request: Request, principal: Principal, request_id: str):
        body = read_json(request)
        load_or_raise(ev.ServiceRequestProgress(), body)
        authz.check_handle_submissions(principal)
        return self.events.progress_service_request(request_id, body, principal.as_actor())

    @api(
        "POST",
        "/api/v1/service-requests/{request_id}/notes",
        "Add a note to a service request's history, in any status (a follow-up, too).",
        "service-requests",
        (OFFICE,),
        body=ev.NoteInput,
        response=ev.ServiceRequest,
        status=201,
    )
    def add_service_request_note(self, request: Request, principal: Principal, request_id: str):
        body = read_json(request)
        load_or_raise(ev.NoteInput(), body)
        authz.check_handle_submissions(principal)
        return 201, self.events.add_service_request_note(request_id, body, principal.as_actor())

    # ---- cooperation projects (三.8) --------------------------------------------------------

    @api(
        "GET",
        "/api/v1/projects",
        "School–alumni cooperation projects; a liaison's, of their department.",
        "projects",
        STAFF,
        query=ev.ProjectSearch,
        response=ev.Project,
        many=True,
    )
    def list_projects(self, request: Request, principal: Principal) -> dict[str, Any]:
        params = query_args(request, ev.ProjectSearch())
        page = self.events.list_projects(authz.scope_project_search(principal, params))
        return present_items(principal, page, present_project)

    @api(
        "POST",
        "/api/v1/projects",
        "Record a cooperation project; a liaison for their own department.",
        "projects",
        MANAGERS,
        body=ev.ProjectInput,
        response=ev.Project,
        status=201,
    )
    def create_project(self, request: Request, principal: Principal):
        body = read_json(request)
        data = load_or_raise(ev.ProjectInput(), body)
        authz.check_project_create(principal, data)
        self._known_department(data.get("department_id"), "department_id")
        return 201, present_project(
            principal, self.events.create_project(body, principal.as_actor())
        )

    @api(
        "PATCH",
        "/api/v1/projects/{project_id}",
        "Change a project's title, partner, contacts (replaced as a whole) or department.",
        "projects",
        MANAGERS,
        body=ev.ProjectPatch,
        response=ev.Project,
    )
    def update_project(self, request: Request, principal: Principal, project_id: str):
        body = read_json(request)
        patch = load_or_raise(ev.ProjectPatch(), body)
        authz.check_project_write(principal, self.events.get_project(project_id), patch)
        if patch.get("department_id") is not None:
            self._known_department(patch["department_id"], "department_id")
        return present_project(principal, self.events.update_project(project_id, body))

    @api(
        "POST",
        "/api/v1/projects/{project_id}/notes",
        "Add a note to a project (notes are never edited).",
        "projects",
        MANAGERS,
        body=ev.NoteInput,
        response=ev.Project,
        status=201,
    )
    def add_project_note(self, request: Request, principal: Principal, project_id: str):
        body = read_json(request)
        load_or_raise(ev.NoteInput(), body)
        authz.check_project_write(principal, self.events.get_project(project_id))
        noted = self.events.add_project_note(project_id, body, principal.as_actor())
        return 201, present_project(principal, noted)

    @api(
        "POST",
        "/api/v1/projects/{project_id}/status",
        "Move a project on (proposed → active ⇄ suspended → completed), with a note.",
        "projects",
        MANAGERS,
        body=ev.ProjectStatusChange,
        response=ev.Project,
        extra_statuses=(409,),
    )
    def change_project_status(self, request: Request, principal: Principal, project_id: str):
        body = read_json(request)
        load_or_raise(ev.ProjectStatusChange(), body)
        authz.check_project_write(principal, self.events.get_project(project_id))
        changed = self.events.change_project_status(project_id, body, principal.as_actor())
        return present_project(principal, changed)
