"""The portal's pages and assets (gateway/portal.py): the alumni site at `/`, the staff
console at `/console/`."""

from __future__ import annotations

from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from gateway.edge import edge_http
from gateway.portal import portal_asset, portal_page


class PortalRoutes:
    @edge_http("GET", "/")
    def portal_site(self, request: Request) -> Response:
        return portal_page("site")

    @edge_http("GET", "/console")
    def portal_console_bare(self, request: Request) -> Response:
        return redirect("/console/", code=308)

    @edge_http("GET", "/console/")
    def portal_console(self, request: Request) -> Response:
        return portal_page("console")

    @edge_http("GET", "/assets/<path:name>")
    def portal_assets(self, request: Request, name: str) -> Response:
        return portal_asset(name)
