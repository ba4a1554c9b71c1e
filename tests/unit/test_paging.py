"""The one paging helper: cursor format, bounds, and keyset pages on a real SQLite table."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import DateTime, Integer, String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from services.common.errors import ValidationFailed
from services.common.paging import (
    INT_BOUND,
    decode_cursor,
    each,
    encode_cursor,
    page,
    paged_select,
)


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "items"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        # Two items share each time, so the time alone does not order them.
        session.add_all(
            Item(seq=n, name=f"item{n}", at=T0 + timedelta(hours=n // 2)) for n in range(1, 12)
        )
        session.commit()
        yield session
    engine.dispose()


def read_all(session, order, parts, position, limit, descending=False) -> list[int]:
    seen, cursor = [], None
    for _ in range(20):
        params = {"limit": limit, "cursor": cursor}
        query = paged_select(select(Item), order, params, parts, descending)
        result = page(session.scalars(query).all(), limit, position, each(lambda r: r.seq))
        assert len(result["items"]) <= limit
        seen += result["items"]
        cursor = result["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("paging did not end")


@pytest.mark.parametrize("limit", [1, 3, 11, 50])
def test_pages_by_sequence_cover_every_row_once_in_order(session, limit):
    rows = read_all(session, [Item.seq], (int,), lambda r: [r.seq], limit)
    assert rows == list(range(1, 12))


@pytest.mark.parametrize("limit", [1, 2, 4])
def test_pages_by_time_and_id_keep_ties_in_order_both_ways(session, limit):
    order = [Item.at, Item.seq]
    position = lambda r: [r.at, r.seq]  # noqa: E731
    assert read_all(session, order, (datetime, int), position, limit) == list(range(1, 12))
    newest_first = read_all(session, order, (datetime, int), position, limit, descending=True)
    assert newest_first == list(range(11, 0, -1))


def test_last_page_has_no_next_cursor(session):
    query = paged_select(select(Item), [Item.seq], {"limit": 11}, (int,))
    assert (
        page(session.scalars(query).all(), 11, lambda r: [r.seq], each(str))["next_cursor"] is None
    )


def test_a_cursor_round_trips_its_position():
    moment = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    cursor = encode_cursor([moment, "张伟", 42])
    assert "=" not in cursor
    assert decode_cursor(cursor, (datetime, str, int)) == (moment, "张伟", 42)


def raw_cursor(json_text: str) -> str:
    """A cursor around JSON text as written, escapes and all."""
    return base64.urlsafe_b64encode(json_text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("cursor", "parts"),
    [
        ("not base64 at all!", (int,)),
        (encode_cursor([1, 2]), (int,)),  # wrong length
        (encode_cursor(["1"]), (int,)),  # wrong type
        (encode_cursor([True]), (int,)),  # a bool is not a position
        (encode_cursor([-1]), (int,)),
        (encode_cursor([INT_BOUND]), (int,)),  # past what the databases store: not a 500
        (encode_cursor([10**40]), (int,)),
        (encode_cursor(["yesterday"]), (datetime,)),
        (encode_cursor({"seq": 1}), (int,)),
        ("", (int,)),
        (encode_cursor([2**64]), (int,)),  # above 2**63: once a 500 on the events' lists
        (encode_cursor([1.5]), (int,)),
        # A time that its offset moves before year 1 or past 9999: once an OverflowError.
        (encode_cursor(["0001-01-01T00:00:00+05:00", "x"]), (datetime, str)),
        (encode_cursor(["9999-12-31T23:59:59-05:00", "x"]), (datetime, str)),
        # Text no database can compare against: once a driver error, so a 500.
        (encode_cursor(["2026-01-01T00:00:00+00:00", "a\x00b"]), (datetime, str)),
        (raw_cursor('["2026-01-01T00:00:00+00:00","\\ud800"]'), (datetime, str)),
        ("\u4e2d\u6587", (int,)),
        ("eyJ", (int,)),  # the start of a JSON object, cut short
    ],
)
def test_a_forged_cursor_is_a_validation_error_naming_the_cursor(cursor, parts):
    with pytest.raises(ValidationFailed) as caught:
        decode_cursor(cursor, parts)
    assert caught.value.reason == "bad_cursor"
    assert "cursor" in caught.value.details["fields"]


def test_the_largest_stored_integer_is_a_valid_position():
    assert decode_cursor(encode_cursor([INT_BOUND - 1]), (int,)) == (INT_BOUND - 1,)
