"""What the areas of the events service share: the school's calendar, times in UTC,
paging, and the compare-and-set of workflow statuses.

Status changes are compare-and-set: `set_status` updates a row only if it is
still in the status the caller read, so two staff members acting on the same
record at once cannot both succeed; the second gets a Conflict. On PostgreSQL
the second UPDATE waits for the first to commit and then matches no row; on
SQLite the database's write lock serialises them, and pysqlite reads outside a
transaction until the first write, so the status read is the latest committed.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common.errors import Conflict, ValidationFailed


def as_utc(moment: datetime) -> datetime:
    """An aware UTC datetime; SQLite hands back naive datetimes that were stored as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def encode_cursor(position: list[Any]) -> str:
    raw = json.dumps(position, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_seq_cursor(cursor: str) -> int:
    """The last row's internal sequence number, from a cursor of `encode_cursor([seq])`."""
    position = _decode_cursor(cursor)
    if len(position) != 1 or type(position[0]) is not int:
        raise _bad_cursor()
    return position[0]


def decode_time_cursor(cursor: str) -> tuple[datetime, str]:
    """(time, id) of the last row, from a cursor of `encode_cursor([iso time, id])`."""
    position = _decode_cursor(cursor)
    if len(position) != 2 or not all(isinstance(part, str) for part in position):
        raise _bad_cursor()
    try:
        return as_utc(datetime.fromisoformat(position[0])), position[1]
    except ValueError:
        raise _bad_cursor() from None


def _decode_cursor(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise _bad_cursor() from None
    if not isinstance(position, list):
        raise _bad_cursor()
    return position


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed("分页游标无效。", {"fields": {"cursor": ["分页游标无效。"]}})


# Due dates and visit dates are the school's calendar days. China keeps one
# offset all year (no daylight saving), so a fixed zone needs no tz database.
SCHOOL_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")


def school_date(moment: datetime) -> date:
    """The school's calendar day at `moment`."""
    return as_utc(moment).astimezone(SCHOOL_TZ).date()


def school_year_bounds(year: int) -> tuple[datetime, datetime]:
    """[1 January, next 1 January) of `year` at midnight Beijing time."""
    return (
        datetime(year, 1, 1, tzinfo=SCHOOL_TZ),
        datetime(year + 1, 1, 1, tzinfo=SCHOOL_TZ),
    )


def id_or_none(value: Any) -> str | None:
    return str(value) if value is not None else None


def page_by_seq(
    session: Session,
    query: Select,
    model: type,
    params: dict[str, Any],
    to_dict: Callable[[Any], dict[str, Any]],
    default_limit: int = 20,
) -> dict[str, Any]:
    """One page of `query` in creation order; the cursor is the last row's `seq`."""
    limit = params.get("limit", default_limit)
    query = query.order_by(model.seq).limit(limit + 1)
    if params.get("cursor"):
        query = query.where(model.seq > decode_seq_cursor(params["cursor"]))
    rows = session.scalars(query).all()
    page, more = rows[:limit], len(rows) > limit
    return {
        "items": [to_dict(row) for row in page],
        "next_cursor": encode_cursor([page[-1].seq]) if more else None,
    }


def set_status(
    session: Session, row: Any, expected: str, values: dict[str, Any], what: str
) -> None:
    """Write `values` to `row` if its status is still `expected`; Conflict otherwise.

    `what` names the record in the message (接待申请, 任务, …).
    """
    model = type(row)
    changed = session.execute(
        update(model)
        .where(model.seq == row.seq, model.status == expected)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(row)
    if changed != 1:
        raise Conflict(
            f"{what}已被他人处理，请刷新后重试。",
            {"id": row.id, "status": row.status, "expected_status": expected},
        )


def flush_or_conflict(session: Session, message: str, details: dict[str, Any] | None = None):
    """Flush; a unique key that another transaction won first is a Conflict, not a crash."""
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(message, details) from None
