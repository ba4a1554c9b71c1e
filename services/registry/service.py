"""The registry's nameko entrypoints: thin wrappers over services.registry.domain."""

from __future__ import annotations

import base64
import logging
from datetime import timedelta
from typing import Any

import eventlet
from nameko.dependency_providers import Config

from services.common import config
from services.common.contracts import registry as contract
from services.common.contracts.base import PageQuery, load_or_raise
from services.common.dependencies import Database
from services.common.entrypoints import HealthMixin, configured_timer, rpc
from services.registry import departments, domain, imports, merges
from services.registry.importing import ImportRejected, Limits
from services.registry.models import Base

log = logging.getLogger(__name__)


class RegistryService(HealthMixin):
    name = "registry"

    db = Database(Base)
    config = Config()

    @rpc
    def create_department(self, data: dict[str, Any]) -> dict[str, Any]:
        payload = load_or_raise(contract.DepartmentInput, data)
        with self.db.transaction() as session:
            return domain.create_department(session, payload)

    @rpc
    def list_departments(self) -> list[dict[str, Any]]:
        return domain.list_departments(self.db.session)

    @rpc
    def get_department(self, department_id: str) -> dict[str, Any]:
        return domain.get_department(self.db.session, department_id)

    @rpc
    def create_alumnus(self, data: dict[str, Any], actor: dict[str, Any]) -> dict[str, Any]:
        payload = load_or_raise(contract.AlumnusInput, data)
        with self.db.transaction() as session:
            return domain.register_alumnus(session, payload, load_or_raise(contract.Actor, actor))

    @rpc
    def update_alumnus(
        self, alumnus_id: str, patch: dict[str, Any], actor: dict[str, Any]
    ) -> dict[str, Any]:
        payload = load_or_raise(contract.AlumnusPatch, patch)
        with self.db.transaction() as session:
            return domain.update_alumnus(
                session, alumnus_id, payload, load_or_raise(contract.Actor, actor)
            )

    @rpc
    def get_alumnus(self, alumnus_id: str) -> dict[str, Any]:
        return domain.get_alumnus(self.db.session, alumnus_id)

    @rpc
    def search_alumni(self, params: dict[str, Any]) -> dict[str, Any]:
        return domain.search_alumni(self.db.session, load_or_raise(contract.AlumnusSearch, params))

    @rpc
    def alumnus_history(
        self, alumnus_id: str, limit: int = 50, cursor: str | None = None
    ) -> dict[str, Any]:
        page = load_or_raise(PageQuery, {"limit": limit, "cursor": cursor})
        return domain.alumnus_history(self.db.session, alumnus_id, page)

    @rpc
    def create_account(self, data: dict[str, Any]) -> dict[str, Any]:
        payload = load_or_raise(contract.AccountInput, data)
        with self.db.transaction() as session:
            return domain.create_account(session, payload)

    @rpc
    def create_alumnus_account(self, alumnus_id: str, data: dict[str, Any]) -> dict[str, Any]:
        payload = load_or_raise(contract.AlumnusAccountInput, data)
        with self.db.transaction() as session:
            return domain.create_alumnus_account(session, alumnus_id, payload)

    @rpc
    def list_accounts(self) -> list[dict[str, Any]]:
        return domain.list_accounts(self.db.session)

    @rpc
    def get_account(self, account_id: str) -> dict[str, Any]:
        return domain.get_account(self.db.session, account_id)

    @rpc
    def authenticate(self, credentials: dict[str, Any]) -> dict[str, Any]:
        payload = load_or_raise(contract.Credentials, credentials)
        return domain.authenticate(self.db.session, payload["username"], payload["password"])

    # ---- stewardship: department lineage (docs/stewardship.md) -------------

    @rpc
    def rename_department(
        self, department_id: str, data: dict[str, Any], actor: dict[str, Any]
    ) -> dict[str, Any]:
        payload = load_or_raise(contract.DepartmentRename, data)
        with self.db.transaction() as session:
            return departments.rename_department(
                session, department_id, payload, load_or_raise(contract.Actor, actor)
            )

    @rpc
    def merge_departments(self, data: dict[str, Any], actor: dict[str, Any]) -> dict[str, Any]:
        payload = load_or_raise(contract.DepartmentMerge, data)
        with self.db.transaction() as session:
            return departments.merge_departments(
                session, payload, load_or_raise(contract.Actor, actor)
            )

    @rpc
    def department_lineage(self, department_id: str) -> dict[str, Any]:
        return departments.lineage(self.db.session, department_id)

    # ---- stewardship: bulk import ------------------------------------------

    @rpc
    def create_import(self, data: dict[str, Any], actor: dict[str, Any]) -> dict[str, Any]:
        with self.db.transaction() as session:
            return imports.create_job(session, data, load_or_raise(contract.Actor, actor))

    @rpc
    def upload_import_chunk(self, job_id: str, seq: int, data: str) -> None:
        """One chunk of the upload, base64 (docs/stewardship.md: why in chunks)."""
        try:
            with self.db.transaction() as session:
                imports.add_chunk(session, job_id, seq, base64.b64decode(data), self._limits())
        except ImportRejected:
            with self.db.transaction() as session:
                imports.discard_job(session, job_id)
            raise

    @rpc
    def start_import(self, job_id: str) -> dict[str, Any]:
        try:
            with self.db.transaction() as session:
                return imports.start_job(session, job_id, self._limits())
        except ImportRejected:
            with self.db.transaction() as session:
                imports.discard_job(session, job_id)
            raise

    @rpc
    def get_import(self, job_id: str) -> dict[str, Any]:
        return imports.get_job(self.db.session, job_id)

    @rpc
    def import_rows(self, job_id: str, params: dict[str, Any]) -> dict[str, Any]:
        query = load_or_raise(contract.ImportRowQuery, params)
        return imports.job_rows(self.db.session, job_id, query)

    @rpc
    def import_report(self, job_id: str) -> str:
        """The report CSV as text (with its byte-order mark), for the gateway to send."""
        return imports.report_csv(self.db.session, job_id).decode("utf-8")

    @configured_timer("REGISTRY_IMPORT_SCAN_SECONDS")
    def run_imports(self) -> None:
        """Run queued imports, and resume those whose worker died (no heartbeat)."""
        stale = timedelta(seconds=config.get_float("REGISTRY_IMPORT_STALE_SECONDS", self.config))
        while True:
            with self.db.transaction() as session:
                job_id = imports.claim_job(session, stale)
            if job_id is None:
                return
            try:
                imports.run_job(self.db.transaction, job_id, self._limits(), eventlet.sleep)
            except Exception:
                log.exception("import job %s failed", job_id)
                with self.db.transaction() as session:
                    imports.fail_job(session, job_id, "导入时发生内部错误，请联系管理员。")

    def _limits(self) -> Limits:
        return Limits(max_bytes=config.get_int("REGISTRY_IMPORT_MAX_BYTES", self.config))

    # ---- stewardship: duplicates and merges --------------------------------

    @rpc
    def list_duplicates(self, params: dict[str, Any]) -> dict[str, Any]:
        query = load_or_raise(contract.DuplicateQuery, params)
        return merges.list_candidates(self.db.session, query)

    @rpc
    def dismiss_duplicate(self, candidate_id: int, actor: dict[str, Any]) -> dict[str, Any]:
        with self.db.transaction() as session:
            return merges.dismiss_candidate(
                session, int(candidate_id), load_or_raise(contract.Actor, actor)
            )

    @rpc
    def merge_alumni(self, data: dict[str, Any], actor: dict[str, Any]) -> dict[str, Any]:
        payload = load_or_raise(contract.MergeInput, data)
        with self.db.transaction() as session:
            return merges.merge(session, payload, load_or_raise(contract.Actor, actor))

    @rpc
    def undo_merge(self, merge_id: str, actor: dict[str, Any]) -> dict[str, Any]:
        with self.db.transaction() as session:
            return merges.undo(session, merge_id, load_or_raise(contract.Actor, actor))

    @rpc
    def get_merge(self, merge_id: str) -> dict[str, Any]:
        return merges.get_merge(self.db.session, merge_id)
