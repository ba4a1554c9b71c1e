"""Contracts of everything that crosses a service boundary: one module per producing service.

Which modules there are comes from the service catalogue (an entry's `contracts`); each
module lists the events its service publishes in `EVENTS`. `EVENT_CONTRACTS` maps each
event type to its contract and `EVENT_SOURCES` to the service that publishes it;
`build_event` is how a producer makes a payload (validated, enveloped) and `check_event`
how a consumer accepts one.
"""

from __future__ import annotations

from typing import Any

from services.common import catalogue
from services.common.contracts.base import EventContract
from services.common.errors import ValidationFailed

EVENT_CONTRACTS: dict[str, EventContract] = {}
EVENT_SOURCES: dict[str, str] = {}
for _entry in catalogue.publishers():
    for _contract in _entry.contracts_module().EVENTS:
        EVENT_CONTRACTS[_contract.event_type] = _contract
        EVENT_SOURCES[_contract.event_type] = _entry.name


def build_event(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return EVENT_CONTRACTS[event_type].build(data)


def check_event(event: Any, source: str | None = None) -> dict[str, Any]:
    """`event` if it is a known event type (of `source`, when given) and keeps its contract."""
    event_type = event.get("event_type") if isinstance(event, dict) else None
    contract = EVENT_CONTRACTS.get(event_type) if isinstance(event_type, str) else None
    if contract is None or (source is not None and EVENT_SOURCES[event_type] != source):
        raise ValidationFailed(
            "未知的事件类型。", {"event": repr(event)[:200]}, reason="unknown_event_type"
        )
    return contract.check(event)
