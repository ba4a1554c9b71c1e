"""Routes of the distinguished-alumni archive (杰出校友档案) and of stories and news (校友风采),
docs/community.md. Mixed into the registry's `Routes` (gateway/routes/registry.py); who may
do what is decided in gateway/authz/community_archive.py.

Staff work on stories under /api/v1/staff/stories; the public site reads the published ones
under /api/v1/stories without a token.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from gateway.auth import Principal
from gateway.authz import community_archive as rules
from gateway.authz.base import MANAGERS, OFFICE, STAFF_ROLES, unknown_alumnus
from gateway.http import api
from services.common.contracts import registry_archive as contract
from services.common.contracts.base import PageQuery
from services.common.errors import NotFound, ValidationFailed

ARCHIVE = "community"
NOMINATION = "/api/v1/distinguished/nominations/{entry_id}"
ENTRY = "/api/v1/distinguished/{entry_id}"
STAFF_STORY = "/api/v1/staff/stories/{story_id}"
NEWS = "/api/v1/alumni-news/{news_id}"


class CommunityArchiveRoutes:
    registry: Any
    donations: Any

    def _alumnus_in_scope(self, principal: Principal, alumnus_id: str, field: str) -> None:
        """The alumnus a body names exists and, for a liaison, is of their department;
        otherwise a 422 naming the field (never telling which)."""
        try:
            alumnus = self.registry.get_alumnus(alumnus_id)
        except NotFound:
            raise unknown_alumnus(field) from None
        rules.check_alumnus_in_scope(principal, alumnus, field)

    # ---- nominations ------------------------------------------------------------------

    @api(
        "POST",
        "/api/v1/distinguished/nominations",
        "Nominate an alumnus to the distinguished-alumni archive (杰出校友档案), with reasons: "
        "the office, or a liaison for an alumnus of their department. One open nomination "
        "or entry per alumnus (409).",
        ARCHIVE,
        MANAGERS,
        body=contract.NominationInput,
        response=contract.Nomination,
        status=201,
    )
    def nominate_distinguished(self, request: Request, principal: Principal, body: dict):
        self._alumnus_in_scope(principal, body["alumnus_id"], "alumnus_id")
        return rules.nomination_view(self.registry.nominate_distinguished(body))

    @api(
        "GET",
        "/api/v1/distinguished/nominations",
        "Nominations and their outcome, newest first: all for the office and the committee, "
        "a liaison's own for a liaison.",
        ARCHIVE,
        STAFF_ROLES,
        query=contract.NominationSearch,
        response=contract.Nomination,
        many=True,
    )
    def list_distinguished_nominations(self, request: Request, principal: Principal, query: dict):
        found = self.registry.list_distinguished_nominations(
            query, rules.nominator_scope(principal)
        )
        return {**found, "items": [rules.nomination_view(e) for e in found["items"]]}

    @api(
        "GET",
        NOMINATION,
        "One nomination's status and outcome (its nominator, the office, the committee).",
        ARCHIVE,
        STAFF_ROLES,
        response=contract.Nomination,
    )
    def get_distinguished_nomination(self, request: Request, principal: Principal, entry_id: str):
        return rules.check_nomination_read(principal, self.registry.get_distinguished(entry_id))

    @api(
        "POST",
        NOMINATION + "/approve",
        "Approve a nomination: the alumnus enters the archive; `steward_id` may name the staff "
        "member who looks after them (专人负责) at once.",
        ARCHIVE,
        (OFFICE,),
        body=contract.ApprovalInput,
        body_optional=True,
        response=contract.ArchiveEntry,
    )
    def approve_distinguished(
        self, request: Request, principal: Principal, entry_id: str, body: dict
    ):
        return self.registry.decide_distinguished(entry_id, "approve", body)

    @api(
        "POST",
        NOMINATION + "/reject",
        "Reject a nomination, with the reason (required).",
        ARCHIVE,
        (OFFICE,),
        body=contract.RejectionInput,
        response=contract.Nomination,
    )
    def reject_distinguished(self, request: Request, principal: Principal, entry_id: str, body):
        return rules.nomination_view(self.registry.decide_distinguished(entry_id, "reject", body))

    # ---- the archive ----------------------------------------------------------------------

    @api(
        "GET",
        "/api/v1/distinguished",
        "The distinguished-alumni archive, newest first: all for the office and the committee; "
        "for anyone else the entries they are the steward of.",
        ARCHIVE,
        STAFF_ROLES,
        query=contract.ArchiveSearch,
        response=contract.ArchiveEntry,
        many=True,
    )
    def list_distinguished(self, request: Request, principal: Principal, query: dict):
        return self.registry.list_distinguished(rules.scope_archive(principal, query))

    @api(
        "GET",
        ENTRY,
        "One archive entry (the office, the committee, its steward; others 404).",
        ARCHIVE,
        STAFF_ROLES,
        response=contract.ArchiveEntry,
    )
    def get_distinguished(self, request: Request, principal: Principal, entry_id: str):
        entry = self.registry.get_distinguished(entry_id)
        rules.check_entry_read(principal, entry)
        return entry

    @api(
        "POST",
        ENTRY + "/steward",
        "Name or change the steward (专人负责): an active office or liaison account.",
        ARCHIVE,
        (OFFICE,),
        body=contract.StewardInput,
        response=contract.ArchiveEntry,
    )
    def assign_distinguished_steward(
        self, request: Request, principal: Principal, entry_id: str, body: dict
    ):
        rules.check_entry_read(principal, self.registry.get_distinguished(entry_id))
        return self.registry.assign_distinguished_steward(entry_id, body)

    @api(
        "GET",
        ENTRY + "/interactions",
        "The interaction log (visits, calls, services provided, gifts noted), latest first.",
        ARCHIVE,
        STAFF_ROLES,
        query=PageQuery,
        response=contract.Interaction,
        many=True,
    )
    def list_distinguished_interactions(
        self, request: Request, principal: Principal, entry_id: str, query: dict
    ):
        rules.check_entry_read(principal, self.registry.get_distinguished(entry_id))
        return self.registry.list_distinguished_interactions(entry_id, query)

    @api(
        "POST",
        ENTRY + "/interactions",
        "Record an interaction (the office or the steward). A gift is noted by the donations "
        "service's gift id, which must exist there; the gift itself is not copied.",
        ARCHIVE,
        MANAGERS,
        body=contract.InteractionInput,
        response=contract.Interaction,
        status=201,
    )
    def add_distinguished_interaction(
        self, request: Request, principal: Principal, entry_id: str, body: dict
    ):
        rules.check_interaction_write(principal, self.registry.get_distinguished(entry_id))
        if body.get("gift_id"):
            try:
                self.donations.get_gift(body["gift_id"])
            except NotFound:
                message = "捐赠记录不存在。"
                raise ValidationFailed(
                    message, {"fields": {"gift_id": [message]}}, reason="unknown_gift"
                ) from None
        return self.registry.add_distinguished_interaction(entry_id, body)

    @api(
        "GET",
        ENTRY + "/honours",
        "Honours and commendations (表彰) of the alumnus, latest recorded first.",
        ARCHIVE,
        STAFF_ROLES,
        query=PageQuery,
        response=contract.Honour,
        many=True,
    )
    def list_distinguished_honours(
        self, request: Request, principal: Principal, entry_id: str, query: dict
    ):
        rules.check_entry_read(principal, self.registry.get_distinguished(entry_id))
        return self.registry.list_distinguished_honours(entry_id, query)

    @api(
        "POST",
        ENTRY + "/honours",
        "Record an honour or commendation (表彰): year, title, citation.",
        ARCHIVE,
        (OFFICE,),
        body=contract.HonourInput,
        response=contract.Honour,
        status=201,
    )
    def add_distinguished_honour(
        self, request: Request, principal: Principal, entry_id: str, body: dict
    ):
        rules.check_entry_read(principal, self.registry.get_distinguished(entry_id))
        return self.registry.add_distinguished_honour(entry_id, body)

    # ---- stories (staff) ----------------------------------------------------------------

    def _story_alumni_in_scope(self, principal: Principal, alumni: list[dict]) -> None:
        for link in alumni:
            self._alumnus_in_scope(principal, link["alumnus_id"], "alumni")

    @api(
        "POST",
        "/api/v1/staff/stories",
        "Write a story draft (校友风采) about one or more alumni; plain text, no HTML. A "
        "liaison writes for their department, about its alumni.",
        ARCHIVE,
        MANAGERS,
        body=contract.StoryInput,
        response=contract.Story,
        status=201,
    )
    def create_story(self, request: Request, principal: Principal, body: dict):
        body = rules.check_story_department(principal, body)
        self._story_alumni_in_scope(principal, body["alumni"])
        return self.registry.create_story(body)

    @api(
        "GET",
        "/api/v1/staff/stories",
        "Stories in every status, newest first (a liaison: their department's).",
        ARCHIVE,
        STAFF_ROLES,
        query=contract.StorySearch,
        response=contract.Story,
        many=True,
    )
    def list_stories(self, request: Request, principal: Principal, query: dict):
        return self.registry.list_stories(rules.scope_by_department(principal, query))

    @api(
        "GET",
        STAFF_STORY,
        "One story, in any status.",
        ARCHIVE,
        STAFF_ROLES,
        response=contract.Story,
    )
    def get_story(self, request: Request, principal: Principal, story_id: str):
        story = self.registry.get_story(story_id)
        rules.check_story_read(principal, story)
        return story

    @api(
        "PATCH",
        STAFF_STORY,
        "Change a draft (a story in another status: 409).",
        ARCHIVE,
        MANAGERS,
        body=contract.StoryPatch,
        response=contract.Story,
    )
    def update_story(self, request: Request, principal: Principal, story_id: str, body: dict):
        rules.check_story_read(principal, self.registry.get_story(story_id))
        if "alumni" in body:
            self._story_alumni_in_scope(principal, body["alumni"])
        return self.registry.update_story(story_id, body)

    def _step(self, story_id: str, step: str, body: dict) -> dict:
        return self.registry.step_story(story_id, step, body)

    @api(
        "POST",
        STAFF_STORY + "/review",
        "Mark a draft reviewed (the office).",
        ARCHIVE,
        (OFFICE,),
        body=contract.StoryStep,
        body_optional=True,
        response=contract.Story,
    )
    def review_story(self, request: Request, principal: Principal, story_id: str, body: dict):
        return self._step(story_id, "review", body)

    @api(
        "POST",
        STAFF_STORY + "/send-back",
        "Send a reviewed story back to draft, with a note.",
        ARCHIVE,
        (OFFICE,),
        body=contract.StoryStep,
        body_optional=True,
        response=contract.Story,
    )
    def send_back_story(self, request: Request, principal: Principal, story_id: str, body: dict):
        return self._step(story_id, "send_back", body)

    @api(
        "POST",
        STAFF_STORY + "/publish",
        "Publish a reviewed story: it appears on the public site.",
        ARCHIVE,
        (OFFICE,),
        body=contract.StoryStep,
        body_optional=True,
        response=contract.Story,
    )
    def publish_story(self, request: Request, principal: Principal, story_id: str, body: dict):
        return self._step(story_id, "publish", body)

    @api(
        "POST",
        STAFF_STORY + "/withdraw",
        "Withdraw (unpublish) a published story: the public site no longer shows it.",
        ARCHIVE,
        (OFFICE,),
        body=contract.StoryStep,
        body_optional=True,
        response=contract.Story,
    )
    def withdraw_story(self, request: Request, principal: Principal, story_id: str, body: dict):
        return self._step(story_id, "withdraw", body)

    @api(
        "POST",
        STAFF_STORY + "/redraft",
        "Take a withdrawn story back to draft, to be changed and reviewed again.",
        ARCHIVE,
        (OFFICE,),
        body=contract.StoryStep,
        body_optional=True,
        response=contract.Story,
    )
    def redraft_story(self, request: Request, principal: Principal, story_id: str, body: dict):
        return self._step(story_id, "redraft", body)

    # ---- stories (public) -----------------------------------------------------------------

    @api(
        "GET",
        "/api/v1/stories",
        "Published alumni stories (校友风采), latest first; no token needed. The alumni are "
        "named as the story names them, nothing more.",
        ARCHIVE,
        None,
        query=PageQuery,
        response=contract.PublicStory,
        many=True,
    )
    def public_stories(self, request: Request, query: dict):
        return self.registry.public_stories(query)

    @api(
        "GET",
        "/api/v1/stories/{story_id}",
        "One published story; any other answers 404. No token needed.",
        ARCHIVE,
        None,
        response=contract.PublicStory,
    )
    def public_story(self, request: Request, story_id: str):
        return self.registry.public_story(story_id)

    # ---- alumni news ----------------------------------------------------------------------

    @api(
        "POST",
        "/api/v1/alumni-news",
        "Submit a piece of alumni news (headline, body, source) to the office's queue; a "
        "liaison about an alumnus of their department.",
        ARCHIVE,
        MANAGERS,
        body=contract.NewsInput,
        response=contract.News,
        status=201,
    )
    def submit_news(self, request: Request, principal: Principal, body: dict):
        self._alumnus_in_scope(principal, body["alumnus_id"], "alumnus_id")
        return self.registry.submit_news(body)

    @api(
        "GET",
        "/api/v1/alumni-news",
        "The news queue, oldest first (a liaison: their department's).",
        ARCHIVE,
        STAFF_ROLES,
        query=contract.NewsSearch,
        response=contract.News,
        many=True,
    )
    def list_news(self, request: Request, principal: Principal, query: dict):
        return self.registry.list_news(rules.scope_by_department(principal, query))

    @api(
        "GET",
        NEWS,
        "One piece of news and what became of it.",
        ARCHIVE,
        STAFF_ROLES,
        response=contract.News,
    )
    def get_news(self, request: Request, principal: Principal, news_id: str):
        news = self.registry.get_news(news_id)
        rules.check_news_read(principal, news)
        return news

    @api(
        "POST",
        NEWS + "/accept",
        "Accept a piece of news; with `make_story`, a story draft is made of it.",
        ARCHIVE,
        (OFFICE,),
        body=contract.NewsAcceptance,
        body_optional=True,
        response=contract.News,
    )
    def accept_news(self, request: Request, principal: Principal, news_id: str, body: dict):
        return self.registry.decide_news(news_id, "accept", body)

    @api(
        "POST",
        NEWS + "/dismiss",
        "Dismiss a piece of news, with the reason (required).",
        ARCHIVE,
        (OFFICE,),
        body=contract.NewsDismissal,
        response=contract.News,
    )
    def dismiss_news(self, request: Request, principal: Principal, news_id: str, body: dict):
        return self.registry.decide_news(news_id, "dismiss", body)
