"""Who sees personal fields unmasked: the one rule the gateway and the services share.

Phone, e-mail and WeChat ID are personal information (DESIGN.md, PIPL), and so are the
contacts of visits, cooperation projects and event rosters. They are shown unmasked only
to the office, to the liaison of the record's own department, and to an alumnus for their
own record. The service that owns the data applies these predicates to the caller it
verifies (and writes each unmasked read to its access log, services/common/access_log.py);
the gateway uses the same predicates for what it still shapes itself. How a masked value
looks (`138****5678`) is here too, so that both mask alike.

Standard library and the platform's errors only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from services.common.errors import PermissionDenied

OFFICE = "office"
COMMITTEE = "committee"
LIAISON = "liaison"
ALUMNUS = "alumnus"
# A platform service reading for its own copy (services/common/caller.py `for_service`).
SERVICE = "service"

PERSONAL_FIELDS = ("phone", "email", "wechat")
CONTACT_FIELDS = ("phone", "email")


class Viewer(Protocol):
    """Whoever reads: the verified `Caller` a service receives (services/common/caller.py),
    which is also the gateway's `Principal`."""

    account_id: str
    username: str
    role: str
    department_id: str | None
    alumnus_id: str | None


# ---- the predicates -----------------------------------------------------------------------


def may_see_contacts_in(viewer: Viewer, department_ids: Iterable[str] | None) -> bool:
    """The office, or the liaison of one of `department_ids` (None or empty: office only);
    and a platform service for its own copy."""
    if viewer.role in (OFFICE, SERVICE):
        return True
    return viewer.role == LIAISON and viewer.department_id in set(department_ids or ())


def departments_of(alumnus: Mapping[str, Any]) -> set[str]:
    """The departments of its graduations, and those they belong to now (a department merged
    into another: its alumni are the successor's too, docs/stewardship.md)."""
    graduations = alumnus.get("graduations", [])
    return {g["department_id"] for g in graduations} | {
        g["current_department_id"] for g in graduations if g.get("current_department_id")
    }


def may_see_personal_fields(viewer: Viewer, alumnus: Mapping[str, Any]) -> bool:
    """Contacts are for those who work with the alumnus: the office and their department's
    liaison (the committee reads records with contacts masked), and the alumnus themselves.
    A platform service keeping its copy (the roster) reads them whole."""
    if viewer.role == SERVICE:
        return True
    if viewer.role == ALUMNUS:
        return viewer.alumnus_id is not None and viewer.alumnus_id == alumnus.get("id")
    return may_see_contacts_in(viewer, departments_of(alumnus))


def reads_whole_records(viewer: Viewer) -> bool:
    """Whether a search lists whole records for `viewer` rather than summaries: a platform
    service keeping its copy (the events roster's backfill). People search summaries, which
    carry none of PERSONAL_FIELDS (issue 12); the record, masked by the rules above, comes
    from a read of one alumnus."""
    return viewer.role == SERVICE


def may_see_visit_contact(viewer: Viewer, visit: Mapping[str, Any]) -> bool:
    """A visit's contact: the alumnus who asked, the office, the department's liaison."""
    if viewer.role == ALUMNUS:
        return visit.get("requester_alumnus_id") == viewer.alumnus_id
    return may_see_contacts_in(viewer, [visit.get("department_id")])


def may_see_project_contacts(viewer: Viewer, project: Mapping[str, Any]) -> bool:
    return may_see_contacts_in(viewer, [project.get("department_id")])


def is_logged(viewer: Viewer, alumnus_id: str | None) -> bool:
    """Whether showing `alumnus_id`'s data unmasked to `viewer` goes into the access log: not
    a platform service's copy, not the alumnus's own data shown to themselves."""
    if viewer.role == SERVICE:
        return False
    return not (viewer.role == ALUMNUS and alumnus_id and viewer.alumnus_id == alumnus_id)


def require_office(viewer: Viewer) -> None:
    if viewer.role != OFFICE:
        raise PermissionDenied("只有校友会办公室可以这样做。", reason="role_not_allowed")


def require_self_or_service(viewer: Viewer, alumnus_id: str) -> None:
    """A copy of everything held on a person goes to them (or to a platform service)."""
    if viewer.role == SERVICE:
        return
    if viewer.role != ALUMNUS or viewer.alumnus_id != str(alumnus_id):
        raise PermissionDenied("只能导出本人的信息。", reason="not_themselves")


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


# ---- the alumni directory: what each alumnus lets verified alumni see ------------------------

DIRECTORY_LEVELS = ("name_only", "work", "contacts")
DIRECTORY_DEFAULT = "name_only"
"""A record without a choice gets the most private setting (issue 11, item 7)."""
DIRECTORY_WORK_FIELDS = ("employer", "city")


def directory_fields(level: str) -> tuple[str, ...]:
    """The fields beyond name and class that `level` shows to other verified alumni."""
    if level == "contacts":
        return (*DIRECTORY_WORK_FIELDS, *PERSONAL_FIELDS)
    if level == "work":
        return DIRECTORY_WORK_FIELDS
    return ()


def directory_entry(alumnus: Mapping[str, Any], level: str | None) -> dict[str, Any]:
    """One directory entry under its alumnus's choice: the fields the choice does not show
    are null, not masked (a mask still gives away part of a number)."""
    level = level if level in DIRECTORY_LEVELS else DIRECTORY_DEFAULT
    shown = directory_fields(level)
    hidden = (*DIRECTORY_WORK_FIELDS, *PERSONAL_FIELDS)
    return {
        "alumnus_id": alumnus["id"],
        "name": alumnus["name"],
        "level": level,
        **{name: (alumnus.get(name) if name in shown else None) for name in hidden},
    }


def mask_contact(contact: dict[str, Any]) -> dict[str, Any]:
    """A contact ({name, phone, email, …}) with its phone and e-mail masked."""
    return {**contact, **{f: mask(f, contact.get(f)) for f in CONTACT_FIELDS if f in contact}}
