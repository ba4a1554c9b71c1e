"""The notify service's nameko side of its settings and its dispatcher: what is built from
configuration, and the managed thread that runs the dispatcher's passes."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import eventlet
from nameko.extensions import DependencyProvider

from services.common import config
from services.common.dependencies import Database
from services.notify.adapters.mail import SmtpSettings, SmtpTransport
from services.notify.adapters.sms import HttpSmsProvider, LogSmsProvider, SmsProvider
from services.notify.clock import running_from
from services.notify.dispatch import Dispatcher, DispatchSettings
from services.notify.messages import Links

log = logging.getLogger(__name__)

IDLE_POLL_SECONDS = 0.5
FAILURE_BACKOFF_SECONDS = 2.0


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host or "127.0.0.1", int(port)


@dataclass(frozen=True)
class Settings:
    """What the handlers and RPCs need from configuration."""

    links: Links
    clock: Any
    office_email: str | None
    unsubscribe_secret: str

    def now(self) -> datetime:
        return self.clock()


def settings_from(container_config: dict[str, Any]) -> Settings:
    public_url = config.get("NOTIFY_PUBLIC_URL", container_config) or (
        "http://" + (config.get("WEB_SERVER_ADDRESS", container_config) or "")
    )
    secret = config.secret("NOTIFY_UNSUBSCRIBE_SECRET", container_config)
    return Settings(
        links=Links(public_url.rstrip("/"), secret),
        clock=running_from(config.get("NOTIFY_CLOCK_START", container_config)),
        office_email=config.get("NOTIFY_OFFICE_EMAIL", container_config) or None,
        unsubscribe_secret=secret,
    )


def sms_provider_from(container_config: dict[str, Any]) -> SmsProvider:
    if config.get("NOTIFY_SMS_PROVIDER", container_config) == "log":
        return LogSmsProvider()
    host, port = _host_port(config.get("NOTIFY_SMS_ADDRESS", container_config) or "")
    return HttpSmsProvider(
        host,
        port,
        config.get("NOTIFY_SMS_ACCESS_KEY_ID", container_config) or "",
        config.secret("NOTIFY_SMS_ACCESS_KEY_SECRET", container_config),
    )


def smtp_from(container_config: dict[str, Any]) -> SmtpTransport:
    host, port = _host_port(config.get("NOTIFY_SMTP_ADDRESS", container_config) or "")
    return SmtpTransport(
        SmtpSettings(
            host=host,
            port=port,
            starttls=config.get_flag("NOTIFY_SMTP_STARTTLS", container_config),
            username=config.get("NOTIFY_SMTP_USERNAME", container_config),
            password=config.get("NOTIFY_SMTP_PASSWORD", container_config),
        )
    )


class NotifySettings(DependencyProvider):
    """`self.settings` of the service: links, clock, the office's address."""

    def setup(self) -> None:
        self.settings = settings_from(self.container.config)

    def get_dependency(self, worker_ctx) -> Settings:
        return self.settings


class DispatcherRunner(DependencyProvider):
    """Runs the dispatcher's passes in a managed thread: back to back while there is work,
    every `IDLE_POLL_SECONDS` otherwise. It uses the service's own `Database` (its
    sessions, and its outbox relay, woken when a pass recorded events)."""

    def setup(self) -> None:
        settings = self.container.config
        self.settings = settings_from(settings)
        self.dispatch_settings = DispatchSettings(
            sender=config.get("NOTIFY_MAIL_FROM", settings) or "",
            links=self.settings.links,
            sms_sign_name=config.get("NOTIFY_SMS_SIGN_NAME", settings) or "",
            sms_daily_cap=config.get_int("NOTIFY_SMS_DAILY_CAP", settings),
            connections=max(1, config.get_int("NOTIFY_SMTP_CONNECTIONS", settings)),
        )
        self.sms = sms_provider_from(settings)
        self.mail = smtp_from(settings)
        self.dispatcher: Dispatcher | None = None
        self._running = False

    def start(self) -> None:
        database = next(d for d in self.container.dependencies if isinstance(d, Database))
        self.database = database
        self.dispatcher = Dispatcher(
            database.session_factory,
            self.mail,
            self.sms,
            self.dispatch_settings,
            self.settings.clock,
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
