"""A local stand-in for the payment provider (WeChat Pay API v3 shape), as its own process:

    python -m services.donations.standins.payment     (on PAYMENT_PROVIDER_ADDRESS)

What the provider does:
- `POST /v3/pay/transactions/native` (signed by the merchant) creates an order and
  answers its `code_url`; `POST /v3/pay/transactions/out-trade-no/{no}/close` closes an
  unpaid one; `GET /v3/pay/transactions/out-trade-no/{no}` says what became of it.
- When the donor pays, it sends the signed notification to the order's `notify_url` and,
  as real providers do, retries it on a schedule (`PAYMENT_STANDIN_RETRY_SECONDS`, e.g.
  `1,2,4,8,16`; WeChat Pay's own is 15 s, 15 s, 30 s, 3 min, … over 24 h) until the
  answer is 200 with `{"code": "SUCCESS"}`.

What stands in for the donor and for the faults a test needs:
- `POST /standin/pay/{no}` pays an order: `{"repeat": n}` delivers the notification n
  times (as when answers get lost), `"concurrent": true` all at once; `"amount_fen"`
  reports another amount than ordered; `"signature": "bad"` signs with a wrong key; for
  an order it never saw, `"notify_url"` and `"amount_fen"` say where and how much.
  A closed or expired order cannot be paid (409).
- `GET /standin/notifications?out_trade_no=` lists every delivery attempt and its answer.
"""

from __future__ import annotations

import hmac
import json
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

from services.common import config
from services.common.chinatime import CHINA_TZ
from services.common.standin import JsonHandler, serve
from services.donations.adapters.payment import (
    AUTH_SCHEME,
    SUCCESS,
    derived_keys,
    sign,
    signed_notification,
    transaction,
)

ADDRESS_SETTING = "PAYMENT_PROVIDER_ADDRESS"
ORDER_PATH = re.compile(r"^/v3/pay/transactions/out-trade-no/([A-Za-z0-9_-]{6,32})(/close)?$")
PAY_PATH = re.compile(r"^/standin/pay/([A-Za-z0-9_-]{6,32})$")
AUTH_FIELD = re.compile(r'(\w+)="([^"]*)"')
NOTIFY_TIMEOUT_SECONDS = 10


class Provider:
    """The stand-in's state: orders by `out_trade_no`, and the log of delivery attempts."""

    def __init__(self, api_key: str, retry_delays: list[float]) -> None:
        self.api_key = api_key
        self.signing_key, _ = derived_keys(api_key)
        self.retry_delays = retry_delays
        self.orders: dict[str, dict[str, Any]] = {}
        self.attempts: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def deliver(self, order: dict[str, Any], number: int, amount_fen: int, good: bool) -> None:
        """One notification, retried until the merchant answers SUCCESS or the schedule ends."""
        record = transaction(order["out_trade_no"], amount_fen, order["paid_at"])
        record["transaction_id"] = order["transaction_id"]
        for attempt, delay in enumerate([0.0, *self.retry_delays], start=1):
            time.sleep(delay)
            key = self.api_key if good else "not-the-merchant-key"
            headers, body = signed_notification(key, record)
            status, code = _post(order["notify_url"], headers, body)
            with self.lock:
                self.attempts.append(
                    {
                        "out_trade_no": order["out_trade_no"],
                        "delivery": number,
                        "attempt": attempt,
                        "status": status,
                        "code": code,
                    }
                )
            if status == 200 and code == SUCCESS:
                return


def _post(url: str, headers: dict[str, str], body: bytes) -> tuple[int, str | None]:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={**headers, "Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=NOTIFY_TIMEOUT_SECONDS) as response:
            return response.status, _code(response.read())
    except urllib.error.HTTPError as error:
        return error.code, _code(error.read())
    except (urllib.error.URLError, OSError):
        return 0, None


def _code(raw: bytes) -> str | None:
    try:
        answer = json.loads(raw)
    except ValueError:
        return None
    return answer.get("code") if isinstance(answer, dict) else None


class Handler(JsonHandler):
    provider: Provider

    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path == "/health":
            return self.answer(200, {"status": "ok"})
        if url.path == "/standin/notifications":
            wanted = parse_qs(url.query).get("out_trade_no", [None])[0]
            with self.provider.lock:
                attempts = [
                    a for a in self.provider.attempts if wanted in (None, a["out_trade_no"])
                ]
            return self.answer(200, {"attempts": attempts})
        match = ORDER_PATH.match(url.path)
        if match and not match.group(2):
            order = self.provider.orders.get(match.group(1))
            if order is None:
                return self.answer(404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"})
            return self.answer(200, _public(order))
        self.answer(404, {"code": "NOT_FOUND", "message": "no such path"})

    def do_POST(self) -> None:
        raw = self.raw_body()
        path = urlparse(self.path).path
        if path.startswith("/standin/pay/"):
            return self._pay(path, raw)
        if not self._signed_by_merchant(path, raw):
            return self.answer(401, {"code": "SIGN_ERROR", "message": "签名错误"})
        if path == "/v3/pay/transactions/native":
            return self._create(self.json_body(raw))
        match = ORDER_PATH.match(path)
        if match and match.group(2):
            return self._close(match.group(1))
        self.answer(404, {"code": "NOT_FOUND", "message": "no such path"})

    def _signed_by_merchant(self, path: str, raw: bytes) -> bool:
        scheme, _, fields = (self.headers.get("Authorization") or "").partition(" ")
        values = dict(AUTH_FIELD.findall(fields))
        if scheme != AUTH_SCHEME or not {"timestamp", "nonce_str", "signature"} <= set(values):
            return False
        expected = sign(
            self.provider.signing_key,
            "POST",
            path,
            values["timestamp"],
            values["nonce_str"],
            raw.decode(),
        )
        return hmac.compare_digest(expected, values["signature"])

    def _create(self, body: dict[str, Any]) -> None:
        number = body.get("out_trade_no")
        amount = (body.get("amount") or {}).get("total")
        if not number or type(amount) is not int or amount <= 0 or not body.get("notify_url"):
            return self.answer(400, {"code": "PARAM_ERROR", "message": "参数错误"})
        with self.provider.lock:
            if number in self.provider.orders:
                return self.answer(400, {"code": "ORDERNO_USED", "message": "商户订单号重复"})
            self.provider.orders[number] = {
                "out_trade_no": number,
                "amount_fen": amount,
                "notify_url": body["notify_url"],
                "time_expire": datetime.fromisoformat(body["time_expire"]),
                "trade_state": "NOTPAY",
                "transaction_id": None,
                "paid_at": None,
            }
        self.answer(200, {"code_url": f"weixin://wxpay/bizpayurl?pr={uuid.uuid4().hex[:12]}"})

    def _close(self, number: str) -> None:
        with self.provider.lock:
            order = self.provider.orders.get(number)
            if order is None:
                return self.answer(404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"})
            if order["trade_state"] == SUCCESS:
                return self.answer(400, {"code": "ORDERPAID", "message": "订单已支付"})
            order["trade_state"] = "CLOSED"
        self.answer(204)

    def _pay(self, path: str, raw: bytes) -> None:
        match = PAY_PATH.match(path)
        if match is None:
            return self.answer(404, {"code": "NOT_FOUND", "message": "no such path"})
        body = self.json_body(raw)
        number = match.group(1)
        now = datetime.now(UTC)
        with self.provider.lock:
            order = self.provider.orders.get(number)
            if order is None:
                if not body.get("notify_url") or type(body.get("amount_fen")) is not int:
                    return self.answer(404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"})
                order = {
                    "out_trade_no": number,
                    "amount_fen": body["amount_fen"],
                    "notify_url": body["notify_url"],
                    "time_expire": now,
                    "trade_state": "NOTPAY",
                }
                self.provider.orders[number] = order
            elif order["trade_state"] == "CLOSED" or order["time_expire"] < now:
                return self.answer(409, {"code": "ORDER_CLOSED", "message": "订单已关闭"})
            order["trade_state"] = SUCCESS
            order["transaction_id"] = order.get("transaction_id") or "4200" + uuid.uuid4().hex[:24]
            order["paid_at"] = order.get("paid_at") or now.astimezone(CHINA_TZ)
        amount = body.get("amount_fen", order["amount_fen"])
        good = body.get("signature", "good") != "bad"
        repeat = max(1, int(body.get("repeat", 1)))
        jobs = [
            lambda n=n: self.provider.deliver(order, n, amount, good) for n in range(1, repeat + 1)
        ]
        if body.get("concurrent"):
            for job in jobs:
                threading.Thread(target=job, daemon=True).start()
        else:
            threading.Thread(target=lambda: [job() for job in jobs], daemon=True).start()
        self.answer(
            202,
            {
                "out_trade_no": number,
                "transaction_id": order["transaction_id"],
                "deliveries": repeat,
            },
        )


def _public(order: dict[str, Any]) -> dict[str, Any]:
    return {
        "out_trade_no": order["out_trade_no"],
        "transaction_id": order.get("transaction_id"),
        "trade_state": order["trade_state"],
        "amount": {"total": order["amount_fen"], "currency": "CNY"},
    }


def main() -> None:
    delays = config.get("PAYMENT_STANDIN_RETRY_SECONDS") or ""
    Handler.provider = Provider(
        config.secret("PAYMENT_API_KEY"), [float(d) for d in delays.split(",") if d.strip()]
    )
    serve(ADDRESS_SETTING, Handler)


if __name__ == "__main__":
    main()
