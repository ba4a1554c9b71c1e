"""Old contact values in the history are masked once their retention is over.

The history keeps who changed what (DESIGN.md), but a phone number, e-mail address or
WeChat ID that an alumnus replaced is of no more use after `HISTORY_CONTACT_RETENTION_DAYS`
and is personal information (PIPL's storage limitation). `mask_old_contacts` replaces such
a value by its masked form (`138****5678`) wherever the history holds it: as the old value
of the change that replaced it, and as the new value of the change that set it. The change
that replaced it is marked (`masked_at`), so each is done once; the current value stays.

Plain functions over a session; the registry's timer calls them (services/registry/
service.py).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.visibility import PERSONAL_FIELDS, mask
from services.registry.domain import RECORD_FIELD
from services.registry.models import ChangeRecord

BATCH = 500


def mask_old_contacts(
    session: Session, now: datetime, retention: timedelta, batch: int = BATCH
) -> int:
    """Mask the contact values replaced before `now - retention`, up to `batch` changes;
    returns how many changes were handled. The caller commits, and calls again while a
    full batch was handled."""
    replacing = session.scalars(
        select(ChangeRecord)
        .where(
            ChangeRecord.field.in_(PERSONAL_FIELDS),
            ChangeRecord.old_value.is_not(None),
            ChangeRecord.masked_at.is_(None),
            ChangeRecord.changed_at < now - retention,
        )
        .order_by(ChangeRecord.id)
        .limit(batch)
    ).all()
    for change in replacing:
        replaced = change.old_value
        change.old_value = _masked(change.field, replaced)
        change.masked_at = now
        # The earlier change(s) of this field that set the replaced value: the field's own
        # rows, or the row of the import that created the record (all its fields in one).
        for earlier in session.scalars(
            select(ChangeRecord).where(
                ChangeRecord.alumnus_seq == change.alumnus_seq,
                ChangeRecord.field.in_((change.field, RECORD_FIELD)),
                ChangeRecord.id < change.id,
            )
        ):
            if earlier.field == RECORD_FIELD:
                earlier.new_value = _masked_in_record(
                    earlier.new_value, change.field, replaced, change.old_value
                )
            elif earlier.new_value == replaced:
                earlier.new_value = change.old_value
    session.flush()
    return len(replacing)


def _masked_in_record(record: str | None, field: str, replaced: str, masked: str) -> str | None:
    """An imported record's history value with `field` masked if it set the replaced value."""
    values = json.loads(record) if record is not None else {}
    if field not in values or values[field] != json.loads(replaced):
        return record
    values[field] = json.loads(masked)
    return json.dumps(values, ensure_ascii=False)


def _masked(field: str, stored: str) -> str:
    return json.dumps(mask(field, json.loads(stored)), ensure_ascii=False)
