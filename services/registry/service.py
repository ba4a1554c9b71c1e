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
from services.common.contracts import community_identity as identity_contract
from services.common.contracts import registry as contract
from services.common.contracts import registry_archive as archive_contract
from services.common.contracts.base import AccessLogQuery, PageQuery, load_or_raise
from services.common.dependencies import Adapter, Database
from services.common.entrypoints import HealthMixin, configured_timer, rpc
from services.common.errors import (
    AppError,
    AuthenticationFailed,
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from services.common.offload import BoundedOffload, ChildProcess
from services.common.visibility import PERSONAL_FIELDS, require_self_or_service
from services.registry import (
    archive,
    card_workflow,
    claims,
    departments,
    directory,
    domain,
    exports,
    imports,
    merges,
    passwords,
    reports,
    retention,
    review,
    rights,
    sessions,
    statistics,
    stories,
)
from services.registry.cards import CardKey
from services.registry.community.service import CommunityRpc
from services.registry.importing import ImportRejected, Limits
from services.registry.models import Base
from services.registry.pinyin import load_dictionaries

log = logging.getLogger(__name__)
load_dictionaries()  # at start, not in the first request that reads a name


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


# ---- the distinguished-alumni archive, stories and news (docs/community.md) --------------

ARCHIVE_WRITERS = ("office", "liaison")
ARCHIVE_READERS = ("office", "committee", "liaison")


class CommunityArchiveRpc:
    """The distinguished-alumni archive, stories and news (docs/community.md): thin over
    archive.py and stories.py. The gateway decides who may see or change what
    (gateway/authz/community_archive.py); a signed caller of a role that may never write
    here is refused again, and the lists a liaison reads are narrowed here too, so that a
    forgotten scope in the gateway cannot widen them."""

    db: Any

    # ---- the distinguished-alumni archive ------------------------------------------------

    @rpc(caller=True)
    def nominate_distinguished(self, data: dict[str, Any], *, caller: Caller) -> dict:
        require_role(caller, *ARCHIVE_WRITERS)
        payload = load_or_raise(archive_contract.NominationInput, data)
        with self.db.transaction() as session:
            return archive.nominate(session, payload, caller.as_actor())

    @rpc(caller=True)
    def decide_distinguished(
        self, entry_id: str, step: str, data: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        require_role(caller, "office")
        if step == "approve":
            payload = load_or_raise(archive_contract.ApprovalInput, data)
            note, steward = payload["note"], payload["steward_id"]
        else:
            payload = load_or_raise(archive_contract.RejectionInput, data)
            note, steward = payload["reason"], None
        with self.db.transaction() as session:
            return archive.decide(
                session, entry_id, step, caller.as_actor(), note, str(steward or "") or None
            )

    @rpc(caller=True)
    def assign_distinguished_steward(
        self, entry_id: str, data: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        require_role(caller, "office")
        payload = load_or_raise(archive_contract.StewardInput, data)
        with self.db.transaction() as session:
            return archive.assign_steward(session, entry_id, str(payload["steward_id"]))

    @rpc(caller=True)
    def get_distinguished(self, entry_id: str, *, caller: Caller) -> dict[str, Any]:
        require_role(caller, *ARCHIVE_READERS)
        return archive.get_entry(self.db.session, entry_id)

    @rpc(caller=True)
    def list_distinguished_nominations(
        self, params: dict[str, Any], nominator_id: str | None = None, *, caller: Caller
    ) -> dict[str, Any]:
        require_role(caller, *ARCHIVE_READERS)
        query = load_or_raise(archive_contract.NominationSearch, params)
        if caller.role == "liaison":
            nominator_id = caller.account_id
        return archive.list_entries(
            self.db.session, query, archived=False, nominator_id=nominator_id
        )

    @rpc(caller=True)
    def list_distinguished(self, params: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        require_role(caller, *ARCHIVE_READERS)
        query = load_or_raise(archive_contract.ArchiveSearch, params)
        steward = str(query["steward_id"]) if query.get("steward_id") else None
        if caller.role == "liaison":
            steward = caller.account_id
        return archive.list_entries(self.db.session, query, archived=True, steward_id=steward)

    @rpc(caller=True)
    def add_distinguished_interaction(
        self, entry_id: str, data: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        require_role(caller, *ARCHIVE_WRITERS)
        payload = load_or_raise(archive_contract.InteractionInput, data)
        with self.db.transaction() as session:
            return archive.add_interaction(session, entry_id, payload, caller.as_actor())

    @rpc(caller=True)
    def list_distinguished_interactions(
        self, entry_id: str, params: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        require_role(caller, *ARCHIVE_READERS)
        query = load_or_raise(PageQuery, params)
        return archive.list_interactions(self.db.session, entry_id, query)

    @rpc(caller=True)
    def add_distinguished_honour(
        self, entry_id: str, data: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        require_role(caller, "office")
        payload = load_or_raise(archive_contract.HonourInput, data)
        with self.db.transaction() as session:
            return archive.add_honour(session, entry_id, payload, caller.as_actor())

    @rpc(caller=True)
    def list_distinguished_honours(
        self, entry_id: str, params: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        require_role(caller, *ARCHIVE_READERS)
        query = load_or_raise(PageQuery, params)
        return archive.list_honours(self.db.session, entry_id, query)

    # ---- stories ------------------------------------------------------------------------

    @rpc(caller=True)
    def create_story(self, data: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        require_role(caller, *ARCHIVE_WRITERS)
        payload = load_or_raise(archive_contract.StoryInput, data)
        with self.db.transaction() as session:
            return stories.create_story(session, payload, caller.as_actor())

    @rpc(caller=True)
    def update_story(
        self, story_id: str, patch: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        require_role(caller, *ARCHIVE_WRITERS)
        payload = load_or_raise(archive_contract.StoryPatch, patch)
        with self.db.transaction() as session:
            return stories.update_story(session, story_id, payload)

    @rpc(caller=True)
    def step_story(
        self, story_id: str, step: str, data: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        require_role(caller, "office")
        payload = load_or_raise(archive_contract.StoryStep, data)
        with self.db.transaction() as session:
            return stories.step_story(session, story_id, step, caller.as_actor(), payload["note"])

    @rpc(caller=True)
    def get_story(self, story_id: str, *, caller: Caller) -> dict[str, Any]:
        require_role(caller, *ARCHIVE_READERS)
        return stories.get_story(self.db.session, story_id)

    @rpc(caller=True)
    def list_stories(self, params: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        require_role(caller, *ARCHIVE_READERS)
        query = load_or_raise(archive_contract.StorySearch, params)
        if caller.role == "liaison":
            query["department_id"] = caller.department_id
        return stories.list_stories(self.db.session, query)

    @rpc
    def public_stories(self, params: dict[str, Any]) -> dict[str, Any]:
        """Published stories, for anyone (no caller needed)."""
        return stories.public_stories(self.db.session, load_or_raise(PageQuery, params))

    @rpc
    def public_story(self, story_id: str) -> dict[str, Any]:
        return stories.public_story(self.db.session, story_id)

    # ---- alumni news ----------------------------------------------------------------------

    @rpc(caller=True)
    def submit_news(self, data: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        require_role(caller, *ARCHIVE_WRITERS)
        payload = load_or_raise(archive_contract.NewsInput, data)
        with self.db.transaction() as session:
            return stories.submit_news(session, payload, caller.as_actor())

    @rpc(caller=True)
    def list_news(self, params: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        require_role(caller, *ARCHIVE_READERS)
        query = load_or_raise(archive_contract.NewsSearch, params)
        if caller.role == "liaison":
            query["department_id"] = caller.department_id
        return stories.list_news(self.db.session, query)

    @rpc(caller=True)
    def get_news(self, news_id: str, *, caller: Caller) -> dict[str, Any]:
        require_role(caller, *ARCHIVE_READERS)
        return stories.get_news(self.db.session, news_id)

    @rpc(caller=True)
    def decide_news(
        self, news_id: str, step: str, data: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        require_role(caller, "office")
        with self.db.transaction() as session:
            if step == "accept":
                payload = load_or_raise(archive_contract.NewsAcceptance, data)
                return stories.accept_news(
                    session, news_id, caller.as_actor(), payload["make_story"]
                )
            payload = load_or_raise(archive_contract.NewsDismissal, data)
            return stories.dismiss_news(session, news_id, caller.as_actor(), payload["reason"])


# ---- alumni verification, the alumni card, the directory (issue 11, items 5-7) -----------
# RPCs of services/registry/claims.py, card_workflow.py and directory.py (docs/community.md),
# a mixin of RegistryService. The claim steps answer the gateway's own caller only (an
# anonymous claimant, like a login); an alumnus acts on their own record only; the office
# reviews cards and configures privileges.

DIRECTORY_ROUTE = "GET /api/v1/directory"


class CommunitySettings(DependencyProvider):
    """Verification rules and the card key, read once per container from its settings."""

    def setup(self) -> None:
        settings = self.container.config
        self.rules = claims.ClaimRules(
            code_ttl_seconds=config.get_float("CLAIM_CODE_TTL_SECONDS", settings),
            code_max_attempts=config.get_int("CLAIM_CODE_MAX_ATTEMPTS", settings),
            codes_per_claim=config.get_int("CLAIM_CODES_PER_CLAIM", settings),
            claim_ttl_seconds=config.get_float("CLAIM_TTL_SECONDS", settings),
            free_per_address=config.get_int("CLAIM_FREE_ATTEMPTS_PER_ADDRESS", settings),
            free_per_person=config.get_int("CLAIM_FREE_ATTEMPTS_PER_PERSON", settings),
            vouches_needed=config.get_int("CLAIM_VOUCHES_NEEDED", settings),
            lockouts=sessions.LoginRules(
                first_lockout_seconds=config.get_float("LOGIN_FIRST_LOCKOUT_SECONDS", settings),
                max_lockout_seconds=config.get_float("LOGIN_MAX_LOCKOUT_SECONDS", settings),
                window_seconds=config.get_float("LOGIN_WINDOW_SECONDS", settings),
            ),
        )
        self.card_key = CardKey.from_secret(config.secret("CARD_SIGNING_KEY", settings))
        self.card_validity = timedelta(days=config.get_int("CARD_VALIDITY_DAYS", settings))

    def get_dependency(self, worker_ctx) -> CommunitySettings:
        return self


class CommunityIdentityRpc:
    """Mixed into RegistryService (which provides `db` and `identity`)."""

    db: Any
    identity: Any
    community = CommunitySettings()

    # ---- verification ----------------------------------------------------------------------

    @rpc(caller=True)
    def submit_claim(
        self, data: dict[str, Any], client_address: str | None = None, *, caller: Caller
    ) -> dict[str, Any]:
        require_gateway(caller)
        payload = load_or_raise(identity_contract.ClaimInput, data)
        address = str(client_address)[:64] if client_address else None
        refused = None
        with self.db.transaction() as session:
            try:
                return claims.submit_claim(
                    session, payload, address, utcnow(), self.community.rules
                )
            except claims.ClaimRefused as error:
                refused = error.error  # committed: the failure counts
        raise refused

    @rpc(caller=True)
    def get_claim(self, claim_id: str, *, caller: Caller) -> dict[str, Any]:
        require_gateway(caller)
        with self.db.transaction() as session:
            return claims.get_claim(session, claim_id, utcnow())

    @rpc(caller=True)
    def send_claim_code(
        self, claim_id: str, data: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        require_gateway(caller)
        payload = load_or_raise(identity_contract.ClaimCodeRequest, data)
        with self.db.transaction() as session:
            return claims.send_new_code(
                session, claim_id, payload["channel"], utcnow(), self.community.rules
            )

    @rpc(caller=True)
    def activate_claim(
        self, claim_id: str, data: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        """The code, a username and a password: the alumnus account. The password policy
        is checked before the code is tried, so a weak password costs no attempt."""
        require_gateway(caller)
        payload = load_or_raise(identity_contract.ClaimActivation, data)
        passwords.check_policy(payload["password"], payload["username"])
        refused: AppError | None = None
        with self.db.transaction() as session:
            try:
                alumnus_id = claims.check_code(
                    session, claim_id, payload["code"], utcnow(), self.community.rules
                )
            except AppError as error:
                refused = error  # committed: a wrong try counts
        if refused is not None:
            raise refused
        password_hash = self.identity.hash_password(payload["password"])
        with self.db.transaction() as session:
            account = domain.create_alumnus_account(
                session,
                alumnus_id,
                {"username": payload["username"], "password": payload["password"]},
                lambda _password: password_hash,
            )
            claims.finish_activation(session, claim_id, payload["code"], account["id"], utcnow())
            return account

    @rpc(caller=True)
    def list_vouch_requests(self, params: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        query = load_or_raise(identity_contract.VouchSearch, params)
        return claims.list_vouch_requests(self.db.session, own_record(caller), query)

    @rpc(caller=True)
    def decide_vouch(self, vouch_id: str, step: str, *, caller: Caller) -> dict[str, Any]:
        alumnus_id = own_record(caller)
        with self.db.transaction() as session:
            return claims.decide_vouch(
                session, vouch_id, step, alumnus_id, utcnow(), self.community.rules
            )

    # ---- the alumni card -------------------------------------------------------------------

    @rpc(caller=True)
    def apply_for_card(self, *, caller: Caller) -> dict[str, Any]:
        alumnus_id = own_record(caller)
        with self.db.transaction() as session:
            return card_workflow.apply(session, alumnus_id, utcnow())

    @rpc(caller=True)
    def own_card(self, *, caller: Caller) -> dict[str, Any]:
        return card_workflow.own_card(
            self.db.session, own_record(caller), self.community.card_key, utcnow()
        )

    @rpc(caller=True)
    def search_cards(self, params: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        require_role(caller, "office")
        query = load_or_raise(identity_contract.CardSearch, params)
        return card_workflow.search_cards(self.db.session, query)

    @rpc(caller=True)
    def get_card(self, card_id: str, *, caller: Caller) -> dict[str, Any]:
        require_role(caller, "office")
        return card_workflow.get_card(self.db.session, card_id)

    @rpc(caller=True)
    def decide_card(
        self, card_id: str, step: str, data: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        require_role(caller, "office")
        payload = load_or_raise(identity_contract.CardDecision, data)
        with self.db.transaction() as session:
            return card_workflow.decide(
                session,
                card_id,
                step,
                payload["reason"],
                caller.as_actor(),
                utcnow(),
                self.community.card_validity,
            )

    @rpc(caller=True)
    def card_privileges(self) -> list[dict[str, str]]:
        return card_workflow.list_privileges(self.db.session)

    @rpc(caller=True)
    def set_card_privileges(self, data: dict[str, Any], *, caller: Caller) -> list[dict]:
        require_role(caller, "office")
        payload = load_or_raise(identity_contract.PrivilegeList, data)
        with self.db.transaction() as session:
            return card_workflow.set_privileges(session, payload["privileges"])

    @rpc(caller=True)
    def card_public_key(self) -> dict[str, Any]:
        return self.community.card_key.public_jwk()

    @rpc(caller=True)
    def card_revocations(self) -> dict[str, Any]:
        return card_workflow.revocation_list(self.db.session, self.community.card_key, utcnow())

    # ---- the directory -----------------------------------------------------------------------

    @rpc(caller=True)
    def directory_privacy(self, *, caller: Caller) -> dict[str, Any]:
        return directory.get_privacy(self.db.session, own_record(caller))

    @rpc(caller=True)
    def set_directory_privacy(self, data: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        payload = load_or_raise(identity_contract.DirectoryPrivacyInput, data)
        with self.db.transaction() as session:
            return directory.set_privacy(session, own_record(caller), payload["level"], utcnow())

    @rpc(caller=True)
    def search_directory(
        self, params: dict[str, Any], purpose: str = "", *, caller: Caller
    ) -> dict[str, Any]:
        """For verified alumni (an alumnus login) only; contacts shown are logged."""
        own_record(caller)
        query = load_or_raise(identity_contract.DirectorySearch, params)
        with self.db.transaction() as session:
            return directory.search(session, query, caller, purpose or DIRECTORY_ROUTE)


class RegistryService(CommunityArchiveRpc, CommunityIdentityRpc, CommunityRpc, HealthMixin):
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
        # A read records no event, and its access-log row, if any, is committed with other
        # reads' (services/common/group_commit.py).
        with self.db.reads() as session:
            if caller.role == "office" and purpose:
                # The office's read shows where each field came from (docs/stewardship.md).
                return review.read_with_provenance(session, alumnus_id, caller, purpose)
            return rights.read_alumnus(session, alumnus_id, caller, purpose)

    @rpc(caller=True)
    def search_alumni(self, params: dict[str, Any], purpose: str = "", *, caller: Caller) -> dict:
        query = load_or_raise(contract.AlumnusSearch, params)
        # A search records no event; whole records' access-log rows go as a read's above.
        with self.db.reads() as session:
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
        with self.db.transaction(records_events=False) as session:
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
                imports.run_job(
                    self.db.transaction,
                    job_id,
                    self._limits(),
                    eventlet.sleep,
                    ChildProcess,
                    config.get_int("REGISTRY_IMPORT_APPLY_BATCH", self.config),
                )
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

    # ---- stewardship: statistics and publication (item 6) ---------------------------------

    @rpc(caller=True)
    def alumni_statistics(self, params: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        """Counts by one dimension; the gateway scopes a liaison's filters to their
        department (gateway/authz/publication.py)."""
        require_role(caller, "office", "committee", "liaison")
        query = load_or_raise(contract.StatisticsQuery, params)
        return statistics.counts(self.db.session, query)

    @rpc(caller=True)
    def alumni_map(self) -> dict[str, Any]:
        """The k-anonymous map: public, so it needs no caller's role."""
        return statistics.alumni_map(self.db.session, self._min_count())

    @rpc(caller=True)
    def export_alumni(
        self, params: dict[str, Any], purpose: str = "", *, caller: Caller
    ) -> dict[str, Any]:
        """A search as CSV or .xlsx (base64), masked for the caller, unmasked rows logged."""
        require_role(caller, "office", "committee", "liaison")
        query = load_or_raise(contract.AlumniExportQuery, params)
        max_rows = config.get_int("REGISTRY_EXPORT_MAX_ROWS", self.config)
        with self.db.transaction() as session:
            result = exports.export(session, query, caller, purpose, max_rows)
        return {**result, "data": base64.b64encode(result["data"]).decode("ascii")}

    @rpc(caller=True)
    def request_yearly_report(self, year: int, *, caller: Caller) -> dict[str, Any]:
        """Queue the report of a past year (once); the timer below generates it."""
        require_role(caller, "office", "committee")
        payload = load_or_raise(contract.ReportYear, {"year": year})
        with self.db.transaction() as session:
            return reports.request(session, payload["year"], caller.username, utcnow().date())

    @rpc(caller=True)
    def yearly_report(self, year: int, fmt: str, *, caller: Caller) -> dict[str, Any]:
        """The stored report (html or pdf); 404 while it is not generated."""
        require_role(caller, "office", "committee")
        payload = load_or_raise(contract.ReportYear, {"year": year})
        return reports.get(self.db.session, payload["year"], fmt)

    @configured_timer("REGISTRY_REPORT_SCAN_SECONDS")
    def run_yearly_reports(self) -> list[int]:
        """Queue last year's report from its publishing day on (REGISTRY_REPORT_PUBLISH_ON),
        then generate every queued report. The font check and the drawing run in a process
        of their own (`reports.drawing`): matplotlib's import and the charts are seconds of
        CPU that must not hold the RPCs' event loop, and it logs, which a thread cannot do
        safely here."""
        publish_on = config.get("REGISTRY_REPORT_PUBLISH_ON", self.config) or "01-15"
        return reports.generate_due(
            self.db.transaction,
            utcnow().date(),
            publish_on,
            self._min_count(),
            ChildProcess,
        )

    def _min_count(self) -> int:
        return max(1, config.get_int("REGISTRY_MAP_MIN_COUNT", self.config))

    # ---- stewardship: two-level review (services/registry/review.py) -------

    @rpc(caller=True)
    def submit_change_request(
        self, alumnus_id: str, patch: dict[str, Any], purpose: str = "", *, caller: Caller
    ) -> dict[str, Any]:
        """A liaison's change to an alumnus: kept for the office, the record untouched."""
        require_role(caller, "liaison")
        payload = load_or_raise(contract.AlumnusPatch, patch)
        with self.db.transaction() as session:
            request = review.submit(session, alumnus_id, payload, caller.as_actor())
            _log_change_requests(session, caller, [request], purpose)
            return request

    @rpc(caller=True)
    def list_change_requests(
        self, params: dict[str, Any], purpose: str = "", *, caller: Caller
    ) -> dict[str, Any]:
        require_role(caller, "office", "liaison")
        query = load_or_raise(contract.ChangeRequestSearch, params)
        if caller.role == "liaison":
            query["submitted_by_id"] = caller.account_id  # a liaison's own, whatever asked
        with self.db.transaction() as session:
            found = review.list_requests(session, query)
            _log_change_requests(session, caller, found["items"], purpose)
            return found

    @rpc(caller=True)
    def get_change_request(
        self, request_id: str, purpose: str = "", *, caller: Caller
    ) -> dict[str, Any]:
        require_role(caller, "office", "liaison")
        with self.db.transaction() as session:
            request = review.get_request(session, request_id)
            if caller.role == "liaison" and request["submitted_by"] != caller.username:
                raise NotFound("修改申请不存在。", reason="change_request_not_found")
            _log_change_requests(session, caller, [request], purpose)
            return request

    @rpc(caller=True)
    def approve_change_request(
        self, request_id: str, data: dict[str, Any], purpose: str = "", *, caller: Caller
    ) -> dict[str, Any]:
        require_stewardship_office(caller)
        payload = load_or_raise(contract.ChangeRequestApproval, data or {})
        with self.db.transaction() as session:
            approved = review.approve(session, request_id, caller.as_actor(), payload["force"])
            _log_change_requests(session, caller, [approved], purpose)
            return approved

    @rpc(caller=True)
    def reject_change_request(
        self, request_id: str, data: dict[str, Any], purpose: str = "", *, caller: Caller
    ) -> dict[str, Any]:
        require_stewardship_office(caller)
        payload = load_or_raise(contract.ChangeRequestRejection, data)
        with self.db.transaction() as session:
            rejected = review.reject(session, request_id, caller.as_actor(), payload["reason"])
            _log_change_requests(session, caller, [rejected], purpose)
            return rejected

    @rpc(caller=True)
    def confirm_alumnus(self, alumnus_id: str, purpose: str = "", *, caller: Caller) -> dict:
        """The office re-confirms every field of a record without changing it."""
        require_stewardship_office(caller)
        with self.db.transaction() as session:
            review.confirm(session, alumnus_id, caller.as_actor())
            return review.read_with_provenance(session, alumnus_id, caller, purpose)

    @rpc(caller=True)
    def unconfirmed_alumni(
        self, params: dict[str, Any], purpose: str = "", *, caller: Caller
    ) -> dict[str, Any]:
        """Records not confirmed for `REGISTRY_CONFIRM_AFTER_YEARS`, for their liaison."""
        require_role(caller, "office", "liaison")
        query = load_or_raise(contract.UnconfirmedQuery, params)
        if caller.role == "liaison":
            query["department_id"] = caller.department_id
        years = config.get_float("REGISTRY_CONFIRM_AFTER_YEARS", self.config)
        cutoff = utcnow() - timedelta(days=365.25 * years)
        with self.db.transaction() as session:
            found = review.unconfirmed(session, query, cutoff)
            return {
                **found,
                "items": [
                    {**rights.shown(session, a, caller, purpose), "confirmed_at": a["confirmed_at"]}
                    for a in found["items"]
                ],
            }


def _log_change_requests(session, caller: Caller, items: list[dict], purpose: str) -> None:
    """A change request shows the values asked for and the record's: contacts among them
    are an unmasked read like any other (services/common/access_log.py)."""
    if not purpose:
        return
    for item in items:
        shown = {
            field
            for part in ("patch", "seen", "current")
            for field, value in (item.get(part) or {}).items()
            if field in PERSONAL_FIELDS and value
        }
        rights._log(session, caller, item["alumnus_id"], shown, purpose)


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
