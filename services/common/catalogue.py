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
import sys
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
    """

    name: str
    entrypoint: str
    database: bool = False
    consumes: tuple[str, ...] = ()
    readiness: str = RPC_PROBE
    contracts: str | None = None
    on_launch: tuple[str, ...] = field(default=())

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
    ),
    ServiceEntry(
        "events",
        "services.events.service:EventsService",
        database=True,
        consumes=("registry",),
        contracts="services.common.contracts.events",
    ),
    ServiceEntry(
        "notify",
        "services.notify.service:NotifyService",
        database=True,
        consumes=("registry", "events", "donations"),
        contracts="services.common.contracts.notify",
        on_launch=("services.notify.bootstrap:ensure_default_templates",),
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


def main(argv: list[str] | None = None) -> None:
    """`python -m services.common.catalogue`: the service names, one a line (for scripts);
    `--stand-ins`: the stand-ins' modules instead; `--stand-in-notes`: what each stand-in
    `shows`, with its settings filled in."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--stand-ins"]:
        for stand_in in STAND_INS:
            print(stand_in.module)
        return
    if args == ["--stand-in-notes"]:
        from services.common import config

        for stand_in in STAND_INS:
            if stand_in.shows:
                print(stand_in.shows.format_map({k: config.get(k) for k in config.DEFAULTS}))
        return
    for entry in SERVICES:
        print(entry.name)


if __name__ == "__main__":
    main()
