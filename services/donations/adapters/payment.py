"""The payment provider of online giving, in the shape of WeChat Pay's API v3 (Native Pay).

The flow: the platform creates an order (`POST /v3/pay/transactions/native` with its own
order number `out_trade_no`, the amount in fen, an expiry and the URL to notify) and
gets the `code_url` the donor's QR code holds; the donor pays in their app; the provider
sends a **signed asynchronous notification** to `notify_url` and retries it on a
schedule until the platform answers 200 `{"code": "SUCCESS"}`; unpaid orders are closed
(`POST /v3/pay/transactions/out-trade-no/{no}/close`).

Signatures and the encrypted resource follow API v3: the signed message is
`timestamp\\nnonce\\nbody\\n` (headers `Wechatpay-Timestamp`, `Wechatpay-Nonce`,
`Wechatpay-Signature`), the transaction travels AEAD_AES_256_GCM-encrypted in
`resource`. Where WeChat Pay signs with RSA certificates, this adapter signs with
HMAC-SHA256 under a key derived from the merchant's API key (`PAYMENT_API_KEY`): the
same shape and the same checks (signature, freshness, decryption), with one shared
secret instead of a certificate chain; a certificate-based provider changes
`NotificationVerifier` only. Requests to the provider are signed the same way
(`Authorization: ALUMNI-HMAC-SHA256 ...` over `method\\npath\\ntimestamp\\nnonce\\nbody\\n`).

Three parts (docs/architecture.md, "Outside systems"): the interface `PaymentProvider`,
the real adapter `HttpPaymentProvider`, the fake `InMemoryPaymentProvider`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NOTIFICATION_MAX_SKEW_SECONDS = 300
TIMESTAMP = "wechatpay-timestamp"
NONCE = "wechatpay-nonce"
SIGNATURE = "wechatpay-signature"
SERIAL = "wechatpay-serial"
AUTH_SCHEME = "ALUMNI-HMAC-SHA256"
SUCCESS = "SUCCESS"


@dataclass(frozen=True)
class ProviderOrder:
    out_trade_no: str
    description: str
    amount_fen: int
    currency: str
    notify_url: str
    expires_at: datetime


@dataclass(frozen=True)
class PaymentNotice:
    """A verified notification: what the provider says happened to one order."""

    out_trade_no: str
    transaction_id: str
    trade_state: str
    amount_fen: int
    currency: str
    success_time: datetime | None


class BadNotification(Exception):
    """A notification that is not the provider's: bad signature, stale, or unreadable."""


class ProviderUnavailable(Exception):
    """The provider could not be reached or refused the request."""


class PaymentProvider(Protocol):
    name: str

    def create_order(self, order: ProviderOrder) -> str:
        """Create the order at the provider; returns the `code_url` for the donor's QR code."""

    def close_order(self, out_trade_no: str) -> None:
        """Close an unpaid order, so it can no longer be paid."""

    def verify_notification(self, headers: Mapping[str, str], body: bytes) -> PaymentNotice:
        """The notice in a notification, or BadNotification."""


# ---- the signature scheme (shared by the adapter, the fake and the stand-in) -------------


def derived_keys(api_key: str) -> tuple[bytes, bytes]:
    """(signing key, resource encryption key) from the merchant's API key."""
    secret = api_key.encode()
    return (
        hmac.new(secret, b"alumni-payment-sign", hashlib.sha256).digest(),
        hmac.new(secret, b"alumni-payment-resource", hashlib.sha256).digest(),
    )


def sign(signing_key: bytes, *parts: str) -> str:
    message = "".join(f"{part}\n" for part in parts)
    return base64.b64encode(
        hmac.new(signing_key, message.encode(), hashlib.sha256).digest()
    ).decode()


def seal_resource(resource_key: bytes, transaction: dict[str, Any]) -> dict[str, str]:
    nonce = base64.b64encode(os.urandom(9)).decode()  # 12 characters, as API v3's are
    sealed = AESGCM(resource_key).encrypt(
        nonce.encode(), json.dumps(transaction, ensure_ascii=False).encode(), b"transaction"
    )
    return {
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": base64.b64encode(sealed).decode(),
        "associated_data": "transaction",
        "original_type": "transaction",
        "nonce": nonce,
    }


def signed_notification(
    api_key: str, transaction: dict[str, Any], timestamp: int | None = None
) -> tuple[dict[str, str], bytes]:
    """Headers and body of a notification of `transaction`, as the provider sends it."""
    signing_key, resource_key = derived_keys(api_key)
    body = json.dumps(
        {
            "id": str(uuid.uuid4()),
            "create_time": datetime.now().astimezone().isoformat(timespec="seconds"),
            "resource_type": "encrypt-resource",
            "event_type": "TRANSACTION." + transaction.get("trade_state", SUCCESS),
            "summary": "支付成功",
            "resource": seal_resource(resource_key, transaction),
        },
        ensure_ascii=False,
    ).encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = uuid.uuid4().hex
    headers = {
        "Wechatpay-Timestamp": stamp,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": sign(signing_key, stamp, nonce, body.decode()),
        "Wechatpay-Serial": "alumni-standin-1",
    }
    return headers, body


class NotificationVerifier:
    """Checks a notification's signature and freshness and opens its resource."""

    def __init__(self, api_key: str) -> None:
        self._signing_key, self._resource_key = derived_keys(api_key)

    def verify(
        self, headers: Mapping[str, str], body: bytes, now: float | None = None
    ) -> PaymentNotice:
        lowered = {name.lower(): value for name, value in headers.items()}
        stamp, nonce, signature = (lowered.get(h) for h in (TIMESTAMP, NONCE, SIGNATURE))
        if not (stamp and nonce and signature):
            raise BadNotification("missing signature headers")
        try:
            text = body.decode()
            skew = abs((time.time() if now is None else now) - int(stamp))
        except (UnicodeDecodeError, ValueError):
            raise BadNotification("unreadable timestamp or body") from None
        expected = sign(self._signing_key, stamp, nonce, text)
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise BadNotification("bad signature")
        if skew > NOTIFICATION_MAX_SKEW_SECONDS:
            raise BadNotification("stale timestamp")
        try:
            resource = json.loads(text)["resource"]
            plain = AESGCM(self._resource_key).decrypt(
                resource["nonce"].encode(),
                base64.b64decode(resource["ciphertext"]),
                resource.get("associated_data", "").encode(),
            )
            transaction = json.loads(plain)
            amount = transaction["amount"]
            success_time = transaction.get("success_time")
            return PaymentNotice(
                out_trade_no=str(transaction["out_trade_no"]),
                transaction_id=str(transaction["transaction_id"]),
                trade_state=str(transaction["trade_state"]),
                amount_fen=_integer(amount["total"]),
                currency=str(amount.get("currency", "CNY")),
                success_time=datetime.fromisoformat(success_time) if success_time else None,
            )
        except (KeyError, TypeError, ValueError, InvalidTag):
            raise BadNotification("unreadable resource") from None


def _integer(value: Any) -> int:
    if type(value) is not int:
        raise ValueError("amounts are integers of fen")
    return value


# ---- the real adapter -----------------------------------------------------------------


class HttpPaymentProvider:
    """API v3 over HTTP (the stand-in in development and tests, the provider in production)."""

    def __init__(
        self,
        base_url: str,
        mchid: str,
        appid: str,
        api_key: str,
        name: str = "wechat_pay",
        timeout: float = 5.0,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.mchid = mchid
        self.appid = appid
        self.timeout = timeout
        self._signing_key, _ = derived_keys(api_key)
        self._verifier = NotificationVerifier(api_key)

    def create_order(self, order: ProviderOrder) -> str:
        answer = self._call(
            "POST",
            "/v3/pay/transactions/native",
            {
                "appid": self.appid,
                "mchid": self.mchid,
                "description": order.description,
                "out_trade_no": order.out_trade_no,
                "time_expire": order.expires_at.isoformat(timespec="seconds"),
                "notify_url": order.notify_url,
                "amount": {"total": order.amount_fen, "currency": order.currency},
            },
        )
        if not isinstance(answer, dict) or not answer.get("code_url"):
            raise ProviderUnavailable("no code_url in the provider's answer")
        return answer["code_url"]

    def close_order(self, out_trade_no: str) -> None:
        self._call(
            "POST", f"/v3/pay/transactions/out-trade-no/{out_trade_no}/close", {"mchid": self.mchid}
        )

    def verify_notification(self, headers: Mapping[str, str], body: bytes) -> PaymentNotice:
        return self._verifier.verify(headers, body)

    def _call(self, method: str, path: str, payload: dict[str, Any]) -> Any:
        import urllib.error
        import urllib.request

        body = json.dumps(payload, ensure_ascii=False)
        stamp, nonce = str(int(time.time())), uuid.uuid4().hex
        signature = sign(self._signing_key, method, path, stamp, nonce, body)
        request = urllib.request.Request(
            self.base_url + path,
            data=body.encode(),
            method=method,
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "Authorization": f'{AUTH_SCHEME} mchid="{self.mchid}",nonce_str="{nonce}",'
                f'timestamp="{stamp}",signature="{signature}"',
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except (urllib.error.URLError, OSError) as error:
            raise ProviderUnavailable(f"{method} {path}: {error}") from None
        return json.loads(raw) if raw else None


# ---- the fake -----------------------------------------------------------------------------


@dataclass
class InMemoryPaymentProvider:
    """Keeps the orders it was given and closes; `fail` makes every call raise as an
    unreachable provider would; `notify(...)` makes a notification signed as the provider's."""

    api_key: str = "in-memory-payment-key"
    name: str = "wechat_pay"
    fail: bool = False
    orders: dict[str, ProviderOrder] = field(default_factory=dict)
    closed: list[str] = field(default_factory=list)

    def create_order(self, order: ProviderOrder) -> str:
        self._maybe_fail()
        self.orders[order.out_trade_no] = order
        return f"weixin://wxpay/bizpayurl?pr={order.out_trade_no}"

    def close_order(self, out_trade_no: str) -> None:
        self._maybe_fail()
        self.closed.append(out_trade_no)

    def verify_notification(self, headers: Mapping[str, str], body: bytes) -> PaymentNotice:
        return NotificationVerifier(self.api_key).verify(headers, body)

    def notify(
        self, out_trade_no: str, amount_fen: int, paid_at: datetime, state: str = SUCCESS
    ) -> tuple[dict[str, str], bytes]:
        return signed_notification(
            self.api_key, transaction(out_trade_no, amount_fen, paid_at, state)
        )

    def _maybe_fail(self) -> None:
        if self.fail:
            raise ProviderUnavailable("the in-memory provider was told to fail")


def transaction(
    out_trade_no: str, amount_fen: int, paid_at: datetime, state: str = SUCCESS
) -> dict[str, Any]:
    """The transaction a notification reports (API v3's decrypted `resource`)."""
    return {
        "mchid": "1900000001",
        "appid": "wx0000000000000000",
        "out_trade_no": out_trade_no,
        "transaction_id": "4200" + uuid.uuid4().hex[:24],
        "trade_type": "NATIVE",
        "trade_state": state,
        "trade_state_desc": "支付成功" if state == SUCCESS else state,
        "success_time": paid_at.isoformat(timespec="seconds"),
        "payer": {"openid": "o" + uuid.uuid4().hex[:27]},
        "amount": {
            "total": amount_fen,
            "payer_total": amount_fen,
            "currency": "CNY",
            "payer_currency": "CNY",
        },
    }
