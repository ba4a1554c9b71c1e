"""The registry's RPC entrypoints of alumni verification, the alumni card and the
directory (issue 11, items 5–7): a mixin of RegistryService, thin wrappers over
services/registry/claims.py, card_workflow.py and directory.py.

Who may call what is decided from the verified caller: the claim steps come from the
gateway's own caller (an anonymous claimant, like a login), an alumnus acts on their own
record only, the office reviews cards and configures privileges.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from nameko.extensions import DependencyProvider

from services.common import config
from services.common.caller import Caller
from services.common.columns import utcnow
from services.common.contracts import community_identity as contract
from services.common.contracts.base import load_or_raise
from services.common.entrypoints import rpc
from services.common.errors import AppError, PermissionDenied
from services.registry import card_workflow, claims, directory, domain, passwords
from services.registry.cards import CardKey
from services.registry.sessions import LoginRules

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
            lockouts=LoginRules(
                first_lockout_seconds=config.get_float("LOGIN_FIRST_LOCKOUT_SECONDS", settings),
                max_lockout_seconds=config.get_float("LOGIN_MAX_LOCKOUT_SECONDS", settings),
                window_seconds=config.get_float("LOGIN_WINDOW_SECONDS", settings),
            ),
        )
        self.card_key = CardKey.from_secret(config.secret("CARD_SIGNING_KEY", settings))
        self.card_validity = timedelta(days=config.get_int("CARD_VALIDITY_DAYS", settings))

    def get_dependency(self, worker_ctx) -> CommunitySettings:
        return self


def _gateway_only(caller: Caller) -> None:
    if caller != Caller.for_service("gateway"):
        raise PermissionDenied("认证只能经由网关。", reason="gateway_only")


def _office(caller: Caller) -> None:
    if caller.role != "office":
        raise PermissionDenied("只有校友会办公室可以这样做。", reason="role_not_allowed")


def _own_record(caller: Caller) -> str:
    if caller.role != "alumnus" or not caller.alumnus_id:
        raise PermissionDenied("只有校友本人可以这样做。", reason="alumnus_only")
    return caller.alumnus_id


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
        _gateway_only(caller)
        payload = load_or_raise(contract.ClaimInput, data)
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
        _gateway_only(caller)
        with self.db.transaction() as session:
            return claims.get_claim(session, claim_id, utcnow())

    @rpc(caller=True)
    def send_claim_code(
        self, claim_id: str, data: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        _gateway_only(caller)
        payload = load_or_raise(contract.ClaimCodeRequest, data)
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
        _gateway_only(caller)
        payload = load_or_raise(contract.ClaimActivation, data)
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
        query = load_or_raise(contract.VouchSearch, params)
        return claims.list_vouch_requests(self.db.session, _own_record(caller), query)

    @rpc(caller=True)
    def decide_vouch(self, vouch_id: str, step: str, *, caller: Caller) -> dict[str, Any]:
        alumnus_id = _own_record(caller)
        with self.db.transaction() as session:
            return claims.decide_vouch(
                session, vouch_id, step, alumnus_id, utcnow(), self.community.rules
            )

    # ---- the alumni card -------------------------------------------------------------------

    @rpc(caller=True)
    def apply_for_card(self, *, caller: Caller) -> dict[str, Any]:
        alumnus_id = _own_record(caller)
        with self.db.transaction() as session:
            return card_workflow.apply(session, alumnus_id, utcnow())

    @rpc(caller=True)
    def own_card(self, *, caller: Caller) -> dict[str, Any]:
        return card_workflow.own_card(
            self.db.session, _own_record(caller), self.community.card_key, utcnow()
        )

    @rpc(caller=True)
    def search_cards(self, params: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        _office(caller)
        query = load_or_raise(contract.CardSearch, params)
        return card_workflow.search_cards(self.db.session, query)

    @rpc(caller=True)
    def get_card(self, card_id: str, *, caller: Caller) -> dict[str, Any]:
        _office(caller)
        return card_workflow.get_card(self.db.session, card_id)

    @rpc(caller=True)
    def decide_card(
        self, card_id: str, step: str, data: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        _office(caller)
        payload = load_or_raise(contract.CardDecision, data)
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
        _office(caller)
        payload = load_or_raise(contract.PrivilegeList, data)
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
        return directory.get_privacy(self.db.session, _own_record(caller))

    @rpc(caller=True)
    def set_directory_privacy(self, data: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        payload = load_or_raise(contract.DirectoryPrivacyInput, data)
        with self.db.transaction() as session:
            return directory.set_privacy(session, _own_record(caller), payload["level"], utcnow())

    @rpc(caller=True)
    def search_directory(
        self, params: dict[str, Any], purpose: str = "", *, caller: Caller
    ) -> dict[str, Any]:
        """For verified alumni (an alumnus login) only; contacts shown are logged."""
        _own_record(caller)
        query = load_or_raise(contract.DirectorySearch, params)
        with self.db.transaction() as session:
            return directory.search(session, query, caller, purpose or DIRECTORY_ROUTE)
