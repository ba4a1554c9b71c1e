"""The registry's nameko entrypoints: thin wrappers over services.registry.domain."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from services.common import config
from services.common.columns import utcnow
from services.common.contracts import registry as contract
from services.common.contracts.base import PageQuery, load_or_raise
from services.common.dependencies import Adapter, Database
from services.common.entrypoints import HealthMixin, configured_timer, rpc
from services.registry import domain, retention
from services.registry.models import Base


class RegistryService(HealthMixin):
    name = "registry"

    history_retention = Adapter(
        lambda settings: timedelta(
            seconds=config.get_float("HISTORY_CONTACT_RETENTION_SECONDS", settings)
        )
    )
    db = Database(Base)

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

    @configured_timer("HISTORY_MASK_SCAN_SECONDS")
    def mask_old_contacts(self) -> int:
        """Mask the history's contact values replaced longer ago than their retention."""
        handled = 0
        while True:
            with self.db.transaction() as session:
                done = retention.mask_old_contacts(session, utcnow(), self.history_retention)
            handled += done
            if done < retention.BATCH:
                return handled
