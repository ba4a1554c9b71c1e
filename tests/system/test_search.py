"""Search as Chinese users type (issue 10 item 5) and its summary items (issue 12 item 2),
over HTTP on SQLite and PostgreSQL: the exact name first, pinyin and initials, employer
and city by any part, pages in ranked order, summaries without contacts."""

from __future__ import annotations

from typing import Any

import pytest

from tests.system.helpers import alumnus_body, assert_documented, department_body, graduation

SUMMARY_FIELDS = {
    "id",
    "name",
    "gender",
    "graduations",
    "province",
    "city",
    "employer",
    "industry",
    "title",
}


@pytest.fixture(scope="module")
def office(system):
    return system.admin()


@pytest.fixture(scope="module")
def world(office) -> dict[str, Any]:
    response = office.post("/api/v1/departments", json=department_body())
    assert response.status_code == 201, response.text
    department = response.json()["id"]
    people = {}
    # Registered worst match first, so that the order of registration cannot pass for rank.
    for name, employer, city in [
        ("李单雄信", None, None),
        ("赵六", "单雄信文化传媒有限公司", "临沂"),
        ("单雄信明", None, None),
        ("单雄信", "瓦岗寨农业科技有限公司", "济南市历城区"),
        ("善雄心", None, None),
    ]:
        body = alumnus_body(
            department,
            name=name,
            employer=employer,
            city=city,
            phone="13900001234",
            graduations=[graduation(department)],
        )
        response = office.post("/api/v1/alumni", json=body)
        assert response.status_code == 201, response.text
        people[name] = response.json()["id"]
    return {"department": department, "people": people}


def listed(office, world, q: str, limit: int = 50, **filters: str) -> list[str]:
    """The names listed for `q` in this test's department, in order, page by page."""
    ids = {v: k for k, v in world["people"].items()}
    names, cursor = [], None
    while True:
        params = {"q": q, "department_id": world["department"], "limit": limit, **filters}
        if cursor:
            params["cursor"] = cursor
        response = office.get("/api/v1/alumni", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        names.extend(ids[item["id"]] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return names


def test_the_exact_name_comes_first_then_prefixes_then_parts(office, world):
    assert listed(office, world, "单雄信") == ["单雄信", "单雄信明", "李单雄信", "赵六"]
    assert listed(office, world, "单雄信", limit=1) == listed(office, world, "单雄信")


def test_shan_and_sxx_find_dan_xiongxin(office, world):
    for q in ("sxx", "shanxiongxin"):  # his exact initials, his exact pinyin
        assert listed(office, world, q)[0] == "单雄信", q
    for q in ("shan", "单x"):  # prefixes of both names: in the order of registration
        assert listed(office, world, q)[:2] == ["单雄信明", "单雄信"], q
    # Exact pinyin before its prefix; the everyday misreading still finds him.
    assert listed(office, world, "shanxiongxin")[:2] == ["单雄信", "善雄心"]
    assert "单雄信" in listed(office, world, "danxiongxin")
    assert listed(office, world, "sxx", limit=1) == listed(office, world, "sxx")


def test_employer_and_city_are_found_by_any_part(office, world):
    assert listed(office, world, "瓦岗寨") == ["单雄信"]
    assert listed(office, world, "农业科技") == ["单雄信"]
    assert listed(office, world, "历城") == ["单雄信"]
    assert listed(office, world, "临沂") == ["赵六"]
    assert listed(office, world, "传媒") == ["赵六"]
    assert listed(office, world, "sxx", employer="科技") == ["单雄信"]
    assert listed(office, world, "sxx", city="济南") == ["单雄信"]


def test_search_lists_summaries_and_get_gives_the_record(system, office, world):
    spec = office.get("/openapi.json").json()
    response = office.get(
        "/api/v1/alumni",
        params={"q": "单雄信", "department_id": world["department"], "limit": 1},
    )
    assert_documented(spec, "/api/v1/alumni", "GET", response)
    summary = response.json()["items"][0]
    assert set(summary) == SUMMARY_FIELDS
    assert summary["employer"] == "瓦岗寨农业科技有限公司"
    schema = spec["components"]["schemas"]["AlumnusSummary"]
    assert set(schema["properties"]) == SUMMARY_FIELDS
    record = office.get(f"/api/v1/alumni/{summary['id']}").json()
    assert record["phone"] == "13900001234"
    assert {k: record[k] for k in SUMMARY_FIELDS - {"graduations"}} == {
        k: summary[k] for k in SUMMARY_FIELDS - {"graduations"}
    }
