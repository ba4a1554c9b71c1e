"""The gateway's door: what every answer carries, and what is refused before a route runs.

nameko's web server hands each request to the route that matches it and answers anything
else with werkzeug's HTML pages. The gateway's server (`EdgeWebServer`, shared by every
gateway entrypoint) wraps that:

- a client address over its limit is refused (429 with `Retry-After`) before any work;
- an unknown path is a JSON 404, a method the path does not declare a JSON 405 whose
  `Allow` header lists the methods it does (HEAD with GET);
- a CORS preflight (`OPTIONS` with `Access-Control-Request-Method`) is answered only for
  an origin in `GATEWAY_CORS_ORIGINS` (none by default: then no CORS header is ever sent,
  and a browser on another origin cannot read an answer);
- every answer says `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`,
  `Referrer-Policy: no-referrer`, a Content-Security-Policy (the docs page's allows its
  own scripts and styles only, the portal's pages their bundled scripts, the unsubscribe
  page its inline style and its form, every other answer nothing at all), and
  `Cache-Control: no-store` unless it set its own (the docs' static files, the portal's
  pages and assets): answers carry personal data and tokens, which no browser or proxy
  cache may keep.

The rate limits are token buckets in this process: each gateway instance counts alone,
so N instances behind a balancer let N times the configured rate through.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from eventlet import wsgi
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.wrappers import Request, Response

from gateway.errors import MethodNotDeclared, RateLimited, RouteNotFound, error_response
from services.common import config
from services.common.errors import AppError

DOCS_PATH = "/docs"
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
# The small pages the gateway serves itself (the unsubscribe page): inline style, a form
# posting back to the gateway, nothing else.
PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# The portal's pages (gateway/portal.py): their own bundled scripts only; inline style
# attributes (Element Plus and Vant position popups with them); images and the camera's
# frames as blob: and data: (the QR ticket, the check-in scanner); calls to the API only.
PORTAL_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "media-src 'self' blob:; worker-src 'self' blob:; frame-src 'self' blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
PORTAL_PAGES = ("/", "/console/")
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
CORS_ALLOWED_HEADERS = "Authorization, Content-Type, Idempotency-Key"
CORS_EXPOSED_HEADERS = "Retry-After, Location"
CORS_MAX_AGE_SECONDS = "600"
# Buckets kept per limit before the full (idle) ones are dropped: bounds the memory a
# flood of distinct addresses can take.
MAX_BUCKETS = 50_000


class TokenBucket:
    """Many buckets of one size: each key may spend `burst` requests at once and gets
    `rate` back per second. `rate` 0 turns the limit off."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.burst = max(burst, 1.0)
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Spend one request of `key`'s bucket: 0 when it may go on, else the seconds
        until it may."""
        if self.rate <= 0:
            return 0.0
        now = self.clock()
        with self._lock:
            tokens, then = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                return (1 - tokens) / self.rate
            self._buckets[key] = (tokens - 1, now)
            if len(self._buckets) > MAX_BUCKETS:
                self._forget_full(now)
            return 0.0

    def _forget_full(self, now: float) -> None:
        full_after = self.burst / self.rate
        self._buckets = {
            key: (tokens, then)
            for key, (tokens, then) in self._buckets.items()
            if now - then < full_after
        }


def rate_limited(retry_after: float, scope: str) -> RateLimited:
    seconds = max(1, math.ceil(retry_after))
    return RateLimited(
        f"请求过于频繁，请 {seconds} 秒后再试。",
        {"retry_after_seconds": seconds, "scope": scope},
        reason="rate_limited",
    )


class EdgeLimits:
    """The gateway's per-client-address and per-account limits, from configuration."""

    def __init__(self, settings) -> None:
        self.by_address = TokenBucket(
            config.get_float("GATEWAY_RATE_PER_ADDRESS", settings),
            config.get_float("GATEWAY_BURST_PER_ADDRESS", settings),
        )
        self.by_account = TokenBucket(
            config.get_float("GATEWAY_RATE_PER_ACCOUNT", settings),
            config.get_float("GATEWAY_BURST_PER_ACCOUNT", settings),
        )

    def check_address(self, address: str) -> None:
        wait = self.by_address.take(address)
        if wait:
            raise rate_limited(wait, "address")

    def check_account(self, account_id: str) -> None:
        wait = self.by_account.take(account_id)
        if wait:
            raise rate_limited(wait, "account")


def configured_list(name: str, settings) -> list[str]:
    return [item.strip() for item in (config.get(name, settings) or "").split(",") if item.strip()]


def trusted_networks(entries: Iterable[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(entry, strict=False) for entry in entries]


def client_address(environ: dict, trusted: list) -> str:
    """The caller's address: the peer's, or, when the peer is a trusted proxy, the last
    address of the `X-Forwarded-For` it set (the one it saw; earlier ones the client may
    have written itself)."""
    peer = environ.get("REMOTE_ADDR") or ""
    forwarded = environ.get("HTTP_X_FORWARDED_FOR")
    if not forwarded or not trusted:
        return peer
    try:
        peer_ip = ipaddress.ip_address(peer)
    except ValueError:
        return peer
    if not any(peer_ip in network for network in trusted):
        return peer
    last = forwarded.split(",")[-1].strip()
    try:
        return str(ipaddress.ip_address(last))
    except ValueError:
        return peer


class EdgeApp(WsgiApp):
    def __init__(self, server: EdgeWebServer) -> None:
        super().__init__(server)
        settings = server.container.config
        self.limits: EdgeLimits = server.limits
        self.cors_origins = set(configured_list("GATEWAY_CORS_ORIGINS", settings))
        self.trusted = trusted_networks(configured_list("GATEWAY_TRUSTED_PROXIES", settings))

    def __call__(self, environ, start_response):
        request = Request(environ, shallow=True)
        origin = request.headers.get("Origin")
        allowed_origin = origin if origin in self.cors_origins else None
        adapter = self.url_map.bind_to_environ(environ)
        try:
            self.limits.check_address(client_address(environ, self.trusted))
            if (
                allowed_origin
                and request.method == "OPTIONS"
                and "Access-Control-Request-Method" in request.headers
            ):
                response = preflight(adapter.allowed_methods())
            else:
                provider, values = adapter.match()
                request.path_values = values
                response = provider.handle_request(request)
        except NotFound:
            response = error_response(RouteNotFound("没有这个接口。", {"path": request.path}))
        except MethodNotAllowed as exc:
            allowed = sorted(exc.valid_methods or ())
            response = error_response(
                MethodNotDeclared(
                    f"此接口不支持 {request.method} 方法。",
                    {"allowed_methods": allowed},
                    reason="method_not_allowed",
                )
            )
            response.headers["Allow"] = ", ".join(allowed)
        except (AppError, HTTPException) as exc:
            response = error_response(exc)
        harden(response, request.path, allowed_origin)
        return response(environ, start_response)


def preflight(methods: Iterable[str]) -> Response:
    methods = sorted(methods)
    if not methods:
        return error_response(RouteNotFound("没有这个接口。"))
    return Response(
        status=204,
        headers={
            "Access-Control-Allow-Methods": ", ".join(methods),
            "Access-Control-Allow-Headers": CORS_ALLOWED_HEADERS,
            "Access-Control-Max-Age": CORS_MAX_AGE_SECONDS,
        },
    )


def harden(response: Response, path: str, allowed_origin: str | None) -> None:
    headers = response.headers
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "no-referrer"
    if path == DOCS_PATH:
        headers["Content-Security-Policy"] = DOCS_CSP
    elif path in PORTAL_PAGES and response.mimetype == "text/html":
        headers["Content-Security-Policy"] = PORTAL_CSP
    elif response.mimetype == "text/html":
        headers["Content-Security-Policy"] = PAGE_CSP
    else:
        headers["Content-Security-Policy"] = API_CSP
    headers.setdefault("Cache-Control", "no-store")
    if allowed_origin:
        headers["Access-Control-Allow-Origin"] = allowed_origin
        headers["Access-Control-Expose-Headers"] = CORS_EXPOSED_HEADERS
    # The answer depends on Origin either way (CORS headers or none), so caches keep apart.
    headers.add("Vary", "Origin")


class EdgeWebServer(WebServer):
    """nameko's web server with the gateway's door in front of the routes."""

    def setup(self) -> None:
        super().setup()
        self.limits = EdgeLimits(self.container.config)

    def get_wsgi_app(self) -> EdgeApp:
        return EdgeApp(self)

    def get_wsgi_server(self, *args: Any, **kwargs: Any) -> wsgi.Server:
        server = super().get_wsgi_server(*args, **kwargs)
        # Only the line per request; eventlet's errors still go to the same logger.
        server.log_output = config.get_flag("GATEWAY_ACCESS_LOG", self.container.config)
        return server


class EdgeHttp(HttpRequestHandler):
    """nameko's `http` entrypoint on the gateway's server (every gateway entrypoint must be
    on the one server: two would try to bind the same port)."""

    server = EdgeWebServer()


edge_http = EdgeHttp.decorator
