"""The demo data generator yields records the registry's contract accepts."""

from __future__ import annotations

import uuid

from services.common.contracts.base import CHINA_MOBILE
from services.common.contracts.registry import AlumnusInput
from services.registry.demo import (
    DEPARTMENTS,
    FIRST_CLASS_YEAR,
    LAST_CLASS_YEAR,
    generate_alumni,
    profile_for,
)

COUNT = 500


def departments() -> list[dict[str, str]]:
    return [
        {"id": str(uuid.uuid5(uuid.NAMESPACE_DNS, d["code"])), "name": d["name"], "code": d["code"]}
        for d in DEPARTMENTS
    ]


def test_every_generated_record_loads_with_the_contract():
    records = list(generate_alumni(COUNT, departments(), seed=7))

    assert len(records) == COUNT
    schema = AlumnusInput()
    errors = {i: schema.validate(record) for i, record in enumerate(records)}
    assert {i: e for i, e in errors.items() if e} == {}


def test_records_are_realistic():
    depts = departments()
    by_id = {d["id"]: d for d in depts}
    records = list(generate_alumni(COUNT, depts, seed=11))

    for record in records:
        assert CHINA_MOBILE.match(record["phone"])
        for graduation in record["graduations"]:
            assert FIRST_CLASS_YEAR <= graduation["class_year"] <= LAST_CLASS_YEAR
            department = by_id[graduation["department_id"]]
            assert graduation["major"] in profile_for(department)["majors"]
    assert len({r["graduations"][0]["department_id"] for r in records}) == len(depts)
    assert len({r["name"] for r in records}) > COUNT * 0.8


def test_same_seed_same_records_other_seed_other_records():
    depts = departments()
    first = list(generate_alumni(COUNT, depts, seed=3))

    assert first == list(generate_alumni(COUNT, depts, seed=3))
    assert first != list(generate_alumni(COUNT, depts, seed=4))


def test_unknown_departments_get_generic_majors():
    other = [{"id": str(uuid.uuid4()), "name": "体育学院", "code": "PE"}]

    records = list(generate_alumni(20, other, seed=1))

    assert AlumnusInput(many=True).validate(records) == {}
