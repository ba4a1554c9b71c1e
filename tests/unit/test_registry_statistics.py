"""Statistics, the k-anonymous map, the export and the yearly report of the registry
(services/registry/statistics.py, exports.py, reports.py) over a migrated database."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from pypdf import PdfReader

from services.common.errors import NotFound, ServiceUnavailable, ValidationFailed
from services.registry import departments, domain, exports, reports, statistics
from services.registry.imports import InProcess
from services.registry.models import YearlyReport

OFFICE = {"account_id": "acc", "username": "office", "role": "office", "department_id": None}
NAMES = itertools.count()


class Viewer:
    def __init__(self, role: str, department_id: str | None = None) -> None:
        self.account_id, self.username = "v-" + role, "viewer-" + role
        self.role, self.department_id, self.alumnus_id = role, department_id, None


def alumnus(session, department_id: str, **fields) -> dict:
    graduations = fields.pop("graduations", None) or [
        {"department_id": department_id, "major": "软件", "degree": "bachelor", "class_year": 2010}
    ]
    data = {"name": f"校友{next(NAMES)}", "graduations": graduations, **fields}
    return domain.register_alumnus(session, data, OFFICE)


def department(session, name: str) -> str:
    return domain.create_department(session, {"name": name, "code": name[-6:]})["id"]


# ---- suppression ------------------------------------------------------------------------


def test_suppress_folds_small_groups_and_leaves_no_small_residue():
    assert statistics.suppress([("a", 9), ("b", 5), ("c", 4)], 5) == ([("a", 9)], 9)
    assert statistics.suppress([("a", 9), ("b", 6)], 5) == ([("a", 9), ("b", 6)], 0)
    # Nothing to fold the residue into: the whole is under k and nothing is published.
    assert statistics.suppress([("a", 3)], 5) == ([], 0)
    assert statistics.suppress([("a", 7)], 5, extra=2) == ([], 9)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 30), max_size=12), st.integers(0, 12), st.integers(1, 8))
def test_suppress_never_shows_a_group_or_a_difference_under_k(counts, extra, k):
    shown, rest = statistics.suppress(list(enumerate(counts)), k, extra)
    assert all(count >= k for _, count in shown)
    assert rest == 0 or rest >= k
    total = sum(counts) + extra
    if rest or not shown:
        # total − shown is the rest, or the whole when nothing is published.
        assert total - sum(c for _, c in shown) in (rest, total)


# ---- counts -----------------------------------------------------------------------------


def test_counts_by_department_follow_lineage(registry_session_factory):
    with registry_session_factory.begin() as session:
        old_a, old_b, other = (department(session, f"统计院系{next(NAMES)}") for _ in range(3))
        for _ in range(3):
            alumnus(session, old_a, province="山东省", city="济南市", industry="教育")
        for _ in range(2):
            alumnus(session, old_b, province="山东省", city="青岛市")
        alumnus(session, other)
        # Two graduations in departments that are now one: counted once there.
        alumnus(
            session,
            old_a,
            graduations=[
                {"department_id": old_a, "major": "软件", "degree": "bachelor", "class_year": 2010},
                {"department_id": old_b, "major": "软件", "degree": "master", "class_year": 2014},
            ],
        )
        merged = departments.merge_departments(
            session,
            {"department_ids": [old_a, old_b], "successor": {"name": "新学院X", "code": "NEWX"}},
            OFFICE,
        )
        new = merged["id"]
        found = statistics.counts(session, {"by": "department"})
        by_key = {i["key"]: i for i in found["items"]}
        assert by_key[new]["count"] == 6 and by_key[new]["label"] == "新学院X"
        assert old_a not in by_key and old_b not in by_key
        assert by_key[other]["count"] == 1

        scoped = statistics.counts(session, {"by": "degree", "department_id": new})
        assert scoped["total"] == 6
        assert {i["key"]: i["count"] for i in scoped["items"]} == {"bachelor": 6, "master": 1}
        cities = statistics.counts(session, {"by": "city", "department_id": new})
        assert {(i["province"], i["key"]): i["count"] for i in cities["items"]} == {
            ("山东省", "济南市"): 3,
            ("山东省", "青岛市"): 2,
            (None, None): 1,
        }
        years = statistics.counts(session, {"by": "class_year", "department_id": new})
        assert {i["key"]: i["count"] for i in years["items"]} == {2010: 6, 2014: 1}


def test_the_map_hides_a_city_of_four_and_shows_one_of_five(registry_session_factory):
    with registry_session_factory.begin() as session:
        dept = department(session, f"地图院系{next(NAMES)}")
        for city, n in (("济南市", 5), ("青岛市", 4), ("烟台市", 3)):
            for _ in range(n):
                alumnus(session, dept, province="山东省", city=city)
        for _ in range(4):
            alumnus(session, dept, province="西藏自治区", city="拉萨市")
        for _ in range(6):
            alumnus(session, dept)
        place = statistics.alumni_map(session, 5)
    provinces = {p["province"]: p for p in place["provinces"]}
    assert set(provinces) == {"山东省"}
    cities = {c["city"]: c["count"] for c in provinces["山东省"]["cities"]}
    assert cities == {"济南市": 5, "其他": 7}
    assert provinces["山东省"]["count"] == 12
    assert place["other"] == 10 and place["total"] == 22


# ---- export ------------------------------------------------------------------------------


def test_export_masks_and_guards_formulas(registry_session_factory):
    with registry_session_factory.begin() as session:
        dept = department(session, f"导出院系{next(NAMES)}")
        alumnus(session, dept, phone="13812345678", employer="=HYPERLINK(1)", city="@济南")
        committee = exports.export(session, {"department_id": dept}, Viewer("committee"), "t", 10)
        office = exports.export(
            session, {"department_id": dept, "format": "xlsx"}, Viewer("office"), "t", 10
        )
        with pytest.raises(ValidationFailed):
            exports.export(session, {}, Viewer("office"), "t", 0)
    rows = list(csv.reader(io.StringIO(committee["data"].decode("utf-8-sig"))))
    assert rows[0][:4] == ["姓名", "性别", "出生日期", "手机"]
    assert rows[1][3] == "138****5678"
    assert rows[1][8] == "'=HYPERLINK(1)" and rows[1][7] == "'@济南"
    sheet = load_workbook(io.BytesIO(office["data"])).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[1][3] == "13812345678" and values[1][8] == "'=HYPERLINK(1)"


# ---- the yearly report -------------------------------------------------------------------


def test_the_yearly_report_has_charts_in_html_and_pdf(registry_session_factory):
    with registry_session_factory.begin() as session:
        dept = department(session, f"报告院系{next(NAMES)}")
        for i in range(6):
            industry = "信息技术" if i else "金融"
            alumnus(session, dept, province="北京市", city="北京市", industry=industry)
        report = reports.generate(session, 2010, 5, "office")
        again = reports.generate(session, 2010, 5, "office")
        assert again.generated_at == report.generated_at
    assert report.pdf.startswith(b"%PDF")
    pdf = PdfReader(io.BytesIO(report.pdf))
    assert sum(len(page.images) for page in pdf.pages) == 5
    assert report.html.count('src="data:image/png;base64,') == 5
    assert "2010 年度校友报告" in report.html
    # 金融 (one person) is not named.
    assert "金融" not in report.html


def test_the_schedule_queues_last_years_report_once(registry_session_factory):
    assert reports.due_year(date(2027, 1, 14), "01-15") is None
    assert reports.due_year(date(2027, 1, 15), "01-15") == 2026
    assert reports.due_year(date(2027, 6, 1), "off") is None
    with registry_session_factory.begin() as session:
        assert reports.queue_due(session, date(2031, 2, 1), "01-15") == 2030
        assert reports.queue_due(session, date(2031, 2, 2), "01-15") is None
        assert reports.queued_years(session) == [2030]
        assert session.get(YearlyReport, 2030).requested_by == "system"
        with pytest.raises(NotFound) as missing:
            reports.get(session, 2030, "pdf")
        assert missing.value.details["reason"] == "report_generating"
        with pytest.raises(ValidationFailed):
            reports.request(session, 2031, "office", date(2031, 2, 2))


def test_without_a_cjk_font_the_report_is_refused_not_drawn_in_boxes(monkeypatch):
    monkeypatch.setattr(reports, "CJK_FONTS", ("No Such Font",))
    monkeypatch.setattr(reports, "CJK_FILE_HINTS", ())
    with pytest.raises(ServiceUnavailable) as refused:
        reports.cjk_font()
    assert refused.value.details["reason"] == "no_cjk_font"


def test_without_a_cjk_font_the_timer_reads_no_figures_and_keeps_the_report_queued(
    registry_session_factory, monkeypatch, caplog
):
    """Before, every scan (5 s) read the whole registry's figures only to be refused; and
    each look for the font starts a process, so it is looked for again only after a while."""
    monkeypatch.setattr(reports, "CJK_FONTS", ("No Such Font",))
    monkeypatch.setattr(reports, "CJK_FILE_HINTS", ())
    monkeypatch.setattr(reports, "_font_missing_since", None)
    read: list[int] = []
    monkeypatch.setattr(reports, "figures", lambda session, year, k: read.append(year))
    started: list[InProcess] = []

    def spawn(function, *args) -> InProcess:
        started.append(InProcess(function, *args))
        return started[-1]

    def scan() -> list[int]:
        return reports.generate_due(
            registry_session_factory.begin, date(2041, 2, 1), "01-15", 5, spawn
        )

    with caplog.at_level("WARNING", logger=reports.__name__):
        assert [scan() for _ in range(3)] == [[], [], []]
        assert len(started) == 1, "the font is not looked for again at every scan"
        long_ago = reports._font_missing_since - reports.FONT_RECHECK_SECONDS
        monkeypatch.setattr(reports, "_font_missing_since", long_ago)
        assert scan() == []
        assert len(started) == 2, "it is looked for again after a while"
    assert read == []
    with registry_session_factory() as session:
        assert session.get(YearlyReport, 2040).status == "queued"
    assert len([r for r in caplog.records if "fonts-wqy-microhei" in r.getMessage()]) == 1


def test_the_timer_generates_each_queued_report_once(registry_session_factory, monkeypatch):
    monkeypatch.setattr(reports, "_font_missing_since", None)
    drawn: list[int] = []

    def recorded(inbox):
        def drawn_years():
            for data, generated_at in inbox:
                drawn.append(data["year"])
                yield data, generated_at

        yield from reports.drawing(drawn_years())

    def spawn(function, *args) -> InProcess:
        assert function is reports.drawing
        return InProcess(recorded, *args)

    def scan() -> list[int]:
        return reports.generate_due(
            registry_session_factory.begin, date(2042, 3, 1), "01-15", 5, spawn
        )

    with registry_session_factory.begin() as session:
        reports.request(session, 2038, "office", date(2042, 3, 1))
    first = scan()
    again = scan()
    assert sorted(first) == [2038, 2041] and again == []
    assert sorted(drawn) == [2038, 2041]
    with registry_session_factory() as session:
        assert reports.get(session, 2041, "pdf")["encoding"] == "base64"
