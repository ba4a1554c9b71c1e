"""What the notify service builds from configuration: its links, clock and adapters, and
the dispatcher's settings (services/common/config.py holds the settings and defaults)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.common import config
from services.notify.adapters.mail import SmtpSettings, SmtpTransport
from services.notify.adapters.sms import HttpSmsProvider, LogSmsProvider, SmsProvider
from services.notify.clock import running_from
from services.notify.dispatch import DispatchSettings
from services.notify.messages import Links


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


def dispatch_settings_from(container_config: dict[str, Any], links: Links) -> DispatchSettings:
    return DispatchSettings(
        sender=config.get("NOTIFY_MAIL_FROM", container_config) or "",
        links=links,
        sms_sign_name=config.get("NOTIFY_SMS_SIGN_NAME", container_config) or "",
        sms_daily_cap=config.get_int("NOTIFY_SMS_DAILY_CAP", container_config),
        connections=max(1, config.get_int("NOTIFY_SMTP_CONNECTIONS", container_config)),
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
