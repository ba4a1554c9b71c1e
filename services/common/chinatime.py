"""China local time: the calendar of money records, due dates and receipt years.

China keeps one offset all year (no daylight saving), so a fixed +08:00 zone named
Asia/Shanghai needs no tz database. Standard library only.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")


def china_date(moment: datetime) -> date:
    """The calendar day in China at `moment` (a naive moment is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(CHINA_TZ).date()


def china_day_bounds(day: date) -> tuple[datetime, datetime]:
    """[midnight, next midnight) of `day` in China, as aware datetimes."""
    start = datetime(day.year, day.month, day.day, tzinfo=CHINA_TZ)
    return start, start + timedelta(days=1)


def add_years(day: date, years: int) -> date:
    """The same day `years` later; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)
