"""The entrypoints every service declares the same way: RPC, event handlers, health, timers.

- `@rpc`: nameko's RPC entrypoint with the platform's expected errors (the caller's
  mistakes, logged as warnings rather than crashes) as the default.
- `@consumes(source, event_type)`: a reliable event handler (retries, then a dead-letter
  queue: services/common/reliable_events.py) that checks the event against its contract
  and its publisher, and claims it in the inbox in the same transaction as the handler's
  effect, so a redelivered event does nothing twice. The method receives the open
  session and the checked event: `def on_x(self, session, event) -> None`.
- `HealthMixin`: the `health` RPC that readiness probes and healthchecks call.
- `@configured_timer(KEY)`: a timer whose interval is a setting (services/common/config.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from nameko.rpc import rpc as nameko_rpc
from nameko.timer import Timer
from sqlalchemy import text
from sqlalchemy.orm import Session

from services.common import config
from services.common.contracts import check_event
from services.common.contracts.base import EventContract
from services.common.errors import EXPECTED_ERRORS
from services.common.reliable_events import reliable_event_handler

EventMethod = Callable[[Any, Session, dict[str, Any]], None]


def rpc(*args, **kwargs):
    """`@rpc` or `@rpc(...)`: nameko's, with `expected_exceptions` the platform's by default."""
    kwargs.setdefault("expected_exceptions", EXPECTED_ERRORS)
    return nameko_rpc(*args, **kwargs)


def consumes(
    source: str, event_type: str, contract: EventContract | None = None, **handler_options: Any
):
    """Handle `event_type` events of `source` once each (see the module's docstring).

    The service needs a `db` dependency (services/common/dependencies.py `Database`).
    The inbox names the claim after the method, so renaming a handler makes it see
    events again that it has handled before. `contract`: the consumer's own reading of an
    event whose producer has not published its contracts yet (instead of the registry's).
    """

    def decorate(method: EventMethod):
        handler_name = method.__name__

        @functools.wraps(method)
        def handle(self, event: dict[str, Any]) -> None:
            if contract is None:
                checked = check_event(event, source=source)
            else:
                checked = contract.check(event)
            with self.db.transaction() as session:
                if self.db.claim(session, checked["event_id"], handler_name):
                    method(self, session, checked)

        return reliable_event_handler(source, event_type, **handler_options)(handle)

    return decorate


class HealthMixin:
    """The `health` RPC: the service answers, and its database too when it has one."""

    name: str

    @rpc
    def health(self) -> dict[str, str]:
        database = getattr(self, "db", None)
        if database is not None:
            database.session.execute(text("SELECT 1"))
        return {"service": self.name, "status": "ok"}


class ConfiguredTimer(Timer):
    """A nameko timer whose interval is read when the container is set up, from the setting
    `config_key` (container config, environment, default: services/common/config.py)."""

    def __init__(self, config_key: str, eager: bool = False, **kwargs: Any) -> None:
        self.config_key = config_key
        super().__init__(interval=0, eager=eager, **kwargs)

    def setup(self) -> None:
        self.interval = config.get_float(self.config_key, self.container.config)
        if self.interval <= 0:
            raise ValueError(f"{self.config_key} must be a positive number of seconds")
        super().setup()


configured_timer = ConfiguredTimer.decorator
