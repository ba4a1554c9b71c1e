"""The search keys of alumni (docs/stewardship.md, "Search"): the pinyin keys of names
(`alumnus_name_keys`) and the character bigrams of name, employer and city
(`alumnus_text_grams`), written with the record and looked up through indexes.

A query as typed (`shan`, `sxx`, `zhangw`, `张w`) is parsed by `pinyin.parse_query` into
key prefixes; each prefix is a range `low <= key < high` on the index `(kind, key)`, the
same plan on SQLite and PostgreSQL (the key column has the C collation there). A query of
digits is a student number. A part of a name, employer or city (`华为`, `济南`, `小明`) is
found through its bigrams: the alumni holding every bigram of the query in that field,
then checked with `LIKE` on those rows only.

    python -m services.registry.namekeys [--after SEQ] [--batch N]

rewrites the keys of every alumnus (those registered before the keys existed among them):
a batch per transaction in `seq` order, so a run stopped half-way is started again, from
the beginning or from the last `seq` it printed, and rewrites nothing twice wrongly.
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
from collections.abc import Iterable
from typing import Any

from cachetools import TTLCache
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from services.common import crypto
from services.registry.models import (
    Alumnus,
    AlumnusNameKey,
    AlumnusTextGram,
    Graduation,
    name_key_lead,
)
from services.registry.pinyin import (
    QueryKind,
    Rank,
    SearchQuery,
    clean_name,
    name_keys,
    parse_query,
    prefix_bounds,
)

KEYS = AlumnusNameKey.__table__
GRAMS = AlumnusTextGram.__table__
ALUMNI = Alumnus.__table__
GRADUATIONS = Graduation.__table__

GRAM_FIELDS = ("name", "employer", "city")
"""The fields found by any part of them."""
MIN_PART = {"name": 1, "employer": 2, "city": 2}
"""The shortest part looked up inside a field. A name is short and one character of it is
a real search (`明` for the given name 小明): names also keep their single characters. One
character inside employers and cities (`华`, `州`) would match most of them and is no
search (**Decision**, docs/stewardship.md)."""
BACKFILL_BATCH = 1000
CONTACT_LIKE = re.compile(r"[+\d][\d\s-]{5,}|\S+@\S+")
"""What may be a phone number or an e-mail address, looked up through the blind indexes."""
MAX_GRAM_JOINS = 3
"""Grams of a part joined at most: three narrow enough, LIKE checks the rest."""
# Aliases made once: each new alias costs more to build (its columns' proxies) than the
# query it is in costs to run (docs/PERFORMANCE.md, "Search at 100,000").
GRAM_JOINS = tuple(GRAMS.alias(f"gram_{n}") for n in range(MAX_GRAM_JOINS))
HELD_KEYS, BETTER_KEYS = KEYS.alias("held_key"), KEYS.alias("better_key")
NUMBERED = GRADUATIONS.alias("numbered")
COMMON_KEYS = 1000
"""Key rows from which a query's keys are common (`z`, `zhang`, `张`: thousands of alumni):
its ranks are then read one at a time along the alumni's order, each stopped at the page's
end (`key_tiers`), instead of every matching alumnus grouped and sorted (`key_hits`)."""


# ---- writing ----------------------------------------------------------------------------


def gram_text(field: str, value: str | None) -> str:
    """What a field's bigrams are taken from: lower-cased, a name as it is keyed
    (`pinyin.clean_name`: no padding spaces, the minority-name dot as U+00B7)."""
    if not value:
        return ""
    return (clean_name(value) if field == "name" else value).lower()


def bigrams(text: str) -> list[str]:
    return list(dict.fromkeys(text[i : i + 2] for i in range(len(text) - 1)))


def grams_of(field: str, text: str) -> list[str]:
    """The grams stored for a field's value: its bigrams, and a name's characters too."""
    return (list(dict.fromkeys(text)) if field == "name" else []) + bigrams(text)


def query_grams(field: str, text: str) -> list[str]:
    """The grams a part must all have: its bigrams, or itself when one character long."""
    if len(text) < MIN_PART[field]:
        return []
    return [text] if len(text) == 1 else bigrams(text)


KEY_COLUMNS = ("alumnus_seq", "kind", "key")


def key_rows(seq: int, name: str | None) -> list[dict[str, Any]]:
    return [dict(zip(KEY_COLUMNS, row, strict=True)) for row in key_values(seq, name)]


def key_values(seq: int, name: str | None) -> list[list[Any]]:
    """`key_rows` as lists in the order of KEY_COLUMNS, for a bulk import
    (`bulk.insert_values`)."""
    return [[seq, kind, key] for kind, key in name_key_pairs(name)]


def name_key_pairs(name: str | None) -> list[tuple[str, str]]:
    """(kind, key) of each search key of a name."""
    return list(name_keys(name).rows()) if name else []


GRAM_COLUMNS = ("alumnus_seq", "field", "gram")


def gram_rows(seq: int, values: dict[str, str | None]) -> list[dict[str, Any]]:
    """The bigram rows of `values` (field → value, of GRAM_FIELDS)."""
    return [dict(zip(GRAM_COLUMNS, row, strict=True)) for row in gram_values(seq, values)]


def gram_values(seq: int, values: dict[str, str | None]) -> list[list[Any]]:
    """`gram_rows` as lists in the order of GRAM_COLUMNS, for a bulk import (~15 a row;
    `bulk.insert_values`)."""
    return [[seq, field, gram] for field, gram in field_grams(values)]


def field_grams(values: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, gram) of each bigram of `values` (field → value, of GRAM_FIELDS)."""
    return [
        (field, gram) for field in GRAM_FIELDS for gram in _value_grams(field, values.get(field))
    ]


@functools.lru_cache(maxsize=65536)
def _value_grams(field: str, value: str | None) -> tuple[str, ...]:
    """`grams_of` a field's value, cached: names, employers and cities repeat, and a bulk
    import takes the grams of every row."""
    return tuple(grams_of(field, gram_text(field, value)))


INSERT_KEYS, INSERT_GRAMS = insert(KEYS), insert(GRAMS)


def write(session: Session | Connection, alumnus: Any) -> None:
    """(Re)write the keys of one alumnus (anything with `seq` and the GRAM_FIELDS)."""
    forget(session, [alumnus.seq])
    add(session, alumnus.seq, {field: getattr(alumnus, field) for field in GRAM_FIELDS})


def add(session: Session | Connection, seq: int, values: dict[str, Any]) -> None:
    """The keys of a new alumnus (`values`: field → value, the GRAM_FIELDS): one
    executemany per table, nothing to delete first."""
    keys, grams = key_rows(seq, values.get("name")), gram_rows(seq, values)
    if keys:
        session.execute(INSERT_KEYS, keys)
    if grams:
        session.execute(INSERT_GRAMS, grams)


def forget(session: Session | Connection, seqs: Iterable[int]) -> None:
    """Delete the keys of these alumni (a rewrite, an erasure: the keys spell the name)."""
    seqs = list(seqs)
    session.execute(delete(KEYS).where(KEYS.c.alumnus_seq.in_(seqs)))
    session.execute(delete(GRAMS).where(GRAMS.c.alumnus_seq.in_(seqs)))


def backfill_batch(connection: Session | Connection, after: int, size: int) -> int | None:
    """Rewrite the keys of the next `size` alumni past `seq` `after`; the last seq done, or
    None when there were none."""
    rows = connection.execute(
        select(ALUMNI.c.seq, *(ALUMNI.c[f] for f in GRAM_FIELDS))
        .where(ALUMNI.c.seq > after)
        .order_by(ALUMNI.c.seq)
        .limit(size)
    ).all()
    if not rows:
        return None
    forget(connection, [row.seq for row in rows])
    keys = [k for row in rows for k in key_rows(row.seq, row.name)]
    grams = [g for row in rows for g in gram_rows(row.seq, row._mapping)]
    if keys:
        connection.execute(insert(KEYS), keys)
    if grams:
        connection.execute(insert(GRAMS), grams)
    return rows[-1].seq


def backfill(engine: Any, after: int = 0, size: int = BACKFILL_BATCH, echo: Any = None) -> int:
    """Rewrite every alumnus's keys, one transaction per batch; the number rewritten."""
    done = 0
    while True:
        with engine.begin() as connection:
            last = backfill_batch(connection, after, size)
            count = (
                0
                if last is None
                else connection.execute(
                    select(func.count())
                    .select_from(ALUMNI)
                    .where(ALUMNI.c.seq > after, ALUMNI.c.seq <= last)
                ).scalar_one()
            )
        if last is None:
            return done
        done += count
        after = last
        if echo:
            echo(f"{done} 位校友的检索键已重写，至 seq {last}")


# ---- searching ----------------------------------------------------------------------------


KINDS = ("name", "pinyin", "initials")
"""The kinds of name keys, best first: each kind's exact rank and prefix rank."""
EXACT_RANK = dict(
    zip(KINDS, (Rank.EXACT_NAME, Rank.EXACT_PINYIN, Rank.EXACT_INITIALS), strict=True)
)
PREFIX_RANK = dict(
    zip(KINDS, (Rank.NAME_PREFIX, Rank.PINYIN_PREFIX, Rank.INITIALS_PREFIX), strict=True)
)


def _keys_by_kind(query: SearchQuery) -> list[tuple[str, tuple[str, ...]]]:
    """(kind, the query's keys of that kind) for each kind it has keys of, best first."""
    keys: dict[str, list[str]] = {kind: [] for kind in KINDS}
    for kind, prefix in query.prefixes():
        keys[kind].append(prefix)
    return [(kind, tuple(values)) for kind, values in keys.items() if values]


def _one_of(column: Any, values: tuple[str, ...]) -> ColumnElement[bool]:
    """`=` for one value, else `IN`: SQLAlchemy renders an IN list again at each execution."""
    return column == values[0] if len(values) == 1 else column.in_(values)


def _rank_of_key(query: SearchQuery) -> ColumnElement[int]:
    """The `pinyin.Rank` of one matching key row, in SQL: an alumnus's rank is the best
    (least) of its rows'."""
    whens = [
        (and_(KEYS.c.kind == kind, _one_of(KEYS.c.key, values)), int(EXACT_RANK[kind]))
        for kind, values in _keys_by_kind(query)
    ]
    whens += [(KEYS.c.kind == kind, int(PREFIX_RANK[kind])) for kind in KINDS[:-1]]
    return case(*whens, else_=int(PREFIX_RANK[KINDS[-1]]))


def _ranges(query: SearchQuery, keys: Any = KEYS) -> list[ColumnElement[bool]]:
    ranges = []
    for kind, prefix in query.prefixes():
        low, high = prefix_bounds(prefix)
        ranges.append(and_(keys.c.kind == kind, keys.c.key >= low, keys.c.key < high))
    return ranges


QUERY_CACHE = 4096
"""Queries typed whose statements are kept: building a search's statements cost more CPU
than running them (docs/PERFORMANCE.md, "Search at 100,000"). A statement is never changed
after it is built (SQLAlchemy's are generative), so one built once serves every search."""


@functools.lru_cache(maxsize=QUERY_CACHE)
def key_hits(text: str, exact: bool = False) -> Select | None:
    """(`seq`, `rank`) of the alumni whose name's keys the query reaches, an alumnus once per
    matching key (the caller takes its best rank, `pinyin.Rank`: exact name first); None
    when the query gives no key. `exact`: only the exact ranks' keys (`Rank.EXACT_*`)."""
    query = parse_query(text)
    ranges = _ranges(query)
    if not ranges or query.kind == QueryKind.DIGITS:
        return None
    if exact:
        ranges = [c for rank, c in key_tiers(text) if rank <= Rank.EXACT_INITIALS]
        if not ranges:
            return None
    return select(KEYS.c.alumnus_seq.label("seq"), _rank_of_key(query).label("rank")).where(
        or_(*ranges)
    )


@functools.lru_cache(maxsize=QUERY_CACHE)
def first_key_rows(text: str, limit: int) -> Select | None:
    """The best `limit` of `key_hits(text)`'s rows, with each key row's id as `hit`, by
    (rank, seq), for a query whose every prefix is one character (`王`, `w`); None for any
    other. Each prefix's exact key and its longer keys are read apart, each along an index
    in `seq` order and stopped at `limit` (the longer ones through
    `ix_alumnus_name_keys_lead`), so no more than a few times `limit` rows are sorted: a
    common surname's 722 keys among 10,000 alumni were all sorted for a first page."""
    query = parse_query(text)
    prefixes = dict.fromkeys(query.prefixes())
    if query.kind == QueryKind.DIGITS or not prefixes or any(len(p) != 1 for _, p in prefixes):
        return None
    arms = []
    for kind, prefix in prefixes:
        for rank, condition in (
            (EXACT_RANK[kind], KEYS.c.key == prefix),
            (PREFIX_RANK[kind], and_(name_key_lead() == prefix, KEYS.c.key != prefix)),
        ):
            arm = (
                select(
                    KEYS.c.alumnus_seq.label("seq"),
                    literal(int(rank)).label("rank"),
                    KEYS.c.id.label("hit"),
                )
                .where(KEYS.c.kind == kind, condition)
                .order_by(KEYS.c.alumnus_seq)
                .limit(limit)
                .subquery()
            )
            arms.append(select(arm.c.seq, arm.c.rank, arm.c.hit))
    best = union_all(*arms).subquery()
    return (
        select(best.c.seq, best.c.rank, best.c.hit).order_by(best.c.rank, best.c.seq).limit(limit)
    )


@functools.lru_cache(maxsize=QUERY_CACHE)
def key_seqs(text: str) -> Select:
    """The `seq`s the query's keys reach (an alumnus once per key), for a query with keys."""
    return select(KEYS.c.alumnus_seq).where(or_(*_ranges(parse_query(text))))


PLAN_SECONDS = 60
PLANS: TTLCache[str, bool] = TTLCache(maxsize=QUERY_CACHE, ttl=PLAN_SECONDS)
"""Whether each query typed lately is common (`is_common`): the count was an eighth of a
search's work. Either plan lists the same rows, so a plan kept while a query crosses
COMMON_KEYS (registrations, merges) costs time, never a wrong page."""


def is_common(session: Session | Connection, text: str) -> bool:
    """Whether the query's keys reach COMMON_KEYS rows or more (`z`, `zhang`, `张`): counted
    along the key index, stopped at COMMON_KEYS, once in PLAN_SECONDS for each query typed
    (PLANS)."""
    common = PLANS.get(text)
    if common is None:
        counted = _key_count(text)
        common = counted is not None and session.execute(counted).scalar_one() >= COMMON_KEYS
        PLANS[text] = common
    return common


@functools.lru_cache(maxsize=QUERY_CACHE)
def _key_count(text: str) -> Select | None:
    """The count of the query's key rows, stopped at COMMON_KEYS; None for a query without
    keys."""
    query = parse_query(text)
    ranges = _ranges(query)
    if not ranges or query.kind == QueryKind.DIGITS:
        return None
    return _count_up_to(select(KEYS.c.id).where(or_(*ranges)), COMMON_KEYS)


def _at_least(session: Session | Connection, rows: Select, count: int) -> bool:
    return session.execute(_count_up_to(rows, count)).scalar_one() >= count


def _count_up_to(rows: Select, count: int) -> Select:
    return select(func.count()).select_from(rows.limit(count).subquery())


@functools.lru_cache(maxsize=QUERY_CACHE)
def key_tiers(text: str, keys: Any = KEYS) -> tuple[tuple[Rank, ColumnElement[bool]], ...]:
    """(rank, condition on a key row of `keys`) for each `pinyin.Rank` the query's keys
    reach, best first. An alumnus is at the first rank one of its keys meets: a prefix's
    condition holds for the exact key too, so a rank's alumni are those meeting its
    condition and none of the better ranks' (`tier_members`)."""
    query = parse_query(text)
    if query.kind == QueryKind.DIGITS:
        return ()
    keyed = _keys_by_kind(query)
    tiers = [
        (EXACT_RANK[kind], and_(keys.c.kind == kind, _one_of(keys.c.key, values)))
        for kind, values in keyed
    ]
    for kind, prefixes in keyed:
        bounds = [prefix_bounds(p) for p in prefixes]
        within = or_(*(and_(keys.c.key >= lo, keys.c.key < hi) for lo, hi in bounds))
        tiers.append((PREFIX_RANK[kind], and_(keys.c.kind == kind, within)))
    return tuple(tiers)


def tier_members(
    session: Session | Connection, text: str, rank: Rank, query: Select
) -> Select | None:
    """`query` (a select from `alumni`) narrowed to the alumni at prefix rank `rank` for
    `text` (docs/stewardship.md, "Search as built"), to be read in `seq` order with a LIMIT;
    None when the query has no such rank.

    A common rank (COMMON_KEYS of its keys or more: `z`'s pinyin prefix, 20 % of the
    alumni) is read along the alumni's own order, each probed for a key of the rank and
    none of a better one: a page costs about its size over the rank's share of the
    registry (0.2 ms for `zhang` at 100,000). A rarer one is looked up through the key
    index first and sorted. (Counted on the rank's keys alone: counting past the better
    ranks probes each key, 3 ms for 1,000. So a rank with many keys but few alumni of its
    own, `z`'s initials after its pinyin, walks the whole registry: about 65 ms on SQLite
    at 100,000, on the page after the last of the rank before.)"""
    held, better = HELD_KEYS, BETTER_KEYS
    mine = dict(key_tiers(text, held)).get(rank)
    if mine is None:
        return None
    betters = [c for r, c in key_tiers(text, better) if r < rank]
    if _at_least(session, select(held.c.id).where(mine), COMMON_KEYS):
        query = query.where(exists().where(held.c.alumnus_seq == ALUMNI.c.seq, mine))
    else:
        query = query.where(ALUMNI.c.seq.in_(select(held.c.alumnus_seq).where(mine)))
    if betters:
        query = query.where(~exists().where(better.c.alumnus_seq == ALUMNI.c.seq, or_(*betters)))
    return query


def other_hits(text: str, query: Select) -> list[tuple[Select, ColumnElement[int]]]:
    """`query` (a select from `alumni`) narrowed to each way the query reaches an alumnus
    besides the name's keys (ranked after them, `Rank.OTHER`): a part of the name, employer
    or city, a student number, a whole phone number or e-mail address (through their blind
    indexes). One select a way, with the column equal to `alumni.seq` that its driving index
    is ordered by: read in that order up to a page's end, each stops early however common
    the part (`济南`), and costs what it finds when the part is rare. An alumnus may be
    reached several ways."""
    stripped = text.strip()
    branches: list[tuple[Select, ColumnElement[int]]] = []
    kind = parse_query(text).kind
    if kind == QueryKind.DIGITS:
        numbered = NUMBERED
        branches.append(
            (
                query.join(numbered, numbered.c.alumnus_seq == ALUMNI.c.seq).where(
                    numbered.c.student_number == stripped
                ),
                ALUMNI.c.seq,
            )
        )
    for field in GRAM_FIELDS:
        part = gram_text(field, stripped)
        grams = query_grams(field, part)
        if not grams:
            continue
        # Each gram a join on (field, gram, alumnus_seq): the first drives, in seq order; the
        # others are probes. LIKE says the characters are there in this order.
        branch, driving = query, None
        for held, gram in zip(GRAM_JOINS, grams[:MAX_GRAM_JOINS], strict=False):
            branch = branch.join(
                held,
                and_(
                    held.c.alumnus_seq == ALUMNI.c.seq, held.c.field == field, held.c.gram == gram
                ),
            )
            driving = driving if driving is not None else held.c.alumnus_seq
        branch = branch.where(func.lower(ALUMNI.c[field]).contains(part, autoescape=True))
        branches.append((branch, driving))
    # Contacts only for what may be one: they are found whole, never by a part.
    if CONTACT_LIKE.fullmatch(stripped):
        indexes = crypto.blind_indexes(stripped)
        if indexes:
            branches += [
                (query.where(ALUMNI.c.phone_index.in_(indexes)), ALUMNI.c.seq),
                (query.where(ALUMNI.c.email_index.in_(indexes)), ALUMNI.c.seq),
            ]
    return branches


def part_of(field: str, text: str) -> Select | None:
    """The `seq`s of the alumni whose `field` holds every bigram of `text` (a superset of
    those holding `text`: check with LIKE), or None when `text` is shorter than MIN_PART."""
    grams = query_grams(field, gram_text(field, text.strip()))
    if not grams:
        return None
    holders = select(GRAMS.c.alumnus_seq).where(GRAMS.c.field == field)
    if len(grams) == 1:
        return holders.where(GRAMS.c.gram == grams[0])
    return (
        holders.where(GRAMS.c.gram.in_(grams))
        .group_by(GRAMS.c.alumnus_seq)
        .having(func.count(GRAMS.c.gram.distinct()) == len(grams))
    )


# ---- command line -------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    from services.common import config
    from services.common.db import make_engine

    parser = argparse.ArgumentParser(description="重写校友的检索键（姓名拼音、字串）。")
    parser.add_argument("--after", type=int, default=0, help="从此 seq 之后继续")
    parser.add_argument("--batch", type=int, default=BACKFILL_BATCH)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    engine = make_engine(args.database_url or config.database_url("registry"), pool_size=1)
    try:
        done = backfill(engine, args.after, args.batch, echo=print)
    finally:
        engine.dispose()
    print(f"完成：{done} 位校友")
    return 0


if __name__ == "__main__":
    sys.exit(main())
