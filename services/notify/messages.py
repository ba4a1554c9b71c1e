"""Messages: queued in the transaction of their cause, then sent, failed or skipped; the
delivery log and its statistics; the `notification_sent` / `notification_failed` events.

A cause (an event, a reminder, a newsletter) names each message it makes with a
`dedupe_key` unique in the table, so a cause handled twice makes its messages once. Inbox
messages are delivered at once, in the same transaction; e-mail and SMS wait for the
dispatcher (services/notify/dispatch.py).

SQLAlchemy only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from services.common import crypto
from services.common.contracts.base import iso_utc
from services.common.errors import NotFound
from services.common.paging import each, page, paged_select
from services.notify import consent
from services.notify.clock import as_utc
from services.notify.kinds import KINDS
from services.notify.models import (
    Attachment,
    Contact,
    GiftReceipt,
    InboxItem,
    Message,
    OutboxMessage,
)
from services.notify.signing import unsubscribe_token
from services.notify.templates import content_by_version, current_version
from services.notify.templating import EMAIL, INBOX, RENDER_ERRORS, SMS, render_inbox

QUEUED, WAITING, SENT, FAILED, SKIPPED = "queued", "waiting", "sent", "failed", "skipped"
STATUSES = (QUEUED, WAITING, SENT, FAILED, SKIPPED)
"""`waiting`: queued, but for something it needs first (a gift's receipt PDF)."""
RENDER_FAILED = "render_failed"
EVENT_FIELDS = (
    "id",
    "kind",
    "channel",
    "purpose",
    "recipient",
    "alumnus_id",
    "newsletter_id",
    "template_version_id",
    "attempts",
)
"""What `notification_sent` / `notification_failed` say of a message (as `message_id`)."""
REPORT_BATCH = 500


@dataclass(frozen=True)
class Links:
    """The links a message carries: one-click unsubscribe (signed) and the preferences page."""

    public_url: str
    unsubscribe_secret: str

    def unsubscribe_url(self, alumnus_id: str, channel: str, purpose: str) -> str:
        token = unsubscribe_token(self.unsubscribe_secret, alumnus_id, channel, purpose)
        return f"{self.public_url}/api/v1/unsubscribe?token={token}"

    def context(self, message: Message) -> dict[str, Any]:
        """`message.context` with its links, as templates are rendered with it."""
        unsubscribe = (
            self.unsubscribe_url(message.alumnus_id, message.channel, message.purpose)
            if message.alumnus_id
            else ""
        )
        return {
            **unsealed(message.context),
            "unsubscribe_url": unsubscribe,
            "preferences_url": f"{self.public_url}/api/v1/me/notification-preferences",
        }


SEALED = "sealed"
"""A context's secrets (a claim's one-time code): values encrypted under the PII keys with
the context `sealed.<name>` by the service that made them. They stay sealed in the
message row and are opened only to render the message being sent."""


def unsealed(context: dict[str, Any]) -> dict[str, Any]:
    """`context` with its sealed values opened in its top level (and `sealed` dropped)."""
    if SEALED not in context:
        return context
    secrets = context[SEALED].items()
    opened = {name: crypto.decrypt(value, f"sealed.{name}") for name, value in secrets}
    return {**{k: v for k, v in context.items() if k != SEALED}, **opened}


@dataclass(frozen=True)
class Recipient:
    """Whom a message is for. `audience` is the inbox it lands in: `alumnus:<id>`,
    `staff:<username>` or `office`."""

    audience: str
    name: str
    alumnus_id: str | None = None
    email: str | None = None
    phone: str | None = None
    locale: str = "zh-CN"

    def address(self, channel: str) -> str | None:
        if channel == EMAIL:
            return self.email
        if channel == SMS:
            return self.phone
        return self.audience


def alumnus_recipient(contact: Contact) -> Recipient:
    return Recipient(
        audience=f"alumnus:{contact.alumnus_id}",
        name=contact.name,
        alumnus_id=contact.alumnus_id,
        email=contact.email,
        phone=contact.phone,
        locale=contact.locale,
    )


def enqueue(
    session: Session,
    links: Links,
    kind_name: str,
    recipient: Recipient,
    context: dict[str, Any],
    cause: str,
    now: datetime,
    channels: tuple[str, ...] | None = None,
    attachments: tuple[tuple[str, str, bytes], ...] = (),
    waiting: bool = False,
) -> list[Message]:
    """One message per channel of the kind (or `channels`): skipped when consent, address
    or a hold forbid it; an inbox message delivered now; e-mail and SMS queued (or
    `waiting`). A cause already handled for this recipient and channel adds nothing."""
    kind = KINDS[kind_name]
    answers = consent.answers(session, [recipient.alumnus_id]) if recipient.alumnus_id else {}
    made = []
    for channel in channels or kind.channels:
        dedupe_key = f"{cause}:{recipient.audience}:{channel}"
        if session.scalar(select(Message.seq).where(Message.dedupe_key == dedupe_key)):
            continue
        address = recipient.address(channel)
        answer = answers.get((recipient.alumnus_id, channel, kind.purpose))
        on_hold = bool(address) and channel != INBOX and bool(consent.held(session, [address]))
        reason = consent.refusal(answer, kind.purpose, address, on_hold)
        version = current_version(session, kind_name, channel, recipient.locale)
        message = Message(
            dedupe_key=dedupe_key,
            kind=kind_name,
            channel=channel,
            purpose=kind.purpose,
            recipient=recipient.audience,
            alumnus_id=recipient.alumnus_id,
            address=address,
            locale=recipient.locale,
            template_version_id=version.id,
            context={"recipient": {"name": recipient.name}, **context},
            status=SKIPPED if reason else (WAITING if waiting and channel == EMAIL else QUEUED),
            skip_reason=reason,
            next_attempt_at=now,
            created_at=now,
            reported=reason is not None,
        )
        session.add(message)
        session.flush()
        if message.status == QUEUED and channel == INBOX:
            deliver_to_inbox(session, links, message, now)
        if channel == EMAIL and not reason:
            for filename, content_type, data in attachments:
                session.add(
                    Attachment(
                        message_id=message.id,
                        filename=filename,
                        content_type=content_type,
                        content=data,
                    )
                )
        made.append(message)
    session.flush()
    return made


def deliver_to_inbox(session: Session, links: Links, message: Message, now: datetime) -> None:
    """Put an inbox message in its inbox, rendered from its template version."""
    try:
        title, body = render_inbox(
            content_by_version(session, message.template_version_id), links.context(message)
        )
    except RENDER_ERRORS as error:  # a template that renders its sample but not this data
        mark_failed(message, f"{RENDER_FAILED}: {error}")
        return
    session.add(
        InboxItem(
            audience=message.recipient,
            kind=message.kind,
            title=title,
            body=body,
            message_id=message.id,
            created_at=now,
        )
    )
    message.status, message.sent_at, message.attempts = SENT, now, 1


def mark_failed(message: Message, error: str) -> None:
    message.status, message.last_error = FAILED, error[:2000]


# ---- the delivery log ---------------------------------------------------------------------


def message_to_dict(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "kind": message.kind,
        "channel": message.channel,
        "purpose": message.purpose,
        "recipient": message.recipient,
        "alumnus_id": message.alumnus_id,
        "address": message.address if message.channel != INBOX else None,
        "locale": message.locale,
        "template_version_id": message.template_version_id,
        "newsletter_id": message.newsletter_id,
        "status": message.status,
        "skip_reason": message.skip_reason,
        "attempts": message.attempts,
        "last_error": message.last_error,
        "created_at": iso_utc(message.created_at),
        "sent_at": iso_utc(message.sent_at) if message.sent_at else None,
    }


def list_messages(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    query = select(Message)
    for name in ("kind", "channel", "status", "alumnus_id", "newsletter_id"):
        if params.get(name):
            query = query.where(getattr(Message, name) == str(params[name]))
    query = paged_select(query, [Message.seq], params, (int,), descending=True)
    return page(
        session.scalars(query).all(), params["limit"], lambda m: [m.seq], each(message_to_dict)
    )


def get_message(session: Session, message_id: str) -> dict[str, Any]:
    message = session.scalar(select(Message).where(Message.id == str(message_id)))
    if message is None:
        raise NotFound("消息不存在。", {"message_id": str(message_id)})
    return message_to_dict(message)


def counts(session: Session, *where: Any, by: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """Messages by status (and the columns `by`): [{..., queued, sent, failed, skipped}]."""
    rows = session.execute(
        select(*by, Message.status, func.count()).where(*where).group_by(*by, Message.status)
    )
    grouped: dict[tuple, dict[str, int]] = {}
    for row in rows:
        *key, status, number = row
        line = grouped.setdefault(tuple(key), dict.fromkeys(STATUSES, 0))
        line[status] += number
    return [
        {**{column.key: value for column, value in zip(by, key, strict=True)}, **line}
        for key, line in sorted(grouped.items())
    ]


def statistics(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    where = []
    if params.get("since"):
        where.append(Message.created_at >= as_utc(datetime.fromisoformat(params["since"])))
    if params.get("until"):
        where.append(Message.created_at < as_utc(datetime.fromisoformat(params["until"])))
    return {"items": counts(session, *where, by=(Message.kind, Message.channel))}


# ---- events for other campus systems ---------------------------------------------------------


def report_outcomes(session: Session, now: datetime, limit: int = REPORT_BATCH) -> int:
    """Record `notification_sent` / `notification_failed` for messages that have reached
    their outcome and are no longer held by a dispatcher; returns how many."""
    columns = (
        Message.seq,
        Message.status,
        Message.sent_at,
        Message.last_error,
        *(getattr(Message, name) for name in EVENT_FIELDS),
    )
    messages = session.execute(
        select(*columns)
        .where(
            Message.reported.is_(False),
            Message.status.in_((SENT, FAILED)),
            (Message.lease_until.is_(None)) | (Message.lease_until < now),
        )
        .order_by(Message.seq)
        .limit(limit)
    ).all()
    for message in messages:
        data = {name: getattr(message, name) for name in EVENT_FIELDS}
        data["message_id"] = data.pop("id")
        if message.status == SENT:
            OutboxMessage.record(
                session, "notification_sent", {**data, "sent_at": iso_utc(message.sent_at)}
            )
        else:
            OutboxMessage.record(
                session, "notification_failed", {**data, "error": message.last_error or ""}
            )
    if messages:
        session.execute(
            update(Message)
            .where(Message.seq.in_([m.seq for m in messages]))
            .values(reported=True)
            .execution_options(synchronize_session=False)
        )
    return len(messages)


# ---- letters waiting for an attachment ------------------------------------------------------


def remember_receipt(session: Session, gift_id: str, number: str) -> None:
    if session.get(GiftReceipt, gift_id) is None:
        session.add(GiftReceipt(gift_id=gift_id, number=number))
        session.flush()


def waiting_for_receipts(
    session: Session, now: datetime, limit: int
) -> list[tuple[str, str | None, datetime]]:
    """(message id, receipt number or None, queued at) of letters due to look again."""
    rows = session.execute(
        select(Message.id, Message.context, Message.created_at)
        .where(Message.status == WAITING, Message.next_attempt_at <= now)
        .order_by(Message.seq)
        .limit(limit)
    ).all()
    gift_ids = {context["gift"]["id"] for _, context, _ in rows}
    numbers = dict(
        session.execute(
            select(GiftReceipt.gift_id, GiftReceipt.number).where(GiftReceipt.gift_id.in_(gift_ids))
        ).all()
    )
    return [(i, numbers.get(context["gift"]["id"]), as_utc(at)) for i, context, at in rows]


def attach_and_queue(
    session: Session,
    message_id: str,
    number: str | None,
    attachment: tuple[str, str, bytes] | None,
    now: datetime,
) -> None:
    """A waiting letter goes: with its receipt (number and PDF), or without one."""
    message = session.scalar(select(Message).where(Message.id == message_id))
    if message is None or message.status != WAITING:
        return
    if attachment is not None:
        filename, content_type, content = attachment
        session.add(
            Attachment(
                message_id=message.id, filename=filename, content_type=content_type, content=content
            )
        )
        message.context = {**message.context, "receipt": {"number": number}}
    message.status, message.next_attempt_at = QUEUED, now


def postpone(
    session: Session, message_id: str, now: datetime, seconds: float, error: str | None
) -> None:
    session.execute(
        update(Message)
        .where(Message.id == message_id, Message.status == WAITING)
        .values(
            next_attempt_at=now + timedelta(seconds=seconds),
            last_error=error[:2000] if error else None,
        )
        .execution_options(synchronize_session=False)
    )
