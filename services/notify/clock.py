"""Time as the school and the SMS rules see it: China time (UTC+8, no daylight saving),
quiet hours for marketing SMS, retry backoff.

Standard library only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, timezone

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
QUIET_FROM = time(21, 0)
QUIET_UNTIL = time(8, 0)
RETRY_DELAYS_SECONDS = (2, 5, 15, 60, 300, 900, 3600)
"""Waits before the 2nd, 3rd, … attempt of a message whose channel failed for a while;
after the last one the message has failed for good."""


def china(moment: datetime) -> datetime:
    return as_utc(moment).astimezone(CHINA)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes that were stored as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def china_date(moment: datetime) -> date:
    return china(moment).date()


def in_quiet_hours(moment: datetime) -> bool:
    local = china(moment).time()
    return local >= QUIET_FROM or local < QUIET_UNTIL


def end_of_quiet_hours(moment: datetime) -> datetime:
    """The next 08:00 China time at or after `moment`, in UTC."""
    local = china(moment)
    morning = datetime.combine(local.date(), QUIET_UNTIL, CHINA)
    if local.time() >= QUIET_FROM:
        morning += timedelta(days=1)
    return morning.astimezone(UTC)


def start_of_china_day(moment: datetime) -> datetime:
    local = china(moment)
    return datetime.combine(local.date(), time(0, 0), CHINA).astimezone(UTC)


def retry_delay(attempts: int) -> float | None:
    """Seconds to wait after `attempts` failed attempts; None when it is time to give up."""
    if attempts > len(RETRY_DELAYS_SECONDS):
        return None
    return RETRY_DELAYS_SECONDS[attempts - 1]


def china_text(iso: str) -> str:
    """`2026-10-01T06:00:00+00:00` → `2026年10月1日 14:00` (China time)."""
    local = china(datetime.fromisoformat(iso))
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def yuan(fen: int) -> str:
    """Integer fen as `¥1,234.50` (money is never a float)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


def running_from(start: str | None) -> Callable[[], datetime]:
    """The service's clock: real time, or real time shifted so that it read `start` (ISO
    8601) when this was called; tests and drills set `NOTIFY_CLOCK_START` to see what the
    service does at 22:00 or on the day before an event."""
    if not start:
        return lambda: datetime.now(UTC)
    offset = as_utc(datetime.fromisoformat(start)) - datetime.now(UTC)
    return lambda: datetime.now(UTC) + offset
