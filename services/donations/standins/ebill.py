"""A local stand-in for the government e-bill platform (财政电子票据), as its own process:

    python -m services.donations.standins.ebill     (on EBILL_PLATFORM_ADDRESS)

`POST /ebills` (signed with `EBILL_API_KEY`, header `X-Ebill-Signature`) issues a bill
for a receipt: a bill code (票据代码), a ten-digit number (票据号码) from its own counter and
a six-character check code (校验码); the same receipt number gets the same bill again.
`GET /ebills` lists what it issued, for tests.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from datetime import UTC, datetime
from typing import Any

from services.common import config
from services.common.standin import JsonHandler, serve
from services.donations.adapters.ebill import SIGNATURE_HEADER, request_signature

ADDRESS_SETTING = "EBILL_PLATFORM_ADDRESS"
BILL_CODE = "11010126"


class Platform:
    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.bills: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def issue(self, request: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.requests.append(request)
            number = request["receipt_number"]
            if number not in self.bills:
                self.bills[number] = {
                    "receipt_number": number,
                    "bill_code": BILL_CODE,
                    "bill_number": f"{len(self.bills) + 1:010d}",
                    "check_code": hashlib.sha256(f"{number}:{self.api_key}".encode())
                    .hexdigest()[:6]
                    .upper(),
                    "issued_at": datetime.now(UTC).isoformat(),
                }
            return self.bills[number]


class Handler(JsonHandler):
    platform: Platform

    def do_GET(self) -> None:
        if self.path == "/health":
            return self.answer(200, {"status": "ok"})
        if self.path == "/ebills":
            with self.platform.lock:
                return self.answer(
                    200,
                    {
                        "bills": list(self.platform.bills.values()),
                        "requests": self.platform.requests,
                    },
                )
        self.answer(404, {"code": "NOT_FOUND"})

    def do_POST(self) -> None:
        raw = self.raw_body()
        if self.path != "/ebills":
            return self.answer(404, {"code": "NOT_FOUND"})
        expected = request_signature(self.platform.api_key, raw)
        if not hmac.compare_digest(expected, self.headers.get(SIGNATURE_HEADER) or ""):
            return self.answer(401, {"code": "SIGN_ERROR", "message": "签名错误"})
        request = self.json_body(raw)
        if not request.get("receipt_number") or type(request.get("amount_fen")) is not int:
            return self.answer(400, {"code": "PARAM_ERROR", "message": "参数错误"})
        self.answer(200, self.platform.issue(request))


def main() -> None:
    Handler.platform = Platform(config.secret("EBILL_API_KEY"))
    serve(ADDRESS_SETTING, Handler)


if __name__ == "__main__":
    main()
