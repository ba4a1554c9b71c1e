"""A development SMS provider in the shape of the Chinese ones: `POST /sms/send` takes a
signed request with a phone number, a signature name (短信签名), a registered template code
and its parameters, checks them as a provider would, and answers `{"Code": "OK", "BizId"}`
or an error code. Nothing is sent: each message is kept in memory and appended to
`<ALUMNI_VAR_DIR>/sms/messages.jsonl`; `GET /messages` lists them (JSON).

    python -m services.notify.standins.smsgateway      # listens on NOTIFY_SMS_ADDRESS
"""

from __future__ import annotations

import contextlib
import hmac
import json
import re
import threading
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from services.common import config
from services.notify.adapters.sms import signature

PHONE = re.compile(r"^1[3-9]\d{9}$")
TEMPLATE_CODE = re.compile(r"^SMS_\d{4,}$")
PARAM_MAX_CHARS = 35


class Gateway(BaseHTTPRequestHandler):
    received: list[dict] = []
    lock = threading.Lock()
    key_id = ""
    key_secret = ""

    def do_POST(self) -> None:  # noqa: N802  (http.server's naming)
        if self.path != "/sms/send":
            self._answer(404, {"Code": "NotFound", "Message": "没有这个接口"})
            return
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        scheme, _, credentials = (self.headers.get("Authorization") or "").partition(" ")
        key_id, _, given = credentials.partition(":")
        if (
            scheme != "ACS"
            or key_id != self.key_id
            or not hmac.compare_digest(given, signature(self.key_secret, body))
        ):
            self._answer(403, {"Code": "SignatureDoesNotMatch", "Message": "签名不符"})
            return
        try:
            request = json.loads(body)
            params = json.loads(request["TemplateParam"])
        except (ValueError, KeyError, TypeError):
            self._answer(400, {"Code": "isv.INVALID_JSON_PARAM", "Message": "参数格式错误"})
            return
        code = self._refusal(request, params)
        if code:
            self._answer(200, {"Code": code, "Message": code})
            return
        record = {
            "biz_id": uuid.uuid4().hex,
            "phone": request["PhoneNumbers"],
            "sign_name": request["SignName"],
            "template_code": request["TemplateCode"],
            "params": params,
            "out_id": request.get("OutId"),
            "received_at": datetime.now(UTC).isoformat(),
        }
        with self.lock:
            self.received.append(record)
            with (config.var_dir() / "sms" / "messages.jsonl").open("a", encoding="utf-8") as log:
                log.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._answer(
            200,
            {
                "Code": "OK",
                "Message": "OK",
                "BizId": record["biz_id"],
                "RequestId": uuid.uuid4().hex,
            },
        )

    @staticmethod
    def _refusal(request: dict, params: object) -> str | None:
        if not PHONE.match(str(request.get("PhoneNumbers", ""))):
            return "isv.MOBILE_NUMBER_ILLEGAL"
        if not str(request.get("SignName", "")).strip():
            return "isv.SMS_SIGNATURE_ILLEGAL"
        if not TEMPLATE_CODE.match(str(request.get("TemplateCode", ""))):
            return "isv.SMS_TEMPLATE_ILLEGAL"
        if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
            return "isv.INVALID_JSON_PARAM"
        if any(len(v) > PARAM_MAX_CHARS for v in params.values()):
            return "isv.PARAM_LENGTH_LIMIT"
        return None

    def do_GET(self) -> None:  # noqa: N802
        url = urlparse(self.path)
        if url.path != "/messages":
            self._answer(404, {"Code": "NotFound", "Message": "没有这个接口"})
            return
        phone = parse_qs(url.query).get("phone", [None])[0]
        with self.lock:
            items = [r for r in self.received if phone is None or r["phone"] == phone]
        self._answer(200, {"items": items})

    def _answer(self, status: int, payload: dict) -> None:
        content = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass


def main() -> None:
    config.private_files()
    (config.var_dir() / "sms").mkdir(parents=True, exist_ok=True)
    Gateway.key_id = config.get("NOTIFY_SMS_ACCESS_KEY_ID") or ""
    Gateway.key_secret = config.secret("NOTIFY_SMS_ACCESS_KEY_SECRET")
    host, _, port = (config.get("NOTIFY_SMS_ADDRESS") or "").rpartition(":")
    server = ThreadingHTTPServer((host or "127.0.0.1", int(port)), Gateway)
    print(f"SMS stand-in: http://{host}:{port}/messages", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
