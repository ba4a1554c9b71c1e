"""The notify service's nameko side: its entrypoints, thin wrappers over its domain
modules, and the two dependency providers that hold its settings and run its dispatcher.

Handlers of other services' events (through the inbox, each event once) queue messages
in the same transaction as the claim; the dispatcher (services/notify/dispatch.py, run in
a managed thread by `DispatcherRunner`) sends them. Nothing here calls another service
while sending: contacts come from the local directory fed by the registry's events, and
the one RPC made (a gift's receipt PDF) is made by a timer soon after the gift's event,
its answer stored for the letter.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import eventlet
from nameko.extensions import DependencyProvider
from sqlalchemy.orm import Session

from services.common.caller import Caller
from services.common.contracts import notify as contract
from services.common.contracts.base import AccessLogQuery, load_or_raise
from services.common.dependencies import Database
from services.common.entrypoints import HealthMixin, configured_timer, consumes, rpc
from services.common.errors import AppError
from services.common.rpc import TimedRpcProxy
from services.common.visibility import require_office, require_self_or_service
from services.notify import (
    consent,
    disclosure,
    donations_feed,
    inbox,
    merges,
    messages,
    newsletters,
    person,
    signing,
    templates,
    triggers,
)
from services.notify.dispatch import Dispatcher
from services.notify.models import Base
from services.notify.settings import (
    Settings,
    dispatch_settings_from,
    settings_from,
    sms_provider_from,
    smtp_from,
)

log = logging.getLogger(__name__)

IDLE_POLL_SECONDS = 0.5
FAILURE_BACKOFF_SECONDS = 2.0
RECEIPT_FETCH_BATCH = 20
RECEIPT_RETRY_SECONDS = 60
RECEIPT_POLL_SECONDS = 2
RECEIPT_WAIT_LIMIT_SECONDS = 3600


# ---- the nameko side of settings and the dispatcher ---------------------------------------


class NotifySettings(DependencyProvider):
    """`self.settings` of the service: links, clock, the office's address."""

    def setup(self) -> None:
        self.settings = settings_from(self.container.config)

    def get_dependency(self, worker_ctx) -> Settings:
        return self.settings


class DispatcherRunner(DependencyProvider):
    """Runs the dispatcher's passes (services/notify/dispatch.py) in a managed thread: back
    to back while there is work, every `IDLE_POLL_SECONDS` otherwise. It uses the
    service's own `Database` (its sessions, and its outbox relay, woken when a pass
    recorded events)."""

    def setup(self) -> None:
        settings = self.container.config
        self.settings = settings_from(settings)
        self.dispatch_settings = dispatch_settings_from(settings, self.settings.links)
        self.sms = sms_provider_from(settings)
        self.mail = smtp_from(settings)
        self.dispatcher: Dispatcher | None = None
        self._running = False

    def start(self) -> None:
        database = next(d for d in self.container.dependencies if isinstance(d, Database))
        self.database = database
        pool = eventlet.GreenPool(self.dispatch_settings.connections)
        self.dispatcher = Dispatcher(
            database.session_factory,
            self.mail,
            self.sms,
            self.dispatch_settings,
            self.settings.clock,
            parallel_map=lambda work, items: list(pool.imap(work, items)),
        )
        self._running = True
        self.container.spawn_managed_thread(self.run, identifier="notify_dispatcher")

    def run(self) -> None:
        while self._running:
            try:
                done = self.dispatcher.run_once()
            except Exception:
                log.exception("dispatcher pass failed; trying again")
                eventlet.sleep(FAILURE_BACKOFF_SECONDS)
                continue
            if done:
                self.database.relay.wake()
                eventlet.sleep(0)
            else:
                eventlet.sleep(IDLE_POLL_SECONDS)

    def stop(self) -> None:
        self._running = False
        if self.dispatcher is not None:
            self.dispatcher.close()

    def kill(self) -> None:
        self.stop()

    def get_dependency(self, worker_ctx) -> Dispatcher | None:
        return self.dispatcher


def reader_of(caller: Caller) -> dict[str, Any]:
    """Whose inbox: the verified caller, with their alumnus record when they are an alumnus."""
    return {**caller.as_actor(), "alumnus_id": caller.alumnus_id}


class NotifyService(HealthMixin):
    name = "notify"

    db = Database(Base)
    settings = NotifySettings()
    dispatcher = DispatcherRunner()
    donations = TimedRpcProxy("donations")

    # ---- the registry: the directory, and the welcome ------------------------------------

    @consumes("registry", "alumnus_registered")
    def on_alumnus_registered(self, session: Session, event: dict[str, Any]) -> None:
        triggers.alumnus_registered(session, self.settings.links, event, self.settings.now())

    @consumes("registry", "alumnus_updated")
    def on_alumnus_updated(self, session: Session, event: dict[str, Any]) -> None:
        triggers.alumnus_updated(session, event)

    @consumes("registry", "claim_code_issued")
    def on_claim_code_issued(self, session: Session, event: dict[str, Any]) -> None:
        triggers.claim_code_issued(session, self.settings.links, event, self.settings.now())

    @consumes("registry", "alumnus_erased")
    def on_alumnus_erased(self, session: Session, event: dict[str, Any]) -> None:
        data = event["data"]
        person.erase_alumnus(session, data["id"], datetime.fromisoformat(data["erased_at"]))

    @consumes("registry", "alumni_merged")
    def on_alumni_merged(self, session: Session, event: dict[str, Any]) -> None:
        merges.move_to_survivor(session, event["data"], self.settings.now())

    @consumes("registry", "alumni_unmerged")
    def on_alumni_unmerged(self, session: Session, event: dict[str, Any]) -> None:
        merges.move_back(session, event["data"])

    @rpc(caller=True)
    def export_person(self, alumnus_id: str, *, caller: Caller) -> dict[str, Any]:
        """All this service holds on one alumnus (GET /api/v1/me/export)."""
        require_self_or_service(caller, str(alumnus_id))
        return person.export_person(self.db.session, str(alumnus_id))

    # ---- the events service ----------------------------------------------------------------

    @consumes("events", "registration_confirmed")
    def on_registration_confirmed(self, session: Session, event: dict[str, Any]) -> None:
        self._registration(session, "registration_confirmed", event)

    @consumes("events", "registration_waitlisted")
    def on_registration_waitlisted(self, session: Session, event: dict[str, Any]) -> None:
        self._registration(session, "registration_waitlisted", event)

    @consumes("events", "registration_promoted")
    def on_registration_promoted(self, session: Session, event: dict[str, Any]) -> None:
        self._registration(session, "registration_promoted", event)

    @consumes("events", "registration_cancelled")
    def on_registration_cancelled(self, session: Session, event: dict[str, Any]) -> None:
        self._registration(session, None, event)

    def _registration(self, session: Session, kind: str | None, event: dict[str, Any]) -> None:
        triggers.registration_changed(
            session, self.settings.links, kind, event, self.settings.now()
        )

    @consumes("events", "event_cancelled")
    def on_event_cancelled(self, session: Session, event: dict[str, Any]) -> None:
        triggers.event_cancelled(session, self.settings.links, event, self.settings.now())

    @consumes("events", "visit_decided")
    def on_visit_decided(self, session: Session, event: dict[str, Any]) -> None:
        triggers.visit_decided(session, self.settings.links, event, self.settings.now())

    @consumes("events", "suggestion_answered")
    def on_suggestion_answered(self, session: Session, event: dict[str, Any]) -> None:
        triggers.suggestion_answered(session, self.settings.links, event, self.settings.now())

    @consumes("events", "service_request_progressed")
    def on_service_request_progressed(self, session: Session, event: dict[str, Any]) -> None:
        triggers.service_request_progressed(
            session, self.settings.links, event, self.settings.now()
        )

    @consumes("events", "task_overdue")
    def on_task_overdue(self, session: Session, event: dict[str, Any]) -> None:
        triggers.task_overdue(session, self.settings.links, event, self.settings.now())

    @consumes("events", "activity_reported")
    def on_activity_reported(self, session: Session, event: dict[str, Any]) -> None:
        triggers.activity_reported(
            session, self.settings.links, event, self.settings.now(), self.settings.office_email
        )

    @configured_timer("NOTIFY_REMINDER_SCAN_SECONDS")
    def remind(self) -> int:
        with self.db.transaction() as session:
            return triggers.send_reminders(session, self.settings.links, self.settings.now())

    # ---- the donations service ---------------------------------------------------------------

    @consumes("donations", "gift_received")
    def on_gift_received(self, session: Session, event: dict[str, Any]) -> None:
        donor, context, receipted = donations_feed.gift_context(event["data"])
        # A donation's letter waits for its receipt (fetch_receipts); any other goes now.
        self._to_donor(session, "gift_thanks", donor, context, event, waiting=receipted)

    @consumes("donations", "receipt_issued")
    def on_receipt_issued(self, session: Session, event: dict[str, Any]) -> None:
        receipt = event["data"]["receipt"]
        messages.remember_receipt(session, receipt["gift_id"], receipt["number"])

    @consumes("donations", "pledge_instalment_overdue")
    def on_pledge_instalment_overdue(self, session: Session, event: dict[str, Any]) -> None:
        donor, context = donations_feed.pledge_context(event["data"])
        self._to_donor(session, "pledge_reminder", donor, context, event)

    @consumes("donations", "naming_renewal_due")
    def on_naming_renewal_due(self, session: Session, event: dict[str, Any]) -> None:
        donor, context = donations_feed.naming_context(event["data"])
        self._to_donor(session, "naming_renewal", donor, context, event)

    def _to_donor(
        self,
        session: Session,
        kind: str,
        donor: str | None,
        context: dict[str, Any],
        event: dict[str, Any],
        waiting: bool = False,
    ) -> None:
        if donor is None:  # anonymous, or an organisation: no one in the directory to write to
            return
        recipient = messages.alumnus_recipient(triggers.contact_of(session, donor))
        messages.enqueue(
            session,
            self.settings.links,
            kind,
            recipient,
            context,
            triggers.cause_of(event),
            self.settings.now(),
            waiting=waiting,
        )

    @configured_timer("NOTIFY_RECEIPT_FETCH_SECONDS")
    def fetch_receipts(self) -> int:
        """The PDFs thank-you letters wait for, asked of the donations service outside any
        transaction once the receipt's number is known; a failure waits a minute and tries
        again, the letter meanwhile waiting. A letter whose receipt never came goes
        without it after `RECEIPT_WAIT_LIMIT_SECONDS`."""
        now = self.settings.now()
        waiting = messages.waiting_for_receipts(self.db.session, now, RECEIPT_FETCH_BATCH)
        self.db.session.rollback()
        for message_id, number, created_at in waiting:
            if number is None:
                overdue = now - created_at > timedelta(seconds=RECEIPT_WAIT_LIMIT_SECONDS)
                with self.db.transaction() as session:
                    if overdue:
                        log.warning("no receipt for letter %s; sent without it", message_id)
                        messages.attach_and_queue(session, message_id, None, None, now)
                    else:
                        messages.postpone(session, message_id, now, RECEIPT_POLL_SECONDS, None)
                continue
            try:
                answer = getattr(self.donations, donations_feed.RECEIPT_PDF_RPC)(number)
                attachment = donations_feed.receipt_file(number, answer)
            except (AppError, KeyError, ValueError) as error:
                log.warning("receipt %s not fetched yet: %s", number, error)
                with self.db.transaction() as session:
                    messages.postpone(session, message_id, now, RECEIPT_RETRY_SECONDS, str(error))
                continue
            with self.db.transaction() as session:
                messages.attach_and_queue(session, message_id, number, attachment, now)
        return len(waiting)

    # ---- templates -------------------------------------------------------------------------

    @rpc(caller=True)
    def list_templates(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        query = load_or_raise(contract.TemplateSearch, params or {})
        return templates.list_templates(self.db.session, query)

    @rpc(caller=True)
    def get_template(self, template_id: str) -> dict[str, Any]:
        return templates.get_template(self.db.session, template_id)

    @rpc(caller=True)
    def save_template(self, template_id: str, data: dict[str, Any], *, caller: Caller) -> dict:
        fields = load_or_raise(contract.TemplateInput, data)
        who = reader_of(caller)
        with self.db.transaction() as session:
            return templates.save_version(
                session, template_id, fields, who["username"], self.settings.now()
            )

    @rpc(caller=True)
    def preview_template(self, template_id: str, data: dict[str, Any] | None = None) -> dict:
        request = load_or_raise(contract.PreviewInput, data or {})
        return templates.preview(self.db.session, template_id, request["draft"], request["sample"])

    # ---- newsletters -------------------------------------------------------------------------

    @rpc(caller=True)
    def create_newsletter(self, data: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        payload = load_or_raise(contract.NewsletterInput, data)
        who = reader_of(caller)
        with self.db.transaction() as session:
            return newsletters.create_newsletter(
                session, _json_segment(payload), who["username"], self.settings.now()
            )

    @rpc(caller=True)
    def send_newsletter(self, newsletter_id: str, data: dict[str, Any] | None = None) -> dict:
        payload = load_or_raise(contract.NewsletterSend, data or {})
        with self.db.transaction() as session:
            return newsletters.send_newsletter(
                session, newsletter_id, payload["send_at"], self.settings.now()
            )

    @rpc(caller=True)
    def get_newsletter(self, newsletter_id: str) -> dict[str, Any]:
        return newsletters.get_newsletter(self.db.session, newsletter_id)

    @rpc(caller=True)
    def list_newsletters(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        query = load_or_raise(contract.NewsletterSearch, params or {})
        return newsletters.list_newsletters(self.db.session, query)

    # ---- the delivery log ----------------------------------------------------------------------

    @rpc(caller=True)
    def list_messages(
        self, params: dict[str, Any] | None = None, purpose: str = "", *, caller: Caller
    ) -> dict[str, Any]:
        """The delivery log; addresses masked or shown (and logged) for the verified caller
        (services/notify/disclosure.py)."""
        query = load_or_raise(contract.MessageSearch, params or {})
        with self.db.transaction() as session:
            page = messages.list_messages(session, query)
            return disclosure.shown_messages(session, page, caller, purpose)

    @rpc(caller=True)
    def access_log(self, params: dict[str, Any], *, caller: Caller) -> dict[str, Any]:
        """Unmasked reads of addresses in the delivery log (the office's search)."""
        require_office(caller)
        query = load_or_raise(AccessLogQuery, params)
        return disclosure.search_access_log(self.db.session, query)

    @rpc(caller=True)
    def statistics(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        query = load_or_raise(contract.StatsQuery, params or {})
        return messages.statistics(self.db.session, _json_times(query))

    # ---- inbox, preferences, unsubscribe ---------------------------------------------------------

    @rpc(caller=True)
    def list_inbox(self, params: dict[str, Any] | None = None, *, caller: Caller) -> dict:
        who = reader_of(caller)
        query = load_or_raise(contract.InboxQuery, params or {})
        return inbox.list_inbox(self.db.session, who, query)

    @rpc(caller=True)
    def mark_read(self, notification_id: str, *, caller: Caller) -> dict[str, Any]:
        who = reader_of(caller)
        with self.db.transaction() as session:
            return inbox.mark_read(session, who, notification_id, self.settings.now())

    @rpc(caller=True)
    def mark_all_read(self, *, caller: Caller) -> dict[str, int]:
        who = reader_of(caller)
        with self.db.transaction() as session:
            return inbox.mark_all_read(session, who, self.settings.now())

    @rpc(caller=True)
    def get_preferences(self, alumnus_id: str) -> dict[str, Any]:
        return consent.preferences(self.db.session, alumnus_id)

    @rpc(caller=True)
    def update_preferences(
        self, alumnus_id: str, data: dict[str, Any], *, caller: Caller
    ) -> dict[str, Any]:
        """An alumnus's own choices (source `self_service`), or what the office records for
        them with its `source`."""
        who = reader_of(caller)
        if who["role"] == "alumnus":
            payload, source = load_or_raise(contract.PreferencesInput, data), "self_service"
        else:
            payload = load_or_raise(contract.ConsentRecord, data)
            source = payload["source"]
        with self.db.transaction() as session:
            return consent.update_preferences(
                session,
                alumnus_id,
                payload["changes"],
                payload.get("locale"),
                source,
                self.settings.now(),
                who["username"],
            )

    @rpc
    def unsubscribe(self, token: str, apply: bool = True) -> dict[str, Any]:
        """What a one-click link withdraws; with `apply`, withdraw it (again is harmless)."""
        alumnus_id, channel, purpose = signing.read_unsubscribe_token(
            self.settings.unsubscribe_secret,
            load_or_raise(contract.UnsubscribeQuery, {"token": token})["token"],
        )
        if apply:
            with self.db.transaction() as session:
                consent.set_consent(
                    session,
                    alumnus_id,
                    channel,
                    purpose,
                    False,
                    "unsubscribe_link",
                    self.settings.now(),
                )
        return {"channel": channel, "purpose": purpose, "granted": not apply}


def _json_segment(payload: dict[str, Any]) -> dict[str, Any]:
    segment = dict(payload["segment"])
    if segment.get("department_id") is not None:
        segment["department_id"] = str(segment["department_id"])
    return {**payload, "segment": segment}


def _json_times(query: dict[str, Any]) -> dict[str, Any]:
    return {key: value.isoformat() for key, value in query.items()}
