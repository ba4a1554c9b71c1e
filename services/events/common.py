"""What the areas of the events service share: the school's calendar, times in UTC,
paging in creation order, and the compare-and-set of workflow statuses.

Workflows are `StateMachine` tables (services/common/statemachine.py), and status
changes are compare-and-set: `set_status` takes a step the table allows and updates
the row only if it is still in the status the caller read, so two staff members acting
on the same record at once cannot both succeed; the second gets the same Conflict as any
step the table refuses (reason `invalid_transition`, with what may be done from the
status the row now has). On PostgreSQL the second UPDATE waits for the first to commit
and then matches no row; on SQLite the database's write lock serialises them, and
pysqlite reads outside a transaction until the first write, so the status read is the
latest committed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from marshmallow import Schema
from sqlalchemy import Select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common.errors import Conflict
from services.common.paging import each, page, paged_select
from services.common.statemachine import StateMachine


def as_utc(moment: datetime) -> datetime:
    """An aware UTC datetime; SQLite hands back naive datetimes that were stored as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


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


def page_in_order(
    session: Session, query: Select, model: type, params: dict[str, Any], shape: Schema
) -> dict[str, Any]:
    """One page (`params`: the shared page query) of `query` in the order rows were made,
    by their internal `seq`; the items are `shape` dumped from the rows."""
    rows = session.scalars(paged_select(query, [model.seq], params, (int,))).all()
    return page(rows, params["limit"], lambda row: [row.seq], each(shape.dump))


def set_status(
    session: Session, row: Any, machine: StateMachine, step: str, values: dict[str, Any]
) -> None:
    """Take `step` on `row`: the status `machine` says it leads to, and `values`, written
    only if no one changed the row's status meanwhile. A step the table does not allow
    is refused with the machine's Conflict (reason `invalid_transition`)."""
    target = machine.target(row.status, step)
    write_unless_changed(session, row, machine, step, {"status": target, **values})


def write_unless_changed(
    session: Session, row: Any, machine: StateMachine, step: str, values: dict[str, Any]
) -> None:
    """Write `values` to `row` if its status is still the one it was read in (`step` names
    what the caller does); Conflict otherwise, with what may be done from the new status."""
    model, expected = type(row), row.status
    changed = session.execute(
        update(model)
        .where(model.seq == row.seq, model.status == expected)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(row)
    if changed != 1:
        refusal = machine.refusal(row.status, step)
        raise Conflict(
            f"{machine.what}已被他人处理，请刷新后重试。",
            {**refusal.details, "id": row.id, "expected_status": expected},
        )


def flush_or_conflict(
    session: Session, message: str, details: dict[str, Any] | None = None, *, reason: str
) -> None:
    """Flush; a unique key that another transaction won first is a Conflict, not a crash."""
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(message, details, reason=reason) from None
