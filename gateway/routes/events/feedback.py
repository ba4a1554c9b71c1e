"""Suggestions (建议) and service requests from alumni companies (三.7)."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from gateway import schemas as edge
from gateway.auth import Principal
from gateway.authz import feedback as feedback_rules
from gateway.authz.base import ALUMNUS, COMMITTEE, OFFICE
from gateway.http import api
from gateway.routes.events.common import EventsRoutesBase
from services.common.contracts.events import feedback as contract
from services.common.contracts.events.common import NoteInput


class FeedbackRoutes(EventsRoutesBase):
    @api(
        "GET",
        "/api/v1/suggestions",
        "Suggestions: all for the office and committee, their own for an alumnus.",
        "suggestions",
        (OFFICE, COMMITTEE, ALUMNUS),
        query=contract.SuggestionSearch,
        response=contract.Suggestion,
        many=True,
    )
    def list_suggestions(
        self, request: Request, principal: Principal, query: dict[str, Any]
    ) -> dict[str, Any]:
        return self.events.list_suggestions(feedback_rules.scope_own_submissions(principal, query))

    @api(
        "POST",
        "/api/v1/suggestions",
        "Make a suggestion: an alumnus as themselves, the office on an alumnus's behalf.",
        "suggestions",
        (OFFICE, ALUMNUS),
        body=edge.SuggestionRequest,
        response=contract.Suggestion,
        status=201,
    )
    def submit_suggestion(self, request: Request, principal: Principal, body: dict[str, Any]):
        alumnus_id = self._submitter(principal, body)
        return self.events.submit_suggestion({**body, "alumnus_id": alumnus_id})

    @api(
        "POST",
        "/api/v1/suggestions/{suggestion_id}/answer",
        "Answer a suggestion, once; the alumnus is told.",
        "suggestions",
        (OFFICE,),
        body=contract.SuggestionAnswer,
        response=contract.Suggestion,
    )
    def answer_suggestion(
        self, request: Request, principal: Principal, suggestion_id: str, body: dict[str, Any]
    ):
        return self.events.answer_suggestion(suggestion_id, body)

    def _submitter(self, principal: Principal, data: dict[str, Any]) -> str:
        alumnus_id = feedback_rules.submitter(principal, data)
        if principal.role != ALUMNUS:
            self._known_alumnus(principal, alumnus_id, "alumnus_id")
        return alumnus_id

    # ---- service requests from alumni companies (三.7) -----------------------------------

    @api(
        "GET",
        "/api/v1/service-requests",
        "Service requests: all for the office and committee, their own for an alumnus.",
        "service-requests",
        (OFFICE, COMMITTEE, ALUMNUS),
        query=contract.ServiceRequestSearch,
        response=contract.ServiceRequest,
        many=True,
    )
    def list_service_requests(
        self, request: Request, principal: Principal, query: dict[str, Any]
    ) -> dict[str, Any]:
        return self.events.list_service_requests(
            feedback_rules.scope_own_submissions(principal, query)
        )

    @api(
        "POST",
        "/api/v1/service-requests",
        "Ask the school for help (talent training, technology consulting): an alumnus as "
        "themselves, the office on an alumnus's behalf.",
        "service-requests",
        (OFFICE, ALUMNUS),
        body=edge.ServiceRequestRequest,
        response=contract.ServiceRequest,
        status=201,
    )
    def submit_service_request(self, request: Request, principal: Principal, body: dict[str, Any]):
        alumnus_id = self._submitter(principal, body)
        return self.events.submit_service_request({**body, "alumnus_id": alumnus_id})

    @api(
        "POST",
        "/api/v1/service-requests/{request_id}/assign",
        "Give a service request to a staff member (again, to hand it on).",
        "service-requests",
        (OFFICE,),
        body=contract.ServiceRequestAssignment,
        response=contract.ServiceRequest,
    )
    def assign_service_request(
        self, request: Request, principal: Principal, request_id: str, body: dict[str, Any]
    ):
        return self.events.assign_service_request(request_id, body)

    @api(
        "POST",
        "/api/v1/service-requests/{request_id}/status",
        "Move a service request on: in_progress, resolved or closed (the last two say how).",
        "service-requests",
        (OFFICE,),
        body=contract.ServiceRequestProgress,
        response=contract.ServiceRequest,
    )
    def progress_service_request(
        self, request: Request, principal: Principal, request_id: str, body: dict[str, Any]
    ):
        return self.events.progress_service_request(request_id, body)

    @api(
        "POST",
        "/api/v1/service-requests/{request_id}/notes",
        "Add a note to a service request's history, in any status (a follow-up, too).",
        "service-requests",
        (OFFICE,),
        body=NoteInput,
        response=contract.ServiceRequest,
        status=201,
    )
    def add_service_request_note(
        self, request: Request, principal: Principal, request_id: str, body: dict[str, Any]
    ):
        return self.events.add_service_request_note(request_id, body)
