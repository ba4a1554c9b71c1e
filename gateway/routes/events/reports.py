"""Activity reports (活动通报): what the organiser reports after an event."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from gateway.auth import Principal
from gateway.authz import events as event_rules
from gateway.authz.base import MANAGERS, STAFF_ROLES
from gateway.http import api
from gateway.routes.events.common import EVENT, EventsRoutesBase
from services.common.contracts.events import reports as contract


class ReportRoutes(EventsRoutesBase):
    @api(
        "GET",
        EVENT + "/report",
        "The organiser's report of the event (活动通报).",
        "events",
        STAFF_ROLES,
        response=contract.ActivityReport,
    )
    def get_report(self, request: Request, principal: Principal, event_id: str):
        event = self.events.get_event(event_id)
        event_rules.check_event_staff_read(principal, event)
        return self.events.get_activity_report(event_id)

    @api(
        "POST",
        EVENT + "/report",
        "File the report of an event that took place; attendance defaults to check-ins.",
        "events",
        MANAGERS,
        body=contract.ActivityReportInput,
        response=contract.ActivityReport,
        status=201,
    )
    def file_report(
        self, request: Request, principal: Principal, event_id: str, body: dict[str, Any]
    ):
        self._managed_event(principal, event_id)
        return self.events.file_activity_report(event_id, body)

    @api(
        "GET",
        "/api/v1/reports",
        "All activity reports (活动通报), newest first; filter by organiser. A liaison reads "
        "their department's events' reports only.",
        "events",
        STAFF_ROLES,
        query=contract.ReportSearch,
        response=contract.ActivityReport,
        many=True,
    )
    def list_reports(
        self, request: Request, principal: Principal, query: dict[str, Any]
    ) -> dict[str, Any]:
        return self.events.list_activity_reports(event_rules.scope_report_search(principal, query))
