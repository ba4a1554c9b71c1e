"""The events service's nameko entrypoints: thin wrappers over its domain modules.

Sign-up calls no other service: who the alumnus is comes from the caller, and
the names and contacts that rosters need come from a local copy fed by the
registry's events (`on_alumnus_registered`, `on_alumnus_updated`). The one RPC
that asks the registry is the operator's roster backfill (`backfill_roster`).

The engagement workflows (visits, work plans, suggestions, service
requests, cooperation projects) live in their own modules; staff actions record
who did what from the verified caller (`@rpc(caller=True)`, services/common/caller.py).
A timer flags overdue plan tasks every `TASK_OVERDUE_SCAN_SECONDS` (default one hour).
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common.caller import Caller
from services.common.columns import utcnow
from services.common.contracts import events as contracts
from services.common.contracts.base import AccessLogQuery, load_or_raise
from services.common.dependencies import Database
from services.common.entrypoints import HealthMixin, configured_timer, consumes, rpc
from services.common.rpc import TimedRpcProxy
from services.common.visibility import require_office, require_self_or_service
from services.events import (
    cooperation,
    disclosure,
    events,
    feedback,
    merges,
    person,
    plans,
    registrations,
    reports,
    roster,
    visits,
)
from services.events.common import school_date
from services.events.models import Base

ROSTER_BACKFILL_PAGE_SIZE = 100  # the registry's largest `search_alumni` page
ROSTER_BACKFILL_PAGE_ATTEMPTS = 3


class EventsService(HealthMixin):
    name = "events"

    db = Database(Base)
    registry = TimedRpcProxy("registry")

    # ---- events ------------------------------------------------------------

    @rpc(caller=True)
    def create_event(self, data: dict[str, Any]) -> dict[str, Any]:
        payload = load_or_raise(contracts.events.EventInput, data)
        with self.db.transaction() as session:
            return events.create_event(session, payload)

    @rpc(caller=True)
    def update_event(self, event_id: str, patch: dict[str, Any]) -> dict[str, Any]:
        payload = load_or_raise(contracts.events.EventPatch, patch)
        with self.db.transaction() as session:
            return events.update_event(session, event_id, payload)

    @rpc(caller=True)
    def get_event(self, event_id: str) -> dict[str, Any]:
        return events.get_event(self.db.session, event_id)

    @rpc(caller=True)
    def list_events(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return events.list_events(
            self.db.session, load_or_raise(contracts.events.EventListQuery, params or {})
        )

    @rpc(caller=True)
    def publish_event(self, event_id: str) -> dict[str, Any]:
        with self.db.transaction() as session:
            return events.publish_event(session, event_id, utcnow())

    @rpc(caller=True)
    def close_event(self, event_id: str) -> dict[str, Any]:
        with self.db.transaction() as session:
            return events.close_event(session, event_id)

    @rpc(caller=True)
    def finish_event(self, event_id: str) -> dict[str, Any]:
        with self.db.transaction() as session:
            return events.finish_event(session, event_id, utcnow())

    @rpc(caller=True)
    def cancel_event(self, event_id: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        payload = load_or_raise(contracts.events.EventCancellation, data or {})
        with self.db.transaction() as session:
            return events.cancel_event(session, event_id, payload["reason"])

    # ---- lecture series ----------------------------------------------------

    @rpc(caller=True)
    def create_series(self, data: dict[str, Any]) -> dict[str, Any]:
        payload = load_or_raise(contracts.events.SeriesInput, data)
        with self.db.transaction() as session:
            return events.create_series(session, payload)

    @rpc(caller=True)
    def update_series(self, series_id: str, patch: dict[str, Any]) -> dict[str, Any]:
        payload = load_or_raise(contracts.events.SeriesPatch, patch)
        with self.db.transaction() as session:
            return events.update_series(session, series_id, payload)

    @rpc(caller=True)
    def get_series(self, series_id: str) -> dict[str, Any]:
        return events.get_series(self.db.session, series_id)

    @rpc(caller=True)
    def list_series(self) -> list[dict[str, Any]]:
        return events.list_series(self.db.session)

    @rpc(caller=True)
    def delete_series(self, series_id: str) -> None:
        with self.db.transaction() as session:
            events.delete_series(session, series_id)

    # ---- registrations -----------------------------------------------------

    @rpc(caller=True)
    def sign_up(self, event_id: str, data: dict[str, Any]) -> dict[str, Any]:
        payload = load_or_raise(contracts.registrations.SignUpInput, data)
        with self.db.transaction() as session:
            return registrations.sign_up(
                session, event_id, payload["alumnus_id"], payload["guests"], utcnow()
            )

    @rpc(caller=True)
    def cancel_registration(self, event_id: str, registration_id: str) -> dict[str, Any]:
        with self.db.transaction() as session:
            return registrations.cancel_registration(session, event_id, registration_id)

    @rpc(caller=True)
    def get_registration(self, registration_id: str) -> dict[str, Any]:
        return registrations.get_registration(self.db.session, registration_id)

    @rpc(caller=True)
    def list_registrations(
        self, event_id: str, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return registrations.list_registrations(
            self.db.session,
            event_id,
            load_or_raise(contracts.registrations.RegistrationSearch, params or {}),
        )

    @rpc(caller=True)
    def list_alumnus_registrations(
        self, alumnus_id: str, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """An alumnus's registrations in the order they were made, a page at a time."""
        return registrations.list_alumnus_registrations(
            self.db.session,
            alumnus_id,
            load_or_raise(contracts.registrations.RegistrationSearch, params or {}),
        )

    @rpc(caller=True)
    def check_in(self, event_id: str, data: dict[str, Any]) -> dict[str, Any]:
        payload = load_or_raise(contracts.registrations.CheckInInput, data)
        with self.db.transaction() as session:
            return registrations.check_in(session, event_id, payload["token"], utcnow())

    @rpc(caller=True)
    def registration_qr(self, registration_id: str) -> dict[str, Any]:
        """The check-in QR code as base64 PNG: RPC payloads are JSON and carry no bytes."""
        png = registrations.registration_qr_png(self.db.session, registration_id)
        return {
            "registration_id": str(registration_id),
            "content_type": registrations.QR_CONTENT_TYPE,
            "png_base64": base64.b64encode(png).decode("ascii"),
        }

    @rpc(caller=True)
    def attendance_stats(self, event_id: str) -> dict[str, Any]:
        return registrations.attendance_stats(self.db.session, event_id)

    # What answers with contacts (rosters, visits, projects) is masked or shown, for the
    # verified caller, by services/events/disclosure.py; each shown one is logged in the same
    # transaction with its `purpose` (the route).

    @rpc(caller=True)
    def event_roster(
        self, event_id: str, purpose: str = "", *, caller: Caller
    ) -> list[dict[str, Any]]:
        with self.db.transaction() as session:
            lines = registrations.event_roster(session, event_id)
            return disclosure.shown_roster(session, event_id, lines, caller, purpose)

    # ---- activity reports --------------------------------------------------

    @rpc(caller=True)
    def file_activity_report(
        self, event_id: str, data: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        payload = load_or_raise(contracts.reports.ActivityReportInput, data)
        who = caller.as_actor()
        with self.db.transaction() as session:
            return reports.file_activity_report(session, event_id, payload, who, utcnow())

    @rpc(caller=True)
    def get_activity_report(self, event_id: str) -> dict[str, Any]:
        return reports.get_activity_report(self.db.session, event_id)

    @rpc(caller=True)
    def list_activity_reports(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return reports.list_activity_reports(
            self.db.session, load_or_raise(contracts.reports.ReportSearch, params or {})
        )

    # ---- return visits (校友返校接待) ----------------------------------------

    @rpc(caller=True)
    def request_visit(
        self, data: dict[str, Any], purpose: str = "", *, caller: Caller
    ) -> dict[str, Any]:
        payload = load_or_raise(contracts.visits.VisitInput, data)
        with self.db.transaction() as session:
            visit = visits.request_visit(session, payload, utcnow())
            return disclosure.shown_visit(session, visit, caller, purpose)

    @rpc(caller=True)
    def decide_visit(
        self, visit_id: str, data: dict[str, Any], purpose: str = "", *, caller: Caller
    ) -> dict[str, Any]:
        payload = load_or_raise(contracts.visits.VisitDecision, data)
        who = caller.as_actor()
        with self.db.transaction() as session:
            visit = visits.decide_visit(session, visit_id, payload, who, utcnow())
            return disclosure.shown_visit(session, visit, caller, purpose)

    @rpc(caller=True)
    def complete_visit(
        self, visit_id: str, data: dict[str, Any], purpose: str = "", *, caller: Caller
    ) -> dict[str, Any]:
        payload = load_or_raise(contracts.visits.VisitCompletion, data)
        who = caller.as_actor()
        with self.db.transaction() as session:
            visit = visits.complete_visit(session, visit_id, payload, who, utcnow())
            return disclosure.shown_visit(session, visit, caller, purpose)

    @rpc(caller=True)
    def cancel_visit(
        self, visit_id: str, data: dict[str, Any] | None, purpose: str = "", *, caller: Caller
    ) -> dict[str, Any]:
        payload = load_or_raise(contracts.visits.VisitCancellation, data or {})
        who = caller.as_actor()
        with self.db.transaction() as session:
            visit = visits.cancel_visit(session, visit_id, payload, who, utcnow())
            return disclosure.shown_visit(session, visit, caller, purpose)

    @rpc(caller=True)
    def get_visit(self, visit_id: str, purpose: str = "", *, caller: Caller) -> dict[str, Any]:
        with self.db.transaction() as session:
            visit = visits.get_visit(session, visit_id)
            return disclosure.shown_visit(session, visit, caller, purpose)

    @rpc(caller=True)
    def list_visits(
        self, params: dict[str, Any] | None = None, purpose: str = "", *, caller: Caller
    ) -> dict[str, Any]:
        query = load_or_raise(contracts.visits.VisitSearch, params or {})
        with self.db.transaction() as session:
            page = visits.list_visits(session, query)
            return disclosure.shown_visits(session, page, caller, purpose)

    # ---- work plans and tasks (工作计划) -------------------------------------

    @rpc(caller=True)
    def create_plan(self, data: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        payload = load_or_raise(contracts.plans.PlanInput, data)
        who = caller.as_actor()
        with self.db.transaction() as session:
            return plans.create_plan(session, payload, who, utcnow())

    @rpc(caller=True)
    def get_plan(self, plan_id: str) -> dict[str, Any]:
        return plans.get_plan(self.db.session, plan_id)

    @rpc(caller=True)
    def list_plans(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return plans.list_plans(
            self.db.session, load_or_raise(contracts.plans.PlanSearch, params or {})
        )

    @rpc(caller=True)
    def add_task(self, plan_id: str, data: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        payload = load_or_raise(contracts.plans.TaskInput, data)
        who = caller.as_actor()
        with self.db.transaction() as session:
            return plans.add_task(session, plan_id, payload, who, utcnow())

    @rpc(caller=True)
    def advance_task(self, task_id: str, data: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        payload = load_or_raise(contracts.plans.TaskAdvance, data)
        who = caller.as_actor()
        with self.db.transaction() as session:
            return plans.advance_task(session, task_id, payload, who, utcnow())

    @rpc(caller=True)
    def get_task(self, task_id: str) -> dict[str, Any]:
        return plans.get_task(self.db.session, task_id)

    @rpc(caller=True)
    def list_tasks(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return plans.list_tasks(
            self.db.session, load_or_raise(contracts.plans.TaskSearch, params or {})
        )

    @rpc(caller=True)
    def flag_overdue_tasks(self) -> dict[str, Any]:
        """The timer's scan on demand, for operators and tests; flags each task once."""
        return self._flag_overdue_tasks()

    @configured_timer("TASK_OVERDUE_SCAN_SECONDS")
    def scan_overdue_tasks(self) -> dict[str, Any]:
        return self._flag_overdue_tasks()

    def _flag_overdue_tasks(self) -> dict[str, Any]:
        now = utcnow()
        with self.db.transaction() as session:
            return plans.flag_overdue_tasks(session, school_date(now), now)

    @rpc(caller=True)
    def department_summary(self, year: int) -> dict[str, Any]:
        query = load_or_raise(contracts.plans.SummaryQuery, {"year": year})
        return plans.department_summary(self.db.session, query["year"], school_date(utcnow()))

    # ---- suggestions (建议) ----------------------------------------------------

    @rpc(caller=True)
    def submit_suggestion(self, data: dict[str, Any]) -> dict[str, Any]:
        payload = load_or_raise(contracts.feedback.SuggestionInput, data)
        with self.db.transaction() as session:
            return feedback.submit_suggestion(session, payload, utcnow())

    @rpc(caller=True)
    def answer_suggestion(
        self, suggestion_id: str, data: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        payload = load_or_raise(contracts.feedback.SuggestionAnswer, data)
        who = caller.as_actor()
        with self.db.transaction() as session:
            return feedback.answer_suggestion(session, suggestion_id, payload, who, utcnow())

    @rpc(caller=True)
    def list_suggestions(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return feedback.list_suggestions(
            self.db.session, load_or_raise(contracts.feedback.SuggestionSearch, params or {})
        )

    # ---- service requests from alumni companies (三.7) ---------------------------

    @rpc(caller=True)
    def submit_service_request(self, data: dict[str, Any]) -> dict[str, Any]:
        payload = load_or_raise(contracts.feedback.ServiceRequestInput, data)
        with self.db.transaction() as session:
            return feedback.submit_service_request(session, payload, utcnow())

    @rpc(caller=True)
    def assign_service_request(
        self, request_id: str, data: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        payload = load_or_raise(contracts.feedback.ServiceRequestAssignment, data)
        who = caller.as_actor()
        with self.db.transaction() as session:
            return feedback.assign_service_request(session, request_id, payload, who, utcnow())

    @rpc(caller=True)
    def progress_service_request(
        self, request_id: str, data: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        payload = load_or_raise(contracts.feedback.ServiceRequestProgress, data)
        who = caller.as_actor()
        with self.db.transaction() as session:
            return feedback.progress_service_request(session, request_id, payload, who, utcnow())

    @rpc(caller=True)
    def add_service_request_note(
        self, request_id: str, data: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        payload = load_or_raise(contracts.common.NoteInput, data)
        who = caller.as_actor()
        with self.db.transaction() as session:
            return feedback.add_service_request_note(session, request_id, payload, who, utcnow())

    @rpc(caller=True)
    def list_service_requests(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return feedback.list_service_requests(
            self.db.session, load_or_raise(contracts.feedback.ServiceRequestSearch, params or {})
        )

    # ---- cooperation projects (三.8) ---------------------------------------------

    @rpc(caller=True)
    def create_project(
        self, data: dict[str, Any], purpose: str = "", *, caller: Caller
    ) -> dict[str, Any]:
        payload = load_or_raise(contracts.cooperation.ProjectInput, data)
        who = caller.as_actor()
        with self.db.transaction() as session:
            project = cooperation.create_project(session, payload, who, utcnow())
            return disclosure.shown_project(session, project, caller, purpose)

    @rpc(caller=True)
    def update_project(
        self, project_id: str, patch: dict[str, Any], purpose: str = "", *, caller: Caller
    ) -> dict[str, Any]:
        payload = load_or_raise(contracts.cooperation.ProjectPatch, patch)
        with self.db.transaction() as session:
            project = cooperation.update_project(session, project_id, payload, utcnow())
            return disclosure.shown_project(session, project, caller, purpose)

    @rpc(caller=True)
    def change_project_status(
        self, project_id: str, data: dict[str, Any], purpose: str = "", *, caller: Caller
    ) -> dict[str, Any]:
        payload = load_or_raise(contracts.cooperation.ProjectStatusChange, data)
        who = caller.as_actor()
        with self.db.transaction() as session:
            project = cooperation.change_project_status(session, project_id, payload, who, utcnow())
            return disclosure.shown_project(session, project, caller, purpose)

    @rpc(caller=True)
    def add_project_note(
        self, project_id: str, data: dict[str, Any], purpose: str = "", *, caller: Caller
    ) -> dict[str, Any]:
        payload = load_or_raise(contracts.common.NoteInput, data)
        who = caller.as_actor()
        with self.db.transaction() as session:
            project = cooperation.add_project_note(session, project_id, payload, who, utcnow())
            return disclosure.shown_project(session, project, caller, purpose)

    @rpc(caller=True)
    def get_project(self, project_id: str, purpose: str = "", *, caller: Caller) -> dict:
        with self.db.transaction() as session:
            project = cooperation.get_project(session, project_id)
            return disclosure.shown_project(session, project, caller, purpose)

    @rpc(caller=True)
    def list_projects(
        self, params: dict[str, Any] | None = None, purpose: str = "", *, caller: Caller
    ) -> dict[str, Any]:
        query = load_or_raise(contracts.cooperation.ProjectSearch, params or {})
        with self.db.transaction() as session:
            page = cooperation.list_projects(session, query)
            return disclosure.shown_projects(session, page, caller, purpose)

    @rpc(caller=True)
    def access_log(self, params: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        """Unmasked reads of contacts in visits, projects and rosters (the office's search)."""
        require_office(caller)
        query = load_or_raise(AccessLogQuery, params)
        return disclosure.search_access_log(self.db.session, query)

    # ---- the registry's events: the local roster -----------------------------

    @consumes("registry", "alumnus_registered")
    def on_alumnus_registered(self, session: Session, event: dict[str, Any]) -> None:
        roster.upsert_roster_entry(session, event["data"])

    @consumes("registry", "alumnus_updated")
    def on_alumnus_updated(self, session: Session, event: dict[str, Any]) -> None:
        roster.upsert_roster_entry(session, event["data"]["alumnus"])

    @consumes("registry", "alumni_merged")
    def on_alumni_merged(self, session: Session, event: dict[str, Any]) -> None:
        merges.move_to_survivor(session, event["data"])

    @consumes("registry", "alumni_unmerged")
    def on_alumni_unmerged(self, session: Session, event: dict[str, Any]) -> None:
        merges.move_back(session, event["data"])

    @consumes("registry", "alumnus_erased")
    def on_alumnus_erased(self, session: Session, event: dict[str, Any]) -> None:
        data = event["data"]
        person.erase_alumnus(session, data["id"], datetime.fromisoformat(data["erased_at"]))

    @rpc(caller=True)
    def export_person(self, alumnus_id: str, *, caller: Caller) -> dict[str, Any]:
        """All this service holds on one alumnus (GET /api/v1/me/export)."""
        require_self_or_service(caller, str(alumnus_id))
        return person.export_person(self.db.session, str(alumnus_id))

    @rpc
    def backfill_roster(self) -> dict[str, int]:
        """Copy every alumnus of the registry into the roster, a page at a time.

        For alumni registered before this service's queues existed, whose events
        never reached it. Each record goes through the handlers' upsert, so an
        older snapshot never overwrites a newer one and a re-run changes nothing;
        one transaction per page, none held open while the registry answers.
        """
        pages = alumni = 0
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": ROSTER_BACKFILL_PAGE_SIZE}
            if cursor:
                params["cursor"] = cursor
            page = self.registry.search_alumni(params)
            self._upsert_roster_page(page["items"])
            pages += 1
            alumni += len(page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                return {"pages": pages, "alumni": alumni}

    def _upsert_roster_page(self, records: list[dict[str, Any]]) -> None:
        # `on_alumnus_registered` may insert one of these alumni between our read
        # and our insert; the page is then retried, and the upsert finds the row.
        for attempt in range(1, ROSTER_BACKFILL_PAGE_ATTEMPTS + 1):
            try:
                with self.db.transaction() as session:
                    for record in records:
                        roster.upsert_roster_entry(session, record)
                return
            except IntegrityError:
                if attempt == ROSTER_BACKFILL_PAGE_ATTEMPTS:
                    raise
