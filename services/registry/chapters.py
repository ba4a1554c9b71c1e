"""Chapters (校友总会, 地方/行业校友分会) and their members; the chapters an alumnus is offered.

Policy clause 二.2: a general association and regional chapters, with active volunteers
(积极分子) found and grown. A chapter is `general`, `regional` (a city) or `industry` (an
industry); it may be registered as a legal person (legal form and registration number),
and it is official once the school has confirmed it (an office action, dated). Members are
alumni with the role `member`, `officer` or `volunteer`.

A `chapter_officer` account is bound to one chapter (`Account.chapter_id`, carried in the
access token): it sees and manages that chapter's members only. The gateway decides that
first (gateway/authz/chapters.py); `check_chapter_scope` here refuses the same calls again
for a signed caller, so that a call on the broker cannot widen the scope.

Framework-free: plain functions over a SQLAlchemy session (docs/community.md).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common.caller import Caller
from services.common.contracts.base import iso_utc
from services.common.errors import Conflict, NotFound, ValidationFailed
from services.common.paging import each, page, paged_select
from services.registry.models import Account, Alumnus, Chapter, ChapterMember

CHAPTER_OFFICER = "chapter_officer"
CHAPTER_FIELDS = (
    "name",
    "kind",
    "city",
    "industry",
    "founded_on",
    "legal_form",
    "registration_number",
)


# ---- shapes ---------------------------------------------------------------------------------


def chapter_to_dict(chapter: Chapter) -> dict[str, Any]:
    return {
        "id": chapter.id,
        "name": chapter.name,
        "kind": chapter.kind,
        "city": chapter.city,
        "industry": chapter.industry,
        "founded_on": chapter.founded_on.isoformat(),
        "legal_form": chapter.legal_form,
        "registration_number": chapter.registration_number,
        "confirmed": chapter.confirmed_on is not None,
        "confirmed_on": chapter.confirmed_on.isoformat() if chapter.confirmed_on else None,
        "confirmed_by": chapter.confirmed_by,
        "confirmation_note": chapter.confirmation_note,
        "created_at": iso_utc(chapter.created_at),
        "updated_at": iso_utc(chapter.updated_at),
    }


def member_to_dict(member: ChapterMember, alumnus: Alumnus) -> dict[str, Any]:
    return {
        "id": member.id,
        "chapter_id": member.chapter_id,
        "alumnus_id": member.alumnus_id,
        "name": alumnus.name,
        "city": alumnus.city,
        "industry": alumnus.industry,
        "role": member.role,
        "joined_on": member.joined_on.isoformat(),
    }


def city_key(city: str | None) -> str | None:
    """Cities compare without surrounding blanks or a trailing 市 (北京市 is 北京)."""
    if not city:
        return None
    text = city.strip()
    return text[:-1] if text.endswith("市") and len(text) > 1 else text


# ---- scope ----------------------------------------------------------------------------------


def check_chapter_scope(caller: Caller, chapter_id: str) -> None:
    """A chapter officer acts on their own chapter only; another answers as a missing one."""
    if caller.role == CHAPTER_OFFICER and caller.chapter_id != str(chapter_id):
        raise chapter_not_found(chapter_id)


def chapter_not_found(chapter_id: Any) -> NotFound:
    return NotFound("分会不存在。", {"chapter_id": str(chapter_id)}, reason="chapter_not_found")


# ---- chapters -------------------------------------------------------------------------------


def create_chapter(session: Session, data: dict[str, Any], today: date) -> dict[str, Any]:
    values = {name: data.get(name) for name in CHAPTER_FIELDS}
    _check_rules(session, values, today, None)
    chapter = Chapter(**values)
    _flush_or_conflict(session, values["name"], None, chapter)
    return chapter_to_dict(chapter)


def update_chapter(
    session: Session, chapter_id: str, patch: dict[str, Any], today: date
) -> dict[str, Any]:
    chapter = find_chapter(session, chapter_id)
    values = {name: getattr(chapter, name) for name in CHAPTER_FIELDS}
    values.update({name: patch[name] for name in CHAPTER_FIELDS if name in patch})
    _check_rules(session, values, today, chapter)
    if chapter.confirmed_on is not None and values["founded_on"] > chapter.confirmed_on:
        raise _invalid({"founded_on": ["成立日期不能晚于学校确认日期。"]})
    _flush_or_conflict(session, values["name"], chapter.id)
    for name, value in values.items():
        setattr(chapter, name, value)
    session.flush()
    return chapter_to_dict(chapter)


def confirm_chapter(
    session: Session, chapter_id: str, data: dict[str, Any], actor: str, today: date
) -> dict[str, Any]:
    """The school confirms the chapter (once; confirming again is a conflict)."""
    chapter = find_chapter(session, chapter_id)
    if chapter.confirmed_on is not None:
        raise Conflict(
            "该分会已经过学校确认。", {"chapter_id": chapter.id}, reason="already_confirmed"
        )
    confirmed_on = data["confirmed_on"]
    if confirmed_on > today:
        raise _invalid({"confirmed_on": ["确认日期不能晚于今天。"]})
    if confirmed_on < chapter.founded_on:
        raise _invalid({"confirmed_on": ["确认日期不能早于分会成立日期。"]})
    chapter.confirmed_on = confirmed_on
    chapter.confirmed_by = actor
    chapter.confirmation_note = data.get("note") or None
    session.flush()
    return chapter_to_dict(chapter)


def delete_chapter(session: Session, chapter_id: str) -> None:
    """Only an empty chapter goes: no members, no officer account bound to it."""
    chapter = find_chapter(session, chapter_id)
    members = session.scalar(
        select(func.count())
        .select_from(ChapterMember)
        .where(ChapterMember.chapter_id == chapter.id)
    )
    accounts = session.scalar(
        select(func.count()).select_from(Account).where(Account.chapter_id == chapter.id)
    )
    if members or accounts:
        raise Conflict(
            "分会仍有会员或负责人账号，不能删除。",
            {"members": members, "accounts": accounts},
            reason="chapter_not_empty",
        )
    session.delete(chapter)
    session.flush()


def get_chapter(session: Session, chapter_id: str) -> dict[str, Any]:
    return chapter_to_dict(find_chapter(session, chapter_id))


def list_chapters(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    """Chapters by creation order; `only_id` narrows to one (a chapter officer's list)."""
    query = select(Chapter)
    if params.get("only_id"):
        query = query.where(Chapter.id == str(params["only_id"]))
    for name in ("kind", "industry"):
        if params.get(name):
            query = query.where(getattr(Chapter, name) == params[name])
    if params.get("city"):
        query = query.where(Chapter.city.in_(_city_spellings(params["city"])))
    if params.get("confirmed") is not None:
        confirmed = Chapter.confirmed_on.is_not(None)
        query = query.where(confirmed if params["confirmed"] else ~confirmed)
    query = paged_select(query, [Chapter.seq], params, (int,))
    rows = session.scalars(query).all()
    return page(rows, params["limit"], lambda c: [c.seq], each(chapter_to_dict))


def find_chapter(session: Session, chapter_id: Any) -> Chapter:
    chapter = None
    if _is_uuid(chapter_id):
        chapter = session.scalars(select(Chapter).where(Chapter.id == str(chapter_id))).first()
    if chapter is None:
        raise chapter_not_found(chapter_id)
    return chapter


def _check_rules(
    session: Session, values: dict[str, Any], today: date, chapter: Chapter | None
) -> None:
    """The rules between fields, every broken one reported at once, by field."""
    problems: dict[str, list[str]] = {}
    kind = values["kind"]
    if kind == "regional" and not values.get("city"):
        problems.setdefault("city", []).append("地方校友分会须填写所在城市。")
    if kind == "industry" and not values.get("industry"):
        problems.setdefault("industry", []).append("行业校友分会须填写所属行业。")
    if kind == "regional" and values.get("industry"):
        problems.setdefault("industry", []).append("地方校友分会不填所属行业。")
    if values.get("registration_number") and not values.get("legal_form"):
        problems.setdefault("legal_form", []).append("填写登记证号时须同时填写法人形式。")
    if values["founded_on"] > today:
        problems.setdefault("founded_on", []).append("成立日期不能晚于今天。")
    if problems:
        raise _invalid(problems)
    if kind == "general":
        # One general association (校友总会): the others are its chapters.
        query = select(Chapter.id).where(Chapter.kind == "general")
        if chapter is not None:
            query = query.where(Chapter.id != chapter.id)
        if session.scalars(query).first() is not None:
            raise Conflict("校友总会已存在，只能有一个。", reason="general_exists")


def _invalid(problems: dict[str, list[str]]) -> ValidationFailed:
    return ValidationFailed("分会信息校验失败。", {"fields": problems}, reason="invalid_chapter")


def _flush_or_conflict(
    session: Session, name: str, own_id: str | None, new: Chapter | None = None
) -> None:
    """409 for a name another chapter has; a new chapter is added in a savepoint, so that two
    created at once with one name meet the unique key and the loser gets the 409 too."""
    query = select(Chapter.id).where(Chapter.name == name)
    if own_id is not None:
        query = query.where(Chapter.id != own_id)
    try:
        if session.scalars(query).first() is not None:
            raise IntegrityError("chapters", None, ValueError("name taken"))
        if new is not None:
            with session.begin_nested():
                session.add(new)
                session.flush()
    except IntegrityError:
        raise Conflict("同名分会已存在。", {"name": name}, reason="chapter_name_taken") from None


def _city_spellings(city: str) -> list[str]:
    key = city_key(city) or city
    return [key, key + "市"]


# ---- members --------------------------------------------------------------------------------


def add_member(
    session: Session, chapter_id: str, data: dict[str, Any], actor: str, today: date
) -> dict[str, Any]:
    chapter = find_chapter(session, chapter_id)
    alumnus = _member_alumnus(session, data["alumnus_id"])
    joined_on = data.get("joined_on") or today
    if joined_on > today:
        raise ValidationFailed(
            "请求数据校验失败。", {"fields": {"joined_on": ["入会日期不能晚于今天。"]}}
        )
    alumnus_id = alumnus.id  # read now: a failed flush below expires the loaded rows
    member = ChapterMember(
        chapter_id=chapter.id,
        alumnus_id=alumnus_id,
        role=data.get("role") or "member",
        joined_on=joined_on,
        added_by=actor,
    )
    taken = select(ChapterMember.id).where(
        ChapterMember.chapter_id == chapter.id, ChapterMember.alumnus_id == alumnus_id
    )
    try:
        if session.scalars(taken).first() is not None:
            raise IntegrityError("chapter_members", None, ValueError("already a member"))
        with session.begin_nested():  # two adds at once: the unique key decides
            session.add(member)
            session.flush()
    except IntegrityError:
        raise Conflict(
            "该校友已是本分会会员。", {"alumnus_id": alumnus_id}, reason="already_member"
        ) from None
    return member_to_dict(member, alumnus)


def update_member(
    session: Session, chapter_id: str, member_id: str, patch: dict[str, Any]
) -> dict[str, Any]:
    member = _member(session, chapter_id, member_id)
    member.role = patch["role"]
    session.flush()
    return member_to_dict(member, session.scalars(_alumnus_by_id(member.alumnus_id)).one())


def remove_member(session: Session, chapter_id: str, member_id: str) -> None:
    session.delete(_member(session, chapter_id, member_id))
    session.flush()


def list_members(session: Session, chapter_id: str, params: dict[str, Any]) -> dict[str, Any]:
    chapter = find_chapter(session, chapter_id)
    query = (
        select(ChapterMember, Alumnus)
        .join(Alumnus, Alumnus.id == ChapterMember.alumnus_id)
        .where(ChapterMember.chapter_id == chapter.id)
    )
    if params.get("role"):
        query = query.where(ChapterMember.role == params["role"])
    query = paged_select(query, [ChapterMember.seq], params, (int,))
    rows = session.execute(query).all()
    return page(rows, params["limit"], lambda r: [r[0].seq], each(lambda r: member_to_dict(*r)))


def _member(session: Session, chapter_id: str, member_id: str) -> ChapterMember:
    chapter = find_chapter(session, chapter_id)
    member = None
    if _is_uuid(member_id):
        member = session.scalars(
            select(ChapterMember).where(
                ChapterMember.id == str(member_id), ChapterMember.chapter_id == chapter.id
            )
        ).first()
    if member is None:
        raise NotFound("会员不存在。", {"member_id": str(member_id)}, reason="member_not_found")
    return member


def _member_alumnus(session: Session, alumnus_id: Any) -> Alumnus:
    """The alumnus to add: a live record (not merged away, not erased); else 422 naming the
    field, as a body naming a missing record is answered elsewhere."""
    alumnus = session.scalars(_alumnus_by_id(str(alumnus_id))).first()
    if alumnus is None or alumnus.merged_into or alumnus.erased_at:
        raise ValidationFailed("请求数据校验失败。", {"fields": {"alumnus_id": ["校友不存在。"]}})
    return alumnus


def _alumnus_by_id(alumnus_id: str):
    return select(Alumnus).where(Alumnus.id == alumnus_id)


# ---- what an alumnus is offered -------------------------------------------------------------


def suggested_chapters(session: Session, alumnus_id: str) -> list[dict[str, Any]]:
    """The confirmed chapters an alumnus might join: the general association, the regional
    chapters of their city, the industry chapters of their industry; each says why and
    whether they are a member already."""
    alumnus = session.scalars(_alumnus_by_id(str(alumnus_id))).first()
    if alumnus is None:
        raise NotFound("校友不存在。", {"alumnus_id": str(alumnus_id)}, reason="alumnus_not_found")
    joined = set(
        session.scalars(
            select(ChapterMember.chapter_id).where(ChapterMember.alumnus_id == alumnus.id)
        )
    )
    city = city_key(alumnus.city)
    suggestions = []
    confirmed = select(Chapter).where(Chapter.confirmed_on.is_not(None)).order_by(Chapter.seq)
    for chapter in session.scalars(confirmed):
        if chapter.kind == "general":
            reason = "general"
        elif chapter.kind == "regional" and city and city_key(chapter.city) == city:
            reason = "city"
        elif chapter.kind == "industry" and chapter.industry == (alumnus.industry or None):
            reason = "industry"
        else:
            continue
        suggestions.append(
            {
                "id": chapter.id,
                "name": chapter.name,
                "kind": chapter.kind,
                "city": chapter.city,
                "industry": chapter.industry,
                "reason": reason,
                "member": chapter.id in joined,
            }
        )
    order = {"city": 0, "industry": 1, "general": 2}
    return sorted(suggestions, key=lambda s: order[s["reason"]])


# ---- accounts bound to a chapter ------------------------------------------------------------


def check_chapter_exists(session: Session, chapter_id: Any) -> str:
    """The chapter a new `chapter_officer` account is bound to (422 naming the field)."""
    try:
        return find_chapter(session, chapter_id).id
    except NotFound:
        raise ValidationFailed(
            "请求数据校验失败。", {"fields": {"chapter_id": ["分会不存在。"]}}
        ) from None


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
