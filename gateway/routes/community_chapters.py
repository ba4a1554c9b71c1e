"""Chapters and their members, messengers and their classmates, the student alumni volunteer
association (docs/community.md); who may do what: gateway/authz/chapters.py."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from gateway.auth import Principal
from gateway.authz import chapters as rules
from gateway.authz.base import (
    ALUMNUS,
    CHAPTER_OFFICER,
    COMMITTEE,
    MANAGERS,
    MESSENGER,
    OFFICE,
    STAFF_ROLES,
    require_role,
)
from gateway.http import api
from services.common.contracts import community as contract
from services.common.contracts.base import PageQuery
from services.common.errors import PermissionDenied

CHAPTER = "/api/v1/chapters/{chapter_id}"
MEMBERS = CHAPTER + "/members"
MEMBER = MEMBERS + "/{member_id}"
MESSENGER_PATH = "/api/v1/messengers/{messenger_id}"
VOLUNTEER = "/api/v1/student-volunteers/{volunteer_id}"
CHAPTER_READERS = (*STAFF_ROLES, CHAPTER_OFFICER)
MEMBER_READERS = (OFFICE, COMMITTEE, CHAPTER_OFFICER)
MEMBER_MANAGERS = (OFFICE, CHAPTER_OFFICER)
MESSENGER_READERS = (*STAFF_ROLES, MESSENGER)


class ChapterRoutes:
    registry: Any

    # ---- chapters ----------------------------------------------------------------------------

    @api(
        "GET",
        "/api/v1/chapters",
        "List chapters (校友总会, 地方/行业校友分会); a chapter officer sees their own only.",
        "chapters",
        CHAPTER_READERS,
        query=contract.ChapterSearch,
        response=contract.Chapter,
        many=True,
    )
    def list_chapters(self, request: Request, principal: Principal, query: dict[str, Any]):
        return self.registry.list_chapters(query)

    @api(
        "POST",
        "/api/v1/chapters",
        "Create a chapter: `general` (one only: 409), `regional` (needs `city`) or `industry` "
        "(needs `industry`); legal form and registration number where registered.",
        "chapters",
        (OFFICE,),
        body=contract.ChapterInput,
        response=contract.Chapter,
        status=201,
    )
    def create_chapter(self, request: Request, principal: Principal, body: dict[str, Any]):
        return self.registry.create_chapter(body)

    @api(
        "GET",
        CHAPTER,
        "One chapter; another chapter's officer gets 404.",
        "chapters",
        CHAPTER_READERS,
        response=contract.Chapter,
    )
    def get_chapter(self, request: Request, principal: Principal, chapter_id: str):
        rules.check_chapter_scope(principal, chapter_id)
        return self.registry.get_chapter(chapter_id)

    @api(
        "PATCH",
        CHAPTER,
        "Change some fields of a chapter; the rules between fields hold on the result.",
        "chapters",
        (OFFICE,),
        body=contract.ChapterPatch,
        response=contract.Chapter,
    )
    def update_chapter(
        self, request: Request, principal: Principal, chapter_id: str, body: dict[str, Any]
    ):
        return self.registry.update_chapter(chapter_id, body)

    @api(
        "DELETE",
        CHAPTER,
        "Delete a chapter that has no members and no officer account (else 409).",
        "chapters",
        (OFFICE,),
        status=204,
    )
    def delete_chapter(self, request: Request, principal: Principal, chapter_id: str) -> None:
        self.registry.delete_chapter(chapter_id)

    @api(
        "POST",
        CHAPTER + "/confirm",
        "The school's confirmation of a chapter, dated (once: again is 409).",
        "chapters",
        (OFFICE,),
        body=contract.ChapterConfirmation,
        response=contract.Chapter,
    )
    def confirm_chapter(
        self, request: Request, principal: Principal, chapter_id: str, body: dict[str, Any]
    ):
        return self.registry.confirm_chapter(chapter_id, body)

    @api(
        "GET",
        "/api/v1/me/chapters/suggested",
        "The confirmed chapters an alumnus might join: the general association, the "
        "regional chapters of their city, the industry chapters of their industry.",
        "chapters",
        (ALUMNUS,),
        response=contract.SuggestedChapter,
        many=True,
    )
    def suggested_chapters(self, request: Request, principal: Principal) -> dict[str, Any]:
        return {"items": self.registry.suggested_chapters(), "next_cursor": None}

    # ---- members -----------------------------------------------------------------------------

    @api(
        "GET",
        MEMBERS,
        "A chapter's members (name, city, industry, role; no contacts).",
        "chapters",
        MEMBER_READERS,
        query=contract.MemberSearch,
        response=contract.Member,
        many=True,
    )
    def list_members(
        self, request: Request, principal: Principal, chapter_id: str, query: dict[str, Any]
    ):
        rules.check_chapter_scope(principal, chapter_id)
        return self.registry.list_chapter_members(chapter_id, query)

    @api(
        "POST",
        MEMBERS,
        "Add an alumnus to a chapter as `member`, `officer` or `volunteer` (积极分子); "
        "one membership per alumnus and chapter (409).",
        "chapters",
        MEMBER_MANAGERS,
        body=contract.MemberInput,
        response=contract.Member,
        status=201,
    )
    def add_member(
        self, request: Request, principal: Principal, chapter_id: str, body: dict[str, Any]
    ):
        rules.check_chapter_scope(principal, chapter_id)
        return self.registry.add_chapter_member(chapter_id, body)

    @api(
        "PATCH",
        MEMBER,
        "Change a member's role (e.g. a volunteer made an officer).",
        "chapters",
        MEMBER_MANAGERS,
        body=contract.MemberPatch,
        response=contract.Member,
    )
    def update_member(
        self,
        request: Request,
        principal: Principal,
        chapter_id: str,
        member_id: str,
        body: dict[str, Any],
    ):
        rules.check_chapter_scope(principal, chapter_id)
        return self.registry.update_chapter_member(chapter_id, member_id, body)

    @api(
        "DELETE",
        MEMBER,
        "Remove a member from a chapter.",
        "chapters",
        MEMBER_MANAGERS,
        status=204,
    )
    def remove_member(
        self, request: Request, principal: Principal, chapter_id: str, member_id: str
    ) -> None:
        rules.check_chapter_scope(principal, chapter_id)
        self.registry.remove_chapter_member(chapter_id, member_id)

    # ---- messengers --------------------------------------------------------------------------

    @api(
        "GET",
        "/api/v1/messengers",
        "Messengers (校友信使) of graduating classes; a liaison sees their department's.",
        "messengers",
        STAFF_ROLES,
        query=contract.MessengerSearch,
        response=contract.Messenger,
        many=True,
    )
    def list_messengers(self, request: Request, principal: Principal, query: dict[str, Any]):
        return self.registry.list_messengers(rules.scope_messenger_search(principal, query))

    @api(
        "POST",
        "/api/v1/messengers",
        "Appoint an alumnus of a graduating class (department, class year, class name) as "
        "its messenger; a liaison for their own department only.",
        "messengers",
        MANAGERS,
        body=contract.MessengerInput,
        response=contract.Messenger,
        status=201,
    )
    def appoint_messenger(self, request: Request, principal: Principal, body: dict[str, Any]):
        rules.check_messenger_appoint(principal, body)
        return self.registry.appoint_messenger(body)

    @api(
        "GET",
        MESSENGER_PATH,
        "One messenger appointment; a messenger sees only their own.",
        "messengers",
        MESSENGER_READERS,
        response=contract.Messenger,
    )
    def get_messenger(self, request: Request, principal: Principal, messenger_id: str):
        messenger = self.registry.get_messenger(messenger_id)
        rules.check_messenger_read(principal, messenger)
        return messenger

    @api(
        "POST",
        MESSENGER_PATH + "/end",
        "End an appointment; its messenger account sees no classmates after (403).",
        "messengers",
        MANAGERS,
        body=contract.MessengerEnd,
        response=contract.Messenger,
        body_optional=True,
    )
    def end_messenger(
        self, request: Request, principal: Principal, messenger_id: str, body: dict[str, Any]
    ):
        rules.check_messenger_read(principal, self.registry.get_messenger(messenger_id))
        return self.registry.end_messenger(messenger_id, body or {})

    @api(
        "GET",
        MESSENGER_PATH + "/classmates",
        "The alumni of the messenger's class: name, major, degree, city; contacts masked. "
        "A messenger of another class gets 404.",
        "messengers",
        MESSENGER_READERS,
        query=PageQuery,
        response=contract.Classmate,
        many=True,
    )
    def classmates(
        self, request: Request, principal: Principal, messenger_id: str, query: dict[str, Any]
    ):
        rules.check_messenger_read(principal, self.registry.get_messenger(messenger_id))
        return self.registry.messenger_classmates(messenger_id, query)

    @api(
        "GET",
        "/api/v1/me/classmates",
        "A messenger's own class: the classmates of their appointment.",
        "messengers",
        (MESSENGER,),
        query=PageQuery,
        response=contract.Classmate,
        many=True,
    )
    def my_classmates(self, request: Request, principal: Principal, query: dict[str, Any]):
        require_role(principal, MESSENGER)
        if not principal.messenger_id:
            raise PermissionDenied("该账号没有关联信使任命。", reason="no_messenger")
        return self.registry.messenger_classmates(principal.messenger_id, query)

    # ---- the student alumni volunteer association ----------------------------------------------

    @api(
        "GET",
        "/api/v1/student-volunteers",
        "Members of the student alumni volunteer association (学生校友志愿者协会) with their "
        "terms; `current=true` for terms covering today.",
        "messengers",
        STAFF_ROLES,
        query=contract.VolunteerSearch,
        response=contract.Volunteer,
        many=True,
    )
    def list_volunteers(self, request: Request, principal: Principal, query: dict[str, Any]):
        return self.registry.list_student_volunteers(rules.scope_volunteer_search(principal, query))

    @api(
        "POST",
        "/api/v1/student-volunteers",
        "Register a student volunteer for a term, with their position in the association.",
        "messengers",
        MANAGERS,
        body=contract.VolunteerInput,
        response=contract.Volunteer,
        status=201,
    )
    def add_volunteer(self, request: Request, principal: Principal, body: dict[str, Any]):
        rules.check_volunteer_create(principal, body)
        return self.registry.add_student_volunteer(body)

    @api(
        "PATCH",
        VOLUNTEER,
        "Change a volunteer's position or term (e.g. end it with `term_end`).",
        "messengers",
        MANAGERS,
        body=contract.VolunteerPatch,
        response=contract.Volunteer,
    )
    def update_volunteer(
        self, request: Request, principal: Principal, volunteer_id: str, body: dict[str, Any]
    ):
        rules.check_volunteer_manage(principal, self.registry.get_student_volunteer(volunteer_id))
        return self.registry.update_student_volunteer(volunteer_id, body)
