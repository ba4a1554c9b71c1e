"""References to an alumnus that follow a registry merge, and go back on its undo.

The registry announces `alumni_merged` (two records were one person) and `alumni_unmerged`
(the merge was undone). A service that holds alumnus ids moves the absorbed record's
references to the survivor and writes down each row it moved under the merge, so the undo
moves back exactly those rows: rows that referred to the survivor before the merge, or were
made for it since, stay where they are.

    class MergedReference(MergedReferenceMixin, Base):
        pass

    GIFTS = Reference(Gift, "donor_alumnus_id")
    move_to_survivor(session, MergedReference, [GIFTS, ...], event["data"])
    move_back(session, MergedReference, [GIFTS, ...], event["data"])

SQLAlchemy only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, String, delete, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql.elements import ColumnElement


class MergedReferenceMixin:
    """One row moved from the absorbed alumnus to the survivor under a merge."""

    __tablename__ = "merged_references"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    merge_id: Mapped[str] = mapped_column(String(36), index=True)
    table_name: Mapped[str] = mapped_column(String(50))
    row_id: Mapped[str] = mapped_column(String(36))


@dataclass(frozen=True)
class Reference:
    """A column of `model` that holds an alumnus id; its rows are named by `key`.

    `keep_with_absorbed`, given the survivor's id, is the condition of rows that must not
    move (for example a second registration for an event the survivor holds already).
    `name` is what the moved rows are recorded under (the table and column by default).
    `stored_as` turns an alumnus id into what the column holds (the id itself by default).
    """

    model: type
    column: str
    key: str = "id"
    name: str = ""
    keep_with_absorbed: Callable[[str], ColumnElement[bool]] | None = None
    stored_as: Callable[[str], str] | None = None

    def value(self, alumnus_id: str) -> str:
        return self.stored_as(alumnus_id) if self.stored_as else alumnus_id

    @property
    def recorded_as(self) -> str:
        return self.name or f"{self.model.__tablename__}.{self.column}"


def move_to_survivor(
    session: Session, record: type, references: Iterable[Reference], data: dict[str, Any]
) -> int:
    """Every reference to `absorbed_id` becomes `survivor_id`; returns how many rows moved.

    Idempotent with the inbox: a second delivery finds nothing left to move.
    """
    survivor, absorbed, merge_id = data["survivor_id"], data["absorbed_id"], data["merge_id"]
    moved = 0
    for reference in references:
        column = getattr(reference.model, reference.column)
        key = getattr(reference.model, reference.key)
        query = select(key).where(column == reference.value(absorbed))
        if reference.keep_with_absorbed is not None:
            query = query.where(~reference.keep_with_absorbed(survivor))
        row_ids = [str(row_id) for row_id in session.scalars(query)]
        if not row_ids:
            continue
        session.execute(
            update(reference.model)
            .where(key.in_(row_ids))
            .values({column: reference.value(survivor)})
        )
        session.add_all(
            record(merge_id=merge_id, table_name=reference.recorded_as, row_id=row_id)
            for row_id in row_ids
        )
        moved += len(row_ids)
    session.flush()
    return moved


def move_back(
    session: Session, record: type, references: Iterable[Reference], data: dict[str, Any]
) -> int:
    """The rows moved for `merge_id` that still name the survivor go back to `absorbed_id`;
    returns how many."""
    survivor, absorbed, merge_id = data["survivor_id"], data["absorbed_id"], data["merge_id"]
    moved = 0
    for reference in references:
        row_ids = session.scalars(
            select(record.row_id).where(
                record.merge_id == merge_id, record.table_name == reference.recorded_as
            )
        ).all()
        if not row_ids:
            continue
        column = getattr(reference.model, reference.column)
        key = getattr(reference.model, reference.key)
        result = session.execute(
            update(reference.model)
            .where(key.in_(row_ids), column == reference.value(survivor))
            .values({column: reference.value(absorbed)})
        )
        moved += result.rowcount
    session.execute(delete(record).where(record.merge_id == merge_id))
    session.flush()
    return moved
