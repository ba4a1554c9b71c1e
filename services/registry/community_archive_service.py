"""The registry's RPCs of the distinguished-alumni archive and of stories and news
(docs/community.md), mixed into RegistryService: thin wrappers over archive.py and stories.py.

The gateway decides who may see or change what (gateway/authz/community_archive.py); a
signed caller of a role that may never write here is refused again, and the lists a
liaison reads are narrowed here too, so that a forgotten scope in the gateway cannot
widen them.
"""

from __future__ import annotations

from typing import Any

from services.common.caller import Caller
from services.common.contracts import registry_archive as contract
from services.common.contracts.base import PageQuery, load_or_raise
from services.common.entrypoints import rpc
from services.common.errors import PermissionDenied
from services.registry import archive, stories

WRITERS = ("office", "liaison")
READERS = ("office", "committee", "liaison")


def require_role(caller: Caller, *roles: str) -> None:
    if caller.role not in roles:
        raise PermissionDenied("当前角色无权执行此操作。", reason="role_not_allowed")


class CommunityArchiveRpc:
    db: Any

    # ---- the distinguished-alumni archive ------------------------------------------------

    @rpc(caller=True)
    def nominate_distinguished(self, data: dict[str, Any], *, caller: Caller) -> dict:
        require_role(caller, *WRITERS)
        payload = load_or_raise(contract.NominationInput, data)
        with self.db.transaction() as session:
            return archive.nominate(session, payload, caller.as_actor())

    @rpc(caller=True)
    def decide_distinguished(
        self, entry_id: str, step: str, data: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        require_role(caller, "office")
        if step == "approve":
            payload = load_or_raise(contract.ApprovalInput, data)
            note, steward = payload["note"], payload["steward_id"]
        else:
            payload = load_or_raise(contract.RejectionInput, data)
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
        payload = load_or_raise(contract.StewardInput, data)
        with self.db.transaction() as session:
            return archive.assign_steward(session, entry_id, str(payload["steward_id"]))

    @rpc(caller=True)
    def get_distinguished(self, entry_id: str, *, caller: Caller) -> dict[str, Any]:
        require_role(caller, *READERS)
        return archive.get_entry(self.db.session, entry_id)

    @rpc(caller=True)
    def list_distinguished_nominations(
        self, params: dict[str, Any], nominator_id: str | None = None, *, caller: Caller
    ) -> dict[str, Any]:
        require_role(caller, *READERS)
        query = load_or_raise(contract.NominationSearch, params)
        if caller.role == "liaison":
            nominator_id = caller.account_id
        return archive.list_entries(
            self.db.session, query, archived=False, nominator_id=nominator_id
        )

    @rpc(caller=True)
    def list_distinguished(self, params: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        require_role(caller, *READERS)
        query = load_or_raise(contract.ArchiveSearch, params)
        steward = str(query["steward_id"]) if query.get("steward_id") else None
        if caller.role == "liaison":
            steward = caller.account_id
        return archive.list_entries(self.db.session, query, archived=True, steward_id=steward)

    @rpc(caller=True)
    def add_distinguished_interaction(
        self, entry_id: str, data: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        require_role(caller, *WRITERS)
        payload = load_or_raise(contract.InteractionInput, data)
        with self.db.transaction() as session:
            return archive.add_interaction(session, entry_id, payload, caller.as_actor())

    @rpc(caller=True)
    def list_distinguished_interactions(
        self, entry_id: str, params: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        require_role(caller, *READERS)
        query = load_or_raise(PageQuery, params)
        return archive.list_interactions(self.db.session, entry_id, query)

    @rpc(caller=True)
    def add_distinguished_honour(
        self, entry_id: str, data: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        require_role(caller, "office")
        payload = load_or_raise(contract.HonourInput, data)
        with self.db.transaction() as session:
            return archive.add_honour(session, entry_id, payload, caller.as_actor())

    @rpc(caller=True)
    def list_distinguished_honours(
        self, entry_id: str, params: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        require_role(caller, *READERS)
        query = load_or_raise(PageQuery, params)
        return archive.list_honours(self.db.session, entry_id, query)

    # ---- stories ------------------------------------------------------------------------

    @rpc(caller=True)
    def create_story(self, data: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        require_role(caller, *WRITERS)
        payload = load_or_raise(contract.StoryInput, data)
        with self.db.transaction() as session:
            return stories.create_story(session, payload, caller.as_actor())

    @rpc(caller=True)
    def update_story(
        self, story_id: str, patch: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        require_role(caller, *WRITERS)
        payload = load_or_raise(contract.StoryPatch, patch)
        with self.db.transaction() as session:
            return stories.update_story(session, story_id, payload)

    @rpc(caller=True)
    def step_story(
        self, story_id: str, step: str, data: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        require_role(caller, "office")
        payload = load_or_raise(contract.StoryStep, data)
        with self.db.transaction() as session:
            return stories.step_story(session, story_id, step, caller.as_actor(), payload["note"])

    @rpc(caller=True)
    def get_story(self, story_id: str, *, caller: Caller) -> dict[str, Any]:
        require_role(caller, *READERS)
        return stories.get_story(self.db.session, story_id)

    @rpc(caller=True)
    def list_stories(self, params: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        require_role(caller, *READERS)
        query = load_or_raise(contract.StorySearch, params)
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
        require_role(caller, *WRITERS)
        payload = load_or_raise(contract.NewsInput, data)
        with self.db.transaction() as session:
            return stories.submit_news(session, payload, caller.as_actor())

    @rpc(caller=True)
    def list_news(self, params: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        require_role(caller, *READERS)
        query = load_or_raise(contract.NewsSearch, params)
        if caller.role == "liaison":
            query["department_id"] = caller.department_id
        return stories.list_news(self.db.session, query)

    @rpc(caller=True)
    def get_news(self, news_id: str, *, caller: Caller) -> dict[str, Any]:
        require_role(caller, *READERS)
        return stories.get_news(self.db.session, news_id)

    @rpc(caller=True)
    def decide_news(
        self, news_id: str, step: str, data: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        require_role(caller, "office")
        with self.db.transaction() as session:
            if step == "accept":
                payload = load_or_raise(contract.NewsAcceptance, data)
                return stories.accept_news(
                    session, news_id, caller.as_actor(), payload["make_story"]
                )
            payload = load_or_raise(contract.NewsDismissal, data)
            return stories.dismiss_news(session, news_id, caller.as_actor(), payload["reason"])
