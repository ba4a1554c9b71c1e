"""Reading named values from rows by position (services/common/rows.py) and the graduations
shaped through it (domain.graduation_dicts)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, text

from services.common.rows import row_reader
from services.registry import domain


@pytest.fixture(scope="module")
def connection():
    with create_engine("sqlite://").connect() as connection:
        yield connection


def test_a_row_is_read_by_position_as_its_attributes_read_whatever_the_column_order(connection):
    first = connection.execute(text("SELECT 1 AS seq, '王一' AS name, 'm' AS gender")).one()
    other = connection.execute(text("SELECT 'f' AS gender, 2 AS seq, '李二' AS name")).one()
    for row in (first, other):
        assert row_reader(row, ("name", "seq"))(row) == (row.name, row.seq)
        assert row_reader(row, ("gender",))(row) == row.gender


def test_anything_but_a_row_is_read_by_attribute():
    graduation = SimpleNamespace(seq=3, name="张三")
    assert row_reader(graduation, ("name", "seq"))(graduation) == ("张三", 3)


def test_a_name_the_row_lacks_is_an_error_not_another_column(connection):
    row = connection.execute(text("SELECT 1 AS seq")).one()
    with pytest.raises(ValueError):
        row_reader(row, ("name",))


GRADUATION = {
    "department_id": "d-cs",
    "major": "计算机",
    "degree": "bachelor",
    "class_year": 2010,
    "class_name": None,
    "student_number": None,
    "enrolment_year": 2006,
}


def graduation_rows(connection, *graduations):
    selects = [
        "SELECT " + ", ".join(f":{name}{n} AS {name}" for name in graduation)
        for n, graduation in enumerate(graduations)
    ]
    params = {f"{name}{n}": value for n, g in enumerate(graduations) for name, value in g.items()}
    return connection.execute(text(" UNION ALL ".join(selects)), params).all()


def test_graduations_come_in_the_canonical_order_from_rows_and_from_objects_alike(connection):
    later = {**GRADUATION, "class_year": 2014, "degree": "master"}
    rows = graduation_rows(connection, later, GRADUATION)
    objects = [SimpleNamespace(**later), SimpleNamespace(**GRADUATION)]
    assert domain.graduation_dicts(rows) == [GRADUATION, later]
    assert domain.graduation_dicts(objects) == [GRADUATION, later]
    assert domain.graduation_dicts([]) == []


def test_the_current_department_is_carried_only_where_the_read_found_one(connection):
    moved = {**GRADUATION, "current_department_id": "d-info"}
    kept = {**GRADUATION, "class_year": 2012, "current_department_id": None}
    shaped = domain.graduation_dicts(graduation_rows(connection, moved, kept))
    assert shaped == [moved, {**GRADUATION, "class_year": 2012}]
