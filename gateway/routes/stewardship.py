"""Registry stewardship routes (docs/stewardship.md): department lineage, bulk import,
duplicates and merges. Mixed into the registry's `Routes` (gateway/routes/registry.py)."""

from __future__ import annotations

import base64
import json
from typing import Any

from werkzeug.wrappers import Request, Response

from gateway.auth import Principal
from gateway.authz.base import MANAGERS, OFFICE, STAFF_ROLES
from gateway.authz.stewardship import (
    check_change_request_read,
    check_import_read,
    scope_change_requests,
    scope_unconfirmed,
)
from gateway.http import api, reject_unstorable_text
from services.common import config
from services.common.contracts import registry as contract
from services.common.errors import NotFound, ValidationFailed
from services.registry.importing.errors import FileTooLarge, size_text

UPLOAD_LIMIT = config.get_int("REGISTRY_IMPORT_MAX_BYTES")
"""The largest file an import takes (the registry checks it again)."""
MULTIPART_OVERHEAD = 64 * 1024
"""Room in the request for the form's other fields and the multipart framing."""
CHUNK_BYTES = 1024 * 1024
"""The upload reaches the registry in RPCs of this much (docs/stewardship.md)."""
TRUE_WORDS = {"1", "true", "yes", "on"}
IMPORT_FORM = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "CSV or .xlsx"},
        "dry_run": {"type": "boolean", "description": "check only, write nothing"},
        "mapping": {
            "type": "string",
            "description": 'JSON: header → field, or null to ignore a column ({"学号": '
            '"student_number"}); other headers are guessed',
        },
        "defaults": {"type": "string", "description": "JSON: field → value for every row"},
        "sheet": {"type": "string", "description": "the worksheet of an .xlsx"},
    },
}


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
        return self.registry.rename_department(department_id, body)

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
        return self.registry.merge_departments(body)

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

    # ---- bulk import ----------------------------------------------------------

    @api(
        "POST",
        "/api/v1/alumni/imports",
        "Import a registrar export (CSV or .xlsx, multipart `file`); runs in the background.",
        "imports",
        MANAGERS,
        response=contract.ImportJob,
        status=201,
        form=IMPORT_FORM,
        max_body_bytes=UPLOAD_LIMIT + MULTIPART_OVERHEAD,
        extra_statuses=(413, 422),
    )
    def start_import(self, request: Request, principal: Principal):
        upload = request.files.get("file")
        if upload is None:
            raise ValidationFailed(
                "请上传文件（表单字段 file）。", {"fields": {"file": ["必须上传文件。"]}}
            )
        data = upload.read(UPLOAD_LIMIT + 1)
        if len(data) > UPLOAD_LIMIT:
            raise FileTooLarge(
                f"文件超过 {size_text(UPLOAD_LIMIT)} 的上限，请拆分后分批导入。",
                reason="file_too_large",
                limit_bytes=UPLOAD_LIMIT,
            )
        options = _import_options(request.form)
        job = self.registry.create_import(
            {"filename": (upload.filename or "upload")[:255], **options}
        )
        for seq, start in enumerate(range(0, len(data), CHUNK_BYTES)):
            chunk = base64.b64encode(data[start : start + CHUNK_BYTES]).decode("ascii")
            self.registry.upload_import_chunk(job["id"], seq, chunk)
        return self.registry.start_import(job["id"])

    @api(
        "GET",
        "/api/v1/alumni/imports/{job_id}",
        "An import job: its status and progress (rows read, imported, rejected, …).",
        "imports",
        MANAGERS,
        response=contract.ImportJob,
    )
    def get_import(self, request: Request, principal: Principal, job_id: str):
        job = self.registry.get_import(job_id)
        check_import_read(principal, job)
        return job

    @api(
        "GET",
        "/api/v1/alumni/imports/{job_id}/rows",
        "An import's rows with their outcome and problems (`status=refused` for the bad ones).",
        "imports",
        MANAGERS,
        query=contract.ImportRowQuery,
        response=contract.ImportRowOut,
        many=True,
    )
    def import_rows(self, request: Request, principal: Principal, job_id: str, query: dict):
        check_import_read(principal, self.registry.get_import(job_id))
        return self.registry.import_rows(job_id, query)

    @api(
        "GET",
        "/api/v1/alumni/imports/{job_id}/report.csv",
        "The rows with problems as a CSV for Excel (UTF-8 with BOM), fixable and re-importable.",
        "imports",
        MANAGERS,
        content_type="text/csv",
    )
    def import_report(self, request: Request, principal: Principal, job_id: str):
        check_import_read(principal, self.registry.get_import(job_id))
        return Response(
            self.registry.import_report(job_id).encode("utf-8"),
            content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="import-{job_id}.csv"'},
        )

    # ---- duplicates and merges --------------------------------------------------

    @api(
        "GET",
        "/api/v1/alumni/duplicates",
        "The duplicates review queue: pairs that may be one person, most likely first.",
        "duplicates",
        (OFFICE,),
        query=contract.DuplicateQuery,
        response=contract.DuplicateCandidateOut,
        many=True,
    )
    def list_duplicates(self, request: Request, principal: Principal, query: dict[str, Any]):
        return self.registry.list_duplicates(query)

    @api(
        "POST",
        "/api/v1/alumni/duplicates/{candidate}/dismiss",
        "Not one person: the pair leaves the queue for good.",
        "duplicates",
        (OFFICE,),
        response=contract.DuplicateCandidateOut,
    )
    def dismiss_duplicate(self, request: Request, principal: Principal, candidate: str):
        # A queue entry's number (not a public UUID: the pair is what the office sees).
        if not candidate.isdigit() or len(candidate) > 18:
            raise NotFound("疑似重复记录不存在。", reason="candidate_not_found")
        return self.registry.dismiss_duplicate(int(candidate))

    @api(
        "POST",
        "/api/v1/alumni/merges",
        "Merge two records of one person (survivorship: newest confirmed value per field).",
        "duplicates",
        (OFFICE,),
        body=contract.MergeInput,
        response=contract.MergeOut,
        status=201,
    )
    def merge_alumni(self, request: Request, principal: Principal, body: dict[str, Any]):
        return self.registry.merge_alumni(body)

    @api(
        "GET",
        "/api/v1/alumni/merges/{merge_id}",
        "A merge.",
        "duplicates",
        (OFFICE,),
        response=contract.MergeOut,
    )
    def get_merge(self, request: Request, principal: Principal, merge_id: str):
        return self.registry.get_merge(merge_id)

    @api(
        "POST",
        "/api/v1/alumni/merges/{merge_id}/undo",
        "Undo a merge: both records back, fields changed since the merge kept.",
        "duplicates",
        (OFFICE,),
        response=contract.MergeOut,
    )
    def undo_merge(self, request: Request, principal: Principal, merge_id: str):
        return self.registry.undo_merge(merge_id)

    # ---- two-level stewardship: liaisons' changes, confirmation ------------------------

    @api(
        "GET",
        "/api/v1/alumni/change-requests",
        "Liaisons' changes for the office's review, oldest first (office: all, by status, "
        "department or alumnus; liaison: their own, with the decision and its reason).",
        "review",
        MANAGERS,
        query=contract.ChangeRequestQuery,
        response=contract.ChangeRequestOut,
        many=True,
    )
    def list_change_requests(self, request: Request, principal: Principal, query: dict):
        return self.registry.list_change_requests(
            scope_change_requests(principal, query), "GET /api/v1/alumni/change-requests"
        )

    @api(
        "GET",
        "/api/v1/alumni/change-requests/{request_id}",
        "One change request (pending: beside the record's current values).",
        "review",
        MANAGERS,
        response=contract.ChangeRequestOut,
    )
    def get_change_request(self, request: Request, principal: Principal, request_id: str):
        found = self.registry.get_change_request(request_id, CHANGE_REQUEST_ROUTE)
        check_change_request_read(principal, found)
        return found

    @api(
        "POST",
        "/api/v1/alumni/change-requests/{request_id}/approve",
        "Approve: the change is applied (history and provenance `liaison`). 409 "
        "`changed_since_submitted` when its fields changed since; `force` applies it anyway.",
        "review",
        (OFFICE,),
        body=contract.ChangeRequestApproval,
        body_optional=True,
        response=contract.ChangeRequestOut,
    )
    def approve_change_request(
        self, request: Request, principal: Principal, request_id: str, body: dict | None
    ):
        return self.registry.approve_change_request(
            request_id, body or {}, "POST /api/v1/alumni/change-requests/{request_id}/approve"
        )

    @api(
        "POST",
        "/api/v1/alumni/change-requests/{request_id}/reject",
        "Reject with a reason (required), which the liaison sees; the record stays as it is.",
        "review",
        (OFFICE,),
        body=contract.ChangeRequestRejection,
        response=contract.ChangeRequestOut,
    )
    def reject_change_request(
        self, request: Request, principal: Principal, request_id: str, body: dict[str, Any]
    ):
        return self.registry.reject_change_request(
            request_id, body, "POST /api/v1/alumni/change-requests/{request_id}/reject"
        )

    @api(
        "POST",
        "/api/v1/alumni/{alumnus_id}/confirm",
        "Confirm every field of a record as it is (provenance `confirmed_at`), changing none.",
        "review",
        (OFFICE,),
        response=contract.AlumnusRead,
    )
    def confirm_alumnus(self, request: Request, principal: Principal, alumnus_id: str):
        return self.registry.confirm_alumnus(alumnus_id, "POST /api/v1/alumni/{alumnus_id}/confirm")

    @api(
        "GET",
        "/api/v1/alumni/unconfirmed",
        "Records not confirmed for REGISTRY_CONFIRM_AFTER_YEARS (default 3), to check "
        "(liaison: their department's lineage).",
        "review",
        MANAGERS,
        query=contract.UnconfirmedQuery,
        response=contract.AlumnusRead,
        many=True,
    )
    def unconfirmed_alumni(self, request: Request, principal: Principal, query: dict):
        return self.registry.unconfirmed_alumni(
            scope_unconfirmed(principal, query), "GET /api/v1/alumni/unconfirmed"
        )


CHANGE_REQUEST_ROUTE = "GET /api/v1/alumni/change-requests/{request_id}"


def _import_options(form: Any) -> dict[str, Any]:
    """The form's options, JSON-native; 422 naming the field for a bad one."""
    options: dict[str, Any] = {"dry_run": (form.get("dry_run") or "").strip().lower() in TRUE_WORDS}
    for name in ("mapping", "defaults"):
        raw = form.get(name)
        if not raw:
            continue
        try:
            value = json.loads(raw)
        except ValueError:
            value = None
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise ValidationFailed("导入选项格式不正确。", {"fields": {name: ["应为 JSON 对象。"]}})
        reject_unstorable_text(value)
        options[name] = value
    if form.get("sheet"):
        options["sheet"] = form["sheet"][:100]
    return options
