"""Where each field of an alumnus came from and when it was last confirmed (issue 10 item 4).

`alumni.field_provenance` is one JSON object per record, read and written whole with it:

    {"phone": {"source": "liaison", "confirmed_at": "2026-…Z", "by": "li", "approved_by": "ao"},
     "*": {"source": "import", "confirmed_at": "…", "by": "office"}}

`source` is one of the registry's change sources (`import`, `liaison`, `self_service`,
`office`). **Decision:** a registration stores one entry under `"*"` for every field it
was created with, instead of one per field. A field's own entry, once a write or a
confirmation sets it, takes precedence. A field with neither reads the newest history row
of the field (what merges used until then): so do records written before the column
existed, and imported rows, which store no provenance at all (their one history row, source
`import`, field `"*"`, says the same for every field it set, and 100,000 JSON values would
cost the import seconds).

Holds no personal value: only sources, times and usernames. Plain functions; no nameko.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from services.common.contracts.base import iso_utc
from services.registry.models import Alumnus, ChangeRecord

ALL = "*"
"""The key of the entry shared by every field a record was created with."""
SOURCES = ("import", "liaison", "self_service", "office")


def entry(source: str, by: str, when: datetime, approved_by: str | None = None) -> dict:
    value = {"source": source, "confirmed_at": iso_utc(when), "by": by}
    if approved_by:
        value["approved_by"] = approved_by
    return value


def created(source: str, by: str, when: datetime) -> dict[str, Any]:
    """The provenance of a record created in one go: every field it has, one entry."""
    return {ALL: entry(source, by, when)}


def stamped(
    current: Mapping[str, Any] | None, fields: Iterable[str], value: Mapping[str, Any]
) -> dict[str, Any]:
    """`current` with `value` as the provenance of each of `fields` (a new dict, so that the
    ORM sees the JSON column change)."""
    result = dict(current or {})
    for name in fields:
        result[name] = dict(value)
    return result


def stamp(
    alumnus: Alumnus,
    fields: Iterable[str],
    source: str,
    by: str,
    when: datetime,
    approved_by: str | None = None,
) -> None:
    """A write of `fields`: their provenance, and the record confirmed at `when`."""
    alumnus.field_provenance = stamped(
        alumnus.field_provenance, fields, entry(source, by, when, approved_by)
    )
    alumnus.confirmed_at = when


def expanded(
    stored: Mapping[str, Any] | None,
    values: Mapping[str, Any],
    fallback: Mapping[str, Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """Field → its provenance, for the fields of `values` that have one: the field's own
    entry, else the shared entry (`"*"`) for a field with a value, else `fallback` (the
    newest history rows: the field's own, else an imported record's row `"*"` for a field
    with a value)."""
    stored = stored or {}
    shared = stored.get(ALL)
    fallback = fallback or {}
    fallback_shared = fallback.get(ALL)
    result: dict[str, dict[str, Any]] = {}
    for name, value in values.items():
        if name in stored:
            result[name] = dict(stored[name])
        elif shared is not None and value not in (None, "", []):
            result[name] = dict(shared)
        elif name in fallback:
            result[name] = dict(fallback[name])
        elif fallback_shared is not None and value not in (None, "", []):
            result[name] = dict(fallback_shared)
    return result


def confirmed(
    stored: Mapping[str, Any] | None,
    values: Mapping[str, Any],
    fallback: Mapping[str, Any] | None,
    by: str,
    when: datetime,
) -> dict[str, Any]:
    """Every field re-confirmed at `when` by `by`, its value and source unchanged. A field
    with a value and no known source counts as the office's (it confirms it now)."""
    current = expanded(stored, values, fallback)
    result: dict[str, Any] = {}
    for name, value in values.items():
        known = current.get(name)
        if known is None and value in (None, "", []):
            continue
        source = known["source"] if known else "office"
        result[name] = {
            **(known or {}),
            "source": source,
            "confirmed_at": iso_utc(when),
            "confirmed_by": by,
        }
        result[name].setdefault("by", by)
    return result


def history_provenance(
    session: Session | Connection, alumnus_seq: int
) -> dict[str, dict[str, Any]]:
    """Each field's newest history row as a provenance (records older than the column);
    an imported record's one row comes under `"*"` (`expanded` reads it)."""
    newest = (
        select(ChangeRecord.field, func.max(ChangeRecord.id).label("id"))
        .where(ChangeRecord.alumnus_seq == alumnus_seq)
        .group_by(ChangeRecord.field)
        .subquery()
    )
    rows = session.execute(
        select(
            ChangeRecord.field, ChangeRecord.source, ChangeRecord.actor, ChangeRecord.changed_at
        ).join(newest, ChangeRecord.id == newest.c.id)
    )
    return {
        row.field: {"source": row.source, "confirmed_at": iso_utc(row.changed_at), "by": row.actor}
        for row in rows
    }


def provenance_of(
    session: Session | Connection,
    alumnus_seq: int,
    stored: Mapping[str, Any] | None,
    values: Mapping[str, Any],
) -> dict[str, dict[str, Any]]:
    """The provenance of each field of `values` (one record's), as the office reads it."""
    fallback = None
    if any(name not in (stored or {}) for name in values) and ALL not in (stored or {}):
        fallback = history_provenance(session, alumnus_seq)
    return expanded(stored, values, fallback)
