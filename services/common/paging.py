"""Cursor paging, one way for every list of the platform.

A list is read in a stable order (its `order` columns, the last one unique), `limit + 1`
rows at a time; the extra row says whether there is a next page, and `next_cursor` is the
position of the page's last row. A cursor is opaque to clients: the position's values as
a JSON list, base64url-encoded without padding. What a position holds is checked when
it is decoded (a forged cursor is a 422 naming `cursor`, never a 500): integers within
the 64-bit range the databases store, times within the calendar once moved to UTC, text
without NUL or lone surrogates.

    query = paged_select(select(Model), [Model.seq], params, (int,))
    return page(session.scalars(query).all(), params["limit"], lambda r: [r.seq], shape)

SQLAlchemy only; no framework.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, tuple_

from services.common.errors import ValidationFailed

Row = TypeVar("Row")
INT_BOUND = 2**63
CURSOR_PARTS = (int, str, datetime)
# Text no database can compare against: NUL (PostgreSQL) and lone surrogates (not UTF-8).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def encode_cursor(position: Sequence[Any]) -> str:
    values = [value.isoformat() if isinstance(value, datetime) else value for value in position]
    raw = json.dumps(values, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, parts: Sequence[type]) -> tuple[Any, ...]:
    """The position in `cursor`, each value of the type in `parts` (int, str or datetime)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise bad_cursor() from None
    if not isinstance(values, list) or len(values) != len(parts):
        raise bad_cursor()
    return tuple(_part(value, kind) for value, kind in zip(values, parts, strict=True))


def _part(value: Any, kind: type) -> Any:
    if kind is int and type(value) is int and 0 <= value < INT_BOUND:
        return value
    if kind is str and isinstance(value, str) and not UNSTORABLE.search(value):
        return value
    if kind is datetime and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
            # OverflowError: a time at either end of the calendar whose offset moves it past
            # year 1 or 9999.
            return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        except (ValueError, OverflowError):
            raise bad_cursor() from None
    raise bad_cursor()


def bad_cursor() -> ValidationFailed:
    return ValidationFailed(
        "分页游标无效。", {"fields": {"cursor": ["分页游标无效。"]}}, reason="bad_cursor"
    )


def after(columns: Sequence[ColumnElement], position: Sequence[Any], descending: bool = False):
    """Rows past `position` in the order of `columns` (all ascending, or all descending)."""
    if len(columns) == 1:
        left, right = columns[0], position[0]
    else:
        left, right = tuple_(*columns), tuple_(*position)
    return left < right if descending else left > right


def paged_select(
    query: Select,
    order: Sequence[ColumnElement],
    params: dict[str, Any],
    parts: Sequence[type],
    descending: bool = False,
) -> Select:
    """`query` in the order of `order`, from the position of `params["cursor"]`, `limit + 1`
    rows (`params["limit"]`, from the shared page query)."""
    ordering = [column.desc() for column in order] if descending else list(order)
    query = query.order_by(*ordering).limit(params["limit"] + 1)
    if params.get("cursor"):
        position = decode_cursor(params["cursor"], parts)
        query = query.where(after(order, position, descending))
    return query


def page(
    rows: Sequence[Row],
    limit: int,
    position: Callable[[Row], Sequence[Any]],
    shape: Callable[[Sequence[Row]], list[dict[str, Any]]],
) -> dict[str, Any]:
    """`{"items", "next_cursor"}` from up to `limit + 1` rows: `shape` makes the items of
    the page (all at once, so it may read what they need in one query)."""
    shown, more = rows[:limit], len(rows) > limit
    return {
        "items": shape(shown),
        "next_cursor": encode_cursor(position(shown[-1])) if more else None,
    }


def each(shape_one: Callable[[Row], dict[str, Any]]) -> Callable[[Sequence[Row]], list]:
    """A page shape from the shape of one row."""
    return lambda rows: [shape_one(row) for row in rows]
