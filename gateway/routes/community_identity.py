"""Alumni verification, the electronic alumni card and the directory (issue 11, items 5–7;
docs/community.md): registry routes, mixed into gateway/routes/registry.py's `Routes`.

Claims are anonymous (the claimant has no login yet) and throttled per client address and
per claimed person in the registry, as logins are. The card's public key and revocation
list are public, for gates that verify cards offline. The directory is for verified
alumni (an alumnus login); the registry applies each target's privacy choice.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from gateway.auth import Principal
from gateway.authz.base import ALUMNUS, OFFICE, own_alumnus_id
from gateway.edge import client_address, configured_list, trusted_networks
from gateway.http import api
from services.common.contracts import community_identity as contract
from services.common.contracts import registry as registry_contract

CLAIM = "/api/v1/claims/{claim_id}"
VOUCH = "/api/v1/me/vouch-requests/{vouch_id}"
CARD = "/api/v1/cards/{card_id}"
DIRECTORY = "/api/v1/directory"


class CommunityIdentityRoutes:
    config: Any
    registry: Any

    # ---- verification (校友认证) ----------------------------------------------------------

    @api(
        "GET",
        "/api/v1/claims/departments",
        "The departments a claimant chooses from (names and ids; no login needed).",
        "verification",
        None,
        response=registry_contract.Department,
        many=True,
    )
    def claim_departments(self, request: Request) -> dict[str, Any]:
        return {"items": self.registry.list_departments(), "next_cursor": None}

    @api(
        "POST",
        "/api/v1/claims",
        "Claim one's roster record: name, class year and student number (verified at once, "
        "a one-time code sent to the phone or e-mail on file), or, without a student "
        "number, name, department and class year (two verified classmates must vouch). "
        "A claim that does not match is 422 `claim_not_matched`, whatever was wrong; "
        "repeated failures are 429 with `Retry-After`.",
        "verification",
        None,
        body=contract.ClaimInput,
        response=contract.Claim,
        status=201,
        extra_statuses=(409, 422, 429),
    )
    def submit_claim(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        trusted = trusted_networks(configured_list("GATEWAY_TRUSTED_PROXIES", self.config))
        return self.registry.submit_claim(body, client_address(request.environ, trusted))

    @api(
        "GET",
        CLAIM,
        "A claim's state, for its claimant (the claim id is theirs alone).",
        "verification",
        None,
        response=contract.Claim,
    )
    def get_claim(self, request: Request, claim_id: str) -> dict[str, Any]:
        return self.registry.get_claim(claim_id)

    @api(
        "POST",
        CLAIM + "/code",
        "Send a verified claim a new one-time code (the earlier one stops working).",
        "verification",
        None,
        body=contract.ClaimCodeRequest,
        body_optional=True,
        response=contract.Claim,
        extra_statuses=(409,),
    )
    def send_claim_code(self, request: Request, claim_id: str, body: dict[str, Any]):
        return self.registry.send_claim_code(claim_id, body)

    @api(
        "POST",
        CLAIM + "/activate",
        "The one-time code, a username and a password (the policy applies): the alumnus "
        "account is made; log in with it. A wrong code counts; after a few the code dies.",
        "verification",
        None,
        body=contract.ClaimActivation,
        response=registry_contract.Account,
        status=201,
        extra_statuses=(409, 422, 429),
    )
    def activate_claim(self, request: Request, claim_id: str, body: dict[str, Any]):
        return self.registry.activate_claim(claim_id, body)

    @api(
        "GET",
        "/api/v1/me/vouch-requests",
        "Classmates' claims I am asked to vouch for, newest first.",
        "verification",
        (ALUMNUS,),
        query=contract.VouchSearch,
        response=contract.VouchRequest,
        many=True,
    )
    def list_vouch_requests(self, request: Request, principal: Principal, query: dict):
        own_alumnus_id(principal)
        return self.registry.list_vouch_requests(query)

    @api(
        "POST",
        VOUCH + "/approve",
        "Vouch for a classmate's claim (I know them); two approvals verify it.",
        "verification",
        (ALUMNUS,),
        response=contract.VouchRequest,
    )
    def approve_vouch(self, request: Request, principal: Principal, vouch_id: str):
        own_alumnus_id(principal)
        return self.registry.decide_vouch(vouch_id, "approve")

    @api(
        "POST",
        VOUCH + "/decline",
        "Decline to vouch for a claim.",
        "verification",
        (ALUMNUS,),
        response=contract.VouchRequest,
    )
    def decline_vouch(self, request: Request, principal: Principal, vouch_id: str):
        own_alumnus_id(principal)
        return self.registry.decide_vouch(vouch_id, "decline")

    # ---- the electronic alumni card (电子校友卡) -------------------------------------------

    @api(
        "POST",
        "/api/v1/me/card",
        "Apply for an electronic alumni card; the office reviews it.",
        "cards",
        (ALUMNUS,),
        response=contract.Card,
        status=201,
    )
    def apply_for_card(self, request: Request, principal: Principal):
        own_alumnus_id(principal)
        return self.registry.apply_for_card()

    @api(
        "GET",
        "/api/v1/me/card",
        "My latest card; while it is active, `token` is its QR code's signed token.",
        "cards",
        (ALUMNUS,),
        response=contract.Card,
        extra_statuses=(404,),
    )
    def own_card(self, request: Request, principal: Principal):
        own_alumnus_id(principal)
        return self.registry.own_card()

    @api(
        "GET",
        "/api/v1/cards",
        "Card applications and cards (by status), oldest first.",
        "cards",
        (OFFICE,),
        query=contract.CardSearch,
        response=contract.Card,
        many=True,
    )
    def search_cards(self, request: Request, principal: Principal, query: dict):
        return self.registry.search_cards(query)

    @api("GET", CARD, "One card.", "cards", (OFFICE,), response=contract.Card)
    def get_card(self, request: Request, principal: Principal, card_id: str):
        return self.registry.get_card(card_id)

    def _decide(self, card_id: str, step: str, body: dict[str, Any]):
        return self.registry.decide_card(card_id, step, body)

    @api(
        "POST",
        CARD + "/approve",
        "Approve an application: the card grants the privileges configured now.",
        "cards",
        (OFFICE,),
        body=contract.CardDecision,
        body_optional=True,
        response=contract.Card,
    )
    def approve_card(self, request: Request, principal: Principal, card_id: str, body: dict):
        return self._decide(card_id, "approve", body)

    @api(
        "POST",
        CARD + "/reject",
        "Reject an application, with the reason (shown to the alumnus).",
        "cards",
        (OFFICE,),
        body=contract.CardDecision,
        response=contract.Card,
    )
    def reject_card(self, request: Request, principal: Principal, card_id: str, body: dict):
        return self._decide(card_id, "reject", body)

    @api(
        "POST",
        CARD + "/revoke",
        "Revoke an active card, with the reason: it enters the revocation list at once.",
        "cards",
        (OFFICE,),
        body=contract.CardDecision,
        response=contract.Card,
    )
    def revoke_card(self, request: Request, principal: Principal, card_id: str, body: dict):
        return self._decide(card_id, "revoke", body)

    @api(
        "GET",
        "/api/v1/cards/privileges",
        "The privileges a card approved now grants (library, gym, campus entry, …).",
        "cards",
        None,
        response=contract.Privilege,
        many=True,
    )
    def card_privileges(self, request: Request):
        return {"items": self.registry.card_privileges(), "next_cursor": None}

    @api(
        "PUT",
        "/api/v1/cards/privileges",
        "Configure the privileges cards approved from now on grant, in order.",
        "cards",
        (OFFICE,),
        body=contract.PrivilegeList,
        response=contract.Privilege,
        many=True,
    )
    def set_card_privileges(self, request: Request, principal: Principal, body: dict):
        return {"items": self.registry.set_card_privileges(body), "next_cursor": None}

    @api(
        "GET",
        "/api/v1/cards/public-key",
        "The public key that card tokens verify with (Ed25519: JWK and PEM), for gates.",
        "cards",
        None,
        response=contract.CardPublicKey,
    )
    def card_public_key(self, request: Request):
        return self.registry.card_public_key()

    @api(
        "GET",
        "/api/v1/cards/revocations",
        "Revoked cards not yet expired, with the time of the list, signed with the card key.",
        "cards",
        None,
        response=contract.RevocationList,
    )
    def card_revocations(self, request: Request):
        return self.registry.card_revocations()

    # ---- the directory and its privacy choices -------------------------------------------------

    @api(
        "GET",
        "/api/v1/me/directory-privacy",
        "What other verified alumni see of me in the directory (`name_only` until I choose).",
        "directory",
        (ALUMNUS,),
        response=contract.DirectoryPrivacy,
    )
    def directory_privacy(self, request: Request, principal: Principal):
        own_alumnus_id(principal)
        return self.registry.directory_privacy()

    @api(
        "PUT",
        "/api/v1/me/directory-privacy",
        "Choose what other verified alumni see: `name_only`, `work` (plus employer and "
        "city) or `contacts` (plus phone, e-mail, WeChat).",
        "directory",
        (ALUMNUS,),
        body=contract.DirectoryPrivacyInput,
        response=contract.DirectoryPrivacy,
    )
    def set_directory_privacy(self, request: Request, principal: Principal, body: dict):
        own_alumnus_id(principal)
        return self.registry.set_directory_privacy(body)

    @api(
        "GET",
        DIRECTORY,
        "Find verified alumni by name (prefix) or class (year, department): each shown as "
        "they chose. Contacts shown are written to the access log.",
        "directory",
        (ALUMNUS,),
        query=contract.DirectorySearch,
        response=contract.DirectoryEntry,
        many=True,
    )
    def search_directory(self, request: Request, principal: Principal, query: dict):
        own_alumnus_id(principal)
        return self.registry.search_directory(query, f"GET {DIRECTORY}")
