"""Registry stewardship routes (docs/stewardship.md): department lineage, bulk import,
duplicates and merges. Mixed into the registry's `Routes` (gateway/routes/registry.py)."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from gateway.auth import Principal
from gateway.authz.base import OFFICE, STAFF_ROLES
from gateway.http import api
from services.common.contracts import registry as contract


class StewardshipRoutes:
    registry: Any

    # ---- department lineage -------------------------------------------------

    @api(
        "POST",
        "/api/v1/departments/{department_id}/rename",
        "Rename a department (name and/or code); the old ones stay as its former names.",
        "departments",
        (OFFICE,),
        body=contract.DepartmentRename,
        response=contract.DepartmentLineage,
    )
    def rename_department(
        self, request: Request, principal: Principal, department_id: str, body: dict[str, Any]
    ):
        return self.registry.rename_department(department_id, body, principal.as_actor())

    @api(
        "POST",
        "/api/v1/departments/merges",
        "Merge departments into a successor (existing or new); their alumni become its.",
        "departments",
        (OFFICE,),
        body=contract.DepartmentMerge,
        response=contract.DepartmentLineage,
        status=201,
    )
    def merge_departments(self, request: Request, principal: Principal, body: dict[str, Any]):
        return self.registry.merge_departments(body, principal.as_actor())

    @api(
        "GET",
        "/api/v1/departments/{department_id}/lineage",
        "A department's lineage: where it belongs now, its former names, its predecessors.",
        "departments",
        STAFF_ROLES,
        response=contract.DepartmentLineage,
    )
    def department_lineage(self, request: Request, principal: Principal, department_id: str):
        return self.registry.department_lineage(department_id)
