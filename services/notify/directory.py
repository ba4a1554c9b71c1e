"""The local directory of alumni, fed by the registry's events (as the events service keeps
its roster), and the segments newsletters go to. Nothing here asks the registry: sending
must not depend on another service being up.

SQLAlchemy only.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, delete, exists, select
from sqlalchemy.orm import Session

from services.common.errors import NotFound
from services.common.snapshots import row_to_update
from services.notify.models import Contact, ContactGraduation


def upsert_contact(session: Session, alumnus: dict[str, Any]) -> bool:
    """Keep the newest snapshot of an alumnus; False when this one is older than what we hold.

    The registry's two events arrive on separate queues, so an update may come first; a
    snapshot from the future is refused (services/common/snapshots.py).
    """
    contact = row_to_update(session, Contact, "alumnus_id", alumnus)
    if contact is None:
        return False
    contact.name = alumnus["name"]
    contact.email = alumnus.get("email")
    contact.phone = alumnus.get("phone")
    contact.province = alumnus.get("province")
    contact.city = alumnus.get("city")
    session.flush()
    session.execute(
        delete(ContactGraduation).where(ContactGraduation.alumnus_id == contact.alumnus_id)
    )
    for graduation in alumnus.get("graduations", []):
        session.add(
            ContactGraduation(
                alumnus_id=contact.alumnus_id,
                department_id=graduation["department_id"],
                class_year=graduation["class_year"],
            )
        )
    session.flush()
    return True


def get_contact(session: Session, alumnus_id: str) -> Contact:
    contact = session.get(Contact, str(alumnus_id))
    if contact is None:
        raise NotFound("通讯录中没有该校友。", {"alumnus_id": str(alumnus_id)}, reason="no_contact")
    return contact


def in_segment(segment: dict[str, Any]) -> Select:
    """Contacts of a segment: every field given must match (department and class year
    through any one graduation record); an empty segment is everyone."""
    query = select(Contact)
    graduation_filters = []
    if segment.get("department_id"):
        graduation_filters.append(ContactGraduation.department_id == segment["department_id"])
    if segment.get("class_year") is not None:
        graduation_filters.append(ContactGraduation.class_year == segment["class_year"])
    if graduation_filters:
        query = query.where(
            exists().where(ContactGraduation.alumnus_id == Contact.alumnus_id, *graduation_filters)
        )
    if segment.get("province"):
        query = query.where(Contact.province == segment["province"])
    if segment.get("city"):
        query = query.where(Contact.city == segment["city"])
    return query


def segment_page(
    session: Session, segment: dict[str, Any], after: str | None, limit: int
) -> list[Contact]:
    """The next `limit` contacts of a segment in alumnus-id order, after `after`."""
    query = in_segment(segment).order_by(Contact.alumnus_id).limit(limit)
    if after is not None:
        query = query.where(Contact.alumnus_id > after)
    return list(session.scalars(query))
