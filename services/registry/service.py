"""The registry's nameko entrypoints: thin wrappers over services.registry.domain."""

from __future__ import annotations

import base64
import logging
from datetime import timedelta
from typing import Any

import eventlet
from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider

from services.common import config
from services.common.caller import Caller
from services.common.columns import utcnow
from services.common.contracts import registry as contract
from services.common.contracts.base import AccessLogQuery, PageQuery, load_or_raise
from services.common.dependencies import Adapter, Database
from services.common.entrypoints import HealthMixin, configured_timer, rpc
from services.common.errors import (
    AuthenticationFailed,
    Conflict,
    PermissionDenied,
    ValidationFailed,
)
from services.common.offload import BoundedOffload
from services.common.visibility import require_self_or_service
from services.registry import (
    departments,
    domain,
    imports,
    merges,
    passwords,
    retention,
    rights,
    sessions,
)
from services.registry.community.service import CommunityRpc
from services.registry.importing import ImportRejected, Limits
from services.registry.models import Base

log = logging.getLogger(__name__)


class Identity(DependencyProvider):
    """Login rules and the bounded pool that hashes passwords off the event loop
    (services/common/offload.py), built once per container from its settings."""

    def setup(self) -> None:
        settings = self.container.config
        self.rules = sessions.LoginRules(
            free_per_user=config.get_int("LOGIN_FREE_ATTEMPTS_PER_USER", settings),
            free_per_address=config.get_int("LOGIN_FREE_ATTEMPTS_PER_ADDRESS", settings),
            first_lockout_seconds=config.get_float("LOGIN_FIRST_LOCKOUT_SECONDS", settings),
            max_lockout_seconds=config.get_float("LOGIN_MAX_LOCKOUT_SECONDS", settings),
            window_seconds=config.get_float("LOGIN_WINDOW_SECONDS", settings),
            refresh_ttl_seconds=config.REFRESH_TOKEN_TTL_SECONDS,
        )
        self.offload = BoundedOffload(
            config.get_int("PASSWORD_HASHES_AT_ONCE", settings),
            config.get_int("PASSWORD_HASHES_WAITING", settings),
        )

    def get_dependency(self, worker_ctx) -> Identity:
        return self

    def hash_password(self, password: str) -> str:
        return self.offload.run(passwords.hash_password, password)

    def verify_password(self, password_hash: str | None, password: str) -> bool:
        return self.offload.run(passwords.verify_password, password_hash, password)


class RegistryService(HealthMixin, CommunityRpc):
    name = "registry"

    history_retention = Adapter(
        lambda settings: timedelta(
            seconds=config.get_float("HISTORY_CONTACT_RETENTION_SECONDS", settings)
        )
    )
    db = Database(Base)
    config = Config()
    identity = Identity()

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

    # Reads (and the record a change answers with) are masked or unmasked here, for the
    # verified caller, by services/common/visibility.py; each unmasked one is logged in the
    # same transaction with its `purpose` (the route). A person's read without a purpose
    # (the gateway checking a record's departments) is answered masked: nobody is shown it.

    @rpc(caller=True)
    def update_alumnus(
        self, alumnus_id: str, patch: dict[str, Any], purpose: str = "", *, caller: Caller
    ) -> dict[str, Any]:
        payload = load_or_raise(contract.AlumnusPatch, patch)
        with self.db.transaction() as session:
            changed = domain.update_alumnus(session, alumnus_id, payload, caller.as_actor())
            return rights.shown(session, changed, caller, purpose)

    @rpc(caller=True)
    def get_alumnus(self, alumnus_id: str, purpose: str = "", *, caller: Caller) -> dict:
        with self.db.transaction() as session:
            return rights.read_alumnus(session, alumnus_id, caller, purpose)

    @rpc(caller=True)
    def search_alumni(self, params: dict[str, Any], purpose: str = "", *, caller: Caller) -> dict:
        query = load_or_raise(contract.AlumnusSearch, params)
        with self.db.transaction() as session:
            return rights.read_alumni(session, query, caller, purpose)

    @rpc(caller=True)
    def alumnus_history(
        self,
        alumnus_id: str,
        limit: int = 50,
        cursor: str | None = None,
        purpose: str = "",
        *,
        caller: Caller,
    ) -> dict[str, Any]:
        page = load_or_raise(PageQuery, {"limit": limit, "cursor": cursor})
        with self.db.transaction() as session:
            return rights.read_history(session, alumnus_id, page, caller, purpose)

    @rpc(caller=True)
    def access_log(self, params: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        require_office(caller)
        query = load_or_raise(AccessLogQuery, params)
        return rights.search_access_log(self.db.session, query)

    # ---- the alumni's rights (services/registry/rights.py) ----------------------------------

    @rpc(caller=True)
    def get_me(self, *, caller: Caller) -> dict[str, Any]:
        """The caller's account and, for an alumnus, their own record."""
        return rights.get_me(self.db.session, caller.account_id)

    @rpc(caller=True)
    def correct_own_record(self, patch: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        payload = load_or_raise(contract.SelfPatch, patch)
        with self.db.transaction() as session:
            return rights.correct_own_record(
                session, own_record(caller), payload, caller.as_actor()
            )

    @rpc(caller=True)
    def export_person(self, alumnus_id: str, *, caller: Caller) -> dict[str, Any]:
        require_self_or_service(caller, alumnus_id)
        return rights.export_person(self.db.session, alumnus_id)

    @rpc(caller=True)
    def request_erasure(self, data: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        payload = load_or_raise(contract.ErasureInput, data)
        with self.db.transaction() as session:
            return rights.request_erasure(session, own_record(caller), caller.account_id, payload)

    @rpc(caller=True)
    def list_erasure_requests(self, params: dict[str, Any], *, caller: Caller) -> dict:
        require_office(caller)
        query = load_or_raise(contract.ErasureSearch, params)
        return rights.list_erasure_requests(self.db.session, query)

    @rpc(caller=True)
    def get_erasure_request(self, request_id: str, *, caller: Caller) -> dict[str, Any]:
        require_office(caller)
        return rights.get_erasure_request(self.db.session, request_id)

    @rpc(caller=True)
    def decide_erasure(
        self, request_id: str, step: str, data: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        """approve or reject: the office's decision; approval erases at once."""
        require_office(caller)
        payload = load_or_raise(contract.ErasureDecision, data)
        with self.db.transaction() as session:
            return rights.decide_erasure(
                session, request_id, step, caller.as_actor(), payload["note"]
            )

    @rpc(caller=True)
    def create_account(self, data: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        require_office(caller)
        payload = load_or_raise(contract.AccountInput, data)
        with self.db.transaction() as session:
            return domain.create_account(session, payload, self.identity.hash_password)

    @rpc(caller=True)
    def create_alumnus_account(
        self, alumnus_id: str, data: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        require_office(caller)
        payload = load_or_raise(contract.AlumnusAccountInput, data)
        with self.db.transaction() as session:
            return domain.create_alumnus_account(
                session, alumnus_id, payload, self.identity.hash_password
            )

    @rpc(caller=True)
    def list_accounts(self) -> list[dict[str, Any]]:
        return domain.list_accounts(self.db.session)

    @rpc(caller=True)
    def get_account(self, account_id: str, *, caller: Caller) -> dict[str, Any]:
        if caller.account_id != account_id:
            require_office(caller)
        return domain.get_account(self.db.session, account_id)

    @rpc(caller=True)
    def set_account_active(self, account_id: str, active: bool, *, caller: Caller) -> dict:
        """The office disables (or enables again) an account; disabling ends its sessions."""
        require_office(caller)
        if account_id == caller.account_id and not active:
            raise Conflict("不能停用自己的账号。", reason="own_account")
        with self.db.transaction() as session:
            return sessions.set_active(session, account_id, bool(active), utcnow())

    # ---- logins and sessions (services/registry/sessions.py) -------------------------------

    @rpc(caller=True)
    def authenticate(
        self, credentials: dict[str, Any], client_address: str | None = None, *, caller: Caller
    ) -> dict[str, Any]:
        """A login through the gateway: the account and a new session, throttled per username
        and per client address, the password verified off the event loop."""
        require_gateway(caller)
        payload = load_or_raise(contract.Credentials, credentials)
        username, password = payload["username"], payload["password"]
        address = str(client_address)[:64] if client_address else None
        with self.db.transaction() as session:
            sessions.check_throttle(session, username, address, utcnow())
            password_hash = sessions.password_hash_for_login(session, username)
        ok = self.identity.verify_password(password_hash, password)
        with self.db.transaction() as session:
            result = sessions.finish_login(
                session, username, address, ok, utcnow(), self.identity.rules
            )
        if result is None:
            raise AuthenticationFailed("用户名或密码错误。", reason="bad_credentials")
        return result

    @rpc(caller=True)
    def refresh_session(self, refresh_jti: str, *, caller: Caller) -> dict[str, Any]:
        """Use up a refresh token and issue the next; a reused one ends its session."""
        require_gateway(caller)
        refused = None
        with self.db.transaction() as session:
            try:
                return sessions.rotate(session, str(refresh_jti), utcnow(), self.identity.rules)
            except AuthenticationFailed as error:
                refused = error  # committed: a reuse's revocation must stay
        raise refused

    @rpc(caller=True)
    def logout(self, session_id: str, *, caller: Caller) -> None:
        with self.db.transaction() as session:
            sessions.end_session(session, caller.account_id, str(session_id), utcnow())

    @rpc(caller=True)
    def session_status(self, session_id: str | None, *, caller: Caller) -> dict[str, Any]:
        """Whether the caller's account is active, its token version, and whether the session
        is alive: what the gateway checks access tokens against (cached briefly)."""
        return sessions.session_status(self.db.session, caller.account_id, session_id)

    @rpc(caller=True)
    def change_password(self, data: dict[str, Any], *, caller: Caller) -> None:
        """The caller's own password: the current one verified (failures count towards the
        login throttle), the new one checked against the policy; every session ends."""
        payload = load_or_raise(contract.PasswordChange, data)
        with self.db.transaction() as session:
            username, current_hash = sessions.login_of(session, caller.account_id)
            sessions.check_throttle(session, username, None, utcnow())
        if not self.identity.verify_password(current_hash, payload["current_password"]):
            with self.db.transaction() as session:
                sessions.record_failure(session, username, None, utcnow(), self.identity.rules)
            message = "当前密码不正确。"
            raise ValidationFailed(
                message, {"fields": {"current_password": [message]}}, reason="wrong_password"
            )
        passwords.check_policy(payload["new_password"], username, field="new_password")
        new_hash = self.identity.hash_password(payload["new_password"])
        with self.db.transaction() as session:
            sessions.change_password(session, caller.account_id, new_hash, utcnow())

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

    # ---- stewardship: department lineage (docs/stewardship.md) -------------

    @rpc(caller=True)
    def rename_department(
        self, department_id: str, data: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        payload = load_or_raise(contract.DepartmentRename, data)
        require_stewardship_office(caller)
        with self.db.transaction() as session:
            return departments.rename_department(session, department_id, payload, caller.as_actor())

    @rpc(caller=True)
    def merge_departments(self, data: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        payload = load_or_raise(contract.DepartmentMerge, data)
        require_stewardship_office(caller)
        with self.db.transaction() as session:
            return departments.merge_departments(session, payload, caller.as_actor())

    @rpc(caller=True)
    def department_lineage(self, department_id: str) -> dict[str, Any]:
        return departments.lineage(self.db.session, department_id)

    # ---- stewardship: bulk import ------------------------------------------

    @rpc(caller=True)
    def create_import(self, data: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        require_role(caller, "office", "liaison")
        with self.db.transaction() as session:
            return imports.create_job(session, data, caller.as_actor())

    @rpc(caller=True)
    def upload_import_chunk(self, job_id: str, seq: int, data: str) -> None:
        """One chunk of the upload, base64 (docs/stewardship.md: why in chunks)."""
        try:
            with self.db.transaction() as session:
                imports.add_chunk(session, job_id, seq, base64.b64decode(data), self._limits())
        except ImportRejected:
            with self.db.transaction() as session:
                imports.discard_job(session, job_id)
            raise

    @rpc(caller=True)
    def start_import(self, job_id: str) -> dict[str, Any]:
        try:
            with self.db.transaction() as session:
                return imports.start_job(session, job_id, self._limits())
        except ImportRejected:
            with self.db.transaction() as session:
                imports.discard_job(session, job_id)
            raise

    @rpc(caller=True)
    def get_import(self, job_id: str) -> dict[str, Any]:
        return imports.get_job(self.db.session, job_id)

    @rpc(caller=True)
    def import_rows(self, job_id: str, params: dict[str, Any]) -> dict[str, Any]:
        query = load_or_raise(contract.ImportRowQuery, params)
        return imports.job_rows(self.db.session, job_id, query)

    @rpc(caller=True)
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

    @rpc(caller=True)
    def list_duplicates(self, params: dict[str, Any]) -> dict[str, Any]:
        query = load_or_raise(contract.DuplicateQuery, params)
        return merges.list_candidates(self.db.session, query)

    @rpc(caller=True)
    def dismiss_duplicate(self, candidate_id: int, *, caller: Caller) -> dict[str, Any]:
        require_stewardship_office(caller)
        with self.db.transaction() as session:
            return merges.dismiss_candidate(session, int(candidate_id), caller.as_actor())

    @rpc(caller=True)
    def merge_alumni(self, data: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        payload = load_or_raise(contract.MergeInput, data)
        require_stewardship_office(caller)
        with self.db.transaction() as session:
            return merges.merge(session, payload, caller.as_actor())

    @rpc(caller=True)
    def undo_merge(self, merge_id: str, *, caller: Caller) -> dict[str, Any]:
        require_stewardship_office(caller)
        with self.db.transaction() as session:
            return merges.undo(session, merge_id, caller.as_actor())

    @rpc(caller=True)
    def get_merge(self, merge_id: str) -> dict[str, Any]:
        return merges.get_merge(self.db.session, merge_id)


def require_office(caller: Caller) -> None:
    if caller.role != "office":
        raise PermissionDenied("只有校友会办公室可以管理账号。", reason="role_not_allowed")


def own_record(caller: Caller) -> str:
    """The record an alumnus acts on is always their own, whatever a call names."""
    if caller.role != "alumnus" or not caller.alumnus_id:
        raise PermissionDenied("只有校友本人可以这样做。", reason="alumnus_only")
    return caller.alumnus_id


def require_gateway(caller: Caller) -> None:
    """Logins and refreshes come from the gateway only (it throttles and issues tokens)."""
    if caller != Caller.for_service("gateway"):
        raise PermissionDenied("登录只能经由网关。", reason="gateway_only")


def require_role(caller: Caller, *roles: str) -> None:
    """The gateway decides first (gateway/authz/); a signed caller of another role is
    refused here too."""
    if caller.role not in roles:
        raise PermissionDenied("当前角色无权执行此操作。", reason="role_not_allowed")


def require_stewardship_office(caller: Caller) -> None:
    require_role(caller, "office")
