"""Sending mail: the interface, SMTP (the real adapter), and an in-memory fake.

A message goes in two steps, so that the dispatcher can record it as sent between them:
`begin` (MAIL FROM, RCPT TO, DATA and the whole message except the line that ends it) and
`finish` (that line, ".", and the server's answer). An SMTP server delivers nothing of a
message whose end it never received; so a sender killed before the record commits leaves
no mail behind, and one killed after it has already written the end, give or take the
few microseconds between the commit and that one write (docs/notify.md, "Exactly once").
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import Protocol


class MailUnavailable(Exception):
    """The server cannot be reached or answered 4xx: try again later. `answered`: the
    server said so (4xx); otherwise the connection failed, and after the end of a message
    nobody knows whether it was accepted."""

    def __init__(self, message: str, answered: bool = False) -> None:
        super().__init__(message)
        self.answered = answered


class MailRefused(Exception):
    """The server answered 5xx. `bounce`: the recipient address itself was refused (a hard
    bounce), not the message."""

    def __init__(self, message: str, bounce: bool = False) -> None:
        super().__init__(message)
        self.bounce = bounce


class MailConnection(Protocol):
    def begin(self, sender: str, recipient: str, data: bytes) -> None: ...

    def finish(self) -> None: ...

    def close(self) -> None: ...


class MailTransport(Protocol):
    def connect(self) -> MailConnection: ...


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0


class SmtpTransport:
    """The real adapter: `smtplib`, one connection per `connect`, reused across messages."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def connect(self) -> SmtpConnection:
        return SmtpConnection(self.settings)


class SmtpConnection:
    def __init__(self, settings: SmtpSettings) -> None:
        import smtplib

        self._smtplib = smtplib
        try:
            self.smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
            # The end of a message is written on its own, after the commit; without this,
            # Nagle's algorithm holds those five bytes until the server acknowledges the
            # body, which its delayed ACK puts off by up to 40 ms per message.
            self.smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.smtp.ehlo()
            if settings.starttls:
                self.smtp.starttls()
                self.smtp.ehlo()
            if settings.username:
                self.smtp.login(settings.username, settings.password or "")
        except smtplib.SMTPResponseException as error:
            raise _refusal(error.smtp_code, error.smtp_error) from None
        except (OSError, smtplib.SMTPException) as error:
            raise MailUnavailable(f"SMTP 服务器不可达：{error}") from None

    def begin(self, sender: str, recipient: str, data: bytes) -> None:
        smtp = self.smtp
        try:
            code, reply = smtp.mail(sender)
            if code != 250:
                raise _refusal(code, reply)
            code, reply = smtp.rcpt(recipient)
            if code not in (250, 251):
                smtp.rset()
                raise _refusal(code, reply, at_recipient=True)
            code, reply = smtp.docmd("DATA")
            if code != 354:
                raise _refusal(code, reply)
            # smtplib.SMTP.data() without its last line: dot-stuffed, CRLF-terminated.
            body = self._smtplib._quote_periods(data)
            if not body.endswith(b"\r\n"):
                body += b"\r\n"
            smtp.send(body)
        except (OSError, self._smtplib.SMTPException) as error:
            raise MailUnavailable(f"SMTP 连接中断：{error}") from None

    def finish(self) -> None:
        try:
            self.smtp.send(b".\r\n")
            code, reply = self.smtp.getreply()
        except (OSError, self._smtplib.SMTPException) as error:
            raise MailUnavailable(f"SMTP 连接中断：{error}") from None
        if code != 250:
            raise _refusal(code, reply)

    def close(self) -> None:
        try:
            self.smtp.quit()
        except (OSError, self._smtplib.SMTPException):
            self.smtp.close()


def _refusal(code: int, reply: bytes | str, at_recipient: bool = False) -> Exception:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    if 400 <= code < 500:
        return MailUnavailable(f"{code} {text}", answered=True)
    # 550/551/553 to RCPT: no such mailbox; 552 and the like are about the message.
    return MailRefused(f"{code} {text}", bounce=at_recipient and code in (550, 551, 553))


@dataclass
class InMemoryMail:
    """The fake: keeps every finished message as (sender, recipient, data).

    `down=True` refuses connections; `bounce` is a set of addresses answered with 550;
    `end_error`, when set, is raised at the end of the next message instead of taking it."""

    delivered: list[tuple[str, str, bytes]] = field(default_factory=list)
    down: bool = False
    bounce: set[str] = field(default_factory=set)
    end_error: Exception | None = None

    def connect(self) -> InMemoryMail._Connection:
        if self.down:
            raise MailUnavailable("SMTP 服务器不可达（测试）")
        return InMemoryMail._Connection(self)

    class _Connection:
        def __init__(self, owner: InMemoryMail) -> None:
            self.owner = owner
            self.pending: tuple[str, str, bytes] | None = None

        def begin(self, sender: str, recipient: str, data: bytes) -> None:
            if recipient in self.owner.bounce:
                raise MailRefused("550 no such user", bounce=True)
            self.pending = (sender, recipient, data)

        def finish(self) -> None:
            assert self.pending is not None
            error, self.owner.end_error = self.owner.end_error, None
            if error is not None:
                raise error
            self.owner.delivered.append(self.pending)
            self.pending = None

        def close(self) -> None:
            self.pending = None
