"""The access log: every unmasked read of personal fields, kept by the service that read.

A service that shows personal fields unmasked (services/common/visibility.py decides
when) maps `AccessLogMixin` on its own base and calls `record()` in the same transaction
as the read, so that a read is answered only if its log row commits. A read that writes
nothing else (`WorkerDatabase.reads()`, services/common/dependencies.py) hands its rows
to a writer that commits them with other workers' before the read is answered
(services/common/group_commit.py). Masked reads are not logged: they disclose nothing.
`search()` is what the office's `GET /api/v1/access-log` pages through.

SQLAlchemy and the standard library only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, DateTime, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column

from services.common.columns import utcnow
from services.common.contracts.base import iso_utc
from services.common.paging import each, encode_cursor, page, paged_select
from services.common.visibility import Viewer

GROUPED_ROWS = "access_log_grouped_rows"
"""The key in `Session.info` of the rows a reads-only transaction leaves to the writer."""


class AccessLogMixin:
    """Columns of the `access_log` table: who read which fields of what, when, and for what.

    `record` names what was read (`alumnus:<id>`, `visit:<id>`, `project:<id>`,
    `event:<id>` for a roster, `message:<id>`); `alumnus_id` whose data it was, when it
    is an alumnus's (a class's visit contact is nobody's record)."""

    __tablename__ = "access_log"

    @declared_attr.directive
    def __table_args__(cls) -> tuple:
        # A function, so that each service's table gets index objects of its own.
        return (
            Index("ix_access_log_alumnus", "alumnus_id", "seq"),
            Index("ix_access_log_account", "account_id", "seq"),
        )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    account_id: Mapped[str] = mapped_column(String(36))
    username: Mapped[str] = mapped_column(String(50))
    role: Mapped[str] = mapped_column(String(20))
    alumnus_id: Mapped[str | None] = mapped_column(String(36))
    record: Mapped[str] = mapped_column(String(80))
    # A JSON list of field names, e.g. ["phone", "email"].
    fields: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(String(200))


def record(
    session: Session | Connection,
    model: type,
    reader: Viewer,
    record: str,
    alumnus_id: str | None,
    fields: Iterable[str],
    purpose: str,
) -> None:
    """Log that `reader` saw `fields` of `record` (`alumnus_id`'s data) unmasked; nothing
    when no field had a value: an empty contact discloses nothing."""
    names = sorted(set(fields))
    if not names:
        return
    row = {
        "at": utcnow(),
        "account_id": reader.account_id,
        "username": reader.username[:50],
        "role": reader.role,
        "alumnus_id": alumnus_id,
        "record": record,
        "fields": json.dumps(names),
        "purpose": purpose[:200],
    }
    grouped = session.info.get(GROUPED_ROWS)
    if grouped is not None:
        grouped.append(row)
        return
    # A Core INSERT now, not an ORM object flushed later: every unmasked read pays for it.
    session.execute(model.__table__.insert(), row)


def search(session: Session, model: type, params: dict[str, Any]) -> dict[str, Any]:
    """The log, newest first, filtered by whose record, whose account and a time range."""
    query = select(model)
    if params.get("alumnus_id"):
        query = query.where(model.alumnus_id == str(params["alumnus_id"]))
    if params.get("account_id"):
        query = query.where(model.account_id == str(params["account_id"]))
    if params.get("since"):
        query = query.where(model.at >= params["since"])
    if params.get("until"):
        query = query.where(model.at < params["until"])
    rows = session.scalars(paged_select(query, [model.seq], params, (int,), descending=True)).all()
    return page(rows, params["limit"], lambda r: [r.seq], each(entry_to_dict))


def entry_to_dict(entry: Any) -> dict[str, Any]:
    return {
        "at": iso_utc(entry.at),
        "account_id": entry.account_id,
        "username": entry.username,
        "role": entry.role,
        "alumnus_id": entry.alumnus_id,
        "record": entry.record,
        "fields": json.loads(entry.fields),
        "purpose": entry.purpose,
        # Where a list continues after this entry: what lets the gateway merge the logs of
        # several services into one page (it is not shown to clients).
        "cursor": encode_cursor([entry.seq]),
    }
