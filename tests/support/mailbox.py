"""Reading what the development mail sink and the SMS stand-in received, for tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import requests


def mails(var_dir: Path) -> list[EmailMessage]:
    """Every message in `<var_dir>/mailbox`, oldest first."""
    directory = Path(var_dir) / "mailbox"
    if not directory.exists():
        return []
    return [
        BytesParser(policy=policy.default).parse(path.open("rb"))
        for path in sorted(directory.glob("*.eml"))
    ]


def mails_to(var_dir: Path, address: str) -> list[EmailMessage]:
    return [m for m in mails(var_dir) if m["X-Sink-Rcpt-To"] == address]


def wait_for(check: Callable[[], object], timeout: float = 30.0, what: str = "it") -> object:
    """`check()` once it is truthy; AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.2)


def sms_received(address: str, phone: str | None = None) -> list[dict]:
    """What the SMS stand-in at `address` ("host:port") has taken."""
    params = {"phone": phone} if phone else None
    return requests.get(f"http://{address}/messages", params=params, timeout=10).json()["items"]
