"""Return visits (校友返校接待): requests, decisions, completion, cancellation."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from gateway import schemas as edge
from gateway.auth import Principal
from gateway.authz import visits as visit_rules
from gateway.authz.base import ALL_ROLES, ALUMNUS, LIAISON, MANAGERS, OFFICE
from gateway.http import api
from gateway.routes.events.common import EventsRoutesBase
from services.common.contracts.events import visits as contract


class VisitRoutes(EventsRoutesBase):
    @api(
        "GET",
        "/api/v1/visits",
        "Visit requests: all for the office and committee, the department's for a liaison, "
        "their own for an alumnus.",
        "visits",
        ALL_ROLES,
        query=contract.VisitSearch,
        response=contract.Visit,
        many=True,
    )
    def list_visits(
        self, request: Request, principal: Principal, query: dict[str, Any]
    ) -> dict[str, Any]:
        # The events service masks the contacts the caller may not see, and logs the rest.
        query = visit_rules.scope_visit_search(principal, query)
        return self.events.list_visits(query, "GET /api/v1/visits")

    @api(
        "POST",
        "/api/v1/visits",
        "Ask to visit the campus, for oneself or for a class; an alumnus asks as themselves.",
        "visits",
        (OFFICE, LIAISON, ALUMNUS),
        body=edge.VisitRequest,
        response=contract.Visit,
        status=201,
    )
    def request_visit(self, request: Request, principal: Principal, body: dict[str, Any]):
        body = {**body, **visit_rules.visit_request_as(principal, body)}
        self._known_department(body.get("department_id"), "department_id")
        if principal.role == LIAISON and body.get("requester_alumnus_id"):
            # A liaison asks for a visit in an alumnus's name only for their department's.
            self._known_alumnus(principal, body["requester_alumnus_id"], "requester_alumnus_id")
        return self.events.request_visit(body, "POST /api/v1/visits")

    @api(
        "POST",
        "/api/v1/visits/{visit_id}/decision",
        "Approve a visit (naming the host) or decline it (saying why).",
        "visits",
        MANAGERS,
        body=contract.VisitDecision,
        response=contract.Visit,
    )
    def decide_visit(
        self, request: Request, principal: Principal, visit_id: str, body: dict[str, Any]
    ):
        visit_rules.check_visit_handle(principal, self.events.get_visit(visit_id))
        return self.events.decide_visit(visit_id, body, "POST /api/v1/visits/{visit_id}/decision")

    @api(
        "POST",
        "/api/v1/visits/{visit_id}/done",
        "Record how an approved visit went (on or after its day).",
        "visits",
        MANAGERS,
        body=contract.VisitCompletion,
        response=contract.Visit,
    )
    def complete_visit(
        self, request: Request, principal: Principal, visit_id: str, body: dict[str, Any]
    ):
        visit_rules.check_visit_handle(principal, self.events.get_visit(visit_id))
        return self.events.complete_visit(visit_id, body, "POST /api/v1/visits/{visit_id}/done")

    @api(
        "POST",
        "/api/v1/visits/{visit_id}/cancel",
        "Call off a visit still waiting or approved: the alumnus who asked, the office, or the "
        "department's liaison; the body (a reason) may be left out.",
        "visits",
        (OFFICE, LIAISON, ALUMNUS),
        body=contract.VisitCancellation,
        body_optional=True,
        response=contract.Visit,
    )
    def cancel_visit(
        self, request: Request, principal: Principal, visit_id: str, body: dict[str, Any]
    ):
        visit_rules.check_visit_cancel(principal, self.events.get_visit(visit_id))
        return self.events.cancel_visit(visit_id, body, "POST /api/v1/visits/{visit_id}/cancel")
