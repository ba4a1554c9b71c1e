"""Values a process remembers until an expiry time each carries: verified tokens (the
gateway's access tokens, the services' caller tokens) and tokens signed for reuse.

Bounded: past `size` entries the expired ones go, then the oldest, so that a process
flooded with distinct tokens keeps a fixed amount of memory.
"""

from __future__ import annotations

import time
from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class ExpiringEntries(Generic[V]):
    """`key` → value, each until its own `expires` (seconds since the epoch)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: dict[Hashable, tuple[float, V]] = {}

    def get(self, key: Hashable) -> V | None:
        """The value kept for `key`, unless unknown or expired (at `expires` itself, as
        PyJWT has a token's `exp`)."""
        entry = self.entries.get(key)
        if entry is None or time.time() >= entry[0]:
            return None
        return entry[1]

    def add(self, key: Hashable, expires: float, value: V) -> None:
        if len(self.entries) >= self.size:
            now = time.time()
            live = [(known, entry) for known, entry in self.entries.items() if entry[0] > now]
            # Still full: the oldest tenth goes too, so that this pass runs once per tenth.
            keep = self.size * 9 // 10
            self.entries = dict(live[-keep:] if len(live) > keep else live)
        self.entries[key] = (expires, value)
