"""School–alumni cooperation projects (三.8)."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from gateway.auth import Principal
from gateway.authz import projects as project_rules
from gateway.authz.base import MANAGERS, STAFF_ROLES
from gateway.http import api
from gateway.routes.events.common import EventsRoutesBase
from services.common.contracts.events import cooperation as contract
from services.common.contracts.events.common import NoteInput


class ProjectRoutes(EventsRoutesBase):
    @api(
        "GET",
        "/api/v1/projects",
        "School–alumni cooperation projects; a liaison's, of their department.",
        "projects",
        STAFF_ROLES,
        query=contract.ProjectSearch,
        response=contract.Project,
        many=True,
    )
    def list_projects(
        self, request: Request, principal: Principal, query: dict[str, Any]
    ) -> dict[str, Any]:
        # The events service masks the contacts the caller may not see, and logs the rest.
        query = project_rules.scope_project_search(principal, query)
        return self.events.list_projects(query, "GET /api/v1/projects")

    @api(
        "POST",
        "/api/v1/projects",
        "Record a cooperation project; a liaison for their own department.",
        "projects",
        MANAGERS,
        body=contract.ProjectInput,
        response=contract.Project,
        status=201,
    )
    def create_project(self, request: Request, principal: Principal, body: dict[str, Any]):
        project_rules.check_project_create(principal, body)
        self._known_department(body.get("department_id"), "department_id")
        return self.events.create_project(body, "POST /api/v1/projects")

    @api(
        "PATCH",
        "/api/v1/projects/{project_id}",
        "Change a project's title, partner, contacts (replaced as a whole) or department.",
        "projects",
        MANAGERS,
        body=contract.ProjectPatch,
        response=contract.Project,
    )
    def update_project(
        self, request: Request, principal: Principal, project_id: str, body: dict[str, Any]
    ):
        project_rules.check_project_write(principal, self.events.get_project(project_id), body)
        if body.get("department_id") is not None:
            self._known_department(body["department_id"], "department_id")
        return self.events.update_project(project_id, body, "PATCH /api/v1/projects/{project_id}")

    @api(
        "POST",
        "/api/v1/projects/{project_id}/notes",
        "Add a note to a project (notes are never edited).",
        "projects",
        MANAGERS,
        body=NoteInput,
        response=contract.Project,
        status=201,
    )
    def add_project_note(
        self, request: Request, principal: Principal, project_id: str, body: dict[str, Any]
    ):
        project_rules.check_project_write(principal, self.events.get_project(project_id))
        return self.events.add_project_note(
            project_id, body, "POST /api/v1/projects/{project_id}/notes"
        )

    @api(
        "POST",
        "/api/v1/projects/{project_id}/status",
        "Move a project on (proposed → active ⇄ suspended → completed), with a note.",
        "projects",
        MANAGERS,
        body=contract.ProjectStatusChange,
        response=contract.Project,
    )
    def change_project_status(
        self, request: Request, principal: Principal, project_id: str, body: dict[str, Any]
    ):
        project_rules.check_project_write(principal, self.events.get_project(project_id))
        return self.events.change_project_status(
            project_id, body, "POST /api/v1/projects/{project_id}/status"
        )
