"""Column defaults every service's models share."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime


def new_id() -> str:
    """A public identifier: a UUID string, so ids in URLs cannot be enumerated."""
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)
