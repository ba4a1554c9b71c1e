"""Sending SMS: the interface in the shape of the Chinese providers (Aliyun, Tencent Cloud),
the real HTTP adapter, a log sink, and an in-memory fake.

Those providers take no free text: a message is a template code registered with them, its
parameters, and a signature name (短信签名) that they print as 【签名】 before the text.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger(__name__)


class SmsUnavailable(Exception):
    """The provider cannot be reached, or asked us to slow down: try again later."""


class SmsRejected(Exception):
    """The provider refused this message for good (a bad number, an unknown template)."""

    def __init__(self, message: str, bad_number: bool = False) -> None:
        super().__init__(message)
        self.bad_number = bad_number


class SmsProvider(Protocol):
    def send(
        self, phone: str, sign_name: str, template_code: str, params: dict[str, str], out_id: str
    ) -> str:
        """Hand one SMS over; the provider's id of it (BizId)."""
        ...


RETRY_CODES = {"isv.BUSINESS_LIMIT_CONTROL", "isp.SYSTEM_ERROR", "Throttling"}
BAD_NUMBER_CODES = {"isv.MOBILE_NUMBER_ILLEGAL", "isv.BLACK_KEY_CONTROL_LIMIT"}


def signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class HttpSmsProvider:
    """The real adapter: JSON over HTTP to `SendSms`, signed with the access key (HMAC-SHA256
    of the body in `Authorization: ACS <key id>:<signature>`), answers `{"Code": "OK",
    "BizId": …}` or an error code, as Aliyun's SMS API does."""

    def __init__(
        self, host: str, port: int, key_id: str, key_secret: str, timeout: float = 10.0
    ) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.key_id, self.key_secret = key_id, key_secret

    def send(
        self, phone: str, sign_name: str, template_code: str, params: dict[str, str], out_id: str
    ) -> str:
        body = json.dumps(
            {
                "PhoneNumbers": phone,
                "SignName": sign_name,
                "TemplateCode": template_code,
                "TemplateParam": json.dumps(params, ensure_ascii=False),
                "OutId": out_id,
            },
            ensure_ascii=False,
        ).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Authorization": f"ACS {self.key_id}:{signature(self.key_secret, body)}",
        }
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            connection.request("POST", "/sms/send", body=body, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        except OSError as error:
            raise SmsUnavailable(f"短信服务商不可达：{error}") from None
        finally:
            connection.close()
        if response.status >= 500:
            raise SmsUnavailable(f"短信服务商出错：HTTP {response.status}")
        try:
            answer = json.loads(raw)
        except ValueError:
            raise SmsUnavailable(f"短信服务商应答无法解析：HTTP {response.status}") from None
        code = answer.get("Code")
        if code == "OK":
            return str(answer.get("BizId", ""))
        text = f"{code}: {answer.get('Message', '')}"
        if code in RETRY_CODES:
            raise SmsUnavailable(text)
        raise SmsRejected(text, bad_number=code in BAD_NUMBER_CODES)


SECRET_PARAMS = frozenset({"code"})
"""Template parameters never written to a log: one-time codes (docs/community.md)."""


class LogSmsProvider:
    """A sink: writes each SMS to the log instead of sending it (no provider configured)."""

    def __init__(self) -> None:
        self.count = 0

    def send(
        self, phone: str, sign_name: str, template_code: str, params: dict[str, str], out_id: str
    ) -> str:
        self.count += 1
        shown = {k: ("******" if k in SECRET_PARAMS else v) for k, v in params.items()}
        log.info("SMS to %s 【%s】 %s %s (%s)", phone, sign_name, template_code, shown, out_id)
        return f"log-{out_id}"


@dataclass
class InMemorySms:
    """The fake: keeps what it was asked to send; `down=True` makes it unreachable."""

    sent: list[dict] = field(default_factory=list)
    down: bool = False

    def send(
        self, phone: str, sign_name: str, template_code: str, params: dict[str, str], out_id: str
    ) -> str:
        if self.down:
            raise SmsUnavailable("短信服务商不可达（测试）")
        self.sent.append(
            {"phone": phone, "sign_name": sign_name, "code": template_code, "params": params}
        )
        return f"fake-{len(self.sent)}"
