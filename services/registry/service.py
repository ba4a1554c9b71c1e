"""The registry's nameko entrypoints: thin wrappers over services.registry.domain."""

from __future__ import annotations

from typing import Any

from services.common.caller import Caller
from services.common.contracts import registry as contract
from services.common.contracts.base import PageQuery, load_or_raise
from services.common.dependencies import Database
from services.common.entrypoints import HealthMixin, rpc
from services.registry import domain
from services.registry.models import Base


class RegistryService(HealthMixin):
    name = "registry"

    db = Database(Base)

    @rpc(caller=True)
    def create_department(self, data: dict[str, Any]) -> dict[str, Any]:
        payload = load_or_raise(contract.DepartmentInput, data)
        with self.db.transaction() as session:
            return domain.create_department(session, payload)

    @rpc(caller=True)
    def list_departments(self) -> list[dict[str, Any]]:
        return domain.list_departments(self.db.session)

    @rpc(caller=True)
    def get_department(self, department_id: str) -> dict[str, Any]:
        return domain.get_department(self.db.session, department_id)

    @rpc(caller=True)
    def create_alumnus(self, data: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        payload = load_or_raise(contract.AlumnusInput, data)
        with self.db.transaction() as session:
            return domain.register_alumnus(session, payload, caller.as_actor())

    @rpc(caller=True)
    def update_alumnus(
        self, alumnus_id: str, patch: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        payload = load_or_raise(contract.AlumnusPatch, patch)
        with self.db.transaction() as session:
            return domain.update_alumnus(session, alumnus_id, payload, caller.as_actor())

    @rpc(caller=True)
    def get_alumnus(self, alumnus_id: str) -> dict[str, Any]:
        return domain.get_alumnus(self.db.session, alumnus_id)

    @rpc(caller=True)
    def search_alumni(self, params: dict[str, Any]) -> dict[str, Any]:
        return domain.search_alumni(self.db.session, load_or_raise(contract.AlumnusSearch, params))

    @rpc(caller=True)
    def alumnus_history(
        self, alumnus_id: str, limit: int = 50, cursor: str | None = None
    ) -> dict[str, Any]:
        page = load_or_raise(PageQuery, {"limit": limit, "cursor": cursor})
        return domain.alumnus_history(self.db.session, alumnus_id, page)

    @rpc(caller=True)
    def create_account(self, data: dict[str, Any]) -> dict[str, Any]:
        payload = load_or_raise(contract.AccountInput, data)
        with self.db.transaction() as session:
            return domain.create_account(session, payload)

    @rpc(caller=True)
    def create_alumnus_account(self, alumnus_id: str, data: dict[str, Any]) -> dict[str, Any]:
        payload = load_or_raise(contract.AlumnusAccountInput, data)
        with self.db.transaction() as session:
            return domain.create_alumnus_account(session, alumnus_id, payload)

    @rpc(caller=True)
    def list_accounts(self) -> list[dict[str, Any]]:
        return domain.list_accounts(self.db.session)

    @rpc
    def get_account(self, account_id: str) -> dict[str, Any]:
        return domain.get_account(self.db.session, account_id)

    @rpc
    def authenticate(self, credentials: dict[str, Any]) -> dict[str, Any]:
        payload = load_or_raise(contract.Credentials, credentials)
        return domain.authenticate(self.db.session, payload["username"], payload["password"])
