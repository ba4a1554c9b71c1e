"""One person in the notify service: all it holds on them (PIPL art. 45), and their
erasure on the registry's `alumnus_erased` (art. 47).

What names or reaches a person here: the directory's contact (name, e-mail, phone, place),
the addresses and rendering context of their messages with the files attached to them,
their in-app inbox, and any hold on their addresses. Consents and their history stay:
they name the person by id only and prove what was allowed when. Messages not yet sent
are skipped (`erased`); the delivery log keeps that a message went, not where.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.common import crypto
from services.common.erasure import ERASED_NAME, forget_events, identity_values, scrub
from services.notify import consent
from services.notify.clock import as_utc
from services.notify.inbox import item_to_dict
from services.notify.messages import QUEUED, SKIPPED, WAITING, message_to_dict
from services.notify.models import (
    AddressHold,
    Attachment,
    ConsentChange,
    Contact,
    ContactGraduation,
    InboxItem,
    Message,
    OutboxMessage,
)

ERASED = "erased"


def export_person(session: Session, alumnus_id: str) -> dict[str, Any]:
    contact = session.get(Contact, alumnus_id)
    return {
        "contact": None
        if contact is None
        else {
            "name": contact.name,
            "email": contact.email,
            "phone": contact.phone,
            "province": contact.province,
            "city": contact.city,
            "locale": contact.locale,
        },
        "consents": consent.preferences(session, alumnus_id)["preferences"]
        if contact is not None
        else [],
        "consent_history": [
            {
                "channel": c.channel,
                "purpose": c.purpose,
                "granted": c.granted,
                "source": c.source,
                "changed_at": c.changed_at.isoformat(),
            }
            for c in session.scalars(
                select(ConsentChange)
                .where(ConsentChange.alumnus_id == alumnus_id)
                .order_by(ConsentChange.id)
            )
        ],
        "messages": [message_to_dict(m) for m in _messages(session, alumnus_id)],
        "inbox": [
            item_to_dict(i)
            for i in session.scalars(
                select(InboxItem).where(InboxItem.audience == _audience(alumnus_id))
            )
        ],
    }


def erase_alumnus(session: Session, alumnus_id: str, erased_at: datetime) -> None:
    """Remove the person's name, addresses and messages' contents; idempotent."""
    version = as_utc(erased_at)
    contact = session.get(Contact, alumnus_id)
    messages = _messages(session, alumnus_id)
    identity = identity_values(
        *((contact.name, contact.email, contact.phone) if contact else ()),
        *(m.address for m in messages if m.channel != "inbox"),
    )
    # Holds are found by the address's blind index (addresses are encrypted at rest).
    indexes = [index for value in identity for index in crypto.blind_indexes(value)]
    session.execute(delete(AddressHold).where(AddressHold.address_index.in_(indexes)))
    session.execute(delete(Attachment).where(Attachment.message_id.in_([m.id for m in messages])))
    for message in messages:
        if message.status in (QUEUED, WAITING):
            message.status, message.skip_reason, message.reported = SKIPPED, ERASED, True
            message.lease_until = message.lease_token = None
        message.address = None if message.channel != "inbox" else message.address
        message.context = {"recipient": {"name": ERASED_NAME}}
        message.last_error = scrub(message.last_error, identity)
    session.execute(delete(InboxItem).where(InboxItem.audience == _audience(alumnus_id)))
    # Who changed a consent may be the person's own login name: kept as the source only.
    for change in session.scalars(
        select(ConsentChange).where(ConsentChange.alumnus_id == alumnus_id)
    ):
        change.actor = None
    if contact is None:
        contact = Contact(alumnus_id=alumnus_id, locale="zh-CN")
        session.add(contact)
    contact.name, contact.email, contact.phone = ERASED_NAME, None, None
    contact.province = contact.city = None
    contact.updated_at = max(version, as_utc(contact.updated_at)) if contact.updated_at else version
    session.flush()
    # The tombstone keeps no segment: no newsletter finds the person any more.
    session.execute(delete(ContactGraduation).where(ContactGraduation.alumnus_id == alumnus_id))
    forget_events(session, OutboxMessage, alumnus_id, identity)


def _audience(alumnus_id: str) -> str:
    return f"alumnus:{alumnus_id}"


def _messages(session: Session, alumnus_id: str) -> list[Message]:
    return session.scalars(
        select(Message).where(Message.alumnus_id == alumnus_id).order_by(Message.seq)
    ).all()
