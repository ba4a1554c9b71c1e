"""What the events-service routes share: the event a caller manages, and the registry's
answer to "does this department or alumnus exist"."""

from __future__ import annotations

from typing import Any

from gateway.auth import Principal
from gateway.authz import events as event_rules
from gateway.routes.lookups import RegistryLookups

EVENT = "/api/v1/events/{event_id}"


class EventsRoutesBase(RegistryLookups):
    events: Any

    def _managed_event(self, principal: Principal, event_id: str) -> dict[str, Any]:
        event = self.events.get_event(event_id)
        event_rules.check_event_manage(principal, event)
        return event

    def _check_organiser(self, event: dict[str, Any]) -> None:
        if event.get("organiser_type") == "department" and event.get("organiser_id"):
            self._known_department(event["organiser_id"], "organiser_id")
        if event.get("organiser_type") == "chapter" and event.get("organiser_id"):
            self._known_chapter(event["organiser_id"], "organiser_id")
