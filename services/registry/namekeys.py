"""The pinyin search keys of alumni's names (`alumnus_name_keys`), written with the name and
looked up by index range scans (docs/stewardship.md, "Search").

A query as typed (`shan`, `sxx`, `zhangw`, `张w`) is parsed by `pinyin.parse_query` into
key prefixes; each prefix is a range `low <= key < high` on the index `(kind, key)`, the
same plan on SQLite and PostgreSQL (the key column has the C collation there). A query of
digits is a student number.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, delete, insert, or_, select
from sqlalchemy.orm import Session

from services.registry.models import AlumnusNameKey, Graduation
from services.registry.pinyin import QueryKind, name_keys, parse_query, prefix_bounds

KEYS = AlumnusNameKey.__table__
GRADUATIONS = Graduation.__table__


def write(session: Session, alumnus_seq: int, name: str) -> None:
    """(Re)write the keys of one alumnus's name."""
    session.execute(delete(KEYS).where(KEYS.c.alumnus_seq == alumnus_seq))
    session.execute(
        insert(KEYS),
        [{"alumnus_seq": alumnus_seq, "kind": k, "key": v} for k, v in name_keys(name).rows()],
    )


def matching(text: str) -> ColumnElement[bool] | None:
    """A condition on `alumni.seq` for the alumni whose name keys the query reaches (or, for
    digits, whose student number it is); None when the query gives no key."""
    query = parse_query(text)
    if query.kind == QueryKind.DIGITS:
        return select(GRADUATIONS.c.alumnus_seq).where(GRADUATIONS.c.student_number == text.strip())
    ranges = []
    for kind, prefix in query.prefixes():
        low, high = prefix_bounds(prefix)
        ranges.append(and_(KEYS.c.kind == kind, KEYS.c.key >= low, KEYS.c.key < high))
    if not ranges:
        return None
    return select(KEYS.c.alumnus_seq).where(or_(*ranges))
