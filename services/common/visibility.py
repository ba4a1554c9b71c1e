"""Who sees personal fields unmasked: the one rule the gateway and the services share.

Phone, e-mail and WeChat ID are personal information (DESIGN.md, PIPL), and so are the
contacts of visits, cooperation projects and event rosters. They are shown unmasked only
to the office, to the liaison of the record's own department, and to an alumnus for their
own record. The service that owns the data applies these predicates to the caller it
receives (and writes each unmasked read to its access log, services/common/access_log.py);
the gateway uses the same predicates for what it still shapes itself. How a masked value
looks (`138****5678`) is here too, so that both mask alike.

Standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

OFFICE = "office"
COMMITTEE = "committee"
LIAISON = "liaison"
ALUMNUS = "alumnus"

PERSONAL_FIELDS = ("phone", "email", "wechat")
CONTACT_FIELDS = ("phone", "email")


class Viewer(Protocol):
    """Whoever reads: the gateway's `Principal`, or a service's `Reader`."""

    role: str
    department_id: str | None
    alumnus_id: str | None


@dataclass(frozen=True)
class Reader:
    """The caller as a service receives it with a read: who, for the access log too."""

    account_id: str
    username: str
    role: str
    department_id: str | None = None
    alumnus_id: str | None = None


def reader_from(caller: Mapping[str, Any]) -> Reader:
    """The reader a service decides from.

    Today this is the actor dict the gateway sends (account id, username, role,
    department, alumnus record). The one place to swap for a verified caller: every
    unmasking decision in the services starts here.
    """
    return Reader(
        account_id=str(caller["account_id"]),
        username=str(caller["username"]),
        role=str(caller["role"]),
        department_id=caller.get("department_id"),
        alumnus_id=caller.get("alumnus_id"),
    )


# ---- the predicates -----------------------------------------------------------------------


def may_see_contacts_in(viewer: Viewer, department_ids: Iterable[str] | None) -> bool:
    """The office, or the liaison of one of `department_ids` (None or empty: office only)."""
    if viewer.role == OFFICE:
        return True
    return viewer.role == LIAISON and viewer.department_id in set(department_ids or ())


def departments_of(alumnus: Mapping[str, Any]) -> set[str]:
    return {g["department_id"] for g in alumnus.get("graduations", [])}


def may_see_personal_fields(viewer: Viewer, alumnus: Mapping[str, Any]) -> bool:
    """Contacts are for those who work with the alumnus: the office and their department's
    liaison (the committee reads records with contacts masked), and the alumnus themselves."""
    if viewer.role == ALUMNUS:
        return viewer.alumnus_id is not None and viewer.alumnus_id == alumnus.get("id")
    return may_see_contacts_in(viewer, departments_of(alumnus))


def may_see_visit_contact(viewer: Viewer, visit: Mapping[str, Any]) -> bool:
    """A visit's contact: the alumnus who asked, the office, the department's liaison."""
    if viewer.role == ALUMNUS:
        return visit.get("requester_alumnus_id") == viewer.alumnus_id
    return may_see_contacts_in(viewer, [visit.get("department_id")])


def may_see_project_contacts(viewer: Viewer, project: Mapping[str, Any]) -> bool:
    return may_see_contacts_in(viewer, [project.get("department_id")])


# ---- masking ------------------------------------------------------------------------------


def mask(field: str, value: Any) -> Any:
    if not isinstance(value, str) or not value:
        return value
    if field == "phone":
        return value[:3] + "****" + value[-4:] if len(value) >= 7 else "****"
    if field == "email":
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    return value[:1] + "***"


def masked_alumnus(alumnus: dict[str, Any]) -> dict[str, Any]:
    return {**alumnus, **{f: mask(f, alumnus.get(f)) for f in PERSONAL_FIELDS}}


def shown_fields(record: Mapping[str, Any], names: Iterable[str]) -> list[str]:
    """The personal fields of `names` that hold a value: what an unmasked read disclosed."""
    return [name for name in names if record.get(name) not in (None, "")]


def masked_change(change: dict[str, Any]) -> dict[str, Any]:
    if change["field"] not in PERSONAL_FIELDS:
        return change
    return {
        **change,
        "old_value": mask(change["field"], change["old_value"]),
        "new_value": mask(change["field"], change["new_value"]),
    }


def mask_contact(contact: dict[str, Any]) -> dict[str, Any]:
    """A contact ({name, phone, email, …}) with its phone and e-mail masked."""
    return {**contact, **{f: mask(f, contact.get(f)) for f in CONTACT_FIELDS if f in contact}}
