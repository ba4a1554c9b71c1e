"""The government e-bill platform (财政电子票据): once the foundation has issued a donation
receipt, the official e-bill is requested for it, and its code (票据代码), number
(票据号码) and check code (校验码) are kept on the receipt.

Provincial platforms differ in their wire formats; the interface says what the service
needs, in its words. The real adapter speaks JSON over HTTP to `EBILL_PLATFORM_ADDRESS`
(the stand-in in development and tests), signing each request with HMAC-SHA256 under
`EBILL_API_KEY`; the platform answers the same bill for the same receipt number, so a
retried request never issues two.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

SIGNATURE_HEADER = "X-Ebill-Signature"


@dataclass(frozen=True)
class EBillRequest:
    receipt_number: str
    payer_name: str
    payer_id_number: str | None
    amount_fen: int
    currency: str
    issued_on: str
    items: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class EBill:
    code: str
    number: str
    check_code: str
    issued_at: datetime

    def as_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "number": self.number,
            "check_code": self.check_code,
            "issued_at": self.issued_at.astimezone(UTC).isoformat(),
        }


class EBillUnavailable(Exception):
    """The platform could not be reached or refused the request."""


class EBillPlatform(Protocol):
    def issue(self, request: EBillRequest) -> EBill:
        """The e-bill for a receipt (the same one again for a receipt already billed)."""


def request_signature(api_key: str, body: bytes) -> str:
    return hmac.new(api_key.encode(), body, hashlib.sha256).hexdigest()


def request_body(request: EBillRequest) -> dict[str, Any]:
    return {
        "receipt_number": request.receipt_number,
        "payer_name": request.payer_name,
        "payer_id_number": request.payer_id_number,
        "amount_fen": request.amount_fen,
        "currency": request.currency,
        "issued_on": request.issued_on,
        "items": [{"name": name, "amount_fen": amount} for name, amount in request.items],
    }


class HttpEBillPlatform:
    def __init__(self, base_url: str, api_key: str, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout

    def issue(self, request: EBillRequest) -> EBill:
        import urllib.error
        import urllib.request

        body = json.dumps(request_body(request), ensure_ascii=False).encode()
        http_request = urllib.request.Request(
            f"{self.base_url}/ebills",
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                SIGNATURE_HEADER: request_signature(self.api_key, body),
            },
        )
        try:
            with urllib.request.urlopen(http_request, timeout=self.timeout) as response:
                answer = json.loads(response.read())
            return EBill(
                code=answer["bill_code"],
                number=answer["bill_number"],
                check_code=answer["check_code"],
                issued_at=datetime.fromisoformat(answer["issued_at"]),
            )
        except (urllib.error.URLError, OSError, KeyError, ValueError) as error:
            raise EBillUnavailable(f"e-bill platform: {error}") from None


@dataclass
class InMemoryEBillPlatform:
    """Issues numbered bills from memory, the same one for a receipt asked twice; `fail`
    makes it raise as an unreachable platform would."""

    fail: bool = False
    issued: dict[str, EBill] = field(default_factory=dict)
    requests: list[EBillRequest] = field(default_factory=list)

    def issue(self, request: EBillRequest) -> EBill:
        if self.fail:
            raise EBillUnavailable("the in-memory e-bill platform was told to fail")
        self.requests.append(request)
        if request.receipt_number not in self.issued:
            serial = len(self.issued) + 1
            self.issued[request.receipt_number] = EBill(
                code="11010126",
                number=f"{serial:010d}",
                check_code=hashlib.sha256(request.receipt_number.encode()).hexdigest()[:6],
                issued_at=datetime.now(UTC),
            )
        return self.issued[request.receipt_number]
