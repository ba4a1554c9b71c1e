"""Signed callers for tests that call services over RPC directly, as the gateway would
(services/common/caller.py): one token for every service of the catalogue, long enough
for a test module."""

from __future__ import annotations

from typing import Any

from services.common import catalogue
from services.common.caller import HEADER, Caller, caller_key, sign

CALLER_KEY = "test-caller-key-" + "c" * 32
OFFICE = Caller("acc-1", "zhao.office", "office", None)
TEST_TOKEN_TTL_SECONDS = 3600


def signed_context(caller: Caller, key: str | None = None) -> dict[str, Any]:
    """nameko `context_data` that makes a standalone proxy call as `caller`."""
    audience = [entry.name for entry in catalogue.rpc_services()]
    token = sign(caller, key or caller_key(), audience, ttl=TEST_TOKEN_TTL_SECONDS)
    return {HEADER: token}
