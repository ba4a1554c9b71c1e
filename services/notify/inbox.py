"""The in-app inbox: each person's messages, newest first, with the unread count.

An alumnus reads `alumnus:<id>`; a staff member `staff:<username>`, and the office's
accounts also the shared `office` inbox (read by one, read for the office).

SQLAlchemy only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from services.common.contracts.base import iso_utc
from services.common.errors import NotFound
from services.common.paging import each, page, paged_select
from services.notify.models import InboxItem


def audiences(reader: dict[str, Any]) -> list[str]:
    """The inboxes a reader (the verified caller, with `alumnus_id` for an alumnus) reads."""
    if reader.get("alumnus_id"):
        return [f"alumnus:{reader['alumnus_id']}"]
    mine = [f"staff:{reader['username']}"]
    return [*mine, "office"] if reader["role"] == "office" else mine


def item_to_dict(item: InboxItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "kind": item.kind,
        "title": item.title,
        "body": item.body,
        "created_at": iso_utc(item.created_at),
        "read_at": iso_utc(item.read_at) if item.read_at else None,
    }


def list_inbox(session: Session, reader: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    mine = InboxItem.audience.in_(audiences(reader))
    query = select(InboxItem).where(mine)
    if params.get("unread_only"):
        query = query.where(InboxItem.read_at.is_(None))
    query = paged_select(query, [InboxItem.seq], params, (int,), descending=True)
    result = page(
        session.scalars(query).all(), params["limit"], lambda i: [i.seq], each(item_to_dict)
    )
    result["unread_count"] = session.scalar(
        select(func.count()).where(mine, InboxItem.read_at.is_(None))
    )
    return result


def mark_read(session: Session, reader: dict[str, Any], item_id: str, now: datetime) -> dict:
    """Another person's message answers as one that does not exist."""
    item = session.scalar(
        select(InboxItem).where(
            InboxItem.id == str(item_id), InboxItem.audience.in_(audiences(reader))
        )
    )
    if item is None:
        raise NotFound("消息不存在。", {"notification_id": str(item_id)})
    if item.read_at is None:
        item.read_at = now
        session.flush()
    return item_to_dict(item)


def mark_all_read(session: Session, reader: dict[str, Any], now: datetime) -> dict[str, int]:
    result = session.execute(
        update(InboxItem)
        .where(InboxItem.audience.in_(audiences(reader)), InboxItem.read_at.is_(None))
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    return {"marked": result.rowcount or 0}
