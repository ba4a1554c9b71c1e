"""Registry routes: staff accounts, alumni logins, departments, alumni."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from gateway.auth import Principal
from gateway.authz import registry as rules
from gateway.authz.base import LIAISON, MANAGERS, OFFICE, STAFF_ROLES
from gateway.http import api
from gateway.routes.community_archive import CommunityArchiveRoutes
from gateway.routes.community_chapters import ChapterRoutes
from gateway.routes.community_identity import CommunityIdentityRoutes
from gateway.routes.publication import PublicationRoutes
from gateway.routes.stewardship import StewardshipRoutes
from services.common.contracts import registry as contract
from services.common.contracts.base import PageQuery

STAFF = STAFF_ROLES
ALUMNUS_ROUTE = "GET /api/v1/alumni/{alumnus_id}"
HISTORY_ROUTE = "GET /api/v1/alumni/{alumnus_id}/history"
PATCH_ROUTE = "PATCH /api/v1/alumni/{alumnus_id}"


class Routes(
    StewardshipRoutes,
    PublicationRoutes,
    CommunityArchiveRoutes,
    CommunityIdentityRoutes,
    ChapterRoutes,
):
    registry: Any

    # ---- accounts -----------------------------------------------------------

    @api(
        "GET",
        "/api/v1/accounts",
        "List staff accounts.",
        "accounts",
        (OFFICE,),
        response=contract.Account,
        many=True,
    )
    def list_accounts(self, request: Request, principal: Principal) -> dict[str, Any]:
        return {"items": self.registry.list_accounts(), "next_cursor": None}

    @api(
        "POST",
        "/api/v1/accounts",
        "Create a staff account (office, committee, liaison).",
        "accounts",
        (OFFICE,),
        body=contract.AccountInput,
        response=contract.Account,
        status=201,
    )
    def create_account(self, request: Request, principal: Principal, body: dict[str, Any]):
        return self.registry.create_account(body)

    @api(
        "POST",
        "/api/v1/alumni/{alumnus_id}/account",
        "Create the login of an alumnus record (role alumnus); one per record.",
        "accounts",
        (OFFICE,),
        body=contract.AlumnusAccountInput,
        response=contract.Account,
        status=201,
    )
    def create_alumnus_account(
        self, request: Request, principal: Principal, alumnus_id: str, body: dict[str, Any]
    ):
        return self.registry.create_alumnus_account(alumnus_id, body)

    @api(
        "POST",
        "/api/v1/accounts/{account_id}/disable",
        "Disable an account (staff or alumnus): its sessions end, and its access tokens stop "
        "working within seconds. The office cannot disable its own account (409).",
        "accounts",
        (OFFICE,),
        response=contract.Account,
    )
    def disable_account(self, request: Request, principal: Principal, account_id: str):
        return self.registry.set_account_active(account_id, False)

    @api(
        "POST",
        "/api/v1/accounts/{account_id}/enable",
        "Enable a disabled account again (its user logs in anew).",
        "accounts",
        (OFFICE,),
        response=contract.Account,
    )
    def enable_account(self, request: Request, principal: Principal, account_id: str):
        return self.registry.set_account_active(account_id, True)

    # ---- departments --------------------------------------------------------

    @api(
        "GET",
        "/api/v1/departments",
        "List departments.",
        "departments",
        STAFF,
        response=contract.Department,
        many=True,
    )
    def list_departments(self, request: Request, principal: Principal) -> dict[str, Any]:
        return {"items": self.registry.list_departments(), "next_cursor": None}

    @api(
        "POST",
        "/api/v1/departments",
        "Create a department.",
        "departments",
        (OFFICE,),
        body=contract.DepartmentInput,
        response=contract.Department,
        status=201,
    )
    def create_department(self, request: Request, principal: Principal, body: dict[str, Any]):
        return self.registry.create_department(body)

    @api(
        "GET",
        "/api/v1/departments/{department_id}",
        "One department.",
        "departments",
        STAFF,
        response=contract.Department,
    )
    def get_department(self, request: Request, principal: Principal, department_id: str):
        return self.registry.get_department(department_id)

    # ---- alumni -------------------------------------------------------------

    @api(
        "GET",
        "/api/v1/alumni",
        "Search alumni, best match first: q is a name as typed (characters, full pinyin or "
        "initials: 单雄信, shan, sxx), any part of a name, employer or city, a student number, "
        "or a whole phone number or e-mail address; employer and city filter by any part. "
        "Items are summaries (no contacts, tags or times): the record is GET /api/v1/alumni/{id}.",
        "alumni",
        STAFF,
        query=contract.AlumnusSearch,
        response=contract.AlumnusSummary,
        many=True,
    )
    def search_alumni(
        self, request: Request, principal: Principal, query: dict[str, Any]
    ) -> dict[str, Any]:
        # The registry masks what the caller may not see, and logs what it shows unmasked.
        return self.registry.search_alumni(
            rules.scope_alumni_search(principal, query), "GET /api/v1/alumni"
        )

    @api(
        "POST",
        "/api/v1/alumni",
        "Register an alumnus with one or more graduation records.",
        "alumni",
        MANAGERS,
        body=contract.AlumnusInput,
        response=contract.Alumnus,
        status=201,
    )
    def create_alumnus(self, request: Request, principal: Principal, body: dict[str, Any]):
        rules.check_alumnus_create(principal, body)
        return self.registry.create_alumnus(body)

    @api(
        "GET",
        "/api/v1/alumni/{alumnus_id}",
        "One alumnus.",
        "alumni",
        STAFF,
        response=contract.AlumnusRead,
    )
    def get_alumnus(self, request: Request, principal: Principal, alumnus_id: str):
        # A record outside a liaison's scope comes back masked (so not logged), then 404s.
        alumnus = self.registry.get_alumnus(alumnus_id, ALUMNUS_ROUTE)
        rules.check_alumnus_read(principal, alumnus)
        return alumnus

    @api(
        "PATCH",
        "/api/v1/alumni/{alumnus_id}",
        "Change some fields of an alumnus. The office's change is applied (200); a "
        "liaison's waits in the office's review queue and answers 202 with the change "
        "request, the record unchanged until it is approved.",
        "alumni",
        MANAGERS,
        body=contract.AlumnusPatch,
        response=contract.Alumnus,
        other_success=((202, contract.ChangeRequestOut),),
    )
    def update_alumnus(
        self, request: Request, principal: Principal, alumnus_id: str, body: dict[str, Any]
    ):
        current = self.registry.get_alumnus(alumnus_id)
        rules.check_alumnus_update(principal, current, body)
        if principal.role == LIAISON:
            # Two-level stewardship (docs/stewardship.md): the office reviews it first.
            return 202, self.registry.submit_change_request(alumnus_id, body, PATCH_ROUTE)
        return self.registry.update_alumnus(alumnus_id, body, PATCH_ROUTE)

    @api(
        "GET",
        "/api/v1/alumni/{alumnus_id}/history",
        "Field-level change history: who, when, old and new value, source.",
        "alumni",
        STAFF,
        query=PageQuery,
        response=contract.Change,
        many=True,
    )
    def alumnus_history(
        self, request: Request, principal: Principal, alumnus_id: str, query: dict[str, Any]
    ):
        rules.check_alumnus_read(principal, self.registry.get_alumnus(alumnus_id))
        return self.registry.alumnus_history(
            alumnus_id, query["limit"], query["cursor"], HISTORY_ROUTE
        )
