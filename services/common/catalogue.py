"""The service catalogue: the one list of the platform's services.

Everything that needs to know which services exist reads this list: the launcher
(`services.launch`), `make run`, the queue topology, the contract registry, the
gateway's RPC proxies and readiness probes, the healthchecks, the generated deploy
files (`python -m services.common.deployfiles`) and the test fixtures that start the
system. Adding a service is a folder `services/<name>/` plus one entry here
(docs/architecture.md, "Adding a service").

This module imports nothing but the standard library, so that any part of the
platform, framework or not, may read it.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import ModuleType

RPC_PROBE = "rpc"
HTTP_PROBE = "http"


@dataclass(frozen=True)
class ServiceEntry:
    """One service of the platform.

    name:        the nameko service name; also its RPC target, its event exchange
                 (`<name>.events`) and its database (`<NAME>_DATABASE_URL`).
    entrypoint:  "module:Class", the service class `services.launch` hands to nameko.
    database:    it owns a database: migrations (`services/<name>/migrations/versions`)
                 and models (`services/<name>/models.py`, with a `Base`).
    consumes:    the services whose events it handles (through `@consumes`).
    readiness:   how its liveness is probed: an RPC `health` call, or GET /health.
    contracts:   the module of `services.common.contracts` that holds the events it
                 publishes and its RPC payloads.
    on_launch:   "module:function" hooks run by the launcher after the migrations
                 (e.g. the registry's first office account).
    deploy_environment: (setting, value) pairs the generated compose file gives every
                 application container for this service's sake: secrets a deployment
                 must supply (`${NAME:?message}`) and outside systems' addresses.
    """

    name: str
    entrypoint: str
    database: bool = False
    consumes: tuple[str, ...] = ()
    readiness: str = RPC_PROBE
    contracts: str | None = None
    on_launch: tuple[str, ...] = field(default=())
    deploy_environment: tuple[tuple[str, str], ...] = field(default=())

    @property
    def database_url_variable(self) -> str:
        return f"{self.name.upper()}_DATABASE_URL"

    @property
    def models_module(self) -> str:
        return f"services.{self.name}.models"

    @property
    def migrations_package(self) -> str:
        return f"services.{self.name}"

    @property
    def publishes_events(self) -> bool:
        return self.contracts is not None

    def service_class(self) -> type:
        module_name, _, class_name = self.entrypoint.partition(":")
        return getattr(importlib.import_module(module_name), class_name)

    def contracts_module(self) -> ModuleType | None:
        return importlib.import_module(self.contracts) if self.contracts else None


SERVICES: tuple[ServiceEntry, ...] = (
    ServiceEntry(
        "registry",
        "services.registry.service:RegistryService",
        database=True,
        contracts="services.common.contracts.registry",
        on_launch=("services.registry.bootstrap:ensure_admin_account",),
        deploy_environment=(
            (
                "CARD_SIGNING_KEY",
                "${CARD_SIGNING_KEY:?set CARD_SIGNING_KEY to a long random string, and keep it}",
            ),
        ),
    ),
    ServiceEntry(
        "events",
        "services.events.service:EventsService",
        database=True,
        consumes=("registry",),
        contracts="services.common.contracts.events",
    ),
    ServiceEntry(
        "donations",
        "services.donations.service:DonationsService",
        database=True,
        consumes=("registry",),
        contracts="services.common.contracts.donations",
        deploy_environment=(
            (
                "DONOR_ID_KEY",
                "${DONOR_ID_KEY:?set DONOR_ID_KEY to a long random string, and keep it}",
            ),
            ("PAYMENT_PROVIDER_ADDRESS", "${PAYMENT_PROVIDER_ADDRESS:-}"),
            ("PAYMENT_API_KEY", "${PAYMENT_API_KEY:-}"),
            (
                "PAYMENT_NOTIFY_URL",
                "${PAYMENT_NOTIFY_URL:-http://gateway:8000/api/v1/payments/notify}",
            ),
            ("EBILL_PLATFORM_ADDRESS", "${EBILL_PLATFORM_ADDRESS:-}"),
            ("EBILL_API_KEY", "${EBILL_API_KEY:-}"),
        ),
    ),
    ServiceEntry(
        "notify",
        "services.notify.service:NotifyService",
        database=True,
        consumes=("registry", "events", "donations"),
        contracts="services.common.contracts.notify",
        on_launch=("services.notify.bootstrap:ensure_default_templates",),
        deploy_environment=(
            (
                "NOTIFY_SMTP_ADDRESS",
                "${NOTIFY_SMTP_ADDRESS:?set NOTIFY_SMTP_ADDRESS to your mail relay, host:port}",
            ),
            ("NOTIFY_SMTP_STARTTLS", "${NOTIFY_SMTP_STARTTLS:-}"),
            ("NOTIFY_SMTP_USERNAME", "${NOTIFY_SMTP_USERNAME:-}"),
            ("NOTIFY_SMTP_PASSWORD", "${NOTIFY_SMTP_PASSWORD:-}"),
            ("NOTIFY_MAIL_FROM", "${NOTIFY_MAIL_FROM:-校友会 <alumni@example.edu.cn>}"),
            ("NOTIFY_SMS_PROVIDER", "${NOTIFY_SMS_PROVIDER:-log}"),
            ("NOTIFY_SMS_ADDRESS", "${NOTIFY_SMS_ADDRESS:-}"),
            ("NOTIFY_SMS_ACCESS_KEY_SECRET", "${NOTIFY_SMS_ACCESS_KEY_SECRET:-}"),
            (
                "NOTIFY_PUBLIC_URL",
                "${NOTIFY_PUBLIC_URL:?set NOTIFY_PUBLIC_URL to the address alumni open links at}",
            ),
            (
                "NOTIFY_UNSUBSCRIBE_SECRET",
                "${NOTIFY_UNSUBSCRIBE_SECRET:?set NOTIFY_UNSUBSCRIBE_SECRET, and keep it}",
            ),
        ),
    ),
    ServiceEntry("gateway", "gateway.service:GatewayService", readiness=HTTP_PROBE),
)


@dataclass(frozen=True)
class StandIn:
    """A local stand-in for an outside system (a payment provider, an SMS gateway, a mail
    sink), run as a process of its own by `make run` in development and by the tests, so
    that the service talks to it through its real adapter, over the network.

    module: run as `python -m <module>`.
    address_setting: the setting (services/common/config.py) that holds its "host:port";
    the stand-in listens there and the service's adapter connects there, so the test
    fixtures move both to a free port by setting it.
    more_address_settings: further "host:port" settings it listens on (e.g. a web view),
    moved to free ports by the fixtures alike.
    shows: what `make run` prints about it once the system is up, with `{SETTING}`
    replaced by that setting's value (e.g. where to read the mail it caught).
    """

    name: str
    module: str
    address_setting: str
    more_address_settings: tuple[str, ...] = ()
    shows: str = ""

    @property
    def address_settings(self) -> tuple[str, ...]:
        return (self.address_setting, *self.more_address_settings)


STAND_INS: tuple[StandIn, ...] = (
    StandIn("payment-provider", "services.donations.standins.payment", "PAYMENT_PROVIDER_ADDRESS"),
    StandIn("ebill-platform", "services.donations.standins.ebill", "EBILL_PLATFORM_ADDRESS"),
    StandIn(
        "mailsink",
        "services.notify.standins.mailsink",
        "NOTIFY_SMTP_ADDRESS",
        more_address_settings=("NOTIFY_MAILBOX_WEB_ADDRESS",),
        shows="开发邮箱 / dev mailbox: http://{NOTIFY_MAILBOX_WEB_ADDRESS}/  "
        "(SMTP {NOTIFY_SMTP_ADDRESS}; files in {ALUMNI_VAR_DIR}/mailbox/)",
    ),
    StandIn(
        "smsgateway",
        "services.notify.standins.smsgateway",
        "NOTIFY_SMS_ADDRESS",
        shows="短信网关 / SMS stand-in: http://{NOTIFY_SMS_ADDRESS}/messages",
    ),
)


def by_name(name: str) -> ServiceEntry:
    for entry in SERVICES:
        if entry.name == name:
            return entry
    raise KeyError(f"no service named {name!r} in the catalogue")


def names() -> list[str]:
    return [entry.name for entry in SERVICES]


def rpc_services() -> Iterator[ServiceEntry]:
    """The services that answer RPC: the gateway's proxies and readiness probes."""
    return (entry for entry in SERVICES if entry.readiness == RPC_PROBE)


def with_database() -> Iterator[ServiceEntry]:
    return (entry for entry in SERVICES if entry.database)


def publishers() -> Iterator[ServiceEntry]:
    return (entry for entry in SERVICES if entry.publishes_events)


def stand_in_notes() -> list[str]:
    """What each stand-in `shows`, its settings filled in (for `make run` to print)."""
    from services.common import config

    values = {name: config.get(name) for name in config.DEFAULTS}
    values["ALUMNI_VAR_DIR"] = str(config.var_dir())
    return [s.shows.format_map(values) for s in STAND_INS if s.shows]


def main() -> None:
    """`python -m services.common.catalogue`: the service names, one a line (for scripts)."""
    for entry in SERVICES:
        print(entry.name)


if __name__ == "__main__":
    main()
