"""Statistics and the alumni map (docs/stewardship.md, item 6): counts by one dimension, by
SQL `GROUP BY`, and the k-anonymous map.

Province, city, industry and employer are stored in clear (services/registry/models.py:
only contacts are personal fields under DESIGN.md's rule and encrypted), so the database
groups them itself. Departments are counted under their current successor (lineage,
services/registry/departments.py). An alumnus is counted once per group: `COUNT(DISTINCT)`
over graduations for the graduation's dimensions, one row per record for the others.

`suppress` is the one rule of what may be published: no group under k, and no residue
under k that a reader could compute by subtraction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session

from services.registry import departments
from services.registry.models import Alumnus, Department, DepartmentSuccession, Graduation

ALUMNI = Alumnus.__table__
GRADUATIONS = Graduation.__table__
SUCCESSIONS = DepartmentSuccession.__table__
GRADUATION_DIMENSIONS = ("department", "class_year", "degree")
PERSON_DIMENSIONS = ("province", "city", "industry")
DEGREE_LABELS = {
    "associate": "专科",
    "bachelor": "本科",
    "master": "硕士",
    "doctor": "博士",
    "other": "其他",
}
UNKNOWN = "未填写"
OTHER = "其他"
OTHER_REGIONS = "其他/未公开"


def current_department():
    """A graduation's department as it is now: its successor's end, else itself."""
    return func.coalesce(SUCCESSIONS.c.current_id, GRADUATIONS.c.department_id)


def _graduation_filters(params: dict[str, Any]) -> list:
    conditions = []
    if params.get("department_id"):
        lineage = departments.lineage_ids(str(params["department_id"]))
        conditions.append(GRADUATIONS.c.department_id.in_(lineage))
    if params.get("class_year"):
        conditions.append(GRADUATIONS.c.class_year == int(params["class_year"]))
    if params.get("degree"):
        conditions.append(GRADUATIONS.c.degree == params["degree"])
    return conditions


def _person_filters(params: dict[str, Any]) -> list:
    conditions = [ALUMNI.c.merged_into.is_(None)]
    for name in ("province", "city", "industry"):
        if params.get(name):
            conditions.append(ALUMNI.c[name] == params[name])
    return conditions


def _in_scope(params: dict[str, Any]) -> list:
    """Alumni matching every filter: their own fields, and a graduation matching all the
    graduation filters (one graduation, not one per filter)."""
    conditions = _person_filters(params)
    graduation = _graduation_filters(params)
    if graduation:
        conditions.append(
            ALUMNI.c.seq.in_(select(GRADUATIONS.c.alumnus_seq).where(and_(*graduation)))
        )
    return conditions


def counts(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    """`{"by", "total", "items": [{key, label, count[, province]}]}`, largest first."""
    by = params["by"]
    total = session.scalar(select(func.count()).select_from(ALUMNI).where(*_in_scope(params)))
    if by in GRADUATION_DIMENSIONS:
        rows = session.execute(_graduation_query(by, params)).all()
        items = [{"key": key, "count": count} for key, count in rows]
        _label_graduation_items(session, by, items)
    else:
        rows = session.execute(_person_query(by, params)).all()
        items = []
        for row in rows:
            item = {"key": row[0], "label": row[0] or UNKNOWN, "count": row[-1]}
            if by == "city":
                item["province"] = row[1]
                item["label"] = "".join(p for p in (row[1], row[0]) if p) or UNKNOWN
            items.append(item)
    items.sort(key=lambda i: (-i["count"], str(i["label"])))
    return {"by": by, "total": total or 0, "items": items}


def _graduation_query(by: str, params: dict[str, Any]) -> Select:
    key = {
        "department": current_department(),
        "class_year": GRADUATIONS.c.class_year,
        "degree": GRADUATIONS.c.degree,
    }[by]
    return (
        select(key.label("key"), func.count(func.distinct(GRADUATIONS.c.alumnus_seq)))
        .select_from(
            GRADUATIONS.join(ALUMNI, ALUMNI.c.seq == GRADUATIONS.c.alumnus_seq).outerjoin(
                SUCCESSIONS, SUCCESSIONS.c.department_id == GRADUATIONS.c.department_id
            )
        )
        .where(*_person_filters(params), *_graduation_filters(params))
        .group_by(key)
    )


def _person_query(by: str, params: dict[str, Any]) -> Select:
    keys = [ALUMNI.c.city, ALUMNI.c.province] if by == "city" else [ALUMNI.c[by]]
    return select(*keys, func.count()).where(*_in_scope(params)).group_by(*keys)


def _label_graduation_items(session: Session, by: str, items: list[dict[str, Any]]) -> None:
    if by == "department":
        names = dict(
            session.execute(
                select(Department.id, Department.name).where(
                    Department.id.in_([i["key"] for i in items])
                )
            ).all()
        )
        for item in items:
            item["label"] = names.get(item["key"], item["key"])
    elif by == "degree":
        for item in items:
            item["label"] = DEGREE_LABELS.get(item["key"], item["key"])
    else:
        for item in items:
            item["label"] = f"{item['key']}届"


# ---- k-anonymity ------------------------------------------------------------------------


def suppress(
    groups: Iterable[tuple[Any, int]], k: int, extra: int = 0
) -> tuple[list[tuple[Any, int]], int]:
    """The groups that may be shown, and the rest as one sum (the "其他" bucket), which
    starts with `extra` (records without the key).

    No shown group is under k; the rest is 0 or at least k, so a reader who knows the total
    learns no group under k by subtraction: while the rest is under k, the smallest shown
    group joins it (complementary suppression). A rest under k with nothing left to add is
    not published (0): the whole is then under k. Shown groups keep their order.
    """
    groups = [(key, count) for key, count in groups if count > 0]
    shown = [(key, count) for key, count in groups if count >= k]
    rest = extra + sum(count for _, count in groups if count < k)
    while 0 < rest < k and shown:
        smallest = min(range(len(shown)), key=lambda i: (shown[i][1], i))
        rest += shown.pop(smallest)[1]
    return shown, rest if rest >= k else 0


def alumni_map(session: Session, k: int) -> dict[str, Any]:
    """Alumni by province and city, k-anonymous (docs/stewardship.md: the map).

    A city under k folds into its province's 其他; a province under k (with its cities)
    into the national 其他/未公开, together with records without a province. Every number
    shown, and every difference between a total and the parts shown under it, is 0 or ≥ k.
    """
    rows = session.execute(
        select(ALUMNI.c.province, ALUMNI.c.city, func.count())
        .where(ALUMNI.c.merged_into.is_(None))
        .group_by(ALUMNI.c.province, ALUMNI.c.city)
    ).all()
    cities: dict[str, list[tuple[str | None, int]]] = {}
    unplaced = 0
    for province, city, count in rows:
        if not province:
            unplaced += count
            continue
        cities.setdefault(province, []).append((city, count))
    totals = sorted(
        ((p, sum(c for _, c in cs)) for p, cs in cities.items()), key=lambda pc: (-pc[1], pc[0])
    )
    shown_provinces, hidden = suppress(totals, k, unplaced)
    provinces = []
    for province, total in shown_provinces:
        # A province's cities without a name are its 其他 from the start.
        named = sorted(((c, n) for c, n in cities[province] if c), key=lambda cn: (-cn[1], cn[0]))
        unnamed = sum(n for c, n in cities[province] if not c)
        shown_cities, rest = suppress(named, k, unnamed)
        entries = [{"city": c, "count": n} for c, n in shown_cities]
        if rest:
            entries.append({"city": OTHER, "count": rest})
        provinces.append({"province": province, "count": total, "cities": entries})
    return {
        "min_count": k,
        "total": sum(p["count"] for p in provinces) + hidden,
        "provinces": provinces,
        "other": hidden,
    }
