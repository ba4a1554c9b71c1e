"""Inputs for the events service that tests and benchmarks share."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from services.common.contracts.base import load_or_raise


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


def listed(run: Callable[..., Any], function: Callable[..., Any], *args: Any, **params: Any):
    """A page of a list function of the events service, called through `run` (the unit
    tests' transaction) with its query loaded by the search contract, the last of `args`,
    as the service's entrypoint loads it."""
    *before, schema = args
    return run(function, *before, load_or_raise(schema, params))
