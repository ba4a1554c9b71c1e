"""Who gives, and the local copy of the registry that says who an alumnus is.

A donor is an alumnus (by registry id), an organisation (by name, with an optional
alumnus soft credit) or anonymous. An alumnus donor must exist: the local copy (fed by
the registry's `alumnus_registered` / `alumnus_updated`) answers first; an alumnus it
does not hold yet is asked of the registry through `lookup` (an RPC the service passes
in) and copied, so a gift recorded right after registration does not wait for the event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common.errors import NotFound, ValidationFailed
from services.common.snapshots import row_to_update
from services.donations.models import AlumnusCopy, AlumnusGraduationCopy

ALUMNUS = "alumnus"
ORGANISATION = "organisation"
ANONYMOUS = "anonymous"
ANONYMOUS_NAME = "匿名"
ANONYMOUS_RECEIPT_NAME = "匿名捐赠人"

AlumnusLookup = Callable[[str], dict[str, Any]]
"""The registry's record of an alumnus (contract `Alumnus`); NotFound when there is none."""


@dataclass(frozen=True)
class Donor:
    type: str
    alumnus_id: str | None
    name: str | None
    soft_credit_alumnus_id: str | None

    @property
    def receipt_name(self) -> str:
        return self.name if self.type != ANONYMOUS else ANONYMOUS_RECEIPT_NAME

    def columns(self) -> dict[str, Any]:
        return {
            "donor_type": self.type,
            "donor_alumnus_id": self.alumnus_id,
            "donor_name": self.name,
            "donor_soft_credit_alumnus_id": self.soft_credit_alumnus_id,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "alumnus_id": self.alumnus_id,
            "name": self.name,
            "soft_credit_alumnus_id": self.soft_credit_alumnus_id,
        }

    def same_party(self, other: Donor) -> bool:
        """The same donor: the same alumnus, the same organisation, or both anonymous."""
        if self.type != other.type:
            return False
        if self.type == ALUMNUS:
            return self.alumnus_id == other.alumnus_id
        return self.type == ANONYMOUS or self.name == other.name


def donor_of(row: Any) -> Donor:
    """The donor recorded on a row with the donor columns (models.DonorColumns)."""
    return Donor(
        row.donor_type, row.donor_alumnus_id, row.donor_name, row.donor_soft_credit_alumnus_id
    )


def donor_dict(row: Any) -> dict[str, Any]:
    return donor_of(row).as_dict()


def resolve_donor(session: Session, given: dict[str, Any], lookup: AlumnusLookup) -> Donor:
    """The donor a request names (contract DonorInput, loaded), checked and with its name."""
    kind = given["type"]
    if kind == ALUMNUS:
        alumnus_id = str(given["alumnus_id"])
        registry_name = _known_alumnus(session, alumnus_id, lookup, "donor")
        return Donor(ALUMNUS, alumnus_id, given.get("name") or registry_name, None)
    if kind == ORGANISATION:
        soft_credit = given.get("soft_credit_alumnus_id")
        if soft_credit is not None:
            soft_credit = str(soft_credit)
            _known_alumnus(session, soft_credit, lookup, "donor")
        return Donor(ORGANISATION, None, given["name"], soft_credit)
    return Donor(ANONYMOUS, None, None, None)


def _known_alumnus(session: Session, alumnus_id: str, lookup: AlumnusLookup, field: str) -> str:
    """The name of an alumnus the registry holds (from the copy, else asked); 422 if none."""
    copy = session.get(AlumnusCopy, alumnus_id)
    if copy is not None:
        return copy.name
    try:
        record = lookup(alumnus_id)
    except NotFound:
        raise ValidationFailed(
            "请求数据校验失败。",
            {"fields": {field: ["校友不存在。"]}},
            reason="unknown_alumnus",
        ) from None
    try:
        # The `alumnus_registered` handler, here or on another instance, may commit the
        # same copy between our read and our write: the unique key decides, and the loser
        # leaves the copy to the winner (the same registry record, or a newer one).
        with session.begin_nested():
            upsert_alumnus(session, record)
    except IntegrityError:
        pass
    return record["name"]


# ---- the local copy of the registry -----------------------------------------------


def upsert_alumnus(session: Session, alumnus: dict[str, Any]) -> bool:
    """Keep the registry's newest record of an alumnus; False for an older one than held.

    The registry's events arrive on separate queues, so an `alumnus_updated` may come
    before the `alumnus_registered` it follows; a snapshot from the future is refused
    (services/common/snapshots.py).
    """
    copy = row_to_update(session, AlumnusCopy, "alumnus_id", alumnus)
    if copy is None:
        return False
    copy.name = alumnus["name"]
    session.flush()
    session.execute(
        delete(AlumnusGraduationCopy).where(AlumnusGraduationCopy.alumnus_id == alumnus["id"])
    )
    graduations = {(g["department_id"], g["class_year"]) for g in alumnus.get("graduations") or []}
    if graduations:
        session.execute(
            insert(AlumnusGraduationCopy),
            [
                {"alumnus_id": alumnus["id"], "department_id": d, "class_year": y}
                for d, y in sorted(graduations)
            ],
        )
    return True


def class_years(session: Session, alumnus_ids: set[str]) -> dict[str, int]:
    """Each alumnus's earliest class year in the registry, for “XX级校友”."""
    if not alumnus_ids:
        return {}
    rows = session.execute(
        select(AlumnusGraduationCopy.alumnus_id, AlumnusGraduationCopy.class_year).where(
            AlumnusGraduationCopy.alumnus_id.in_(alumnus_ids)
        )
    ).all()
    years: dict[str, int] = {}
    for alumnus_id, year in rows:
        years[alumnus_id] = min(year, years.get(alumnus_id, year))
    return years
