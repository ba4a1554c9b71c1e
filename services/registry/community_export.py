"""What the community part holds on one alumnus, for their PIPL copy (rights.export_person):
their chapter memberships and their messenger appointments."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.registry.messengers import messenger_to_dict
from services.registry.models import Alumnus, Chapter, ChapterMember, Messenger


def community_held_on(session: Session, alumnus_id: str) -> dict[str, list[dict[str, Any]]]:
    memberships = session.execute(
        select(ChapterMember, Chapter.name)
        .join(Chapter, Chapter.id == ChapterMember.chapter_id)
        .where(ChapterMember.alumnus_id == alumnus_id)
        .order_by(ChapterMember.seq)
    ).all()
    name = session.scalars(select(Alumnus.name).where(Alumnus.id == alumnus_id)).first() or ""
    appointments = session.scalars(
        select(Messenger).where(Messenger.alumnus_id == alumnus_id).order_by(Messenger.seq)
    )
    return {
        "chapter_memberships": [
            {
                "chapter_id": member.chapter_id,
                "chapter_name": chapter_name,
                "role": member.role,
                "joined_on": member.joined_on.isoformat(),
            }
            for member, chapter_name in memberships
        ],
        "messenger_appointments": [messenger_to_dict(m, name) for m in appointments],
    }
