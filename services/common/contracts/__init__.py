"""Contracts of everything that crosses a service boundary: one module per producing service.

`EVENT_CONTRACTS` maps each event type to its contract; `build_event` is how a
producer makes a payload (validated, enveloped) and `check_event` how a
consumer accepts one.
"""

from __future__ import annotations

from typing import Any

from services.common.contracts import events, registry
from services.common.contracts.base import EventContract
from services.common.errors import ValidationFailed

EVENT_CONTRACTS: dict[str, EventContract] = {
    contract.event_type: contract for contract in (*registry.EVENTS, *events.EVENTS)
}

EVENT_SOURCES: dict[str, str] = {
    **{contract.event_type: "registry" for contract in registry.EVENTS},
    **{contract.event_type: "events" for contract in events.EVENTS},
}


def build_event(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return EVENT_CONTRACTS[event_type].build(data)


def check_event(event: Any) -> dict[str, Any]:
    contract = EVENT_CONTRACTS.get(event.get("event_type")) if isinstance(event, dict) else None
    if contract is None:
        raise ValidationFailed("未知的事件类型。", {"event": repr(event)[:200]})
    return contract.check(event)
