"""The dispatcher: sends what is queued, over reused SMTP connections and the SMS provider,
and drives newsletters' fan-out. One pass is `run_once`; the service runs passes in a
managed thread (services/notify/service.py), woken after every commit that queues work.

**Exactly once on a crash (e-mail).** A batch is leased (a commit), then sent in rounds of
one message per connection: each connection carries its message up to, not including,
the line that ends it; one commit then records the whole round as sent; only then is the
end written. A process killed before that commit leaves the messages unsent both here and
at the server (which drops a message whose end never came), and they are sent after the
restart, once the lease has run out; a process killed after it has already sent them. The
only window left is between the commit and the write of five bytes per message
(docs/notify.md, "Exactly once"). SMS have no such step: the provider takes a message in
one call, so an SMS whose answer was lost in a crash is sent again (at least once).

Concurrency is `concurrent.futures` threads, green under the service's eventlet.

Standard library and SQLAlchemy only.
"""

from __future__ import annotations

import html
import logging
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from services.common import crypto
from services.notify import consent, newsletters
from services.notify.adapters.mail import MailRefused, MailTransport, MailUnavailable
from services.notify.adapters.sms import SmsProvider, SmsRejected, SmsUnavailable
from services.notify.clock import (
    end_of_quiet_hours,
    in_quiet_hours,
    retry_delay,
    start_of_china_day,
)
from services.notify.kinds import MARKETING
from services.notify.messages import (
    FAILED,
    QUEUED,
    RENDER_FAILED,
    SENT,
    SKIPPED,
    Links,
    report_outcomes,
)
from services.notify.mime import Attachment as MailAttachment
from services.notify.mime import compose, html_document
from services.notify.models import Attachment, Message, Newsletter
from services.notify.templates import content_by_version
from services.notify.templating import EMAIL, RENDER_ERRORS, SMS, Content, render_email, render_sms

log = logging.getLogger(__name__)

DAILY_CAP = "daily_cap"
MAX_MAIL_BACKOFF_SECONDS = 60.0


@dataclass(frozen=True)
class DispatchSettings:
    sender: str
    links: Links
    sms_sign_name: str
    sms_daily_cap: int
    connections: int = 8
    batch_size: int = 200
    lease_seconds: int = 30


@dataclass
class _Outgoing:
    message: Message
    data: bytes
    slot: int = 0
    outcome: Exception | None = None


@dataclass
class _Pass:
    """What one pass changes besides the sent marks, applied in its next commit."""

    updates: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    holds: list[tuple[str, str, str]] = field(default_factory=list)


class Dispatcher:
    def __init__(
        self,
        session_factory: sessionmaker,
        mail: MailTransport,
        sms: SmsProvider,
        settings: DispatchSettings,
        clock: Callable[[], datetime],
        parallel_map: Callable[[Callable, list], Any] | None = None,
    ) -> None:
        """`parallel_map(fn, items)`: runs `fn` on the items side by side, results in order
        (default: a pool of threads; the service passes eventlet's, which costs less)."""
        self.session_factory = session_factory
        self.mail = mail
        self.sms = sms
        self.settings = settings
        self.clock = clock
        self._slots: list[Any] = [None] * settings.connections
        self._pool = None
        if parallel_map is None:
            self._pool = ThreadPoolExecutor(max_workers=settings.connections)
            parallel_map = self._pool.map
        self._map = parallel_map
        self._newsletter_content: dict[str, Content] = {}
        self._mail_failures = 0
        self._mail_paused_until: datetime | None = None
        self._envelope_sender = parseaddr(settings.sender)[1]
        self._sender_domain = self._envelope_sender.rpartition("@")[2] or "localhost"

    # ---- the pass ------------------------------------------------------------------------

    def run_once(self) -> int:
        """One pass over everything due; how much it did (0: nothing to do)."""
        done = self._in_transaction(self._newsletter_step)
        done += self.send_email()
        done += self.send_sms()
        done += self._in_transaction(lambda s: report_outcomes(s, self.clock()))
        done += self._in_transaction(lambda s: newsletters.finish_done(s, self.clock()))
        return done

    def close(self) -> None:
        for slot in range(len(self._slots)):
            self._drop(slot)
        if self._pool is not None:
            self._pool.shutdown(wait=False)

    def _newsletter_step(self, session: Session) -> int:
        now = self.clock()
        return newsletters.start_due(session, now) + newsletters.expand_step(
            session, self.settings.links, now
        )

    def _in_transaction(self, work: Callable[[Session], int]) -> int:
        with self.session_factory() as session:
            result = work(session)
            session.commit()
            return result

    # ---- leases ----------------------------------------------------------------------------

    def _lease(self, channel: str, now: datetime) -> list[Message]:
        """Take up to a batch of due messages of `channel` for `lease_seconds`."""
        token = str(uuid.uuid4())
        free = (Message.lease_until.is_(None)) | (Message.lease_until < now)
        due = (Message.status == QUEUED, Message.channel == channel, Message.next_attempt_at <= now)
        with self.session_factory() as session:
            candidates = (
                select(Message.seq)
                .where(*due, free)
                .order_by(Message.seq)
                .limit(self.settings.batch_size)
                .scalar_subquery()
            )
            # The conditions again outside the subquery: PostgreSQL re-checks them on a row
            # another dispatcher leased meanwhile, so no message is leased twice.
            session.execute(
                update(Message)
                .where(Message.seq.in_(candidates), *due, free)
                .values(
                    lease_until=now + timedelta(seconds=self.settings.lease_seconds),
                    lease_token=token,
                )
                .execution_options(synchronize_session=False)
            )
            session.commit()
            return list(
                session.scalars(
                    select(Message).where(Message.lease_token == token).order_by(Message.seq)
                )
            )

    # ---- e-mail ----------------------------------------------------------------------------

    def send_email(self) -> int:
        now = self.clock()
        if self._mail_paused_until is not None and now < self._mail_paused_until:
            return 0
        batch = self._lease(EMAIL, now)
        if not batch:
            return 0
        work = _Pass()
        with self.session_factory() as session:
            outgoing = self._prepare_mail(session, batch, work, now)
        sent = 0
        connections = self.settings.connections
        for start in range(0, len(outgoing), connections):
            round_ = outgoing[start : start + connections]
            for slot, item in enumerate(round_):
                item.slot = slot
            for item, outcome in zip(round_, self._map(self._begin, round_), strict=True):
                item.outcome = outcome
            held = [item for item in round_ if item.outcome is None]
            for item in round_:
                if item.outcome is not None:
                    self._failed(item.message, item.outcome, work, now)
            self._commit_round(held, work, now)
            for item, outcome in zip(held, self._map(self._finish, held), strict=True):
                if outcome is not None:
                    self._after_end(item.message, outcome, work, now)
            sent += len(held)
            if round_ and not held and all(isinstance(i.outcome, MailUnavailable) for i in round_):
                self._pause_mail(now)
                break
        else:
            self._mail_failures = 0
        self._release(batch, work)
        return len(batch)

    def _prepare_mail(
        self, session: Session, batch: list[Message], work: _Pass, now: datetime
    ) -> list[_Outgoing]:
        """Render each message, unless consent or a hold forbids it since it was queued."""
        answers = consent.answers(session, [m.alumnus_id for m in batch if m.alumnus_id])
        holds = consent.held(session, [m.address for m in batch])
        attachments: dict[str, list[MailAttachment]] = {}
        for row in session.scalars(
            select(Attachment).where(Attachment.message_id.in_([m.id for m in batch]))
        ):
            attachments.setdefault(row.message_id, []).append(
                MailAttachment(row.filename, row.content_type, row.content)
            )
        outgoing = []
        for message in batch:
            reason = consent.refusal(
                answers.get((message.alumnus_id, EMAIL, message.purpose))
                if message.alumnus_id
                else None,
                message.purpose,
                message.address,
                message.address in holds,
            )
            if reason:
                work.updates.append(
                    (message.seq, {"status": SKIPPED, "skip_reason": reason, "reported": True})
                )
                continue
            try:
                data = self._compose(session, message, tuple(attachments.get(message.id, ())), now)
            except RENDER_ERRORS as error:
                work.updates.append(
                    (
                        message.seq,
                        {"status": FAILED, "last_error": f"{RENDER_FAILED}: {error}"[:2000]},
                    )
                )
                continue
            outgoing.append(_Outgoing(message, data))
        return outgoing

    def _compose(
        self, session: Session, message: Message, attachments: tuple, now: datetime
    ) -> bytes:
        context = self.settings.links.context(message)
        mail = render_email(self._content(session, message), context)
        bulk = message.purpose == MARKETING and bool(message.alumnus_id)
        footer, text = "", mail.text
        if bulk:
            url = context["unsubscribe_url"]
            footer = (
                '<hr><p style="font-size:12px;color:#888">不想再收到此类邮件？'
                f'<a href="{html.escape(url)}">一键退订</a></p>'
            )
            text += f"\n不想再收到此类邮件？一键退订：{url}\n"
        return compose(
            sender=self.settings.sender,
            to=(message.context["recipient"]["name"], message.address),
            subject=mail.subject,
            html=html_document(mail.html, footer),
            text=text,
            message_id=f"<{message.id}@{self._sender_domain}>",
            date=now,
            attachments=attachments,
            unsubscribe_url=context["unsubscribe_url"] if bulk else None,
        )

    def _content(self, session: Session, message: Message) -> Content:
        if message.newsletter_id and message.template_version_id is None:
            content = self._newsletter_content.get(message.newsletter_id)
            if content is None:
                newsletter = session.scalar(
                    select(Newsletter).where(Newsletter.id == message.newsletter_id)
                )
                content = self._newsletter_content[message.newsletter_id] = newsletters.content_of(
                    newsletter
                )
            return content
        return content_by_version(session, message.template_version_id)

    def _begin(self, item: _Outgoing) -> Exception | None:
        try:
            connection = self._slots[item.slot]
            if connection is None:
                connection = self._slots[item.slot] = self.mail.connect()
            connection.begin(self._envelope_sender, item.message.address, item.data)
            return None
        except MailUnavailable as error:
            self._drop(item.slot)
            return error
        except MailRefused as error:
            return error

    def _finish(self, item: _Outgoing) -> Exception | None:
        try:
            self._slots[item.slot].finish()
            return None
        except (MailUnavailable, MailRefused) as error:
            if isinstance(error, MailUnavailable):
                self._drop(item.slot)
            return error

    def _drop(self, slot: int) -> None:
        connection, self._slots[slot] = self._slots[slot], None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # a broken connection may fail to close; it is gone either way
                log.debug("closing a broken SMTP connection failed", exc_info=True)

    def _commit_round(self, held: list[_Outgoing], work: _Pass, now: datetime) -> None:
        """The commit point of a round: its messages are sent from here on."""
        with self.session_factory() as session:
            if held:
                session.execute(
                    update(Message)
                    .where(Message.seq.in_([item.message.seq for item in held]))
                    .values(
                        status=SENT, sent_at=now, attempts=Message.attempts + 1, last_error=None
                    )
                    .execution_options(synchronize_session=False)
                )
            self._apply(session, work)
            session.commit()

    def _apply(self, session: Session, work: _Pass) -> None:
        for seq, values in work.updates:
            session.execute(
                update(Message)
                .where(Message.seq == seq)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        for address, channel, reason in work.holds:
            consent.hold_address(session, address, channel, reason, self.clock())
        work.updates.clear()
        work.holds.clear()

    def _failed(self, message: Message, error: Exception, work: _Pass, now: datetime) -> None:
        """Before its end was sent: a later attempt, or failed for good."""
        transient = isinstance(error, (MailUnavailable, SmsUnavailable))
        failed = self._retry_or_fail(
            message, error, work, now, transient, {"attempts": message.attempts + 1}
        )
        if failed and (getattr(error, "bounce", False) or getattr(error, "bad_number", False)):
            work.holds.append((message.address, message.channel, str(error)))

    def _after_end(self, message: Message, error: Exception, work: _Pass, now: datetime) -> None:
        """The server answered the end of a message with a refusal, or not at all (the
        round's commit has already counted the attempt)."""
        if isinstance(error, MailUnavailable) and not error.answered:
            # It may have been delivered; sending it again could deliver it twice.
            work.updates.append((message.seq, {"last_error": f"未确认送达：{error}"[:2000]}))
            return
        transient = isinstance(error, MailUnavailable)
        self._retry_or_fail(
            message, error, work, now, transient, {"status": QUEUED, "sent_at": None}
        )

    @staticmethod
    def _retry_or_fail(
        message: Message,
        error: Exception,
        work: _Pass,
        now: datetime,
        transient: bool,
        values: dict[str, Any],
    ) -> bool:
        """Another attempt after the backoff while there are attempts left for a transient
        error; else failed for good (True)."""
        delay = retry_delay(message.attempts + 1) if transient else None
        values = {**values, "last_error": str(error)[:2000]}
        if delay is not None:
            values["next_attempt_at"] = now + timedelta(seconds=delay)
            work.updates.append((message.seq, values))
            return False
        work.updates.append((message.seq, {**values, "status": FAILED}))
        return True

    def _release(self, batch: list[Message], work: _Pass) -> None:
        with self.session_factory() as session:
            self._apply(session, work)
            session.execute(
                update(Message)
                .where(Message.seq.in_([m.seq for m in batch]))
                .values(lease_until=None, lease_token=None)
                .execution_options(synchronize_session=False)
            )
            session.commit()

    def _pause_mail(self, now: datetime) -> None:
        """The server is unreachable: leave mail alone for a while, longer each time."""
        self._mail_failures += 1
        seconds = min(2.0 * 2 ** (self._mail_failures - 1), MAX_MAIL_BACKOFF_SECONDS)
        self._mail_paused_until = now + timedelta(seconds=seconds)
        log.warning("SMTP server unavailable; mail paused for %.0f s", seconds)

    # ---- SMS -------------------------------------------------------------------------------

    def send_sms(self) -> int:
        now = self.clock()
        batch = self._lease(SMS, now)
        for message in batch:
            work = _Pass()
            with self.session_factory() as session:
                self._send_one_sms(session, message, work, now)
                self._apply(session, work)
                session.execute(
                    update(Message)
                    .where(Message.seq == message.seq)
                    .values(lease_until=None, lease_token=None)
                    .execution_options(synchronize_session=False)
                )
                session.commit()
        return len(batch)

    def _send_one_sms(self, session: Session, message: Message, work: _Pass, now: datetime) -> None:
        answer = (
            consent.answers(session, [message.alumnus_id]).get(
                (message.alumnus_id, SMS, message.purpose)
            )
            if message.alumnus_id
            else None
        )
        on_hold = bool(consent.held(session, [message.address]))
        reason = consent.refusal(answer, message.purpose, message.address, on_hold)
        if reason:
            work.updates.append(
                (message.seq, {"status": SKIPPED, "skip_reason": reason, "reported": True})
            )
            return
        if message.purpose == MARKETING and in_quiet_hours(now):
            # No marketing SMS between 21:00 and 08:00 China time: it waits for the morning.
            work.updates.append((message.seq, {"next_attempt_at": end_of_quiet_hours(now)}))
            return
        if self._sent_today(session, message, now) >= self.settings.sms_daily_cap:
            log.warning(
                "SMS %s to %s refused: daily cap %s reached",
                message.id,
                message.recipient,
                self.settings.sms_daily_cap,
            )
            work.updates.append(
                (message.seq, {"status": SKIPPED, "skip_reason": DAILY_CAP, "reported": True})
            )
            return
        try:
            sms = render_sms(
                content_by_version(session, message.template_version_id),
                self.settings.links.context(message),
            )
        except RENDER_ERRORS as error:
            work.updates.append(
                (message.seq, {"status": FAILED, "last_error": f"{RENDER_FAILED}: {error}"[:2000]})
            )
            return
        try:
            provider_id = self.sms.send(
                message.address, self.settings.sms_sign_name, sms.code, sms.params, message.id
            )
        except (SmsUnavailable, SmsRejected) as error:
            self._failed(message, error, work, now)
            return
        work.updates.append(
            (
                message.seq,
                {
                    "status": SENT,
                    "sent_at": now,
                    "attempts": message.attempts + 1,
                    "provider_id": provider_id[:100],
                    "last_error": None,
                },
            )
        )

    def _sent_today(self, session: Session, message: Message, now: datetime) -> int:
        who = (
            Message.alumnus_id == message.alumnus_id
            if message.alumnus_id
            else Message.address_index.in_(crypto.blind_indexes(message.address or ""))
        )
        return (
            session.scalar(
                select(func.count()).where(
                    who,
                    Message.channel == SMS,
                    Message.status == SENT,
                    Message.sent_at >= start_of_china_day(now),
                )
            )
            or 0
        )
