"""Registry stewardship over HTTP (docs/stewardship.md): student numbers, department lineage,
bulk import of registrar exports, duplicates and merges."""

from __future__ import annotations

from typing import Any

import pytest

from tests.system.helpers import (
    alumnus_body,
    assert_error,
    department_body,
    graduation,
    unique,
)

PASSWORD = "stewardship-pass-1"


@pytest.fixture(scope="module")
def office(system):
    return system.admin()


def new_department(office) -> dict[str, Any]:
    response = office.post("/api/v1/departments", json=department_body())
    assert response.status_code == 201, response.text
    return response.json()


def liaison_of(system, office, department_id: str):
    username = unique("liaison")
    response = office.post(
        "/api/v1/accounts",
        json={
            "username": username,
            "password": PASSWORD,
            "role": "liaison",
            "department_id": department_id,
        },
    )
    assert response.status_code == 201, response.text
    return system.client().login(username, PASSWORD)


# ---- student numbers and department lineage ---------------------------------------------


def test_a_student_number_is_unique_per_department_and_class_year(office):
    a, b = new_department(office)["id"], new_department(office)["id"]
    number = unique("S")[:12]
    first = office.post(
        "/api/v1/alumni",
        json=alumnus_body(a, graduations=[graduation(a, student_number=number)]),
    )
    assert first.status_code == 201, first.text
    assert first.json()["graduations"][0]["student_number"] == number

    again = office.post(
        "/api/v1/alumni",
        json=alumnus_body(a, graduations=[graduation(a, student_number=number)]),
    )
    assert assert_error(again, 409)["details"]["reason"] == "student_number_taken"
    for other in (
        graduation(b, student_number=number),
        graduation(a, class_year=2011, student_number=number),
    ):
        response = office.post("/api/v1/alumni", json=alumnus_body(a, graduations=[other]))
        assert response.status_code == 201, response.text

    # Its own record keeps its number through an edit of its graduations.
    alumnus_id = first.json()["id"]
    patched = office.patch(
        f"/api/v1/alumni/{alumnus_id}",
        json={"graduations": [graduation(a, student_number=number, major="计算机科学")]},
    )
    assert patched.status_code == 200, patched.text
    bad = office.post(
        "/api/v1/alumni",
        json=alumnus_body(a, graduations=[graduation(a, student_number="12 34")]),
    )
    assert_error(bad, 422)


def test_merged_departments_alumni_belong_to_the_successor(system, office):
    old_a, old_b = new_department(office), new_department(office)
    alumnus_a = office.post("/api/v1/alumni", json=alumnus_body(old_a["id"])).json()
    alumnus_b = office.post("/api/v1/alumni", json=alumnus_body(old_b["id"])).json()
    renamed = office.post(
        f"/api/v1/departments/{old_a['id']}/rename", json={"name": old_a["name"] + "（更名）"}
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["former_names"] == [old_a["name"]]

    successor = department_body()
    merged = office.post(
        "/api/v1/departments/merges",
        json={"department_ids": [old_a["id"], old_b["id"]], "successor": successor},
    )
    assert merged.status_code == 201, merged.text
    new = merged.json()
    assert new["name"] == successor["name"]
    assert {d["id"] for d in new["predecessors"]} == {old_a["id"], old_b["id"]}
    lineage = office.get(f"/api/v1/departments/{old_a['id']}/lineage").json()
    assert lineage["current_id"] == new["id"] and lineage["successor_id"] == new["id"]

    # Search by the successor finds the alumni of both; their records keep their department.
    found = office.get("/api/v1/alumni", params={"department_id": new["id"], "limit": 100})
    assert {a["id"] for a in found.json()["items"]} == {alumnus_a["id"], alumnus_b["id"]}
    record = office.get(f"/api/v1/alumni/{alumnus_a['id']}").json()
    assert record["graduations"][0]["department_id"] == old_a["id"]
    assert record["graduations"][0]["current_department_id"] == new["id"]

    # The successor's liaison has them in scope, contacts included; the old department's
    # liaison still reads its own graduates.
    liaison = liaison_of(system, office, new["id"])
    assert liaison.get(f"/api/v1/alumni/{alumnus_b['id']}").status_code == 200
    scoped = liaison.get("/api/v1/alumni", params={"limit": 100}).json()["items"]
    assert {a["id"] for a in scoped} == {alumnus_a["id"], alumnus_b["id"]}

    # Merging again, or into a merged department, is refused.
    again = office.post(
        "/api/v1/departments/merges",
        json={"department_ids": [old_a["id"]], "successor_id": new["id"]},
    )
    assert assert_error(again, 409)["details"]["reason"] == "already_merged"
    into_merged = office.post(
        "/api/v1/departments/merges",
        json={"department_ids": [new_department(office)["id"]], "successor_id": old_b["id"]},
    )
    assert assert_error(into_merged, 409)["details"]["reason"] == "successor_merged"
