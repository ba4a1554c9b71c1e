"""What every service's erasure of a person (the registry's `alumnus_erased`) shares.

Each service removes the identity from its own tables in a domain function of its own
(`erase_alumnus` in the registry, the events, donations and notify services); what is the
same everywhere is here: the name an erased person is shown under, and forgetting the
events a service already sent about them, whose payloads (in the `outbox` table) still
carry names and contacts.

SQLAlchemy and the standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

ERASED_NAME = "已注销"
"""The name shown where a record must keep one (a gift's donor, a roster line)."""
REDACTED = "＊＊＊"


def identity_values(*values: str | None) -> list[str]:
    """The person's name and contacts as they may appear in free text, longest first (so
    that an e-mail address goes whole before a name inside it)."""
    return sorted({v for v in values if v and v != ERASED_NAME}, key=len, reverse=True)


def scrub(text: str | None, identity: Iterable[str]) -> str | None:
    """`text` with every occurrence of the person's name or contacts replaced."""
    if not text:
        return text
    for value in identity:
        text = text.replace(value, REDACTED)
    return text


def forget_events(
    session: Session,
    outbox_model: type,
    alumnus_id: str,
    identity: Iterable[str],
    unsent_too: bool = False,
) -> int:
    """Delete the outbox rows that mention the person; the number deleted.

    A sent row goes when its payload holds the person's id or any of `identity` (name,
    contacts). A row not yet sent stays for the relay, since a consumer may still need it
    (a refund for the books), unless `unsent_too`: the registry's own events are all about
    the one record, and an `alumnus_updated` still waiting would undo nothing but carry
    the identity out. The purge of sent rows removes the rest later.

    The payload is compared after it is read, not in SQL, so that it works whatever the
    column's type does to the stored bytes (encryption at rest).
    """
    needles = [alumnus_id, *(v for v in identity if v)]
    doomed = []
    for row in session.scalars(select(outbox_model).execution_options(yield_per=500)):
        if row.sent_at is None:
            if unsent_too and alumnus_id in row.payload:
                doomed.append(row)
        elif any(n in row.payload for n in needles):
            doomed.append(row)
    for row in doomed:
        session.delete(row)
    session.flush()
    return len(doomed)
