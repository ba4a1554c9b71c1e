"""A development mail server: takes every message over SMTP (aiosmtpd) and keeps it as a
file under `<ALUMNI_VAR_DIR>/mailbox/`, with a small read-only web view of them.

    python -m services.notify.standins.mailsink            # keeps every message
    python -m services.notify.standins.mailsink --discard  # counts them only (benchmarks)

SMTP on NOTIFY_SMTP_ADDRESS, the web view on NOTIFY_MAILBOX_WEB_ADDRESS.

Each file is the message as received, after two headers of ours: `X-Sink-Mail-From` and
`X-Sink-Rcpt-To` (the envelope). A file appears whole or not at all (written aside, then
renamed). Nothing is ever sent on.
"""

from __future__ import annotations

import argparse
import html
import itertools
import json
import os
import signal
import threading
import time
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller

from services.common import config

SUFFIX = ".eml"


def mailbox_dir() -> Path:
    path = config.var_dir() / "mailbox"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _address(setting: str) -> tuple[str, int]:
    host, _, port = (config.get(setting) or "").rpartition(":")
    return host or "127.0.0.1", int(port)


class Mailbox:
    """aiosmtpd's handler: every message to a file (or only counted)."""

    def __init__(self, directory: Path, discard: bool) -> None:
        self.directory = directory
        self.discard = discard
        self.count = 0
        self._numbers = itertools.count(1)

    async def handle_DATA(self, server, session, envelope) -> str:
        self.count += 1
        if not self.discard:
            envelope_lines = (
                f"X-Sink-Mail-From: {envelope.mail_from}\r\n"
                f"X-Sink-Rcpt-To: {', '.join(envelope.rcpt_tos)}\r\n"
            ).encode()
            name = f"{time.time_ns()}-{next(self._numbers):06d}{SUFFIX}"
            draft = self.directory / f"{name}.part"
            draft.write_bytes(envelope_lines + envelope.original_content)
            os.replace(draft, self.directory / name)
        return "250 OK 已收下"


def read_mail(path: Path):
    with path.open("rb") as handle:
        return BytesParser(policy=policy.default).parse(handle)


def messages_in(directory: Path) -> list[Path]:
    return sorted(directory.glob(f"*{SUFFIX}"), reverse=True)


PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:.3em .8em;text-align:left}}
tr:nth-child(even){{background:#f4f4f4}}pre{{white-space:pre-wrap}}</style></head>
<body>{body}</body></html>"""


class WebView(BaseHTTPRequestHandler):
    """GET / (the list), /m/<file> (one message), /m/<file>/raw, /m/<file>/a/<n> (an
    attachment), /count (JSON)."""

    mailbox: Mailbox

    def do_GET(self) -> None:  # noqa: N802  (http.server's naming)
        parts = [p for p in self.path.split("?")[0].split("/") if p]
        try:
            if not parts:
                self._list()
            elif parts == ["count"]:
                self._send(
                    200, "application/json", json.dumps({"count": self.mailbox.count}).encode()
                )
            elif parts[0] == "m" and len(parts) >= 2:
                self._message(parts[1], parts[2:])
            else:
                self._send(404, "text/plain; charset=utf-8", "没有这个页面。".encode())
        except FileNotFoundError:
            self._send(404, "text/plain; charset=utf-8", "没有这封邮件。".encode())

    def _list(self) -> None:
        rows = []
        for path in messages_in(self.mailbox.directory)[:500]:
            mail = read_mail(path)
            attachments = sum(1 for _ in mail.iter_attachments())
            subject = html.escape(str(mail["Subject"] or "（无主题）"))
            rows.append(
                f"<tr><td>{html.escape(str(mail['Date'] or ''))}</td>"
                f"<td>{html.escape(str(mail['To'] or ''))}</td>"
                f'<td><a href="/m/{path.name}">{subject}</a></td>'
                f"<td>{'📎' * min(attachments, 3)}</td></tr>"
            )
        body = (
            "<h1>开发邮箱 · dev mailbox</h1>"
            f"<p>{len(rows)} 封（最新在前）。文件在 {html.escape(str(self.mailbox.directory))}</p>"
            "<table><tr><th>时间</th><th>收件人</th><th>主题</th><th></th></tr>"
            + "".join(rows)
            + "</table>"
        )
        self._page("开发邮箱", body)

    def _message(self, name: str, rest: list[str]) -> None:
        path = self.mailbox.directory / Path(name).name
        if rest == ["raw"]:
            self._send(200, "text/plain; charset=utf-8", path.read_bytes())
            return
        mail = read_mail(path)
        attachments = list(mail.iter_attachments())
        if (
            len(rest) == 2
            and rest[0] == "a"
            and rest[1].isdigit()
            and int(rest[1]) < len(attachments)
        ):
            part = attachments[int(rest[1])]
            self._send(200, part.get_content_type(), part.get_payload(decode=True))
            return
        text = mail.get_body(("plain",))
        markup = mail.get_body(("html",))
        headers = "".join(
            f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in mail.items()
            if k in ("From", "To", "Subject", "Date", "List-Unsubscribe", "List-Unsubscribe-Post")
        )
        links = "".join(
            f'<li><a href="/m/{path.name}/a/{i}">{html.escape(part.get_filename() or "附件")}</a>'
            for i, part in enumerate(attachments)
        )
        body = (
            f'<p><a href="/">← 全部邮件</a> · <a href="/m/{path.name}/raw">原始邮件</a></p>'
            f"<table>{headers}</table>"
            + (f"<h2>附件</h2><ul>{links}</ul>" if links else "")
            + (
                '<h2>HTML</h2><iframe sandbox style="width:100%;height:24em;border:1px solid #ccc" '
                f'srcdoc="{html.escape(markup.get_content())}"></iframe>'
                if markup
                else ""
            )
            + (f"<h2>纯文本</h2><pre>{html.escape(text.get_content())}</pre>" if text else "")
        )
        self._page(str(mail["Subject"] or "邮件"), body)

    def _page(self, title: str, body: str) -> None:
        self._send(
            200,
            "text/html; charset=utf-8",
            PAGE.format(title=html.escape(title), body=body).encode(),
        )

    def _send(self, status: int, content_type: str, content: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def log_message(self, format: str, *args) -> None:  # noqa: A002  (http.server's signature)
        pass


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Development SMTP sink with a web view.")
    parser.add_argument("--discard", action="store_true", help="count messages, keep none")
    args = parser.parse_args(argv)
    config.private_files()
    mailbox = Mailbox(mailbox_dir(), args.discard)
    smtp_host, smtp_port = _address("NOTIFY_SMTP_ADDRESS")
    controller = Controller(mailbox, hostname=smtp_host, port=smtp_port)
    controller.start()
    web_host, web_port = _address("NOTIFY_MAILBOX_WEB_ADDRESS")
    WebView.mailbox = mailbox
    web = ThreadingHTTPServer((web_host, web_port), WebView)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    print(f"mail sink: SMTP {smtp_host}:{smtp_port}, web http://{web_host}:{web_port}/", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    web.shutdown()
    controller.stop()


if __name__ == "__main__":
    main()
