"""What local stand-ins for outside systems share: a small threaded JSON-over-HTTP server.

A stand-in (services/common/catalogue.py `STAND_INS`) plays an outside system — a payment
provider, the e-bill platform, an SMS gateway — as its own process, so that a service
talks to it through its real adapter, over the network. It listens on the "host:port" of
its address setting, which the test fixtures move to a free port.

    class Handler(JsonHandler):
        def do_POST(self):
            self.answer(200, {"ok": True, "got": self.json_body()})

    serve("PAYMENT_PROVIDER_ADDRESS", Handler)

Standard library only: stand-ins run without the platform's framework.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from services.common import config

log = logging.getLogger("standin")


class JsonHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def raw_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def json_body(self, raw: bytes | None = None) -> Any:
        raw = self.raw_body() if raw is None else raw
        return json.loads(raw) if raw else {}

    def answer(self, status: int, payload: Any = None) -> None:
        body = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        if body:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the stdlib's name)
        log.info("%s %s", self.address_string(), format % args)


def serve(address_setting: str, handler: type[BaseHTTPRequestHandler]) -> None:
    """Serve `handler` on the address in `address_setting` until SIGTERM or Ctrl-C."""
    logging.basicConfig(level=config.get("LOG_LEVEL") or "INFO", stream=sys.stdout)
    host, _, port = (config.get(address_setting) or "").rpartition(":")
    server = ThreadingHTTPServer((host or "127.0.0.1", int(port)), handler)
    server.daemon_threads = True

    def stop(_signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    log.info("stand-in listening on %s:%s", host, port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
