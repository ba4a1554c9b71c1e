"""docs/events.md is what other campus systems code against: it must follow the contracts."""

from __future__ import annotations

from pathlib import Path

import pytest
from marshmallow import fields

from services.common.contracts import EVENT_CONTRACTS, EVENT_SOURCES

EVENTS_DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"


@pytest.fixture(scope="module")
def doc() -> str:
    return EVENTS_DOC.read_text(encoding="utf-8")


@pytest.mark.parametrize("event_type", sorted(EVENT_CONTRACTS))
def test_every_event_type_has_its_section_under_its_exchange(doc, event_type):
    exchange_heading = f"## {EVENT_SOURCES[event_type]}.events"
    section = f"### `{event_type}`"
    assert exchange_heading in doc
    assert section in doc
    assert doc.index(exchange_heading) < doc.index(section)


def _field_names(schema_cls, seen: set) -> set[str]:
    if schema_cls in seen:
        return set()
    seen.add(schema_cls)
    names = set()
    for name, field in schema_cls().declared_fields.items():
        names.add(name)
        nested = field.inner if isinstance(field, fields.List) else field
        if isinstance(nested, fields.Nested) and isinstance(nested.nested, type):
            names |= _field_names(nested.nested, seen)
    return names


@pytest.mark.parametrize("event_type", sorted(EVENT_CONTRACTS))
def test_every_payload_field_is_documented(doc, event_type):
    missing = {
        name
        for name in _field_names(EVENT_CONTRACTS[event_type].data_schema, set())
        if f"`{name}`" not in doc
    }
    assert not missing, f"{event_type}: fields missing from docs/events.md: {sorted(missing)}"
