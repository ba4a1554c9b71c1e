"""The gateway service: every route of gateway/routes/, and the dependencies they share.

Each route: authorise, validate, one or two RPC calls, shape the answer. The routes live in
one mixin per area; nameko collects the entrypoints and dependencies a class inherits, so
they are declared here once, for all of them. The mixins are reached through their modules:
`nameko run gateway.service` runs every class of this module that has entrypoints, and it
must find one only.
"""

from __future__ import annotations

from nameko.dependency_providers import Config

from gateway.routes import auth as auth_routes
from gateway.routes import events as events_routes
from gateway.routes import operations as operations_routes
from gateway.routes import registry as registry_routes
from services.common.rpc import TimedRpcProxy

READINESS_TIMEOUT_SECONDS = operations_routes.READINESS_TIMEOUT_SECONDS


class GatewayService(
    operations_routes.OperationsRoutes,
    auth_routes.AuthRoutes,
    registry_routes.RegistryRoutes,
    events_routes.EventsRoutes,
):
    name = "gateway"

    config = Config()
    registry = TimedRpcProxy("registry")
    events = TimedRpcProxy("events")
    # Readiness asks with a shorter deadline (operations.PROBED_SERVICES).
    registry_probe = TimedRpcProxy("registry", timeout=READINESS_TIMEOUT_SECONDS)
    events_probe = TimedRpcProxy("events", timeout=READINESS_TIMEOUT_SECONDS)
