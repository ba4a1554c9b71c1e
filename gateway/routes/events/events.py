"""Events (活动): create, read, list, edit, publish, close, finish, cancel; lecture series
(校友大讲堂)."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from gateway.auth import Principal
from gateway.authz import events as event_rules
from gateway.authz.base import ALL_ROLES, OFFICE
from gateway.authz.events import EVENT_MANAGERS, READERS
from gateway.http import api
from gateway.routes.events.common import EVENT, EventsRoutesBase
from services.common.contracts.events import events as contract

SERIES = "/api/v1/series/{series_id}"


class EventRoutes(EventsRoutesBase):
    @api(
        "GET",
        "/api/v1/events",
        "List events by start time; drafts only for the office, the committee and the "
        "organising department's liaison.",
        "events",
        READERS,
        query=contract.EventSearch,
        response=contract.Event,
        many=True,
    )
    def list_events(
        self, request: Request, principal: Principal, query: dict[str, Any]
    ) -> dict[str, Any]:
        return self.events.list_events(event_rules.scope_event_search(principal, query))

    @api(
        "POST",
        "/api/v1/events",
        "Create an event, in draft until published; a liaison for their own department.",
        "events",
        EVENT_MANAGERS,
        body=contract.EventInput,
        response=contract.Event,
        status=201,
    )
    def create_event(self, request: Request, principal: Principal, body: dict[str, Any]):
        event_rules.check_event_create(principal, body)
        self._check_organiser(body)
        return self.events.create_event(body)

    @api("GET", EVENT, "One event.", "events", READERS, response=contract.Event)
    def get_event(self, request: Request, principal: Principal, event_id: str):
        event = self.events.get_event(event_id)
        event_rules.check_event_read(principal, event)
        return event

    @api(
        "PATCH",
        EVENT,
        "Change some fields of an event; a larger capacity promotes from the waitlist.",
        "events",
        EVENT_MANAGERS,
        body=contract.EventPatch,
        response=contract.Event,
    )
    def update_event(
        self, request: Request, principal: Principal, event_id: str, body: dict[str, Any]
    ):
        event = self.events.get_event(event_id)
        event_rules.check_event_update(principal, event, body)
        if "organiser_type" in body or "organiser_id" in body:
            self._check_organiser({**event, **body})
        return self.events.update_event(event_id, body)

    @api(
        "POST",
        EVENT + "/publish",
        "Publish a draft: it becomes visible to alumni and takes sign-ups in its window.",
        "events",
        EVENT_MANAGERS,
        response=contract.Event,
    )
    def publish_event(self, request: Request, principal: Principal, event_id: str):
        self._managed_event(principal, event_id)
        return self.events.publish_event(event_id)

    @api(
        "POST",
        EVENT + "/close",
        "Close sign-ups of a published event; cancellations and promotions go on.",
        "events",
        EVENT_MANAGERS,
        response=contract.Event,
    )
    def close_event(self, request: Request, principal: Principal, event_id: str):
        self._managed_event(principal, event_id)
        return self.events.close_event(event_id)

    @api(
        "POST",
        EVENT + "/finish",
        "Mark an event that has begun as finished (then it can be reported).",
        "events",
        EVENT_MANAGERS,
        response=contract.Event,
    )
    def finish_event(self, request: Request, principal: Principal, event_id: str):
        self._managed_event(principal, event_id)
        return self.events.finish_event(event_id)

    @api(
        "POST",
        EVENT + "/cancel",
        "Cancel an event; the body (a reason) may be left out.",
        "events",
        EVENT_MANAGERS,
        body=contract.EventCancellation,
        body_optional=True,
        response=contract.Event,
    )
    def cancel_event(
        self, request: Request, principal: Principal, event_id: str, body: dict[str, Any]
    ):
        self._managed_event(principal, event_id)
        return self.events.cancel_event(event_id, body)

    # ---- lecture series ------------------------------------------------------------------

    @api(
        "GET",
        "/api/v1/series",
        "Lecture series (校友大讲堂).",
        "events",
        ALL_ROLES,
        response=contract.LectureSeries,
        many=True,
    )
    def list_series(self, request: Request, principal: Principal) -> dict[str, Any]:
        return {"items": self.events.list_series(), "next_cursor": None}

    @api(
        "POST",
        "/api/v1/series",
        "Create a lecture series.",
        "events",
        (OFFICE,),
        body=contract.SeriesInput,
        response=contract.LectureSeries,
        status=201,
    )
    def create_series(self, request: Request, principal: Principal, body: dict[str, Any]):
        return self.events.create_series(body)

    @api(
        "PATCH",
        SERIES,
        "Change a lecture series' title or description.",
        "events",
        (OFFICE,),
        body=contract.SeriesPatch,
        response=contract.LectureSeries,
    )
    def update_series(
        self, request: Request, principal: Principal, series_id: str, body: dict[str, Any]
    ):
        return self.events.update_series(series_id, body)

    @api(
        "DELETE",
        SERIES,
        "Delete a lecture series that holds no lecture (409 otherwise); answers the series "
        "as it was.",
        "events",
        (OFFICE,),
        response=contract.LectureSeries,
    )
    def delete_series(self, request: Request, principal: Principal, series_id: str):
        series = self.events.get_series(series_id)
        self.events.delete_series(series_id)
        return series
