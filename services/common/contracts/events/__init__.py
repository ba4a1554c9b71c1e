"""Contracts of the events service: its RPC payloads and the events it publishes, one module
per area of the service (events and lecture series, registrations, activity reports,
visits, work plans, feedback, cooperation projects; `common` for what several share).

Registration events carry no check-in token: events go to a topic exchange
that other campus systems may read, and the token admits its holder at the
door. A consumer that must show the QR code (notify) asks for it by RPC
(`events.registration_qr`).

Likewise the engagement workflows' events (visits, overdue tasks, answered
suggestions) carry ids, dates and what staff wrote, never a visitor's phone or
e-mail; a consumer that must reach a class's contact asks `events.get_visit`.

`EVENTS` lists every event the service publishes (the service catalogue reads it); the area
modules are attributes of this package (`contracts.events.visits`, …).
"""

from __future__ import annotations

from services.common.contracts.events import (
    common,
    cooperation,
    events,
    feedback,
    plans,
    registrations,
    reports,
    visits,
)

__all__ = [
    "EVENTS",
    "common",
    "cooperation",
    "events",
    "feedback",
    "plans",
    "registrations",
    "reports",
    "visits",
]

EVENTS = (
    *events.EVENTS,
    *registrations.EVENTS,
    *reports.EVENTS,
    *visits.EVENTS,
    *plans.EVENTS,
    *feedback.EVENTS,
)
