"""Registry stewardship: who imports, and whose import jobs a caller sees.

| action | office | committee | liaison |
|---|---|---|---|
| import a registrar export | yes | — | yes: only rows of their department's lineage are taken |
| an import job, its rows and report | all | — | their department's jobs; others answer 404 |
| departments renamed or merged | yes | — | — |
| duplicates queue, merge, undo | yes | — | — |
"""

from __future__ import annotations

from typing import Any

from gateway.auth import Principal
from gateway.authz.base import LIAISON
from services.common.errors import NotFound


def check_import_read(principal: Principal, job: dict[str, Any]) -> None:
    if principal.role == LIAISON and job.get("department_id") != principal.department_id:
        raise NotFound("导入任务不存在。", {"job_id": job["id"]}, reason="import_not_found")
