"""Local copies of another service's records, kept to the newest snapshot.

The events roster, the donations' copy of the registry and notify's directory each keep
an alumnus as the registry last described them. Snapshots come from the registry's
events, which arrive on separate queues (an `alumnus_updated` may come before the
`alumnus_registered` it follows), and from RPC answers; the record's own `updated_at` is
its version, and an older version never overwrites a newer one.

A version from the future is refused (`ValidationFailed`, reason
`snapshot_from_the_future`; for an event that means its dead-letter queue at once, with
a log line): held as the newest, it would make every real change after it look older,
and the copy would be frozen. A few minutes of clock difference between machines are
allowed (`SNAPSHOT_MAX_AHEAD_SECONDS`).

SQLAlchemy only.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from services.common import config
from services.common.errors import ValidationFailed

FUTURE_SNAPSHOT = "snapshot_from_the_future"

Row = TypeVar("Row")


def as_utc(moment: datetime) -> datetime:
    """An aware UTC datetime; SQLite hands back naive datetimes that were stored as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def max_ahead() -> timedelta:
    return timedelta(seconds=config.get_float("SNAPSHOT_MAX_AHEAD_SECONDS"))


def snapshot_version(snapshot: dict[str, Any], now: datetime | None = None) -> datetime:
    """The snapshot's `updated_at` in UTC; refused when it is ahead of `now` (the wall
    clock: the registry's clock is compared with ours, whatever clock a service simulates)
    by more than the allowed skew."""
    version = as_utc(datetime.fromisoformat(snapshot["updated_at"]))
    now = now or datetime.now(UTC)
    if version > now + max_ahead():
        raise ValidationFailed(
            "记录的版本时间晚于当前时间，已拒绝。",
            {"id": str(snapshot.get("id")), "updated_at": snapshot["updated_at"]},
            reason=FUTURE_SNAPSHOT,
        )
    return version


def row_to_update(
    session: Session,
    model: type[Row],
    key_field: str,
    snapshot: dict[str, Any],
    now: datetime | None = None,
) -> Row | None:
    """The row that `snapshot` should be written into, its version already set: the held
    one, or a new one added to the session; None when what we hold is newer.

    The caller copies the snapshot's fields into the row. An equal version is written
    again: the same snapshot, so that a redelivery changes nothing.
    """
    version = snapshot_version(snapshot, now)
    key = str(snapshot["id"])
    row = session.get(model, key)
    if row is not None and as_utc(row.updated_at) > version:
        return None
    if row is None:
        row = model(**{key_field: key})
        session.add(row)
    row.updated_at = version
    return row
