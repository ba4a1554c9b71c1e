"""The registry's nameko entrypoints: thin wrappers over services.registry.domain."""

from __future__ import annotations

from typing import Any

from services.common.contracts import registry as contract
from services.common.contracts.base import AccessLogQuery, PageQuery, Reader, load_or_raise
from services.common.dependencies import Database
from services.common.entrypoints import HealthMixin, rpc
from services.common.visibility import reader_from
from services.registry import domain, rights
from services.registry.models import Base


class RegistryService(HealthMixin):
    name = "registry"

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
        self, alumnus_id: str, patch: dict[str, Any], actor: dict[str, Any], purpose: str = ""
    ) -> dict[str, Any]:
        """The record after the change, shown (and logged) as a read by the same caller."""
        payload = load_or_raise(contract.AlumnusPatch, patch)
        who = load_or_raise(contract.Actor, actor)
        with self.db.transaction() as session:
            changed = domain.update_alumnus(session, alumnus_id, payload, who)
            return rights.shown(session, changed, reader_from(who), purpose or "update_alumnus")

    # Reads for a caller (`caller`: who asks; `purpose`: the route or task) are masked or
    # unmasked here, by services/common/visibility.py, and each unmasked one is logged in
    # the same transaction. Without a caller it is a platform service copying the record.

    @rpc
    def get_alumnus(
        self, alumnus_id: str, caller: dict[str, Any] | None = None, purpose: str = ""
    ) -> dict[str, Any]:
        if caller is None:
            return domain.get_alumnus(self.db.session, alumnus_id)
        reader = reader_from(load_or_raise(Reader, caller))
        with self.db.transaction() as session:
            return rights.read_alumnus(session, alumnus_id, reader, purpose)

    @rpc
    def search_alumni(
        self, params: dict[str, Any], caller: dict[str, Any] | None = None, purpose: str = ""
    ) -> dict[str, Any]:
        query = load_or_raise(contract.AlumnusSearch, params)
        if caller is None:
            return domain.search_alumni(self.db.session, query)
        reader = reader_from(load_or_raise(Reader, caller))
        with self.db.transaction() as session:
            return rights.read_alumni(session, query, reader, purpose)

    @rpc
    def alumnus_history(
        self,
        alumnus_id: str,
        limit: int = 50,
        cursor: str | None = None,
        caller: dict[str, Any] | None = None,
        purpose: str = "",
    ) -> dict[str, Any]:
        page = load_or_raise(PageQuery, {"limit": limit, "cursor": cursor})
        if caller is None:
            return domain.alumnus_history(self.db.session, alumnus_id, page)
        reader = reader_from(load_or_raise(Reader, caller))
        with self.db.transaction() as session:
            return rights.read_history(session, alumnus_id, page, reader, purpose)

    @rpc
    def access_log(self, params: dict[str, Any]) -> dict[str, Any]:
        query = load_or_raise(AccessLogQuery, params)
        return rights.search_access_log(self.db.session, query)

    # ---- the alumni's rights ---------------------------------------------------------

    @rpc
    def get_me(self, account_id: str) -> dict[str, Any]:
        return rights.get_me(self.db.session, account_id)

    @rpc
    def correct_own_record(
        self, alumnus_id: str, patch: dict[str, Any], actor: dict[str, Any]
    ) -> dict[str, Any]:
        payload = load_or_raise(contract.SelfPatch, patch)
        with self.db.transaction() as session:
            return rights.correct_own_record(
                session, alumnus_id, payload, load_or_raise(contract.Actor, actor)
            )

    @rpc
    def export_person(self, alumnus_id: str) -> dict[str, Any]:
        return rights.export_person(self.db.session, alumnus_id)

    @rpc
    def request_erasure(
        self, alumnus_id: str, account_id: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        payload = load_or_raise(contract.ErasureInput, data)
        with self.db.transaction() as session:
            return rights.request_erasure(session, alumnus_id, account_id, payload)

    @rpc
    def list_erasure_requests(self, params: dict[str, Any]) -> dict[str, Any]:
        query = load_or_raise(contract.ErasureSearch, params)
        return rights.list_erasure_requests(self.db.session, query)

    @rpc
    def get_erasure_request(self, request_id: str) -> dict[str, Any]:
        return rights.get_erasure_request(self.db.session, request_id)

    @rpc
    def decide_erasure(
        self, request_id: str, step: str, actor: dict[str, Any], data: dict[str, Any]
    ) -> dict[str, Any]:
        payload = load_or_raise(contract.ErasureDecision, data)
        with self.db.transaction() as session:
            return rights.decide_erasure(
                session, request_id, step, load_or_raise(contract.Actor, actor), payload["note"]
            )

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
