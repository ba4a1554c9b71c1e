"""The gateway service: the platform's routes, and one RPC proxy per service of the catalogue.

Routes live in one mixin per area: the gateway's own (gateway/routes/operations.py,
gateway/routes/auth.py) and, for each service of the catalogue that answers RPC, the
class `Routes` of `gateway.routes.<service>` when that module exists. Each route
module reaches its service through the attribute of the service's name (`self.registry`,
`self.events`, …); readiness probes use `<name>_probe`, with a shorter deadline. nameko
collects the entrypoints and dependencies a class inherits, so the class is built once,
here, from the catalogue. The mixins are imported by name, not into this module: `nameko
run gateway.service` runs every class of this module that has entrypoints, and it must
find one only.
"""

from __future__ import annotations

import importlib
import importlib.util

from nameko.dependency_providers import Config

from gateway.routes import auth as auth_routes
from gateway.routes import operations as operations_routes
from gateway.routes import portal as portal_routes
from gateway.routes import rights as rights_routes
from services.common import catalogue
from services.common.rpc import TimedRpcProxy

READINESS_TIMEOUT_SECONDS = operations_routes.READINESS_TIMEOUT_SECONDS


def service_route_mixins() -> list[type]:
    mixins = []
    for entry in catalogue.rpc_services():
        module_name = f"gateway.routes.{entry.name}"
        if importlib.util.find_spec(module_name) is not None:
            mixins.append(importlib.import_module(module_name).Routes)
    return mixins


def rpc_dependencies() -> dict[str, TimedRpcProxy]:
    proxies: dict[str, TimedRpcProxy] = {}
    for entry in catalogue.rpc_services():
        proxies[entry.name] = TimedRpcProxy(entry.name, for_principal=True)
        proxies[operations_routes.probe_name(entry.name)] = TimedRpcProxy(
            entry.name, timeout=READINESS_TIMEOUT_SECONDS
        )
    return proxies


GatewayService = type(
    "GatewayService",
    (
        operations_routes.OperationsRoutes,
        auth_routes.AuthRoutes,
        rights_routes.RightsRoutes,
        portal_routes.PortalRoutes,
        *service_route_mixins(),
    ),
    {
        "__module__": __name__,
        "__doc__": "The HTTP gateway: every route, one RPC proxy per service.",
        "name": "gateway",
        "config": Config(),
        **rpc_dependencies(),
    },
)
