"""Consent per person, channel and purpose, with its source and time; addresses on hold.

Transactional messages (confirmations, receipts) go out unless the person withdrew that
channel for transactional messages; marketing (newsletters) needs a consent given. Every
change is kept in `consent_changes` (who or what said so, and when).

SQLAlchemy only.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common import crypto
from services.common.contracts.base import iso_utc
from services.notify.directory import get_contact
from services.notify.kinds import MARKETING, PURPOSES
from services.notify.models import AddressHold, Consent, ConsentChange, Contact
from services.notify.templating import CHANNELS, EMAIL, SMS

NO_ADDRESS, NO_CONSENT, WITHDRAWN, ON_HOLD = (
    "no_address",
    "no_consent",
    "withdrawn",
    "address_on_hold",
)


def set_consent(
    session: Session,
    alumnus_id: str,
    channel: str,
    purpose: str,
    granted: bool,
    source: str,
    now: datetime,
    actor: str | None = None,
) -> bool:
    """Record an answer; False when it was already the answer (nothing is written)."""
    current = session.get(Consent, (alumnus_id, channel, purpose))
    if current is not None and current.granted == granted:
        return False
    if current is None:
        current = Consent(alumnus_id=alumnus_id, channel=channel, purpose=purpose)
        session.add(current)
    current.granted, current.source, current.changed_at = granted, source, now
    session.add(
        ConsentChange(
            alumnus_id=alumnus_id,
            channel=channel,
            purpose=purpose,
            granted=granted,
            source=source,
            actor=actor,
            changed_at=now,
        )
    )
    session.flush()
    return True


def answers(session: Session, alumnus_ids: Iterable[str]) -> dict[tuple[str, str, str], bool]:
    """{(alumnus_id, channel, purpose): granted} of everyone in `alumnus_ids`, in one query."""
    ids = list(set(alumnus_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(Consent.alumnus_id, Consent.channel, Consent.purpose, Consent.granted).where(
            Consent.alumnus_id.in_(ids)
        )
    )
    return {(a, c, p): granted for a, c, p, granted in rows}


def held(session: Session, addresses: Iterable[str | None]) -> set[str]:
    """Which of `addresses` are on hold, found by their blind indexes (under every key)."""
    by_index = {index: a for a in set(addresses) if a for index in crypto.blind_indexes(a)}
    if not by_index:
        return set()
    found = session.scalars(
        select(AddressHold.address_index).where(AddressHold.address_index.in_(by_index))
    )
    return {by_index[index] for index in found}


def address_of(contact: Contact | None, channel: str) -> str | None:
    if contact is None:
        return None
    if channel == EMAIL:
        return contact.email
    if channel == SMS:
        return contact.phone
    return f"alumnus:{contact.alumnus_id}"


def refusal(answer: bool | None, purpose: str, address: str | None, on_hold: bool) -> str | None:
    """Why a message may not go (a skip reason), or None when it may.

    `answer`: the person's recorded answer for the channel and purpose, None if none.
    """
    if not address:
        return NO_ADDRESS
    if answer is False:
        return WITHDRAWN
    if purpose == MARKETING and answer is not True:
        return NO_CONSENT
    if on_hold:
        return ON_HOLD
    return None


def hold_address(session: Session, address: str, channel: str, reason: str, now: datetime) -> None:
    if not held(session, [address]):
        session.add(
            AddressHold(address=address, channel=channel, reason=reason[:1000], held_at=now)
        )
        session.flush()


def update_preferences(
    session: Session,
    alumnus_id: str,
    changes: list[dict[str, Any]],
    locale: str | None,
    source: str,
    now: datetime,
    actor: str | None = None,
) -> dict[str, Any]:
    contact = get_contact(session, alumnus_id)
    for change in changes:
        set_consent(
            session,
            alumnus_id,
            change["channel"],
            change["purpose"],
            change["granted"],
            source,
            now,
            actor,
        )
    if locale:
        contact.locale = locale
    session.flush()
    return preferences(session, alumnus_id)


def preferences(session: Session, alumnus_id: str) -> dict[str, Any]:
    """Every channel and purpose with its answer: given, withdrawn, or the default."""
    contact = get_contact(session, alumnus_id)
    recorded = {
        (c.channel, c.purpose): c
        for c in session.scalars(select(Consent).where(Consent.alumnus_id == alumnus_id))
    }
    items = []
    for channel in CHANNELS:
        for purpose in PURPOSES:
            consent = recorded.get((channel, purpose))
            items.append(
                {
                    "channel": channel,
                    "purpose": purpose,
                    "granted": consent.granted if consent else purpose != MARKETING,
                    "source": consent.source if consent else "default",
                    "changed_at": iso_utc(consent.changed_at) if consent else None,
                }
            )
    return {"alumnus_id": alumnus_id, "locale": contact.locale, "preferences": items}
