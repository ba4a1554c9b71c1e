"""The registry's domain logic: plain functions over a SQLAlchemy session.

Inputs arrive already shaped by the contract schemas (services/common/contracts/
registry.py); these functions enforce what only the database can tell (unknown
departments, duplicates), keep the field-level history, and record events in
the outbox within the caller's transaction.
"""

from __future__ import annotations

import enum
import functools
import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from types import MappingProxyType, SimpleNamespace
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    Row,
    Select,
    Subquery,
    bindparam,
    func,
    literal,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common import crypto
from services.common.columns import new_id
from services.common.contracts.base import iso_utc
from services.common.errors import Conflict, NotFound, ValidationFailed
from services.common.paging import after, decode_cursor, page, paged_select
from services.common.rows import row_reader
from services.registry import departments, namekeys, new_alumnus, passwords, provenance
from services.registry.community_accounts import community_scope
from services.registry.models import (
    Account,
    Alumnus,
    ChangeRecord,
    Department,
    DepartmentSuccession,
    Graduation,
    OutboxMessage,
    utcnow,
)
from services.registry.pinyin import Rank

PROFILE_FIELDS = (
    "name",
    "gender",
    "birth_date",
    "phone",
    "email",
    "wechat",
    "province",
    "city",
    "employer",
    "industry",
    "title",
    "tags",
)
# A service writing records for itself is a bulk load: the registrar's import, the demo.
SOURCE_BY_ROLE = {
    "office": "office",
    "liaison": "liaison",
    "alumnus": "self_service",
    "service": "import",
}
STUDENT_NUMBER_TAKEN = "学号已被本院系同届的其他校友使用。"
SYSTEM_ACTOR = {
    "account_id": "system",
    "username": "system",
    "role": "office",
    "department_id": None,
}


# ---- departments -----------------------------------------------------------


def department_to_dict(department: Department) -> dict[str, Any]:
    return {"id": department.id, "name": department.name, "code": department.code}


def create_department(session: Session, data: dict[str, Any]) -> dict[str, Any]:
    taken = session.scalars(
        select(Department).where(
            (Department.name == data["name"]) | (Department.code == data["code"])
        )
    ).first()
    if taken is not None:
        raise Conflict(
            "院系名称或代码已存在。",
            {"name": data["name"], "code": data["code"]},
            reason="department_taken",
        )
    department = Department(name=data["name"], code=data["code"])
    session.add(department)
    _flush_or_conflict(session, "院系名称或代码已存在。", "department_taken")
    return department_to_dict(department)


def list_departments(session: Session) -> list[dict[str, Any]]:
    return [
        department_to_dict(d) for d in session.scalars(select(Department).order_by(Department.code))
    ]


def get_department(session: Session, department_id: str) -> dict[str, Any]:
    department = session.get(Department, str(department_id))
    if department is None:
        raise NotFound(
            "院系不存在。", {"department_id": str(department_id)}, reason="department_not_found"
        )
    return department_to_dict(department)


# ---- alumni ----------------------------------------------------------------


def alumnus_to_dict(
    alumnus: Alumnus | Row, graduations: Iterable[Graduation | Row]
) -> dict[str, Any]:
    """The record as the RPCs answer and events carry it.

    Takes an ORM `Alumnus` with its `graduations` (the write paths) or a Core row of
    `alumni` with the rows of its graduations (the read paths): both have these attributes.
    """
    return {
        "id": alumnus.id,
        "name": alumnus.name,
        "gender": alumnus.gender,
        "birth_date": alumnus.birth_date.isoformat() if alumnus.birth_date else None,
        "phone": alumnus.phone,
        "email": alumnus.email,
        "wechat": alumnus.wechat,
        "province": alumnus.province,
        "city": alumnus.city,
        "employer": alumnus.employer,
        "industry": alumnus.industry,
        "title": alumnus.title,
        "tags": list(alumnus.tags or []),
        "graduations": graduation_dicts(graduations),
        "created_at": iso_utc(alumnus.created_at),
        "updated_at": iso_utc(alumnus.updated_at),
    }


def _graduation_order(record: dict[str, Any]) -> tuple:
    return (
        record["class_year"],
        record["department_id"],
        record["degree"],
        record["major"],
        record["class_name"] or "",
    )


GRADUATION_FIELDS = (
    "department_id",
    "major",
    "degree",
    "class_year",
    "class_name",
    "student_number",
    "enrolment_year",
)


WITH_CURRENT = (*GRADUATION_FIELDS, "current_department_id")
GraduationReader = tuple[tuple[str, ...], Callable[[Any], Any]]
"""The fields read from graduation rows of one shape, and their `row_reader`."""


def graduation_reader(sample: Graduation | Row) -> GraduationReader:
    """The fields `graduation_dicts` takes from rows shaped like `sample` (with
    `current_department_id` when read with it), and their `row_reader`."""
    names = WITH_CURRENT if hasattr(sample, "current_department_id") else GRADUATION_FIELDS
    return names, row_reader(sample, names)


def graduation_dicts(
    graduations: Iterable[Graduation | Row],
    reader: GraduationReader | None = None,
) -> list[dict[str, Any]]:
    """An alumnus's graduations as records carry them, in a canonical order (so that the
    same graduations listed differently are no change); with `current_department_id` when
    read with it (`GRADUATIONS_OF`, `ALUMNUS_BY_ID`), else
    `departments.with_current_departments` adds it. All rows of one statement, or all ORM
    objects; `reader`, their `graduation_reader` when the caller shapes many alumni's rows
    of one statement."""
    graduations = list(graduations)
    if not graduations:
        return []
    names, take = reader or graduation_reader(graduations[0])
    current = names is WITH_CURRENT
    records = [dict(zip(names, take(graduation), strict=True)) for graduation in graduations]
    if current:
        for record in records:
            if record["current_department_id"] is None:
                del record["current_department_id"]
    if len(records) > 1:
        records.sort(key=_graduation_order)
    return records


# Registering writes through Core statements built once (`new_alumnus`): the ORM's unit of
# work (object state, identity keys, a sorted flush per table, one INSERT per history row
# on SQLite) cost the registry twice the CPU of the rows' SQL
# (docs/performance/registrations.md).
def register_alumnus(
    session: Session, data: dict[str, Any], actor: dict[str, Any]
) -> dict[str, Any]:
    """Create an alumnus; every supplied field enters the history with its provenance.

    The departments (and where each belongs now) read in one statement, then the record,
    its graduations, search keys and bigrams, history rows and `alumnus_registered`
    outbox row written by `new_alumnus.store` (one statement on PostgreSQL); more only to
    check student numbers."""
    connection = session.connection()
    current = departments.existing_current_ids(
        connection, (r["department_id"] for r in data["graduations"])
    )
    _check_departments(current, data["graduations"])
    _check_student_numbers(session, data["graduations"], None)
    source = change_source(actor)
    now = utcnow()
    record = {field: None for field in PROFILE_FIELDS} | {
        field: _normalise(field, data[field]) for field in PROFILE_FIELDS if field in data
    }
    record["tags"] = record["tags"] or []
    alumnus = {
        **record,
        "id": new_id(),
        # Core skips the ORM's hook that keeps the blind indexes (services/common/models.py).
        "phone_index": crypto.blind_index(record["phone"]),
        "email_index": crypto.blind_index(record["email"]),
        "created_at": now,
        "updated_at": now,
        "field_provenance": provenance.created(source, actor["username"], now),
        "confirmed_at": now,
    }
    graduations = [_graduation_columns(r) for r in data["graduations"]]
    snapshot = alumnus_to_dict(
        SimpleNamespace(**alumnus), [SimpleNamespace(**g) for g in graduations]
    )
    changes = [
        _change_row(None, field, None, value, actor, source, now)
        for field, value in snapshot.items()
        if field in PROFILE_FIELDS + ("graduations",) and value not in (None, [], "")
    ]
    for graduation in snapshot["graduations"]:
        graduation["current_department_id"] = current[graduation["department_id"]]
    try:
        new_alumnus.store(
            connection,
            alumnus,
            graduations,
            changes,
            OutboxMessage.row("alumnus_registered", snapshot),
        )
    except IntegrityError:
        raise Conflict(STUDENT_NUMBER_TAKEN, reason="student_number_taken") from None
    return snapshot


def _graduation_columns(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "department_id": str(record["department_id"]),
        "major": record["major"],
        "degree": record["degree"],
        "class_year": record["class_year"],
        "class_name": record.get("class_name"),
        "student_number": record.get("student_number"),
        "enrolment_year": record.get("enrolment_year"),
    }


def update_alumnus(
    session: Session, alumnus_id: str, patch: dict[str, Any], actor: dict[str, Any]
) -> dict[str, Any]:
    """Apply a partial update; unchanged fields make no history and no event."""
    alumnus = _alumnus(session, alumnus_id)
    if alumnus.erased_at is not None:
        raise Conflict("该校友的个人信息已删除。", {"alumnus_id": alumnus.id}, reason="erased")
    before = alumnus_to_dict(alumnus, alumnus.graduations)
    for field in PROFILE_FIELDS:
        if field in patch:
            setattr(alumnus, field, _normalise(field, patch[field]))
    if "graduations" in patch:
        kept_keys = {_graduation_identity(g): g.import_key for g in alumnus.graduations}
        # The old records go first: a student number kept must not meet itself in the index.
        alumnus.graduations = []
        session.flush()
        alumnus.graduations = _graduations(session, patch["graduations"], alumnus.seq)
        for graduation in alumnus.graduations:
            graduation.import_key = kept_keys.get(_graduation_identity(graduation))
    _flush_or_conflict(session, STUDENT_NUMBER_TAKEN, "student_number_taken")
    after = alumnus_to_dict(alumnus, alumnus.graduations)
    changes = {
        field: {"old": before[field], "new": after[field]}
        for field in PROFILE_FIELDS + ("graduations",)
        if before[field] != after[field]
    }
    if not changes:
        departments.with_current_departments(session, [before])
        return before
    source = change_source(actor)
    if changes.keys() & set(namekeys.GRAM_FIELDS):
        namekeys.write(session, alumnus)
    for field, change in changes.items():
        _record_change(session, alumnus, field, change["old"], change["new"], actor, source)
    # Graduations live in their own table: a change to them alone updates no `alumni` row,
    # so `onupdate` would leave updated_at (and the event's copy of it) stale.
    alumnus.updated_at = utcnow()
    provenance.stamp(
        alumnus,
        changes,
        source,
        actor["username"],
        alumnus.updated_at,
        approved_by=actor.get("approved_by"),
    )
    session.flush()
    after = alumnus_to_dict(alumnus, alumnus.graduations)
    departments.with_current_departments(session, [after])
    OutboxMessage.record(
        session,
        "alumnus_updated",
        {"id": alumnus.id, "changes": changes, "source": source, "alumnus": after},
    )
    return after


# Reads go through SQLAlchemy Core: the ORM's identity map, change tracking and `selectin`
# loader cost more than the query itself for records that are only turned into dicts.
ALUMNI = Alumnus.__table__
GRADUATIONS = Graduation.__table__


# Prebuilt, as every read by id and every page runs them: building a statement cost more
# CPU than running it (docs/PERFORMANCE.md, "Gateway reads").
SUCCESSIONS = DepartmentSuccession.__table__
CURRENT_DEPARTMENT = func.coalesce(SUCCESSIONS.c.current_id, GRADUATIONS.c.department_id).label(
    "current_department_id"
)
GRADUATIONS_OF = (
    select(GRADUATIONS, CURRENT_DEPARTMENT)
    .outerjoin(SUCCESSIONS, SUCCESSIONS.c.department_id == GRADUATIONS.c.department_id)
    .where(GRADUATIONS.c.alumnus_seq.in_(bindparam("seqs", expanding=True)))
    .order_by(GRADUATIONS.c.id)
)
"""Each graduation with the department it belongs to now (departments.py), in one read."""


def _each_graduation(alumni: Select, seq: ColumnElement[int]) -> Select:
    """`alumni` (a select of alumni whose `seq` is `seq`) with an alumnus's row once for each
    of its graduations (once, with no graduation, when it has none), each row carrying that
    graduation's fields and the department it belongs to now; ordered by the caller. No
    field of a graduation has the name of a column of `alumni` (the graduation's `id`,
    which would, is not read)."""
    return (
        alumni.add_columns(*(GRADUATIONS.c[name] for name in GRADUATION_FIELDS))
        .add_columns(CURRENT_DEPARTMENT)
        .outerjoin(GRADUATIONS, GRADUATIONS.c.alumnus_seq == seq)
        .outerjoin(SUCCESSIONS, SUCCESSIONS.c.department_id == GRADUATIONS.c.department_id)
    )


ALUMNUS_BY_ID = (
    _each_graduation(select(ALUMNI), ALUMNI.c.seq)
    .where(ALUMNI.c.id == bindparam("id"))
    .order_by(GRADUATIONS.c.id)
)
"""A record with its graduations in one statement, not two (a fifth of a get's work
in-process)."""


def get_alumnus(session: Session | Connection, alumnus_id: str) -> dict[str, Any]:
    return live_alumnus(session, alumnus_id)[1]


def live_alumnus(session: Session | Connection, alumnus_id: str) -> tuple[Row, dict[str, Any]]:
    """The live alumnus's whole row and its record; NotFound for an unknown id or a merged
    record."""
    rows = []
    if _is_uuid(alumnus_id):
        rows = session.execute(ALUMNUS_BY_ID, {"id": str(alumnus_id)}).all()
    if not rows:
        raise _unknown_alumnus(alumnus_id)
    row = rows[0]
    if row.merged_into is not None:
        raise NotFound(
            "该校友记录已合并到另一条记录。",
            {"alumnus_id": row.id, "survivor_id": row.merged_into},
            reason="merged",
        )
    return row, alumnus_to_dict(row, rows if row.department_id is not None else [])


OTHER_RANK = int(Rank.OTHER)
NONE_CARRIED: Mapping[int, list[Row]] = MappingProxyType({})
"""No graduations read with a page's rows: all are read after them (`_with_graduations`)."""
SUMMARY_COLUMNS = [
    ALUMNI.c[name]
    for name in ("seq", "id", "name", "gender", "province", "city", "employer", "industry")
] + [ALUMNI.c.title]
"""What a search lists (issue 12): no contacts, tags or times; the record comes from GET by
id. Nothing encrypted is read, so a page decrypts nothing."""
LIVE = {
    full: select(*(ALUMNI.c if full else SUMMARY_COLUMNS)).where(ALUMNI.c.merged_into.is_(None))
    for full in (False, True)
}
"""The live alumni as a search reads them (summaries, or whole records when `full`): built
once, as every search starts from one."""


def search_alumni(
    session: Session | Connection, params: dict[str, Any], full: bool = False
) -> dict[str, Any]:
    """Filter and page alumni; `next_cursor` is opaque to clients.

    Without `q`, in the order of registration. With `q`, best match first (`pinyin.Rank`:
    the exact name, then the exact pinyin or initials, then name, pinyin and initials
    prefixes; then, `Rank.OTHER`, a part of the name, employer or city, a student number,
    a whole phone or e-mail), each rank in the order of registration; the cursor is
    (rank, seq). Items are summaries (`SUMMARY_FIELDS`), or whole records when `full`.
    """
    live = LIVE[full]
    query = _filtered(live, params)
    shape = _alumni_records if full else _alumni_summaries
    if params.get("q"):
        # Nothing but `q` (no filter made a new query): a page of the key tier can be cut
        # from the keys alone before any alumnus is read, with its graduations
        # (`_first_by_keys`).
        carried: dict[int, list[Row]] = {}
        rows = _ranked_rows(session, query, params, live if query is live else None, carried)
        return page(
            rows, params["limit"], _ranked_position, lambda shown: shape(session, shown, carried)
        )
    rows = session.execute(paged_select(query, [ALUMNI.c.seq], params, (int,))).all()
    return page(rows, params["limit"], _seq_position, lambda shown: shape(session, shown))


def _filtered(query: Select, params: dict[str, Any]) -> Select:
    if params.get("industry"):
        query = query.where(ALUMNI.c.industry == params["industry"])
    for field in ("employer", "city"):
        # Any part (services/registry/namekeys.py): through the bigrams from two characters.
        if params.get(field):
            part = params[field].strip().lower()
            holders = namekeys.part_of(field, part)
            if holders is not None:
                query = query.where(ALUMNI.c.seq.in_(holders))
            query = query.where(func.lower(ALUMNI.c[field]).contains(part, autoescape=True))
    if params.get("department_id") or params.get("class_year"):
        graduation = select(GRADUATIONS.c.alumnus_seq)
        if params.get("department_id"):
            # The department's lineage: alumni of departments merged into it are its own.
            graduation = graduation.where(
                GRADUATIONS.c.department_id.in_(departments.lineage_ids(params["department_id"]))
            )
        if params.get("class_year"):
            graduation = graduation.where(GRADUATIONS.c.class_year == params["class_year"])
        query = query.where(ALUMNI.c.seq.in_(graduation))
    return query


def _ranked_rows(
    session: Session | Connection,
    query: Select,
    params: dict[str, Any],
    unfiltered: Select | None,
    carried: dict[int, list[Row]],
) -> list[Row]:
    """Up to `limit + 1` rows of `query` that `q` reaches, past the cursor, best rank first.

    In two tiers, each reading no more than the page needs: the name's keys (few rows, so
    grouped and sorted by rank), then everything else at `Rank.OTHER` in `seq` order: each
    way a query of its own along an index in `seq` order (namekeys.other_hits), stopped at
    the page's end however many alumni a common part (`济南`) reaches, and the few rows
    merged here. `unfiltered`: `query` itself when it filters on nothing but the record being
    live (one of `LIVE`). `carried` gets the graduations of the rows read with theirs
    (`_first_by_keys`), by `seq`.
    """
    text, want = params["q"], params["limit"] + 1
    position = decode_cursor(params["cursor"], (int, int)) if params.get("cursor") else None
    rows: list[Row] = []
    keyed = namekeys.key_hits(text)
    if keyed is not None and (position is None or position[0] < OTHER_RANK):
        if namekeys.is_common(session, text):
            rows = _tiered_rows(session, query, text, position, want, unfiltered, carried)
        else:
            rows = _grouped_rows(session, query, text, False, position, want, unfiltered, carried)
    if len(rows) >= want:
        return rows
    rest = query.add_columns(literal(OTHER_RANK).label("rank"))
    if keyed is not None:
        rest = rest.where(ALUMNI.c.seq.not_in(namekeys.key_seqs(text)))
    others: dict[int, Row] = {}
    for branch, seq in namekeys.other_hits(text, rest):
        # Each way on its own, in seq order up to the page's end; then merged by seq.
        if position is not None and position[0] >= OTHER_RANK:
            branch = branch.where(seq > position[1])
        for row in session.execute(branch.order_by(seq).limit(want - len(rows))):
            others.setdefault(row.seq, row)
    seen = {row.seq for row in rows}
    rows += [others[s] for s in sorted(others) if s not in seen][: want - len(rows)]
    return rows


def _grouped_rows(
    session: Session | Connection,
    query: Select,
    text: str,
    exact: bool,
    position: tuple | None,
    want: int,
    unfiltered: Select | None,
    carried: dict[int, list[Row]],
) -> list[Row]:
    """The key tier at once: every alumnus the keys of `text` reach (`exact`: its exact
    ranks' keys only) with its best rank, sorted. For keys that reach few
    (namekeys.COMMON_KEYS)."""
    if unfiltered is not None:
        rows = _first_by_keys(session, text, exact, unfiltered, position, want, carried)
        if rows is not None:
            return rows
    best = _best_ranks(namekeys.key_hits(text, exact))
    ranked = query.add_columns(best.c.rank).join(best, best.c.seq == ALUMNI.c.seq)
    if position is not None:
        ranked = ranked.where(after([best.c.rank, ALUMNI.c.seq], position))
    return list(session.execute(ranked.order_by(best.c.rank, ALUMNI.c.seq).limit(want)).all())


def _best_ranks(keyed: Select) -> Subquery:
    """(`seq`, `rank`): each alumnus `keyed` reaches, once, at its best rank."""
    found = keyed.subquery()
    return (
        select(found.c.seq, func.min(found.c.rank).label("rank")).group_by(found.c.seq).subquery()
    )


def _first_by_keys(
    session: Session | Connection,
    text: str,
    exact: bool,
    live: Select,
    position: tuple | None,
    want: int,
    carried: dict[int, list[Row]],
) -> list[Row] | None:
    """`_grouped_rows` of a search filtered on nothing else, its page cut from the keys
    before the alumni are read: 20 records read for a page, not the 700 a common surname
    reaches in 10,000; their graduations read with them into `carried` (a statement fewer:
    a sixth of a search's work in-process). A first page is cut from the best key rows
    without grouping them by alumnus (`KEY_ROWS_SPARE`), unless an alumnus's other keys
    among them leave it short. A merged record keeps its keys, so the cut may hold one:
    then None, and the caller reads past it the whole way."""
    if position is None:
        cut = want + KEY_ROWS_SPARE
        statement = _key_page(text, exact, live, cut, KeyPage.FIRST)
        found = _page_alumni(session.execute(statement).all(), carried)
        if found is None or len(found[0]) >= want or found[1] < cut:
            return None if found is None else found[0][:want]
        statement, places = _key_page(text, exact, live, want, KeyPage.GROUPED), {}
    else:
        statement = _key_page(text, exact, live, want, KeyPage.AFTER)
        places = {"after_rank": position[0], "after_seq": position[1]}
    found = _page_alumni(session.execute(statement, places).all(), carried)
    return None if found is None else found[0]


def _page_alumni(rows: list[Row], carried: dict[int, list[Row]]) -> tuple[list[Row], int] | None:
    """A `_key_page`'s alumni, each at its first key row (its best rank), their graduations
    into `carried`; and how many key rows it read. None when one of them is merged away."""
    alumni: list[Row] = []
    if not rows:
        return alumni, 0
    take = row_reader(rows[0], ("merged_away", "hit", "seq", "department_id"))
    graduations: dict[int, list[Row]] = {}
    hits, hit, taken = 0, None, False
    for row in rows:
        merged_away, row_hit, seq, department_id = take(row)
        if merged_away is not None:
            return None
        # A key row's alumnus once for each of its graduations, together (`_key_page`).
        if row_hit != hit:
            hits, hit = hits + 1, row_hit
            taken = seq not in graduations
            if taken:
                alumni.append(row)
                graduations[seq] = []
        if taken and department_id is not None:
            graduations[seq].append(row)
    carried.update(graduations)
    return alumni, hits


class KeyPage(enum.Enum):
    FIRST = "first"
    """The first page from the first `limit` key rows, best rank first."""
    GROUPED = "grouped"
    """The first page of `limit` alumni from every key row grouped by alumnus, at its best
    rank."""
    AFTER = "after"
    """As GROUPED, from the cursor's place on."""


KEY_ROWS_SPARE = 4
"""Key rows a first page reads beyond its size: room for alumni reached by several keys
(`和`: he, hu, huo) before the page falls back to grouping every key row (`KeyPage`).
Sorting the key rows with a LIMIT cost about half of grouping them on SQLite, and most
searches are first pages (docs/PERFORMANCE.md, "Gateway reads")."""


@functools.lru_cache(maxsize=namekeys.QUERY_CACHE)
def _key_page(text: str, exact: bool, live: Select, limit: int, how: KeyPage) -> Select:
    """`_first_by_keys`'s statement, built once for each query typed, `limit` (of key rows
    or of alumni, by `how`), shape (`live`, one of `LIVE`; namekeys.QUERY_CACHE) and kind
    of page: building it cost as much CPU as running it. A page after the first binds its
    cursor's place (`after_rank`, `after_seq`). Each key row (`hit`) of the page comes once
    for each graduation of its alumnus, as `ALUMNUS_BY_ID` reads one; grouped, an alumnus's
    best is its one row."""
    keyed = namekeys.key_hits(text, exact)
    if how is KeyPage.FIRST:
        top = None if exact else namekeys.first_key_rows(text, limit)
        if top is None:
            top = keyed.add_columns(namekeys.KEYS.c.id.label("hit")).order_by("rank", "seq")
            top = top.limit(limit)
    else:
        best = _best_ranks(keyed)
        top = select(best.c.seq, best.c.rank, best.c.seq.label("hit"))
        if how is KeyPage.AFTER:
            place = [bindparam("after_rank", type_=Integer), bindparam("after_seq", type_=Integer)]
            top = top.where(after([best.c.rank, best.c.seq], place))
        top = top.order_by(best.c.rank, best.c.seq).limit(limit)
    top = top.subquery()
    alumni = (
        select(*live.selected_columns, ALUMNI.c.merged_into.label("merged_away"))
        .add_columns(top.c.rank, top.c.hit)
        .join_from(top, ALUMNI, ALUMNI.c.seq == top.c.seq)
    )
    return _each_graduation(alumni, top.c.seq).order_by(
        top.c.rank, top.c.seq, top.c.hit, GRADUATIONS.c.id
    )


def _tiered_rows(
    session: Session | Connection,
    query: Select,
    text: str,
    position: tuple | None,
    want: int,
    unfiltered: Select | None,
    carried: dict[int, list[Row]],
) -> list[Row]:
    """The key tier of a common query (`z`, `zhang`, `张`) a rank at a time, each read in
    `seq` order and stopped at the page's end: the exact ranks (few) grouped, then each
    prefix rank (namekeys.tier_members). The same rows, in the same (rank, seq) order, as
    `_grouped_rows`."""
    rows: list[Row] = []
    has_exact = namekeys.key_hits(text, exact=True) is not None
    if has_exact and (position is None or position[0] <= Rank.EXACT_INITIALS):
        rows = _grouped_rows(session, query, text, True, position, want, unfiltered, carried)
    for rank in (Rank.NAME_PREFIX, Rank.PINYIN_PREFIX, Rank.INITIALS_PREFIX):
        if len(rows) >= want:
            break
        if position is not None and position[0] > rank:
            continue
        tier = query.add_columns(literal(int(rank)).label("rank"))
        members = namekeys.tier_members(session, text, rank, tier)
        if members is None:
            continue
        if position is not None and position[0] == rank:
            members = members.where(ALUMNI.c.seq > position[1])
        rows += session.execute(members.order_by(ALUMNI.c.seq).limit(want - len(rows))).all()
    return rows


def _ranked_position(row: Row) -> list[int]:
    return [row.rank, row.seq]


def _seq_position(row: Row) -> list[int]:
    return [row.seq]


SUMMARY_FIELDS = ("id", "name", "gender", "province", "city", "employer", "industry", "title")
"""An alumnus as a search lists it (contract `AlumnusSummary`), with its graduations."""


def _alumni_summaries(
    session: Session | Connection,
    alumni: list[Row],
    carried: Mapping[int, list[Row]] = NONE_CARRIED,
) -> list[dict[str, Any]]:
    if not alumni:
        return []
    take = row_reader(alumni[0], SUMMARY_FIELDS)
    # One reader for the graduations read with the page, one for those read after it: a
    # reader a summary cost a tenth of a search in-process.
    readers: dict[bool, GraduationReader] = {}
    summaries = []
    for row, graduations, with_page in _with_graduations(session, alumni, carried):
        summary = dict(zip(SUMMARY_FIELDS, take(row), strict=True))
        if graduations and with_page not in readers:
            readers[with_page] = graduation_reader(graduations[0])
        summary["graduations"] = graduation_dicts(graduations, readers.get(with_page))
        summaries.append(summary)
    return summaries


def _with_graduations(
    session: Session | Connection, alumni: list[Row], carried: Mapping[int, list[Row]]
) -> list[tuple[Row, list[Row], bool]]:
    """Each row with the rows of its graduations and whether they were `carried` (read
    with the rows); the others' all read in one SELECT."""
    if not alumni:
        return []
    seqs = list(map(row_reader(alumni[0], ("seq",)), alumni))
    missing = {seq: [] for seq in seqs if seq not in carried}
    if missing:
        for graduation in session.execute(GRADUATIONS_OF, {"seqs": list(missing)}):
            missing[graduation.alumnus_seq].append(graduation)
    return [
        (row, carried[seq], True) if seq in carried else (row, missing[seq], False)
        for row, seq in zip(alumni, seqs, strict=True)
    ]


def _alumni_records(
    session: Session | Connection, rows: list[Row], carried: Mapping[int, list[Row]] = NONE_CARRIED
) -> list[dict[str, Any]]:
    """`alumni` rows as records, with the graduations of all of them read in one SELECT
    (but those `carried`)."""
    return [
        alumnus_to_dict(row, grads) for row, grads, _ in _with_graduations(session, rows, carried)
    ]


def alumnus_history(session: Session, alumnus_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """The alumnus's field-level changes, oldest first, a page (`params`: the page query)."""
    alumnus = _alumnus(session, alumnus_id)
    query = select(ChangeRecord).where(ChangeRecord.alumnus_seq == alumnus.seq)
    rows = session.scalars(paged_select(query, [ChangeRecord.id], params, (int,))).all()
    # A page holds `limit` history rows: an imported record's one row is several changes.
    return page(rows, params["limit"], lambda r: [r.id], changes_to_dicts)


RECORD_FIELD = provenance.ALL
"""The `field` of a history row that set several fields at once: a record as a bulk import
created it, one row instead of one per field (its `new_value` a JSON object, field → value;
no old values, the record was new). Readers see one change per field (`changes_to_dicts`)."""


def changes_to_dicts(changes: Iterable[ChangeRecord]) -> list[dict[str, Any]]:
    """History rows as changes, one per field, oldest first."""
    return [change for row in changes for change in change_dicts(row)]


def change_dicts(change: ChangeRecord) -> list[dict[str, Any]]:
    """One history row as its changes: one, or one per field of a record's row."""
    if change.field != RECORD_FIELD:
        return [change_to_dict(change)]
    values = json.loads(change.new_value) if change.new_value is not None else {}
    return [
        {
            "field": field,
            "old_value": None,
            "new_value": value,
            "actor": change.actor,
            "source": change.source,
            "changed_at": iso_utc(change.changed_at),
        }
        for field, value in values.items()
    ]


def change_to_dict(change: ChangeRecord) -> dict[str, Any]:
    return {
        "field": change.field,
        "old_value": json.loads(change.old_value) if change.old_value is not None else None,
        "new_value": json.loads(change.new_value) if change.new_value is not None else None,
        "actor": change.actor,
        "source": change.source,
        "changed_at": iso_utc(change.changed_at),
    }


def change_source(actor: dict[str, Any]) -> str:
    return actor.get("source") or SOURCE_BY_ROLE.get(actor["role"], "office")


def _alumnus(session: Session, alumnus_id: str) -> Alumnus:
    alumnus = None
    if _is_uuid(alumnus_id):
        alumnus = session.scalars(select(Alumnus).where(Alumnus.id == str(alumnus_id))).first()
    if alumnus is None:
        raise _unknown_alumnus(alumnus_id)
    return alumnus


def _unknown_alumnus(alumnus_id: str) -> NotFound:
    return NotFound("校友不存在。", {"alumnus_id": str(alumnus_id)}, reason="alumnus_not_found")


def _graduation_identity(graduation: Graduation) -> tuple:
    return (graduation.department_id, graduation.degree, graduation.class_year)


def _graduations(
    session: Session, records: list[dict[str, Any]], alumnus_seq: int | None = None
) -> list[Graduation]:
    department_ids = {str(r["department_id"]) for r in records}
    _check_departments(
        session.scalars(select(Department.id).where(Department.id.in_(department_ids))), records
    )
    _check_student_numbers(session, records, alumnus_seq)
    return [Graduation(**_graduation_columns(r)) for r in records]


def _check_departments(known: Iterable[str], records: list[dict[str, Any]]) -> None:
    """A validation error naming the departments of `records` that are not `known`."""
    unknown = sorted({str(r["department_id"]) for r in records} - set(known))
    if unknown:
        raise ValidationFailed(
            "毕业记录中的院系不存在。",
            {"fields": {"graduations": [f"院系 {d} 不存在。" for d in unknown]}},
            reason="unknown_department",
        )


def _check_student_numbers(
    session: Session, records: list[dict[str, Any]], alumnus_seq: int | None
) -> None:
    """409 for a student number another alumnus has in the same department and class year."""
    numbered = {
        (str(r["department_id"]), r["class_year"], r["student_number"])
        for r in records
        if r.get("student_number")
    }
    for department_id, class_year, number in numbered:
        holder = session.scalars(
            select(GRADUATIONS.c.alumnus_seq).where(
                GRADUATIONS.c.department_id == department_id,
                GRADUATIONS.c.class_year == class_year,
                GRADUATIONS.c.student_number == number,
            )
        ).first()
        if holder is not None and holder != alumnus_seq:
            raise Conflict(
                STUDENT_NUMBER_TAKEN,
                {"student_number": number, "class_year": class_year},
                reason="student_number_taken",
            )


def _normalise(field: str, value: Any) -> Any:
    if field == "phone" and value:
        return value.removeprefix("+86")
    if field == "email" and value:
        return value.lower()
    if field == "tags":
        return sorted(set(value or []))
    if field == "birth_date" and isinstance(value, str):
        return date.fromisoformat(value)
    return value


def _record_change(
    session: Session,
    alumnus: Alumnus,
    field: str,
    old: Any,
    new: Any,
    actor: dict[str, Any],
    source: str,
) -> None:
    session.add(ChangeRecord(**_change_row(alumnus.seq, field, old, new, actor, source)))


def _change_row(
    seq: int | None,
    field: str,
    old: Any,
    new: Any,
    actor: dict[str, Any],
    source: str,
    at: datetime | None = None,
) -> dict[str, Any]:
    """The columns of one history row (`changed_at` from the column's default unless `at`);
    without `alumnus_seq` when `seq` is None: a new record's, which its INSERT numbers
    (`new_alumnus.store`)."""
    row = {
        "field": field,
        "old_value": None if old is None else json.dumps(old, ensure_ascii=False),
        "new_value": None if new is None else json.dumps(new, ensure_ascii=False),
        "actor": actor["username"],
        "source": source,
    }
    if seq is not None:
        row["alumnus_seq"] = seq
    if at is not None:
        row["changed_at"] = at
    return row


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _flush_or_conflict(session: Session, message: str, reason: str) -> None:
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(message, reason=reason) from None


# ---- staff accounts --------------------------------------------------------


ALUMNUS_ROLE = "alumnus"


def account_to_dict(account: Account) -> dict[str, Any]:
    return {
        "id": account.id,
        "username": account.username,
        "role": account.role,
        "department_id": account.department_id,
        "alumnus_id": account.alumnus_id,
        "chapter_id": account.chapter_id,
        "messenger_id": account.messenger_id,
        "active": account.active,
    }


def create_account(
    session: Session,
    data: dict[str, Any],
    hash_password: Callable[[str], str] = passwords.hash_password,
) -> dict[str, Any]:
    """A staff account; its password meets the policy (services/registry/passwords.py)."""
    passwords.check_policy(data["password"], data["username"])
    department_id = str(data["department_id"]) if data.get("department_id") else None
    if data["role"] == "liaison" and department_id is None:
        raise ValidationFailed(
            "联络员账号必须关联一个院系。",
            {"fields": {"department_id": ["联络员必须指定院系。"]}},
            reason="liaison_needs_department",
        )
    if data["role"] != "liaison" and department_id is not None:
        raise ValidationFailed(
            "只有联络员账号关联院系。",
            {"fields": {"department_id": ["该角色不关联院系。"]}},
            reason="department_only_for_liaison",
        )
    if department_id is not None:
        get_department(session, department_id)
    # A chapter officer's chapter, a messenger's appointment (docs/community.md).
    scope = community_scope(session, data)
    _ensure_username_free(session, data["username"])
    account = Account(
        username=data["username"],
        password_hash=hash_password(data["password"]),
        role=data["role"],
        department_id=department_id,
        **scope,
    )
    session.add(account)
    _flush_or_conflict(session, "用户名已存在。", "username_taken")
    return account_to_dict(account)


def create_alumnus_account(
    session: Session,
    alumnus_id: str,
    data: dict[str, Any],
    hash_password: Callable[[str], str] = passwords.hash_password,
) -> dict[str, Any]:
    """A login for an existing alumnus record; one per record."""
    passwords.check_policy(data["password"], data["username"])
    alumnus = _alumnus(session, alumnus_id)
    if session.scalars(select(Account.id).where(Account.alumnus_id == alumnus.id)).first():
        raise Conflict(
            "该校友已有登录账号。", {"alumnus_id": alumnus.id}, reason="alumnus_has_account"
        )
    _ensure_username_free(session, data["username"])
    account = Account(
        username=data["username"],
        password_hash=hash_password(data["password"]),
        role=ALUMNUS_ROLE,
        alumnus_id=alumnus.id,
    )
    session.add(account)
    # Two requests at once for one record or one username: the unique keys decide.
    _flush_or_conflict(session, "用户名已存在，或该校友已有登录账号。", "account_taken")
    return account_to_dict(account)


def _ensure_username_free(session: Session, username: str) -> None:
    if session.scalars(select(Account).where(Account.username == username)).first():
        raise Conflict("用户名已存在。", {"username": username}, reason="username_taken")


def list_accounts(session: Session) -> list[dict[str, Any]]:
    """Staff accounts; alumni's logins are reached through their records."""
    return [
        account_to_dict(a)
        for a in session.scalars(
            select(Account).where(Account.role != ALUMNUS_ROLE).order_by(Account.username)
        )
    ]


def get_account(session: Session, account_id: str) -> dict[str, Any]:
    account = session.get(Account, str(account_id))
    if account is None or not account.active:
        raise NotFound("账号不存在。", reason="account_not_found")
    return account_to_dict(account)


def has_office_account(session: Session) -> bool:
    return session.scalars(select(Account.id).where(Account.role == "office")).first() is not None


def ensure_admin(session: Session, username: str, password: str) -> bool:
    """Create the first office account unless one exists; True when it created one."""
    if has_office_account(session):
        return False
    create_account(session, {"username": username, "password": password, "role": "office"})
    return True
