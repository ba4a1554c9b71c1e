"""Sample input for the events service, shared by the tests, the benchmarks and the drills."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any


def open_event(capacity: int, **overrides: Any) -> dict[str, Any]:
    """A lecture in two days whose registration window is open now."""
    now = datetime.now(UTC)
    return {
        "kind": "lecture",
        "title": "校友大讲堂：人工智能与教育",
        "organiser_type": "office",
        "venue": "学术报告厅",
        "starts_at": (now + timedelta(days=2)).isoformat(),
        "ends_at": (now + timedelta(days=2, hours=2)).isoformat(),
        "capacity": capacity,
        "registration_opens_at": (now - timedelta(hours=1)).isoformat(),
        "registration_closes_at": (now + timedelta(days=1)).isoformat(),
        **overrides,
    }
