"""Statistics and publication over HTTP (docs/stewardship.md, item 6): counts through
department lineage, the k-anonymous public map, the export of a search in the caller's
scope and masking, the yearly report as HTML and PDF with charts."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from openpyxl import load_workbook
from pypdf import PdfReader

from tests.system import helpers
from tests.system.helpers import alumnus_body, assert_error, department_body, graduation, unique

PHONE = "13912345678"
LAST_YEAR = datetime.now(UTC).year - 1


@pytest.fixture(scope="module")
def office(system):
    return system.admin()


def ok(response: requests.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.text[:500])
    return response.json()


def new_department(office) -> str:
    return helpers.new_department(office)["id"]


def new_alumnus(office, department_id: str, **fields: Any) -> dict[str, Any]:
    return ok(office.post("/api/v1/alumni", json=alumnus_body(department_id, **fields)), 201)


def account(system, office, role: str, department_id: str | None = None):
    scope = {"department_id": department_id} if department_id else {}
    return helpers.staff_account(system, office, role, **scope)


# ---- counts ------------------------------------------------------------------------------


def test_counts_by_department_take_merged_departments_to_their_successor(system, office):
    old_a, old_b = new_department(office), new_department(office)
    for _ in range(3):
        new_alumnus(office, old_a, industry="教育")
    for _ in range(2):
        new_alumnus(office, old_b, industry="金融")
    merged = office.post(
        "/api/v1/departments/merges",
        json={"department_ids": [old_a, old_b], "successor": department_body()},
    )
    successor = ok(merged, 201)["id"]
    other = new_department(office)
    new_alumnus(office, other, graduations=[graduation(other, degree="master", class_year=2015)])

    counts = ok(office.get("/api/v1/alumni/statistics", params={"by": "department"}))
    by_id = {item["key"]: item["count"] for item in counts["items"]}
    assert by_id[successor] == 5 and by_id[other] == 1
    assert old_a not in by_id and old_b not in by_id

    scoped = {"by": "industry", "department_id": successor}
    industries = ok(office.get("/api/v1/alumni/statistics", params=scoped))
    assert industries["total"] == 5
    assert {i["label"]: i["count"] for i in industries["items"]} == {"教育": 3, "金融": 2}

    # The successor's liaison counts their lineage only, whatever they ask to group by.
    liaison = account(system, office, "liaison", successor)
    theirs = ok(liaison.get("/api/v1/alumni/statistics", params={"by": "department"}))
    assert [(i["key"], i["count"]) for i in theirs["items"]] == [(successor, 5)]
    years = ok(liaison.get("/api/v1/alumni/statistics", params={"by": "class_year"}))
    assert years["total"] == 5 and [i["key"] for i in years["items"]] == [2010]
    refused = liaison.get(
        "/api/v1/alumni/statistics", params={"by": "department", "department_id": other}
    )
    assert assert_error(refused, 403)["details"]["reason"] == "other_department"

    committee = account(system, office, "committee")
    degrees = ok(committee.get("/api/v1/alumni/statistics", params={"by": "degree"}))
    assert {"bachelor", "master"} <= {i["key"] for i in degrees["items"]}
    assert "本科" in {i["label"] for i in degrees["items"]}

    bad = office.get("/api/v1/alumni/statistics", params={"by": "star_sign"})
    assert "by" in assert_error(bad, 422)["details"]["fields"]
    assert_error(office.get("/api/v1/alumni/statistics"), 422)
    assert_error(
        office.get("/api/v1/alumni/statistics", params={"by": "city", "class_year": "x"}), 422
    )
    assert_error(system.client().get("/api/v1/alumni/statistics", params={"by": "city"}), 401)


# ---- the map -----------------------------------------------------------------------------


def test_the_public_map_shows_no_place_under_k(system, office):
    department = new_department(office)
    province, small_province = unique("测试省"), unique("小省")
    for city, n in (("五人市", 5), ("四人市", 4), ("一人市", 1)):
        for _ in range(n):
            new_alumnus(office, department, province=province, city=city)
    for _ in range(4):
        new_alumnus(office, department, province=small_province, city="某市")

    anonymous = system.client()
    place = ok(anonymous.get("/api/v1/alumni/map"))
    assert place["min_count"] == 5
    provinces = {p["province"]: p for p in place["provinces"]}
    assert small_province not in provinces  # 4 alumni: hidden, counted in 其他/未公开
    assert place["other"] >= 5 or place["other"] == 0
    shown = provinces[province]
    assert shown["count"] == 10
    # 五人市 shown; 四人市 and 一人市 only as 其他 (5, itself not under k).
    assert {c["city"]: c["count"] for c in shown["cities"]} == {"五人市": 5, "其他": 5}
    for entry in place["provinces"]:
        assert entry["count"] >= 5
        assert all(c["count"] >= 5 for c in entry["cities"])
        # No difference under k between a province and the cities shown under it.
        assert entry["count"] == sum(c["count"] for c in entry["cities"])
    assert place["total"] == sum(p["count"] for p in place["provinces"]) + place["other"]
    assert office.get("/api/v1/alumni/map").status_code == 200


# ---- export ------------------------------------------------------------------------------


def test_the_export_keeps_the_callers_scope_and_masking(system, office):
    a, b = new_department(office), new_department(office)
    employer = unique("导出单位")
    mine = new_alumnus(office, a, phone=PHONE, employer=employer, city="=cmd|' /C calc'!A0")
    theirs = new_alumnus(office, b, phone=PHONE, employer=employer)
    params = {"employer": employer}

    response = office.get("/api/v1/alumni/export.csv", params=params)
    assert response.status_code == 200, response.text[:300]
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 2 and response.headers["X-Export-Rows"] == "2"
    assert {r["手机"] for r in rows} == {PHONE}
    assert "'=cmd|' /C calc'!A0" in {r["城市"] for r in rows}

    liaison = account(system, office, "liaison", a)
    sheet = liaison.get("/api/v1/alumni/export.xlsx", params=params)
    assert sheet.status_code == 200, sheet.text[:300]
    assert sheet.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    values = list(load_workbook(io.BytesIO(sheet.content)).active.iter_rows(values_only=True))
    assert values[0][0] == "姓名" and len(values) == 2
    assert values[1][0] == mine["name"] and values[1][3] == PHONE
    other = liaison.get("/api/v1/alumni/export.csv", params={**params, "department_id": b})
    assert_error(other, 403)

    committee = account(system, office, "committee")
    masked = committee.get("/api/v1/alumni/export.csv", params=params)
    rows = list(csv.DictReader(io.StringIO(masked.content.decode("utf-8-sig"))))
    assert {r["手机"] for r in rows} == {"139****5678"}

    # The unmasked exports are in the access log, the masked one is not.
    log = ok(office.get("/api/v1/access-log", params={"alumnus_id": theirs["id"]}))["items"]
    exported = [e for e in log if e["purpose"] == "GET /api/v1/alumni/export"]
    assert {e["role"] for e in exported} == {"office"}
    log = ok(office.get("/api/v1/access-log", params={"alumnus_id": mine["id"]}))["items"]
    exported = [e for e in log if e["purpose"] == "GET /api/v1/alumni/export"]
    assert {e["role"] for e in exported} == {"office", "liaison"}

    assert_error(office.get("/api/v1/alumni/export.csv", params={"class_year": "1800"}), 422)
    assert_error(office.get("/api/v1/alumni/export.csv", params={"format": "pdf"}), 422)


# ---- the yearly report -------------------------------------------------------------------


def wait_for_report(client, year: int, suffix: str) -> requests.Response:
    deadline = time.monotonic() + 90
    while True:
        response = client.get(f"/api/v1/reports/alumni/{year}.{suffix}")
        if response.status_code != 404:
            return response
        assert response.json()["error"]["details"]["reason"] == "report_generating"
        assert time.monotonic() < deadline, "the report was not generated"
        time.sleep(0.5)


def test_the_yearly_report_as_pdf_and_html_with_charts(system, office):
    department = new_department(office)
    for _ in range(5):
        new_alumnus(
            office,
            department,
            province="山东省",
            city="济南市",
            industry="信息技术",
            graduations=[graduation(department, class_year=LAST_YEAR)],
        )
    year = LAST_YEAR
    missing = office.get(f"/api/v1/reports/alumni/{year}.pdf")
    assert assert_error(missing, 404)["details"]["reason"] == "report_not_generated"
    asked = ok(office.post("/api/v1/reports/alumni", json={"year": year}), 202)
    assert asked["status"] == "queued"

    pdf = wait_for_report(office, year, "pdf")
    assert pdf.status_code == 200, pdf.text[:300]
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(pdf.content))
    assert sum(len(page.images) for page in reader.pages) == 5
    assert len(pdf.content) > 20_000
    assert f"{year} 年度校友报告" in reader.pages[0].extract_text()

    committee = account(system, office, "committee")
    html = committee.get(f"/api/v1/reports/alumni/{year}.html")
    assert html.status_code == 200 and html.headers["Content-Type"].startswith("text/html")
    assert html.text.count('src="data:image/png;base64,') == 5
    assert f"{year} 年度校友报告" in html.text
    again = ok(office.post("/api/v1/reports/alumni", json={"year": year}))
    assert again["status"] == "ready" and again["generated_at"]

    liaison = account(system, office, "liaison", department)
    assert_error(liaison.get(f"/api/v1/reports/alumni/{year}.pdf"), 403)
    assert_error(committee.post("/api/v1/reports/alumni", json={"year": year}), 403)
    this_year = office.post("/api/v1/reports/alumni", json={"year": year + 1})
    assert assert_error(this_year, 422)["details"]["reason"] == "year_not_over"
    assert_error(office.post("/api/v1/reports/alumni", json={"year": 1800}), 422)
    assert_error(office.post("/api/v1/reports/alumni", json={"year": "二〇二五"}), 422)
    assert_error(office.get("/api/v1/reports/alumni/20x5.pdf"), 404)
