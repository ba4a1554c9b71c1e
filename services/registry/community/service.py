"""The registry's entrypoints for chapters, messengers and student volunteers: thin wrappers
over services/registry/chapters.py and messengers.py, mixed into RegistryService.

The gateway decides who may call what (gateway/authz/chapters.py); the roles and scopes are
checked here once more on the signed caller, so that a call on the broker cannot reach past
them: a chapter officer only their chapter, a messenger only their appointment, a liaison
only their department's messengers and volunteers.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from services.common.caller import Caller
from services.common.chinatime import china_date
from services.common.columns import utcnow
from services.common.contracts import community as contract
from services.common.contracts.base import PageQuery, load_or_raise
from services.common.entrypoints import rpc
from services.common.errors import PermissionDenied
from services.registry import chapters, messengers

OFFICE = "office"
COMMITTEE = "committee"
LIAISON = "liaison"
ALUMNUS = "alumnus"
CHAPTER_OFFICER = chapters.CHAPTER_OFFICER
MESSENGER = messengers.MESSENGER


def _require(caller: Caller, *roles: str) -> None:
    if caller.role not in roles:
        raise PermissionDenied("当前角色无权执行此操作。", reason="role_not_allowed")


def _today() -> date:
    return china_date(utcnow())


def _actor(caller: Caller) -> str:
    return caller.username


class CommunityRpc:
    db: Any

    # ---- chapters ----------------------------------------------------------------------------

    @rpc(caller=True)
    def create_chapter(self, data: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        _require(caller, OFFICE)
        payload = load_or_raise(contract.ChapterInput, data)
        with self.db.transaction() as session:
            return chapters.create_chapter(session, payload, _today())

    @rpc(caller=True)
    def update_chapter(
        self, chapter_id: str, patch: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        _require(caller, OFFICE)
        payload = load_or_raise(contract.ChapterPatch, patch)
        with self.db.transaction() as session:
            return chapters.update_chapter(session, chapter_id, payload, _today())

    @rpc(caller=True)
    def confirm_chapter(
        self, chapter_id: str, data: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        _require(caller, OFFICE)
        payload = load_or_raise(contract.ChapterConfirmation, data)
        with self.db.transaction() as session:
            return chapters.confirm_chapter(session, chapter_id, payload, _actor(caller), _today())

    @rpc(caller=True)
    def delete_chapter(self, chapter_id: str, *, caller: Caller) -> None:
        _require(caller, OFFICE)
        with self.db.transaction() as session:
            chapters.delete_chapter(session, chapter_id)

    @rpc(caller=True)
    def get_chapter(self, chapter_id: str, *, caller: Caller) -> dict[str, Any]:
        _require(caller, OFFICE, COMMITTEE, LIAISON, CHAPTER_OFFICER)
        chapters.check_chapter_scope(caller, chapter_id)
        return chapters.get_chapter(self.db.session, chapter_id)

    @rpc(caller=True)
    def list_chapters(self, params: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        _require(caller, OFFICE, COMMITTEE, LIAISON, CHAPTER_OFFICER)
        query = load_or_raise(contract.ChapterSearch, params)
        if caller.role == CHAPTER_OFFICER:
            query["only_id"] = caller.chapter_id or "-"
        return chapters.list_chapters(self.db.session, query)

    @rpc(caller=True)
    def suggested_chapters(self, *, caller: Caller) -> list[dict[str, Any]]:
        _require(caller, ALUMNUS)
        if not caller.alumnus_id:
            raise PermissionDenied("该账号没有关联校友记录。", reason="no_alumnus_record")
        return chapters.suggested_chapters(self.db.session, caller.alumnus_id)

    # ---- members -----------------------------------------------------------------------------

    @rpc(caller=True)
    def list_chapter_members(
        self, chapter_id: str, params: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        _require(caller, OFFICE, COMMITTEE, CHAPTER_OFFICER)
        chapters.check_chapter_scope(caller, chapter_id)
        query = load_or_raise(contract.MemberSearch, params)
        return chapters.list_members(self.db.session, chapter_id, query)

    @rpc(caller=True)
    def add_chapter_member(
        self, chapter_id: str, data: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        _require(caller, OFFICE, CHAPTER_OFFICER)
        chapters.check_chapter_scope(caller, chapter_id)
        payload = load_or_raise(contract.MemberInput, data)
        with self.db.transaction() as session:
            return chapters.add_member(session, chapter_id, payload, _actor(caller), _today())

    @rpc(caller=True)
    def update_chapter_member(
        self, chapter_id: str, member_id: str, patch: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        _require(caller, OFFICE, CHAPTER_OFFICER)
        chapters.check_chapter_scope(caller, chapter_id)
        payload = load_or_raise(contract.MemberPatch, patch)
        with self.db.transaction() as session:
            return chapters.update_member(session, chapter_id, member_id, payload)

    @rpc(caller=True)
    def remove_chapter_member(self, chapter_id: str, member_id: str, *, caller: Caller) -> None:
        _require(caller, OFFICE, CHAPTER_OFFICER)
        chapters.check_chapter_scope(caller, chapter_id)
        with self.db.transaction() as session:
            chapters.remove_member(session, chapter_id, member_id)

    # ---- messengers --------------------------------------------------------------------------

    @rpc(caller=True)
    def appoint_messenger(self, data: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        _require(caller, OFFICE, LIAISON)
        payload = load_or_raise(contract.MessengerInput, data)
        if caller.role == LIAISON and str(payload["department_id"]) != caller.department_id:
            raise PermissionDenied("联络员只能任命本院系的信使。", reason="other_department")
        with self.db.transaction() as session:
            return messengers.appoint_messenger(session, payload, _actor(caller), _today())

    @rpc(caller=True)
    def end_messenger(
        self, messenger_id: str, data: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        _require(caller, OFFICE, LIAISON)
        payload = load_or_raise(contract.MessengerEnd, data)
        with self.db.transaction() as session:
            found = messengers.get_messenger(session, messenger_id)
            messengers.check_messenger_scope(caller, found)
            return messengers.end_messenger(session, messenger_id, payload, _today())

    @rpc(caller=True)
    def get_messenger(self, messenger_id: str, *, caller: Caller) -> dict[str, Any]:
        _require(caller, OFFICE, COMMITTEE, LIAISON, MESSENGER)
        found = messengers.get_messenger(self.db.session, messenger_id)
        messengers.check_messenger_scope(caller, found)
        return found

    @rpc(caller=True)
    def list_messengers(self, params: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        _require(caller, OFFICE, COMMITTEE, LIAISON)
        query = load_or_raise(contract.MessengerSearch, params)
        if caller.role == LIAISON:
            query["department_id"] = caller.department_id
        return messengers.list_messengers(self.db.session, query)

    @rpc(caller=True)
    def messenger_classmates(
        self, messenger_id: str, params: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        _require(caller, OFFICE, COMMITTEE, LIAISON, MESSENGER)
        query = load_or_raise(PageQuery, params)
        session = self.db.session
        messengers.check_messenger_scope(caller, messengers.get_messenger(session, messenger_id))
        return messengers.classmates(session, messenger_id, query, caller.role)

    # ---- student volunteers ------------------------------------------------------------------

    @rpc(caller=True)
    def add_student_volunteer(self, data: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        _require(caller, OFFICE, LIAISON)
        payload = load_or_raise(contract.VolunteerInput, data)
        if caller.role == LIAISON and str(payload["department_id"]) != caller.department_id:
            raise PermissionDenied("联络员只能登记本院系的学生志愿者。", reason="other_department")
        with self.db.transaction() as session:
            return messengers.add_volunteer(session, payload, _today())

    @rpc(caller=True)
    def update_student_volunteer(
        self, volunteer_id: str, patch: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        _require(caller, OFFICE, LIAISON)
        payload = load_or_raise(contract.VolunteerPatch, patch)
        with self.db.transaction() as session:
            found = messengers.find_volunteer(session, volunteer_id)
            if caller.role == LIAISON and found.department_id != caller.department_id:
                raise messengers.volunteer_not_found(volunteer_id)
            return messengers.update_volunteer(session, volunteer_id, payload, _today())

    @rpc(caller=True)
    def get_student_volunteer(self, volunteer_id: str, *, caller: Caller) -> dict[str, Any]:
        _require(caller, OFFICE, COMMITTEE, LIAISON)
        found = messengers.get_volunteer(self.db.session, volunteer_id, _today())
        if caller.role == LIAISON and found["department_id"] != caller.department_id:
            raise messengers.volunteer_not_found(volunteer_id)
        return found

    @rpc(caller=True)
    def list_student_volunteers(self, params: dict[str, Any], *, caller: Caller) -> dict:
        _require(caller, OFFICE, COMMITTEE, LIAISON)
        query = load_or_raise(contract.VolunteerSearch, params)
        if caller.role == LIAISON:
            query["department_id"] = caller.department_id
        return messengers.list_volunteers(self.db.session, query, _today())
