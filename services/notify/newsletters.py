"""Newsletters (通报学校发展近况): composed by the office (or a liaison for their own
department), sent to a segment of the directory now or at a set time, fanned out in
batches with their progress visible, each recipient reached once per channel.

Fan-out is two steps, each resumable after a crash: `expand_step` writes the messages of
the next batch of recipients with the newsletter's `expanded_through` in the same
transaction; the dispatcher then sends queued messages as it sends any other.

SQLAlchemy only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from services.common import crypto
from services.common.columns import new_id
from services.common.contracts.base import iso_utc
from services.common.errors import NotFound
from services.common.paging import each, page, paged_select
from services.common.statemachine import StateMachine
from services.notify import consent
from services.notify.clock import as_utc
from services.notify.directory import segment_page
from services.notify.kinds import MARKETING, NEWSLETTER, NEWSLETTER_SAMPLE
from services.notify.messages import QUEUED, SENT, SKIPPED, WAITING, Links, counts
from services.notify.models import InboxItem, Message, Newsletter
from services.notify.templates import content_of as version_content
from services.notify.templates import current_version
from services.notify.templating import (
    EMAIL,
    INBOX,
    RENDER_ERRORS,
    Content,
    check,
    render,
    render_inbox,
)

DRAFT, SCHEDULED, SENDING, DONE = "draft", "scheduled", "sending", "sent"
NEWSLETTER_FLOW = StateMachine(
    "通报",
    {DRAFT: "草稿", SCHEDULED: "已定时", SENDING: "发送中", DONE: "已发送"},
    {
        "schedule": (DRAFT, SCHEDULED),
        "send": ((DRAFT, SCHEDULED), SENDING),
        "finish": (SENDING, DONE),
    },
)
EXPANSION_BATCH = 1000
NOTICE = "newsletter_notice"


def content_of(newsletter: Newsletter) -> Content:
    return Content(subject=newsletter.subject, body=newsletter.body)


def create_newsletter(
    session: Session, data: dict[str, Any], actor: str, now: datetime
) -> dict[str, Any]:
    """A draft; refused (422, nothing stored) when its subject or body does not render."""
    content = Content(subject=data["subject"], body=data["body"])
    check(EMAIL, MARKETING, content, NEWSLETTER_SAMPLE)
    segment = {key: value for key, value in data["segment"].items() if value is not None}
    newsletter = Newsletter(
        subject=data["subject"],
        body=data["body"],
        channels=list(dict.fromkeys(data["channels"])),
        segment=segment,
        department_id=segment.get("department_id"),
        status=DRAFT,
        created_by=actor,
        created_at=now,
    )
    session.add(newsletter)
    session.flush()
    return newsletter_to_dict(session, newsletter)


def _newsletter(session: Session, newsletter_id: str) -> Newsletter:
    newsletter = session.scalar(select(Newsletter).where(Newsletter.id == str(newsletter_id)))
    if newsletter is None:
        raise NotFound("通报不存在。", {"newsletter_id": str(newsletter_id)})
    return newsletter


def send_newsletter(
    session: Session, newsletter_id: str, send_at: datetime | None, now: datetime
) -> dict[str, Any]:
    """Send now, or at `send_at` when that is later; once only."""
    newsletter = _newsletter(session, newsletter_id)
    if send_at is not None and send_at > now:
        newsletter.status = NEWSLETTER_FLOW.target(newsletter.status, "schedule")
        newsletter.send_at = as_utc(send_at)  # SQLite keeps times without their offset
    else:
        newsletter.status = NEWSLETTER_FLOW.target(newsletter.status, "send")
        newsletter.started_at = now
    session.flush()
    return newsletter_to_dict(session, newsletter)


def get_newsletter(session: Session, newsletter_id: str) -> dict[str, Any]:
    return newsletter_to_dict(session, _newsletter(session, newsletter_id))


def list_newsletters(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    query = select(Newsletter)
    if params.get("department_id"):
        query = query.where(Newsletter.department_id == str(params["department_id"]))
    if params.get("status"):
        query = query.where(Newsletter.status == params["status"])
    query = paged_select(query, [Newsletter.seq], params, (int,), descending=True)
    rows = session.scalars(query).all()
    return page(rows, params["limit"], lambda n: [n.seq], each(lambda n: _summary(n)))


def _summary(newsletter: Newsletter) -> dict[str, Any]:
    return {
        "id": newsletter.id,
        "subject": newsletter.subject,
        "body": newsletter.body,
        "channels": newsletter.channels,
        "segment": newsletter.segment,
        "department_id": newsletter.department_id,
        "status": newsletter.status,
        "send_at": iso_utc(newsletter.send_at) if newsletter.send_at else None,
        "created_by": newsletter.created_by,
        "created_at": iso_utc(newsletter.created_at),
        "started_at": iso_utc(newsletter.started_at) if newsletter.started_at else None,
        "finished_at": iso_utc(newsletter.finished_at) if newsletter.finished_at else None,
    }


def newsletter_to_dict(session: Session, newsletter: Newsletter) -> dict[str, Any]:
    """The newsletter with its progress: messages by status and channel, why any were
    skipped, and whether every recipient has been written yet."""
    by_channel = counts(session, Message.newsletter_id == newsletter.id, by=(Message.channel,))
    totals = {
        status: sum(line[status] for line in by_channel)
        for status in (QUEUED, SENT, "failed", SKIPPED)
    }
    totals[QUEUED] += sum(line[WAITING] for line in by_channel)
    reasons = dict(
        session.execute(
            select(Message.skip_reason, func.count())
            .where(Message.newsletter_id == newsletter.id, Message.status == SKIPPED)
            .group_by(Message.skip_reason)
        ).all()
    )
    return {
        **_summary(newsletter),
        "progress": {
            **totals,
            "skipped_by_reason": reasons,
            "by_channel": [
                {key: line[key] for key in ("channel", QUEUED, SENT, "failed", SKIPPED)}
                for line in by_channel
            ],
            "fan_out_complete": newsletter.expansion_done,
        },
    }


# ---- fan-out, run by the dispatcher -------------------------------------------------------


def start_due(session: Session, now: datetime) -> int:
    due = session.scalars(
        select(Newsletter).where(Newsletter.status == SCHEDULED, Newsletter.send_at <= now)
    ).all()
    for newsletter in due:
        newsletter.status = NEWSLETTER_FLOW.target(newsletter.status, "send")
        newsletter.started_at = now
    return len(due)


def expand_step(session: Session, links: Links, now: datetime, batch: int = EXPANSION_BATCH) -> int:
    """Write the messages of the next `batch` recipients of the oldest newsletter still
    fanning out; how many recipients."""
    newsletter = session.scalar(
        select(Newsletter)
        .where(Newsletter.status == SENDING, Newsletter.expansion_done.is_(False))
        .order_by(Newsletter.seq)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if newsletter is None:
        return 0
    contacts = segment_page(session, newsletter.segment, newsletter.expanded_through, batch)
    answers = consent.answers(session, [c.alumnus_id for c in contacts])
    holds = consent.held(session, [c.email for c in contacts] + [c.phone for c in contacts])
    notice_versions: dict[tuple[str, str], Any] = {}
    rows, inbox = [], []
    for contact in contacts:
        for channel in newsletter.channels:
            address = consent.address_of(contact, channel)
            reason = consent.refusal(
                answers.get((contact.alumnus_id, channel, MARKETING)),
                MARKETING,
                address,
                address in holds,
            )
            context: dict[str, Any] = {"recipient": {"name": contact.name}}
            version_id = None
            if channel != EMAIL:
                key = (channel, contact.locale)
                if key not in notice_versions:
                    notice_versions[key] = current_version(session, NOTICE, channel, contact.locale)
                version_id = notice_versions[key].id
                context["newsletter"] = {"subject": _subject_for(newsletter, contact.name)}
            row = {
                "id": new_id(),
                "dedupe_key": f"newsletter:{newsletter.id}:alumnus:{contact.alumnus_id}:{channel}",
                "kind": NEWSLETTER if channel == EMAIL else NOTICE,
                "channel": channel,
                "purpose": MARKETING,
                "recipient": f"alumnus:{contact.alumnus_id}",
                "alumnus_id": contact.alumnus_id,
                "address": address,
                # A bulk insert runs no ORM events (services/common/models.py).
                "address_index": crypto.blind_index(address),
                "locale": contact.locale,
                "template_version_id": version_id,
                "newsletter_id": newsletter.id,
                "context": context,
                "status": SKIPPED if reason else QUEUED,
                "skip_reason": reason,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "reported": reason is not None,
                "sent_at": None,
                "last_error": None,
            }
            if not reason and channel == INBOX:
                _deliver_notice(row, notice_versions[(channel, contact.locale)], links, inbox, now)
            rows.append(row)
    if rows:
        session.execute(insert(Message), rows)
    if inbox:
        session.execute(insert(InboxItem), inbox)
    if contacts:
        newsletter.expanded_through = contacts[-1].alumnus_id
    if len(contacts) < batch:
        newsletter.expansion_done = True
    session.flush()
    return len(contacts)


def _subject_for(newsletter: Newsletter, name: str) -> str:
    try:
        return " ".join(
            render(newsletter.subject, {"recipient": {"name": name}, **_LINKLESS}).split()
        )
    except RENDER_ERRORS:
        return newsletter.subject


_LINKLESS = {"unsubscribe_url": "", "preferences_url": ""}


def _deliver_notice(row: dict, version, links: Links, inbox: list, now: datetime) -> None:
    context = {
        **row["context"],
        "unsubscribe_url": links.unsubscribe_url(row["alumnus_id"], INBOX, MARKETING),
        "preferences_url": f"{links.public_url}/api/v1/me/notification-preferences",
    }
    try:
        title, body = render_inbox(version_content(version), context)
    except RENDER_ERRORS as error:
        row.update(status="failed", last_error=f"render_failed: {error}"[:2000])
        return
    inbox.append(
        {
            "id": new_id(),
            "audience": row["recipient"],
            "kind": row["kind"],
            "title": title,
            "body": body,
            "message_id": row["id"],
            "created_at": now,
        }
    )
    row.update(status=SENT, sent_at=now, attempts=1)


def finish_done(session: Session, now: datetime) -> int:
    """Newsletters whose every message has its outcome: sent (the status)."""
    pending = (
        select(Message.seq)
        .where(Message.newsletter_id == Newsletter.id, Message.status.in_((QUEUED, WAITING)))
        .exists()
    )
    result = session.execute(
        update(Newsletter)
        .where(Newsletter.status == SENDING, Newsletter.expansion_done.is_(True), ~pending)
        .values(status=DONE, finished_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0
