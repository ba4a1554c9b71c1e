"""Alumni stories (校友风采, policy clause 三.5) and the alumni news liaisons collect (二.1).

- A story is about one or more alumni, each named as the story gives them; it goes
  draft → reviewed → published, and may be withdrawn (`STORY`). Only a draft is edited.
  Its text is plain: HTML is refused at the door (contracts.registry_archive.PlainText).
- The public reads published stories only, with the names the story gives and nothing
  else of the alumni (`public_story`).
- A piece of news goes to the office's queue: accepted (perhaps into a story draft) or
  dismissed with a reason (`NEWS`).

Who may do what is the gateway's decision (gateway/authz/community_archive.py).
docs/community.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.common.columns import utcnow
from services.common.contracts.base import iso_utc
from services.common.errors import Conflict, NotFound, ValidationFailed
from services.common.paging import page, paged_select
from services.common.statemachine import StateMachine
from services.registry import domain
from services.registry.community_archive_models import AlumniNews, Story, StoryAlumnus
from services.registry.models import Alumnus

STORY = StateMachine(
    "校友风采文章",
    {"draft": "草稿", "reviewed": "已审核", "published": "已发布", "withdrawn": "已撤下"},
    {
        "review": ("draft", "reviewed"),
        "send_back": ("reviewed", "draft"),
        "publish": ("reviewed", "published"),
        "withdraw": ("published", "withdrawn"),
        "redraft": ("withdrawn", "draft"),
    },
)
NEWS = StateMachine(
    "校友动态",
    {"submitted": "待处理", "accepted": "已采用", "dismissed": "未采用"},
    {"accept": ("submitted", "accepted"), "dismiss": ("submitted", "dismissed")},
)


def _own_department(actor: dict[str, Any], asked: Any) -> str | None:
    """A liaison's records are their department's; the office files them where it says."""
    if actor["role"] == "liaison":
        return actor.get("department_id")
    return str(asked) if asked else None


# ---- stories -------------------------------------------------------------------------------


def create_story(session: Session, data: dict[str, Any], actor: dict[str, Any]) -> dict[str, Any]:
    story = Story(
        title=data["title"],
        summary=data.get("summary"),
        body=data["body"],
        status="draft",
        department_id=_own_department(actor, data.get("department_id")),
        author_id=actor["account_id"],
        author_name=actor["username"],
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    session.add(story)
    session.flush()
    _link(session, story, data["alumni"])
    return story_to_dict(session, story)


def update_story(session: Session, story_id: str, patch: dict[str, Any]) -> dict[str, Any]:
    """Change a draft (a story under review or out is changed by sending it back first)."""
    story = _story(session, story_id, lock=True)
    if story.status != "draft":
        raise Conflict(
            f"只有草稿可以修改；该文章当前为“{STORY.names[story.status]}”。",
            {"status": story.status},
            reason="not_a_draft",
        )
    for name in ("title", "summary", "body"):
        if name in patch:
            setattr(story, name, patch[name])
    if "alumni" in patch:
        session.execute(delete(StoryAlumnus).where(StoryAlumnus.story_seq == story.seq))
        _link(session, story, patch["alumni"])
    story.updated_at = utcnow()
    session.flush()
    return story_to_dict(session, story)


def step_story(
    session: Session, story_id: str, step: str, actor: dict[str, Any], note: str = ""
) -> dict[str, Any]:
    story = _story(session, story_id, lock=True)
    story.status = STORY.target(story.status, step)
    now = utcnow()
    if step == "review":
        story.reviewed_by, story.reviewed_at = actor["username"], now
    elif step == "publish":
        story.published_at, story.withdrawn_at = now, None
    elif step == "withdraw":
        story.withdrawn_at = now
    elif step in ("send_back", "redraft"):
        story.reviewed_by = story.reviewed_at = None
    story.note = note or None
    story.updated_at = now
    session.flush()
    return story_to_dict(session, story)


def get_story(session: Session, story_id: str) -> dict[str, Any]:
    return story_to_dict(session, _story(session, story_id))


def list_stories(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    """Stories for staff, newest first, by status, department or alumnus."""
    query = select(Story)
    if params.get("status"):
        query = query.where(Story.status == params["status"])
    if params.get("department_id"):
        query = query.where(Story.department_id == str(params["department_id"]))
    if params.get("alumnus_id"):
        about = select(StoryAlumnus.story_seq).where(
            StoryAlumnus.alumnus_id == str(params["alumnus_id"])
        )
        query = query.where(Story.seq.in_(about))
    rows = session.scalars(paged_select(query, [Story.seq], params, (int,), descending=True)).all()
    return page(rows, params["limit"], lambda r: [r.seq], lambda rows: _stories(session, rows))


def public_stories(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    """Published stories, the latest published first."""
    query = select(Story).where(Story.status == "published")
    rows = session.scalars(
        paged_select(
            query, [Story.published_at, Story.seq], params, (datetime, int), descending=True
        )
    ).all()
    return page(
        rows,
        params["limit"],
        lambda r: [r.published_at, r.seq],
        lambda rows: [_public(story) for story in _stories(session, rows)],
    )


def public_story(session: Session, story_id: str) -> dict[str, Any]:
    """A published story; any other (a draft, a withdrawn one) is not there for the public."""
    story = _story(session, story_id)
    if story.status != "published":
        raise story_not_found(story_id)
    return _public(story_to_dict(session, story))


def _public(story: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": story["id"],
        "title": story["title"],
        "summary": story["summary"],
        "body": story["body"],
        "alumni": [{"display_name": link["display_name"]} for link in story["alumni"]],
        "published_at": story["published_at"],
    }


def story_to_dict(session: Session, story: Story) -> dict[str, Any]:
    return _stories(session, [story])[0]


def _stories(session: Session, rows: Sequence[Story]) -> list[dict[str, Any]]:
    links: dict[int, list[dict[str, str]]] = {row.seq: [] for row in rows}
    if rows:
        for link in session.scalars(
            select(StoryAlumnus)
            .where(StoryAlumnus.story_seq.in_(list(links)))
            .order_by(StoryAlumnus.story_seq, StoryAlumnus.position)
        ):
            links[link.story_seq].append(
                {"alumnus_id": link.alumnus_id, "display_name": link.display_name}
            )
    return [
        {
            "id": row.id,
            "title": row.title,
            "summary": row.summary,
            "body": row.body,
            "status": row.status,
            "department_id": row.department_id,
            "alumni": links[row.seq],
            "author": row.author_name,
            "created_at": iso_utc(row.created_at),
            "updated_at": iso_utc(row.updated_at),
            "reviewed_by": row.reviewed_by,
            "reviewed_at": _moment(row.reviewed_at),
            "published_at": _moment(row.published_at),
            "withdrawn_at": _moment(row.withdrawn_at),
            "note": row.note,
        }
        for row in rows
    ]


def _link(session: Session, story: Story, alumni: list[dict[str, Any]]) -> None:
    """The story's alumni, in the order given; a name left out is the record's."""
    ids = [str(link["alumnus_id"]) for link in alumni]
    found = {
        row.id: row
        for row in session.execute(
            select(Alumnus.id, Alumnus.name, Alumnus.merged_into).where(Alumnus.id.in_(ids))
        )
    }
    missing = {
        str(index): {"alumnus_id": ["校友不存在。"]}
        for index, alumnus_id in enumerate(ids)
        if alumnus_id not in found or found[alumnus_id].merged_into is not None
    }
    if missing:
        raise ValidationFailed("请求数据校验失败。", {"fields": {"alumni": missing}})
    for position, link in enumerate(alumni):
        alumnus_id = str(link["alumnus_id"])
        session.add(
            StoryAlumnus(
                story_seq=story.seq,
                alumnus_id=alumnus_id,
                display_name=link.get("display_name") or found[alumnus_id].name,
                position=position,
            )
        )
    session.flush()


def _story(session: Session, story_id: str, lock: bool = False) -> Story:
    story = None
    if domain._is_uuid(story_id):
        query = select(Story).where(Story.id == str(story_id))
        if lock:
            query = query.with_for_update()
        story = session.scalars(query).first()
    if story is None:
        raise story_not_found(story_id)
    return story


def story_not_found(story_id: str) -> NotFound:
    return NotFound("文章不存在。", {"story_id": str(story_id)}, reason="story_not_found")


def _moment(value: datetime | None) -> str | None:
    return iso_utc(value) if value is not None else None


# ---- alumni news -----------------------------------------------------------------------------


def submit_news(session: Session, data: dict[str, Any], actor: dict[str, Any]) -> dict[str, Any]:
    alumnus_id = str(data["alumnus_id"])
    domain.get_alumnus(session, alumnus_id)
    news = AlumniNews(
        alumnus_id=alumnus_id,
        headline=data["headline"],
        body=data["body"],
        source=data["source"],
        status="submitted",
        department_id=_own_department(actor, None),
        submitted_by=actor["account_id"],
        submitted_by_name=actor["username"],
        submitted_at=utcnow(),
    )
    session.add(news)
    session.flush()
    return news_to_dict(session, news)


def list_news(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    """The queue, oldest first (what came first is handled first)."""
    query = select(AlumniNews)
    if params.get("status"):
        query = query.where(AlumniNews.status == params["status"])
    if params.get("department_id"):
        query = query.where(AlumniNews.department_id == str(params["department_id"]))
    rows = session.scalars(paged_select(query, [AlumniNews.seq], params, (int,))).all()
    return page(rows, params["limit"], lambda r: [r.seq], lambda rows: _news(session, rows))


def get_news(session: Session, news_id: str) -> dict[str, Any]:
    return news_to_dict(session, _news_item(session, news_id))


def accept_news(
    session: Session, news_id: str, actor: dict[str, Any], make_story: bool = False
) -> dict[str, Any]:
    """Accept a piece of news; with `make_story`, a story draft of it (the office's, filed
    under the news's department) with its alumnus linked."""
    news = _news_item(session, news_id, lock=True)
    news.status = NEWS.target(news.status, "accept")
    news.decided_by, news.decided_at = actor["username"], utcnow()
    if make_story:
        story = create_story(
            session,
            {
                "title": news.headline,
                "summary": None,
                "body": f"{news.body}\n\n来源：{news.source}",
                "alumni": [{"alumnus_id": news.alumnus_id}],
                "department_id": news.department_id,
            },
            {**actor, "role": "office"},
        )
        news.story_id = story["id"]
    session.flush()
    return news_to_dict(session, news)


def dismiss_news(
    session: Session, news_id: str, actor: dict[str, Any], reason: str
) -> dict[str, Any]:
    news = _news_item(session, news_id, lock=True)
    news.status = NEWS.target(news.status, "dismiss")
    news.decided_by, news.decided_at = actor["username"], utcnow()
    news.dismissal_reason = reason
    session.flush()
    return news_to_dict(session, news)


def news_to_dict(session: Session, news: AlumniNews) -> dict[str, Any]:
    return _news(session, [news])[0]


def _news(session: Session, rows: Sequence[AlumniNews]) -> list[dict[str, Any]]:
    ids = {row.alumnus_id for row in rows}
    names = (
        dict(session.execute(select(Alumnus.id, Alumnus.name).where(Alumnus.id.in_(ids))).all())
        if ids
        else {}
    )
    return [
        {
            "id": row.id,
            "alumnus_id": row.alumnus_id,
            "alumnus_name": names.get(row.alumnus_id),
            "headline": row.headline,
            "body": row.body,
            "source": row.source,
            "status": row.status,
            "department_id": row.department_id,
            "submitted_by": row.submitted_by_name,
            "submitted_at": iso_utc(row.submitted_at),
            "decided_by": row.decided_by,
            "decided_at": _moment(row.decided_at),
            "dismissal_reason": row.dismissal_reason,
            "story_id": row.story_id,
        }
        for row in rows
    ]


def _news_item(session: Session, news_id: str, lock: bool = False) -> AlumniNews:
    news = None
    if domain._is_uuid(news_id):
        query = select(AlumniNews).where(AlumniNews.id == str(news_id))
        if lock:
            query = query.with_for_update()
        news = session.scalars(query).first()
    if news is None:
        raise news_not_found(news_id)
    return news


def news_not_found(news_id: str) -> NotFound:
    return NotFound("校友动态不存在。", {"news_id": str(news_id)}, reason="news_not_found")


def held_on(session: Session, alumnus_id: str) -> dict[str, list[dict[str, Any]]]:
    """The stories about one alumnus and the news collected on them: their part of the
    person's export (PIPL art. 45, services/registry/rights.py)."""
    about = select(StoryAlumnus.story_seq).where(StoryAlumnus.alumnus_id == str(alumnus_id))
    told = session.scalars(select(Story).where(Story.seq.in_(about)).order_by(Story.seq)).all()
    news = session.scalars(
        select(AlumniNews).where(AlumniNews.alumnus_id == str(alumnus_id)).order_by(AlumniNews.seq)
    ).all()
    return {"stories": _stories(session, told), "news": _news(session, news)}


ERASED_NOTE = "所述校友已依法删除其个人信息：本文已撤下，请修改后再发布。"


def forget(session: Session, alumnus_id: str, at: datetime) -> None:
    """An approved erasure (services/registry/rights.py): the news collected on the person
    is deleted; every story about them leaves the public site (withdrawn, whatever its
    status) and loses its link to them. **Decision:** a story's text may name the person
    anywhere, so no story is edited by the platform: the office reads the withdrawn ones,
    rewrites or deletes them, and publishes again what no longer tells of the person."""
    about = select(StoryAlumnus.story_seq).where(StoryAlumnus.alumnus_id == str(alumnus_id))
    for story in session.scalars(select(Story).where(Story.seq.in_(about))):
        if story.status != "withdrawn":
            story.status, story.withdrawn_at = "withdrawn", at
        story.note = ERASED_NOTE
    session.execute(delete(StoryAlumnus).where(StoryAlumnus.alumnus_id == str(alumnus_id)))
    session.execute(delete(AlumniNews).where(AlumniNews.alumnus_id == str(alumnus_id)))
