"""The events service's nameko entrypoints: thin wrappers over services.events.domain.

Sign-up calls no other service: who the alumnus is comes from the caller, and
the names and contacts that rosters need come from a local copy fed by the
registry's events (`on_alumnus_registered`, `on_alumnus_updated`).
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from nameko.rpc import rpc
from sqlalchemy import text

from services.common.contracts import check_event
from services.common.contracts import events as contract
from services.common.contracts.base import load_or_raise
from services.common.db import Database
from services.common.errors import EXPECTED_ERRORS
from services.common.reliable_events import reliable_event_handler
from services.events import domain
from services.events.models import OutboxMessage, ProcessedMessage

SERVICE_NAME = "events"


def utcnow() -> datetime:
    return datetime.now(UTC)


class EventsService:
    name = SERVICE_NAME

    db = Database(SERVICE_NAME, outbox_model=OutboxMessage)

    @rpc
    def health(self) -> dict[str, str]:
        self.db.session.execute(text("SELECT 1"))
        return {"service": self.name, "status": "ok"}

    # ---- events ------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def create_event(self, data: dict[str, Any]) -> dict[str, Any]:
        payload = load_or_raise(contract.EventInput(), data)
        with self.db.transaction() as session:
            return domain.create_event(session, payload)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def update_event(self, event_id: str, patch: dict[str, Any]) -> dict[str, Any]:
        payload = load_or_raise(contract.EventPatch(), patch)
        with self.db.transaction() as session:
            return domain.update_event(session, event_id, payload)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_event(self, event_id: str) -> dict[str, Any]:
        return domain.get_event(self.db.session, event_id)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_events(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return domain.list_events(
            self.db.session, load_or_raise(contract.EventSearch(), params or {})
        )

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def publish_event(self, event_id: str) -> dict[str, Any]:
        with self.db.transaction() as session:
            return domain.publish_event(session, event_id, utcnow())

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def close_event(self, event_id: str) -> dict[str, Any]:
        with self.db.transaction() as session:
            return domain.close_event(session, event_id)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def finish_event(self, event_id: str) -> dict[str, Any]:
        with self.db.transaction() as session:
            return domain.finish_event(session, event_id, utcnow())

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def cancel_event(self, event_id: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        payload = load_or_raise(contract.EventCancellation(), data or {})
        with self.db.transaction() as session:
            return domain.cancel_event(session, event_id, payload["reason"])

    # ---- lecture series ----------------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def create_series(self, data: dict[str, Any]) -> dict[str, Any]:
        payload = load_or_raise(contract.SeriesInput(), data)
        with self.db.transaction() as session:
            return domain.create_series(session, payload)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def update_series(self, series_id: str, patch: dict[str, Any]) -> dict[str, Any]:
        payload = load_or_raise(contract.SeriesPatch(), patch)
        with self.db.transaction() as session:
            return domain.update_series(session, series_id, payload)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_series(self, series_id: str) -> dict[str, Any]:
        return domain.get_series(self.db.session, series_id)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_series(self) -> list[dict[str, Any]]:
        return domain.list_series(self.db.session)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def delete_series(self, series_id: str) -> None:
        with self.db.transaction() as session:
            domain.delete_series(session, series_id)

    # ---- registrations -----------------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def sign_up(self, event_id: str, data: dict[str, Any]) -> dict[str, Any]:
        payload = load_or_raise(contract.SignUpInput(), data)
        with self.db.transaction() as session:
            return domain.sign_up(
                session, event_id, payload["alumnus_id"], payload["guests"], utcnow()
            )

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def cancel_registration(self, event_id: str, registration_id: str) -> dict[str, Any]:
        with self.db.transaction() as session:
            return domain.cancel_registration(session, event_id, registration_id)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_registration(self, registration_id: str) -> dict[str, Any]:
        return domain.get_registration(self.db.session, registration_id)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_registrations(
        self, event_id: str, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return domain.list_registrations(
            self.db.session, event_id, load_or_raise(contract.RegistrationSearch(), params or {})
        )

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def alumnus_registrations(self, alumnus_id: str) -> list[dict[str, Any]]:
        return domain.alumnus_registrations(self.db.session, alumnus_id)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def check_in(self, event_id: str, data: dict[str, Any]) -> dict[str, Any]:
        payload = load_or_raise(contract.CheckInInput(), data)
        with self.db.transaction() as session:
            return domain.check_in(session, event_id, payload["token"], utcnow())

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def registration_qr(self, registration_id: str) -> dict[str, Any]:
        """The check-in QR code as base64 PNG: RPC payloads are JSON and carry no bytes."""
        png = domain.registration_qr_png(self.db.session, registration_id)
        return {
            "registration_id": str(registration_id),
            "content_type": domain.QR_CONTENT_TYPE,
            "png_base64": base64.b64encode(png).decode("ascii"),
        }

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def attendance_stats(self, event_id: str) -> dict[str, Any]:
        return domain.attendance_stats(self.db.session, event_id)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def event_roster(self, event_id: str) -> list[dict[str, Any]]:
        return domain.event_roster(self.db.session, event_id)

    # ---- activity reports --------------------------------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def file_activity_report(
        self, event_id: str, data: dict[str, Any], actor: dict[str, Any]
    ) -> dict[str, Any]:
        payload = load_or_raise(contract.ActivityReportInput(), data)
        who = load_or_raise(contract.Actor(), actor)
        with self.db.transaction() as session:
            return domain.file_activity_report(session, event_id, payload, who, utcnow())

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_activity_report(self, event_id: str) -> dict[str, Any]:
        return domain.get_activity_report(self.db.session, event_id)

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def list_activity_reports(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return domain.list_activity_reports(
            self.db.session, load_or_raise(contract.ReportSearch(), params or {})
        )

    # ---- the registry's events: the local roster -----------------------------

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def get_roster_entry(self, alumnus_id: str) -> dict[str, Any]:
        return domain.get_roster_entry(self.db.session, alumnus_id)

    @reliable_event_handler("registry", "alumnus_registered")
    def on_alumnus_registered(self, event: dict[str, Any]) -> None:
        check_event(event)
        with self.db.transaction() as session:
            if ProcessedMessage.claim(session, event["event_id"], "on_alumnus_registered"):
                domain.apply_alumnus_registered(session, event["data"])

    @reliable_event_handler("registry", "alumnus_updated")
    def on_alumnus_updated(self, event: dict[str, Any]) -> None:
        check_event(event)
        with self.db.transaction() as session:
            if ProcessedMessage.claim(session, event["event_id"], "on_alumnus_updated"):
                domain.apply_alumnus_updated(session, event["data"])
