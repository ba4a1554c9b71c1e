"""Addresses in the delivery log: shown unmasked only to whom the shared rule
(services/common/visibility.py) allows (the office), and each shown one written to the
access log in the caller's transaction.

A platform service (the verified caller of role `service`) gets them as stored, unlogged;
a person's read without a purpose is masked: nobody is shown it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from services.common import access_log
from services.common.visibility import (
    SERVICE,
    Viewer,
    is_logged,
    mask,
    may_see_contacts_in,
)
from services.notify.models import AccessLogEntry

# How an address of each channel is masked: an e-mail address or a phone number.
ADDRESS_KIND = {"email": "email", "sms": "phone"}


def shown_messages(
    session: Session, page: dict[str, Any], reader: Viewer, purpose: str
) -> dict[str, Any]:
    # No department owns a message: the office only (and a platform service).
    visible = (bool(purpose) or reader.role == SERVICE) and may_see_contacts_in(reader, None)
    items = []
    for message in page["items"]:
        kind = ADDRESS_KIND.get(message["channel"])
        if kind is None or not message.get("address"):
            items.append(message)
        elif not visible:
            items.append({**message, "address": mask(kind, message["address"])})
        else:
            if is_logged(reader, message.get("alumnus_id")):
                access_log.record(
                    session,
                    AccessLogEntry,
                    reader,
                    f"message:{message['id']}",
                    message.get("alumnus_id"),
                    ["address"],
                    purpose,
                )
            items.append(message)
    return {**page, "items": items}


def search_access_log(session: Session, params: dict[str, Any]) -> dict[str, Any]:
    found = access_log.search(session, AccessLogEntry, params)
    return {**found, "items": [{**e, "service": "notify"} for e in found["items"]]}
