"""Helpers for tests of the events service (its sample input: services/events/samples.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.common.contracts.base import load_or_raise
from services.events.samples import open_event

__all__ = ["listed", "open_event"]


def listed(run: Callable[..., Any], function: Callable[..., Any], *args: Any, **params: Any):
    """A page of a list function of the events service, called through `run` (the unit
    tests' transaction) with its query loaded by the search contract, the last of `args`,
    as the service's entrypoint loads it."""
    *before, schema = args
    return run(function, *before, load_or_raise(schema, params))
